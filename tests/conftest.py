import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sklearn_lpntk import LpNTKPruner


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def small_digits(digits):
    """600 rows of digits, all ten classes, for fast end-to-end tests."""
    X, y = digits
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(y), size=600, replace=False))
    return X[idx], y[idx]


def fast_pruner(**params):
    """The paper's setting (farthest-first centres on the raw kernel, whose traversal,
    lazy rows and options these tests exercise) with a small, briefly trained network."""
    params.setdefault("max_epochs", 2)
    params.setdefault("random_state", 0)
    return LpNTKPruner.paper(**params)


@pytest.fixture(autouse=True)
def _torch_threads():
    # keep results independent of how many threads earlier tests left behind
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    yield
