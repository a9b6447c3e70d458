"""Class budgets: the allocation on known answers, and every pruner with class_budget."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTKPruner,
    ModeratePruner,
    RandomPruner,
)
from sklearn_lpntk._selection import allocate_counts

from ._counts import expected_counts, kept_count


@pytest.mark.parametrize(
    ("sizes", "total", "weights", "expected"),
    [
        ([10, 10, 10], 15, [1, 1, 1], [5, 5, 5]),
        # 1 + 10 lam + 20 lam = 15: shares 1, 4.67, 9.33; the larger remainder gets the row
        ([10, 10, 10], 15, [0, 1, 2], [1, 5, 9]),
        ([5, 100], 60, [10, 1], [5, 55]),  # the heavy class saturates, the rest goes on
        ([3, 3], 3, [1, 1], [2, 1]),  # a tie in the remainders: the lower class index
        ([4, 4, 4], 3, [5, 1, 0], [1, 1, 1]),  # one row each is the least
        ([4, 4, 4], 12, [0, 0, 1], [4, 4, 4]),  # every row is the most
        ([6, 6], 6, [0, 0], [3, 3]),  # all zero reads as equal
        ([10, 10], 11, [0, 1], [1, 10]),
        ([10, 10], 15, [0, 1], [5, 10]),  # a zero-weight class absorbs what the others cannot
    ],
)
def test_allocation_known_answers(sizes, total, weights, expected):
    assert allocate_counts(sizes, total, weights).tolist() == expected


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 60), st.floats(0, 5)), min_size=2, max_size=8),
    st.floats(0, 1),
)
def test_allocation_is_exact_bounded_and_monotone(classes, position):
    sizes = np.array([n for n, _ in classes])
    weights = np.array([w for _, w in classes])
    total = int(round(len(sizes) + position * (sizes.sum() - len(sizes))))
    counts = allocate_counts(sizes, total, weights)
    assert counts.sum() == total
    assert np.all(counts >= 1) and np.all(counts <= sizes)
    heavier = weights.copy()
    heavier[0] += 1.0
    assert allocate_counts(sizes, total, heavier)[0] >= counts[0]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([5, 5], 4, [1, -1]), "non-negative"),
        (([5, 5], 4, [1]), "one per class"),
        (([5, 5], 4, [1, np.nan]), "finite"),
        (([5, 5], 1, [1, 1]), r"total must be in \[2, 10\]"),
        (([5, 5], 11, [1, 1]), r"total must be in \[2, 10\]"),
    ],
)
def test_allocation_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        allocate_counts(*args)


# ---------------------------------------------------------------- pruners


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(2).permutation(len(y))[:300]
    return X[idx] / 16.0, y[idx]


PRUNERS = {
    "RandomPruner": lambda **p: RandomPruner(random_state=0, **p),
    "LpNTKPruner": lambda **p: LpNTKPruner(max_epochs=1, random_state=0, **p),
    "LpNTKPruner.paper": lambda **p: LpNTKPruner.paper(max_epochs=1, random_state=0, **p),
    "EL2NPruner": lambda **p: EL2NPruner(max_epochs=1, n_inits=1, random_state=0, **p),
    "GraNdPruner": lambda **p: GraNdPruner(n_inits=1, random_state=0, **p),
    "ForgettingPruner": lambda **p: ForgettingPruner(max_epochs=2, random_state=0, **p),
    "CCSPruner": lambda **p: CCSPruner(
        scorer=EL2NPruner(max_epochs=1, n_inits=1), random_state=0, **p
    ),
    "ModeratePruner": lambda **p: ModeratePruner(max_epochs=1, random_state=0, **p),
}
WEIGHTS = {c: 1.0 + (c % 3) for c in range(10)}  # classes 2, 5, 8 weigh three times more


@pytest.mark.parametrize("name", list(PRUNERS))
def test_every_pruner_shares_the_same_total_by_the_given_weights(data, name):
    X, y = data
    make = PRUNERS[name]
    for ratio in (0.2, 0.7):
        pruner = make(prune_ratio=ratio, class_budget=WEIGHTS).fit(X, y)
        sizes = np.bincount(y)
        want = allocate_counts(sizes, kept_count(y, ratio), [WEIGHTS[c] for c in range(10)])
        assert [pruner.sampling_strategy_[c] for c in range(10)] == want.tolist()
        assert len(pruner.sample_indices_) == kept_count(y, ratio)
        assert pruner.class_weights_ == WEIGHTS
        other = make(prune_ratio=0.5, class_budget=WEIGHTS).fit(X, y)
        np.testing.assert_array_equal(
            other.get_support(indices=True, prune_ratio=ratio), pruner.sample_indices_
        )
    equal = make(prune_ratio=0.5).fit(X, y)
    assert equal.class_weights_ is None
    assert equal.sampling_strategy_ == expected_counts(y, 0.5)


def _hard_and_easy(n=90, seed=0):
    """Classes 0 and 1 drawn from one distribution (about half of them misclassified out of
    fold), class 2 far away (never)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * n, 5)).astype(np.float32)
    y = np.repeat([0, 1, 2], n)
    X[y == 2] += 8.0
    return X, y


@pytest.mark.parametrize(
    "make",
    [
        lambda **p: RandomPruner(random_state=0, **p),  # the default network, 10 epochs
        lambda **p: LpNTKPruner(max_epochs=3, random_state=0, **p),  # its own training
        lambda **p: EL2NPruner(max_epochs=3, n_inits=1, random_state=0, **p),
    ],
)
def test_error_budget_gives_the_hard_classes_the_rows(make):
    X, y = _hard_and_easy()
    pruner = make(prune_ratio=0.5, class_budget="error").fit(X, y)
    weights = pruner.class_weights_
    assert weights[2] < 0.05 < 0.25 < weights[0] and weights[1] > 0.25
    counts = pruner.sampling_strategy_
    assert sum(counts.values()) == kept_count(y, 0.5)
    assert counts[2] == 1 and counts[0] + counts[1] == 134 and min(counts[0], counts[1]) > 30
    assert "budget" in pruner.timings_
    again = make(prune_ratio=0.5, class_budget="error").fit(X, y)
    np.testing.assert_array_equal(again.sample_indices_, pruner.sample_indices_)


def test_a_bad_budget_is_refused_before_any_training(data, monkeypatch):
    import sklearn_lpntk._training as training_module

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking class_budget")

    monkeypatch.setattr(training_module, "train_network", no_training)
    X, y = data
    with pytest.raises(ValueError, match=r"missing \[9\]"):
        LpNTKPruner(class_budget={c: 1 for c in range(9)}).fit(X, y)
    with pytest.raises(ValueError, match=r"unknown \['ten'\]"):
        LpNTKPruner(class_budget={**WEIGHTS, "ten": 1}).fit(X, y)
    with pytest.raises(ValueError, match="finite numbers >= 0, not all 0"):
        LpNTKPruner(class_budget={**WEIGHTS, 3: -1}).fit(X, y)
    with pytest.raises(ValueError, match="not all 0"):
        LpNTKPruner(class_budget=dict.fromkeys(range(10), 0)).fit(X, y)
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="class_budget"):
        LpNTKPruner(class_budget="hardest").fit(X, y)


def test_the_budget_is_part_of_the_cache_key(data, tmp_path):
    X, y = data
    RandomPruner(random_state=0, memory=tmp_path).fit(X, y)
    budget = RandomPruner(random_state=0, memory=tmp_path, class_budget=WEIGHTS).fit(X, y)
    assert not budget.from_cache_
    assert (
        RandomPruner(0.8, random_state=0, memory=tmp_path, class_budget=WEIGHTS)
        .fit(X, y)
        .from_cache_
    )
