"""Property-based checks over random valid inputs (hypothesis, derandomised), and refit
hygiene: clone of a fitted pruner, pickling with the network still predicting."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTKPruner,
    ModeratePruner,
    RandomPruner,
)
from sklearn_lpntk.rules import FacilityLocation

from ._counts import expected_counts

PRUNERS = {
    "random": lambda r: RandomPruner(r, random_state=0),
    "lpntk": lambda r: LpNTKPruner(r, max_epochs=1, random_state=0),
    "lpntk, exact neighbour graph": lambda r: LpNTKPruner(
        r, keep=FacilityLocation(graph="exact", n_neighbors=3), max_epochs=1, random_state=0
    ),
    "lpntk, approximate neighbour graph": lambda r: LpNTKPruner(
        r,
        keep=FacilityLocation(graph="approximate", n_neighbors=3),
        max_epochs=1,
        random_state=0,
    ),
    "lpntk, d2": lambda r: LpNTKPruner(r, keep="d2", max_epochs=1, random_state=0),
    "lpntk-paper": lambda r: LpNTKPruner.paper(r, max_epochs=1, random_state=0),
    "el2n": lambda r: EL2NPruner(r, max_epochs=1, n_inits=1, random_state=0),
    "grand": lambda r: GraNdPruner(r, n_inits=1, random_state=0),
    "forgetting": lambda r: ForgettingPruner(r, max_epochs=2, random_state=0),
    "ccs": lambda r: CCSPruner(r, scorer=EL2NPruner(max_epochs=1, n_inits=1), random_state=0),
    "moderate": lambda r: ModeratePruner(r, max_epochs=1, random_state=0),
    "random, error budget": lambda r: RandomPruner(r, class_budget="error", random_state=0),
    "lpntk, error budget": lambda r: LpNTKPruner(
        r, max_epochs=1, class_budget="error", random_state=0
    ),
}
CONTAINERS = ["ndarray", "dataframe", "list", "sparse", "tensor"]
LABELS = ["int", "negative", "str", "bool"]


@st.composite
def problems(draw):
    n_classes = 2 if draw(st.booleans()) else draw(st.integers(2, 4))
    sizes = [draw(st.integers(1, 12)) for _ in range(n_classes)]
    if sum(sizes) < 4:
        sizes[0] += 4
    n_features = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    seed = draw(st.integers(0, 2**16))
    return dict(
        sizes=sizes,
        n_features=n_features,
        dtype=dtype,
        seed=seed,
        container=draw(st.sampled_from(CONTAINERS)),
        labels=draw(st.sampled_from(LABELS if n_classes == 2 else LABELS[:3])),
        ratio=draw(st.floats(0, 0.99)),
    )


def _make(problem):
    rng = np.random.default_rng(problem["seed"])
    codes = np.repeat(np.arange(len(problem["sizes"])), problem["sizes"])
    codes = codes[rng.permutation(len(codes))]
    X = (rng.normal(size=(len(codes), problem["n_features"])) * 3).astype(problem["dtype"])
    y = {
        "int": codes,
        "negative": codes - 5,
        "str": np.array([f"c{c}" for c in codes]),
        "bool": codes.astype(bool),
    }[problem["labels"]]
    container = problem["container"]
    if container == "dataframe":
        import pandas as pd

        X = pd.DataFrame(
            X, columns=[f"f{i}" for i in range(X.shape[1])], index=np.arange(len(codes)) * 3
        )
    elif container == "list":
        X = X.tolist()
    elif container == "sparse":
        X = sp.csr_matrix(X)
    elif container == "tensor":
        X = torch.as_tensor(X)
    return X, y


def _rows(X, idx):
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if isinstance(X, list):
        return [X[i] for i in idx]
    return X[idx]


def _same(a, b):
    if hasattr(a, "equals"):
        return a.equals(b)
    if sp.issparse(a):
        return (a != b).nnz == 0
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", list(PRUNERS))
@settings(
    max_examples=20, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(problem=problems())
def test_invariants_on_random_valid_input(name, problem):
    X, y = _make(problem)
    if isinstance(X, torch.Tensor):
        X_before = X.clone()
    else:
        X_before = X.copy() if hasattr(X, "copy") else [list(r) for r in X]
    y_before = y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pruner = PRUNERS[name](problem["ratio"])
        X_kept, y_kept = pruner.fit_resample(X, y)
        again = PRUNERS[name](problem["ratio"]).fit(X, y)
    idx = pruner.sample_indices_
    assert type(X_kept) is type(X) and _same(X_kept, _rows(X, idx))
    np.testing.assert_array_equal(np.asarray(y_kept), y[idx])
    labels, counts = np.unique(np.asarray(y_kept), return_counts=True)
    got = dict(zip(labels.tolist(), counts.tolist()))
    expected = expected_counts(y, problem["ratio"])
    if pruner.class_budget == "equal":
        assert got == expected
    else:  # the same total, shared otherwise: at least one row, at most all, per class
        sizes = dict(zip(*(a.tolist() for a in np.unique(y, return_counts=True))))
        assert sum(got.values()) == sum(expected.values()) and got.keys() == expected.keys()
        assert all(1 <= got[c] <= sizes[c] for c in got)
    assert got == pruner.sampling_strategy_
    np.testing.assert_array_equal(again.sample_indices_, idx)
    assert _same(X, X_before) and np.array_equal(y, y_before)


def test_clone_of_a_fitted_pruner_is_unfitted_with_the_same_parameters(small_digits):
    X, y = small_digits
    fitted = LpNTKPruner(0.4, max_epochs=1, random_state=0).fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "sample_indices_") and not hasattr(copy, "net_")
    np.testing.assert_array_equal(copy.fit(X, y).sample_indices_, fitted.sample_indices_)


def test_pickle_round_trip_keeps_the_selection_and_a_predicting_network(small_digits):
    X, y = small_digits
    fitted = LpNTKPruner(0.4, max_epochs=1, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.sample_indices_, fitted.sample_indices_)
    Xf = X.astype(np.float32)
    np.testing.assert_array_equal(loaded.net_.predict(Xf), fitted.net_.predict(Xf))
