"""Baselines on problems with a known answer, and one contract for every pruner."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTK,
    LpNTKPruner,
    ModeratePruner,
    RandomPruner,
    make_pipeline,
)
from sklearn_lpntk.analysis import forgetting_events

from ._counts import expected_counts


def _pruners():
    return [
        LpNTKPruner(max_epochs=2, random_state=0),
        RandomPruner(random_state=0),
        EL2NPruner(max_epochs=2, n_inits=2, random_state=0),
        GraNdPruner(n_inits=2, random_state=0),
        ForgettingPruner(max_epochs=3, random_state=0),
        CCSPruner(scorer=EL2NPruner(max_epochs=1, n_inits=1), random_state=0),
        ModeratePruner(max_epochs=2, random_state=0),
        LpNTKPruner(
            max_epochs=2, keep="representative", kernel=LpNTK(normalize="cosine"), random_state=0
        ),
        LpNTKPruner(
            max_epochs=2, keep="redundancy", kernel=LpNTK(normalize="cosine"), random_state=0
        ),
        LpNTKPruner(
            max_epochs=2, keep="coverage", kernel=LpNTK(normalize="cosine"), random_state=0
        ),
        LpNTKPruner(
            max_epochs=2, keep="adaptive", kernel=LpNTK(normalize="cosine"), random_state=0
        ),
    ]


def _cleaner():
    from sklearn_lpntk import LpNTKCleaner

    return LpNTKCleaner(max_epochs=2, random_state=0)


def _id(pruner):
    keep = getattr(pruner, "keep", "centres")
    return type(pruner).__name__ + ("" if keep == "centres" else f"-{keep}")


ALL = pytest.mark.parametrize("pruner", _pruners(), ids=_id)


@ALL
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.8])
def test_contract_counts_and_rows(pruner, ratio, small_digits):
    X, y = small_digits
    p = clone(pruner).set_params(prune_ratio=ratio)
    X_kept, y_kept = p.fit_resample(X, y)
    idx = p.sample_indices_
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(X_kept, X[idx])
    np.testing.assert_array_equal(y_kept, y[idx])
    labels, counts = np.unique(y_kept, return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist())) == expected_counts(y, ratio)
    assert p.sampling_strategy_ == expected_counts(y, ratio)
    np.testing.assert_array_equal(p.get_support(indices=True), idx)
    assert p.get_support().sum() == len(idx)


@ALL
def test_contract_same_seed_same_rows_and_no_transform(pruner, small_digits):
    X, y = small_digits
    a = clone(pruner).fit(X, y).sample_indices_
    b = clone(pruner).fit(X, y).sample_indices_
    np.testing.assert_array_equal(a, b)
    with pytest.raises(AttributeError, match="fit_resample"):
        clone(pruner).transform  # noqa: B018


@ALL
def test_contract_grid_search_over_prune_ratio(pruner, small_digits):
    X, y = small_digits
    pipe = make_pipeline(clone(pruner), LogisticRegression(max_iter=300))
    step = pipe.steps[0][0]
    search = GridSearchCV(pipe, {f"{step}__prune_ratio": [0.2, 0.6]}, cv=StratifiedKFold(2))
    search.fit(X, y)
    assert search.best_params_[f"{step}__prune_ratio"] in (0.2, 0.6)
    fitted = search.best_estimator_.steps[0][1]
    ratio = search.best_params_[f"{step}__prune_ratio"]
    assert len(fitted.sample_indices_) == sum(expected_counts(y, ratio).values())
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(2))
    assert np.all((scores > 0.5) & (scores <= 1.0))


@ALL
def test_contract_bad_prune_ratio_names_the_parameter(pruner, small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="prune_ratio"):
        clone(pruner).set_params(prune_ratio=1.0).fit(X, y)


def test_cleaner_contract(small_digits):
    X, y = small_digits
    cleaner = _cleaner()
    X_kept, y_kept = clone(cleaner).fit_resample(X, y)
    again = clone(cleaner).fit(X, y)
    np.testing.assert_array_equal(X_kept, X[again.sample_indices_])
    np.testing.assert_array_equal(y_kept, y[again.sample_indices_])
    for c, kept in again.sampling_strategy_.items():  # at most prune_ratio removed
        assert expected_counts(y, again.prune_ratio)[c] <= kept <= np.sum(y == c)
    pipe = make_pipeline(clone(cleaner), LogisticRegression(max_iter=300))
    search = GridSearchCV(pipe, {"lpntkcleaner__cv": [2, 3]}, cv=StratifiedKFold(2))
    search.fit(X, y)
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(2))
    assert np.all((scores > 0.5) & (scores <= 1.0))
    with pytest.raises(AttributeError, match="fit_resample"):
        clone(cleaner).transform  # noqa: B018


def _blobs_with_flipped_labels(seed=0, n=200, n_flipped=10):
    """Two far-apart Gaussian blobs; a few rows of each carry the other label."""
    rng = np.random.default_rng(seed)
    y_true = np.repeat([0, 1], n // 2)
    X = (rng.normal(size=(n, 2)) + 4.0 * (2 * y_true[:, None] - 1)).astype(np.float32)
    flipped = np.concatenate(
        [
            rng.choice(n // 2, n_flipped // 2, replace=False),
            n // 2 + rng.choice(n // 2, n_flipped // 2, replace=False),
        ]
    )
    y = y_true.copy()
    y[flipped] = 1 - y[flipped]
    return X, y, flipped


def test_el2n_prunes_the_rows_the_model_fits_best():
    X, y, flipped = _blobs_with_flipped_labels()
    pruner = EL2NPruner(0.5, max_epochs=20, n_inits=3, lr=0.01, random_state=0).fit(X, y)
    scores = pruner.scores_
    kept = pruner.get_support()
    for c in (0, 1):
        in_c = y == c
        assert scores[in_c & ~kept].max() <= scores[in_c & kept].min()
    assert kept[flipped].all(), "rows with a wrong label are fitted worst, so kept"
    # the score is the error norm of the trained net
    proba = pruner.net_.predict_proba(X)
    onehot = np.eye(2)[y]
    assert np.corrcoef(np.linalg.norm(proba - onehot, axis=1), scores)[0, 1] > 0.9


def test_forgetting_events_match_a_hand_computed_sequence():
    correct = np.array(
        [
            # row:  0  1  2  3  4
            [1, 0, 1, 0, 1],
            [0, 1, 1, 0, 1],
            [1, 0, 1, 0, 0],
            [0, 1, 1, 0, 1],
        ],
        dtype=bool,
    )
    events, never = forgetting_events(correct)
    np.testing.assert_array_equal(events, [2, 1, 0, 0, 1])
    np.testing.assert_array_equal(never, [False, False, False, True, False])


def test_forgetting_pruner_keeps_never_learned_and_drops_unforgettable_first():
    X, y, flipped = _blobs_with_flipped_labels()
    pruner = ForgettingPruner(0.5, max_epochs=6, lr=0.01, random_state=0).fit(X, y)
    # a flipped row is never learned, or learned by chance and then forgotten
    assert np.all(pruner.scores_[flipped] >= 1) and np.isinf(pruner.scores_[flipped]).mean() > 0.5
    assert pruner.get_support()[flipped].all()
    # the events agree with the recorded correctness
    events, never = forgetting_events(pruner.correct_[0])
    np.testing.assert_array_equal(events, pruner.forgetting_events_)
    np.testing.assert_array_equal(never, pruner.never_learned_)
    kept = pruner.get_support()
    for c in (0, 1):
        in_c = y == c
        assert pruner.scores_[in_c & ~kept].max() <= pruner.scores_[in_c & kept].min()
    assert np.all(pruner.scores_[~kept] == 0), "only unforgettable rows go at 50 %"


def test_grand_scores_are_loss_gradient_norms(small_digits):
    X, y = small_digits
    pruner = GraNdPruner(0.3, n_inits=1, max_epochs=1, random_state=0).fit(X, y)
    module = pruner.net_.module_
    expected = []
    for x, label in zip(torch.as_tensor(X[:40], dtype=torch.float32), y[:40]):
        loss = torch.nn.functional.cross_entropy(module(x[None]), torch.tensor([label]))
        grads = torch.autograd.grad(loss, list(module.parameters()))
        expected.append(torch.sqrt(sum((g**2).sum() for g in grads)).item())
    np.testing.assert_allclose(pruner.scores_[:40], expected, rtol=1e-4)


def test_random_pruner_is_uniform_within_classes(small_digits):
    X, y = small_digits
    hits = np.zeros(len(y))
    for seed in range(200):
        hits[RandomPruner(0.5, random_state=seed).fit(X, y).sample_indices_] += 1
    # every row is kept in about half of the draws
    assert 0.35 < hits.min() / 200 and hits.max() / 200 < 0.65


@pytest.mark.parametrize("normalize", ["cosine", "K"])
def test_grand_refuses_a_normalised_kernel_before_training(small_digits, normalize):
    X, y = small_digits
    with pytest.raises(ValueError, match="would score every row 1"):
        GraNdPruner(kernel=LpNTK(normalize=normalize), max_epochs=1000).fit(X, y)


def test_grand_kernel_options_reach_the_gradient_norms(small_digits):
    X, y = small_digits
    X, y = X[:200], y[:200]
    default = GraNdPruner(0.3, n_inits=1, max_epochs=1, random_state=0).fit(X, y)
    spelled = GraNdPruner(
        0.3,
        n_inits=1,
        max_epochs=1,
        random_state=0,
        kernel=LpNTK(normalize=None, error_weighting="full", strategy="features", dtype="float64"),
    ).fit(X, y)
    np.testing.assert_allclose(spelled.scores_, default.scores_, rtol=1e-4)
    sign = GraNdPruner(
        0.3, n_inits=1, max_epochs=1, random_state=0, kernel=LpNTK(normalize=None)
    ).fit(X, y)
    assert not np.allclose(sign.scores_, default.scores_)  # the paper's labelled gradient
