"""prune_ratio="auto": the data decide how much is redundant."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_lpntk import LpNTKPruner, RandomPruner, make_pipeline
from sklearn_lpntk.datasets import plant_near_duplicates

FAST = dict(max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    return X.astype(np.float32), y


def test_exact_copies_are_found_and_originals_kept(digits):
    X, y = digits
    rng = np.random.default_rng(0)
    copied = np.sort(rng.choice(len(X), 120, replace=False))
    Xd, yd = np.concatenate([X, X[copied]]), np.concatenate([y, y[copied]])
    before = Xd.copy()
    pruner = LpNTKPruner("auto", **FAST).fit(Xd, yd)
    np.testing.assert_array_equal(Xd, before)
    kept = pruner.sample_indices_
    groups = np.concatenate([np.arange(len(X)), copied])
    # one row of every duplicated pair goes, no original is lost
    assert len(kept) == len(X)
    assert np.unique(groups[kept]).size == len(X)
    assert pruner.redundancy_ == pytest.approx(120 / len(Xd))
    assert pruner.redundancy_threshold_ >= 0
    assert "redundancy" in pruner.timings_


def test_a_pool_without_near_duplicates_loses_almost_nothing(digits):
    X, y = digits
    pruner = LpNTKPruner("auto", **FAST).fit(X, y)
    assert pruner.redundancy_ <= 0.02
    assert len(pruner.sample_indices_) >= 0.98 * len(X)


def test_planted_noise_copies_are_removed_before_any_original(digits):
    X, y = digits
    Xp, yp, groups = plant_near_duplicates(X, y, share=0.3, n_copies=3, random_state=0)
    pruner = LpNTKPruner("auto", **FAST).fit(Xp, yp)
    kept = pruner.sample_indices_
    removed = len(Xp) - len(kept)
    assert removed > 0.2 * (len(Xp) - len(X))  # a good share of the copies
    assert np.unique(groups[kept]).size >= 0.99 * len(X)  # almost no original lost
    assert pruner.sampling_strategy_ == {
        c: int(np.sum(yp[kept] == c)) for c in np.unique(yp).tolist()
    }


def test_auto_is_reproducible_and_its_fit_serves_numeric_ratios(digits):
    X, y = digits
    a = LpNTKPruner("auto", **FAST).fit(X, y)
    b = LpNTKPruner("auto", **FAST).fit(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    numeric = LpNTKPruner(0.4, **FAST).fit(X, y)
    np.testing.assert_array_equal(
        a.get_support(indices=True, prune_ratio=0.4), numeric.sample_indices_
    )
    with pytest.raises(ValueError, match="needs a fit with prune_ratio='auto'"):
        numeric.get_support(prune_ratio="auto")
    np.testing.assert_array_equal(
        a.get_support(indices=True, prune_ratio="auto"), a.sample_indices_
    )


def test_auto_in_a_grid_search_and_cross_validation(digits):
    X, y = digits
    X = np.concatenate([X, X[:150]])
    y = np.concatenate([y, y[:150]])
    pipe = make_pipeline(LpNTKPruner(**FAST), LogisticRegression(max_iter=300))
    search = GridSearchCV(pipe, {"lpntkpruner__prune_ratio": ["auto", 0.5]}, cv=2).fit(X, y)
    assert {p["lpntkpruner__prune_ratio"] for p in search.cv_results_["params"]} == {"auto", 0.5}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    pipe.set_params(lpntkpruner__prune_ratio="auto")
    scores = cross_val_score(pipe, X, y, cv=2)
    assert np.all(scores > 0.8)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"keep": "centres"}, "needs keep='representative'"),
        ({"normalize": None}, "normalize='cosine'"),
        ({"calibration_perturbation": "blur"}, "calibration_perturbation"),
        ({"calibration_scale": -1.0}, "calibration_scale"),
    ],
)
def test_auto_refuses_options_it_cannot_use_before_any_work(digits, params, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        LpNTKPruner("auto", max_epochs=1000, **params).fit(X, y)


def test_baselines_refuse_auto(digits):
    X, y = digits
    with pytest.raises(ValueError, match="prune_ratio"):
        RandomPruner("auto").fit(X, y)


def test_a_named_perturbation_the_kernel_cannot_see_is_capped_with_a_warning(digits):
    X, y = digits

    def scramble(R, rng):  # a "copy" unrelated to its row
        return rng.permutation(R.ravel()).reshape(R.shape)

    with pytest.warns(UserWarning, match="does not see the calibration copies"):
        pruner = LpNTKPruner("auto", calibration_perturbation=scramble, **FAST).fit(X, y)
    assert pruner.redundancy_ < 0.5
