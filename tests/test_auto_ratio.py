"""prune_ratio="auto": the data decide how much is redundant."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_lpntk import LpNTK, LpNTKPruner, RandomPruner, make_pipeline
from sklearn_lpntk.datasets import plant_near_duplicates
from sklearn_lpntk.rules import Centres, Coverage, FacilityLocation, Herding, NearDuplicates

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
    assert pruner.duplicate_share_ == pytest.approx(120 / len(Xd))
    assert pruner.duplicate_threshold_ >= 0
    assert "duplicates" in pruner.timings_
    assert pruner.keep_rule_ == NearDuplicates(rule=Herding())  # the default rule's order


def test_a_pool_without_near_duplicates_loses_almost_nothing(digits):
    X, y = digits
    pruner = LpNTKPruner("auto", **FAST).fit(X, y)
    assert pruner.duplicate_share_ <= 0.02
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
    # the auto fit's keep order has the near-duplicates last: a numeric ratio removes
    # them first, then follows the representative order (keep=NearDuplicates() at 0.4)
    near = LpNTKPruner(0.4, keep=NearDuplicates(), **FAST).fit(X, y)
    np.testing.assert_array_equal(
        a.get_support(indices=True, prune_ratio=0.4), near.sample_indices_
    )
    numeric = LpNTKPruner(0.4, **FAST).fit(X, y)
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
        ({"keep": "coverage"}, "only nested rules have"),
        ({"keep": Centres(selfmax="repo")}, "only nested rules have"),
        ({"kernel": LpNTK(normalize=None)}, "normalize='cosine'"),
        ({"keep": NearDuplicates(perturbation="blur")}, r"NearDuplicates\(perturbation="),
        ({"keep": NearDuplicates(scale=-1.0)}, r"NearDuplicates\(scale="),
        ({"keep": NearDuplicates(n_neighbors=0)}, r"NearDuplicates\(n_neighbors="),
        ({"keep": NearDuplicates(threshold=-0.1)}, r"NearDuplicates\(threshold="),
        ({"keep": NearDuplicates(rule="coverage")}, "only nested rules have"),
    ],
)
def test_auto_refuses_options_it_cannot_use_before_any_work(digits, params, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        LpNTKPruner("auto", max_epochs=1000, **params).fit(X, y)


@pytest.mark.parametrize(
    "old, new",
    [
        ("calibration_perturbation", r"keep=NearDuplicates\(perturbation="),
        ("calibration_scale", r"keep=NearDuplicates\(scale="),
    ],
)
def test_the_calibration_keywords_of_07_name_their_new_spelling(old, new):
    with pytest.raises(TypeError, match=new):
        LpNTKPruner("auto", **{old: 0.1})


def test_auto_walks_the_order_of_the_rule_it_is_given(digits):
    X, y = digits
    Xd, yd = np.concatenate([X, X[:60]]), np.concatenate([y, y[:60]])
    rule = FacilityLocation(graph="dense")
    pruner = LpNTKPruner("auto", keep=rule, **FAST).fit(Xd, yd)
    assert pruner.keep_rule_ == NearDuplicates(rule=rule)
    assert len(pruner.sample_indices_) == len(X)  # one row of every exact copy goes
    given = LpNTKPruner("auto", keep=NearDuplicates(rule=rule), **FAST).fit(Xd, yd)
    assert given.keep_rule_ == pruner.keep_rule_
    np.testing.assert_array_equal(given.sample_indices_, pruner.sample_indices_)


def test_renamed_attributes_name_their_new_spelling(digits):
    X, y = digits
    pruner = LpNTKPruner("auto", **FAST).fit(X[:200], y[:200])
    for old, new in (
        ("redundancy_", "duplicate_share_"),
        ("redundancy_threshold_", "duplicate_threshold_"),
    ):
        with pytest.raises(AttributeError, match=f"since 0.8 it is '{new}'"):
            getattr(pruner, old)
    assert 0 <= pruner.duplicate_share_ < 1 and "redundancy" not in pruner.timings_


def test_a_fixed_threshold_is_used_instead_of_the_calibration(digits):
    X, y = digits
    pruner = LpNTKPruner("auto", keep=NearDuplicates(threshold=0.0), **FAST).fit(X, y)
    assert pruner.duplicate_threshold_ == 0.0
    assert pruner.duplicate_share_ == 0.0  # digits has no exact duplicates here


def test_coverage_has_no_keep_order_to_walk():
    with pytest.raises(ValueError, match="only nested rules"):
        NearDuplicates(rule=Coverage()).check()


def test_baselines_refuse_auto(digits):
    X, y = digits
    with pytest.raises(ValueError, match="prune_ratio"):
        RandomPruner("auto").fit(X, y)


def test_a_named_perturbation_the_kernel_cannot_see_is_capped_with_a_warning(digits):
    X, y = digits

    def scramble(R, rng):  # a "copy" unrelated to its row
        return rng.permutation(R.ravel()).reshape(R.shape)

    with pytest.warns(UserWarning, match="does not see the calibration copies"):
        pruner = LpNTKPruner("auto", keep=NearDuplicates(perturbation=scramble), **FAST).fit(X, y)
    assert pruner.duplicate_share_ < 0.5
