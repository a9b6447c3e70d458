"""n_inits: the kernel averaged over independently initialised networks."""

import numpy as np
import pytest

import sklearn_lpntk._training as training_module
from sklearn_lpntk import LpNTK, LpNTKPruner, lpntk_kernel
from sklearn_lpntk._selection import choose_rows

from ._counts import n_to_keep


@pytest.fixture
def captured(monkeypatch):
    nets = []
    real = training_module.train_network

    def capture(*args, **kwargs):
        nets.append(real(*args, **kwargs))
        return nets[-1]

    monkeypatch.setattr(training_module, "train_network", capture)
    return nets


@pytest.mark.parametrize("keep", ["centres", "representative"])
def test_the_kernel_is_the_mean_of_every_networks_kernel(small_digits, captured, keep):
    X, y = small_digits
    X = X.astype(np.float32) / 16.0
    raw64 = LpNTK(normalize=None, dtype="float64")
    pruner = LpNTKPruner(0.4, n_inits=3, keep=keep, kernel=raw64, max_epochs=2, random_state=5).fit(
        X, y
    )
    assert len(captured) == 3 and pruner.net_ is captured[0]
    seeds = {float(net.module_.layers[1].weight[0, 0].detach()) for net in captured}
    assert len(seeds) == 3  # three different initialisations
    kept = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        K = np.mean(
            [
                lpntk_kernel(net.module_, X[idx], np.full(len(idx), c), dtype="float64")
                for net in captured
            ],
            axis=0,
        )
        np.testing.assert_allclose(pruner.self_kernel_[idx], np.diag(K), rtol=1e-9)
        kept.append(idx[choose_rows(K, n_to_keep(len(idx), 0.4), keep=keep).kept])
    np.testing.assert_array_equal(pruner.sample_indices_, np.sort(np.concatenate(kept)))


def test_one_init_is_the_plain_fit_and_more_inits_time_their_training(small_digits, captured):
    X, y = small_digits
    one = LpNTKPruner(max_epochs=1, random_state=0).fit(X, y)
    same = LpNTKPruner(max_epochs=1, n_inits=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(one.sample_indices_, same.sample_indices_)
    two = LpNTKPruner(max_epochs=1, n_inits=2, random_state=0).fit(X, y)
    assert len(captured) == 4
    # the first network is the single fit's own
    np.testing.assert_array_equal(
        two.net_.predict(X.astype(np.float32)), one.net_.predict(X.astype(np.float32))
    )
    with_checkpoints = LpNTKPruner(max_epochs=2, n_inits=2, checkpoints=[1, 2], random_state=0).fit(
        X, y
    )
    assert with_checkpoints.checkpoints_ == [1, 2]
