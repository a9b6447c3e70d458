"""LpNTKCleaner: flipped labels found, overlapping classes left alone, the out-of-fold
path blind to a row's own label, the noise estimate on known inputs, the guard, the cap
and the retired keywords."""

import warnings

import numpy as np
import pytest

from ._counts import expected_counts


def _flipped_blobs(rate, seed=0):
    """Four well-separated Gaussian blobs; a share ``rate`` of labels moved to another blob."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(400, n_features=8, centers=4, cluster_std=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < rate
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, 4, flip.sum())) % 4
    return X.astype(np.float32), noisy, flip


def _overlapping_blobs(seed):
    """Three Gaussian classes in the plane that overlap (a network gets about 70 % right),
    every label as drawn."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        400, n_features=2, centers=[[0, 0], [4, 0], [2, 3]], cluster_std=2.0, random_state=seed
    )
    return X.astype(np.float32), y


def test_cleaner_finds_flipped_labels_on_separable_data():
    from sklearn_lpntk import LpNTKCleaner

    X, y, flip = _flipped_blobs(0.15)
    cleaner = LpNTKCleaner(max_epochs=5, random_state=0).fit(X, y)
    removed = ~cleaner.get_support()
    precision = (removed & flip).sum() / removed.sum()
    recall = (removed & flip).sum() / flip.sum()
    assert precision > 0.9 and recall > 0.6, (precision, recall)
    assert 0.08 < cleaner.noise_rate_ < 0.25
    np.testing.assert_array_equal(removed, cleaner.label_issues_)  # the cap did not bind
    # the flagged rows are those the evidence supports least within their class
    assert cleaner.label_quality_[removed].mean() < cleaner.label_quality_[~removed].mean()
    assert cleaner.oof_proba_.shape == cleaner.oof_typicality_.shape == (400, 4)
    np.testing.assert_array_equal(cleaner.typicality_, cleaner.oof_typicality_[np.arange(400), y])


@pytest.mark.parametrize("seed", [0, 1])
def test_cleaner_leaves_overlapping_classes_alone(seed):
    from sklearn_lpntk import LpNTKCleaner

    X, y = _overlapping_blobs(seed)
    cleaner = LpNTKCleaner(max_epochs=5, random_state=0).fit(X, y)
    # the classes do overlap: the out-of-fold networks get many rows wrong
    assert (cleaner.oof_proba_.argmax(axis=1) != y).mean() > 0.2
    assert (~cleaner.get_support()).sum() <= 4


def test_out_of_fold_scores_never_see_the_rows_own_label(monkeypatch):
    """Change one row's label, keep the folds: its scores stay exactly the same."""
    from sklearn_lpntk import LpNTKCleaner, _cleaner

    X, y, _ = _flipped_blobs(0.0)
    folds = np.arange(len(y)) % 5
    monkeypatch.setattr(_cleaner, "row_folds", lambda *args: folds)
    relabelled = y.copy()
    relabelled[0] = (y[0] + 1) % 4
    a = LpNTKCleaner(max_epochs=3, random_state=0).fit(X, y)
    b = LpNTKCleaner(max_epochs=3, random_state=0).fit(X, relabelled)
    np.testing.assert_array_equal(a.oof_proba_[0], b.oof_proba_[0])
    np.testing.assert_array_equal(a.oof_typicality_[0], b.oof_typicality_[0])
    # a row of another fold is scored by a network that was trained on row 0's label
    other = np.flatnonzero(folds != folds[0])[0]
    assert not np.array_equal(a.oof_proba_[other], b.oof_proba_[other])


def test_noise_floors_and_uniform_noise_on_known_probabilities():
    from sklearn_lpntk._cleaner import noise_floors, uniform_noise

    rng = np.random.default_rng(0)
    n, k = 6000, 3
    truth = rng.integers(0, k, n)
    # a network sure of the true class, even where the label is wrong
    proba = rng.uniform(0.005, 0.015, (n, k))
    proba[np.arange(n), truth] = 0.98
    flip = rng.random(n) < 0.3
    given = truth.copy()
    given[flip] = (truth[flip] + rng.integers(1, k, flip.sum())) % k
    floors = noise_floors(proba, given)
    np.testing.assert_allclose(floors, 0.15, atol=0.04)  # 0.3 / (k - 1) of every class
    rate, counts = uniform_noise(floors, given, k)
    assert abs(rate - 0.3) < 0.05
    for j in range(k):
        assert abs(counts[j] - np.sum(flip & (given == j))) < 0.15 * np.sum(flip & (given == j))
    # overlap: class 2 also reaches into the others' regions, classes 0 and 1 never do
    floors = noise_floors(proba, truth)
    assert np.all(floors == 0)
    floors = np.array([0.0, 0.01, 0.3])
    rate, counts = uniform_noise(floors, truth, k)
    assert rate == pytest.approx(0.02) and counts.sum() < 0.03 * n


def test_noise_evidence_is_a_lower_bound_that_chance_does_not_reach():
    from scipy.stats import beta

    from sklearn_lpntk._cleaner import noise_evidence, noise_floors, uniform_noise

    # two classes of 100 rows, ordered by the network; class 0's floor region (the 10
    # rows least likely to be class 0) holds one stray label 0 and class 1's region none
    n = 200
    y = np.repeat([0, 1], n // 2)
    proba = np.column_stack([np.linspace(1, 0, n), np.linspace(0, 1, n)])
    y[-1] = 0  # the last row: least likely to be class 0, labelled 0
    floors = noise_floors(proba, y)
    assert floors[0] == pytest.approx(1 / 10) and floors[1] == 0
    bound = noise_evidence(proba, y)
    hits, rows = 1, 10 + 11  # pooled: one hit in both regions, ceil(9.9) + ceil(10.1) rows
    assert bound == pytest.approx(beta.ppf(0.05, hits, rows - hits + 1))
    assert bound < 0.03
    # no hit at all: no evidence
    assert noise_evidence(proba, np.repeat([0, 1], n // 2)) == 0.0
    # noise on many rows: the bound is close below the estimate
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 6000)
    sure = rng.uniform(0.005, 0.015, (6000, 3))
    sure[np.arange(6000), truth] = 0.98
    flip = rng.random(6000) < 0.2
    given = truth.copy()
    given[flip] = (truth[flip] + rng.integers(1, 3, flip.sum())) % 3
    rate, _ = uniform_noise(noise_floors(sure, given), given, 3)
    assert 0.8 * rate < noise_evidence(sure, given) < 1.2 * rate


def test_below_the_detection_limit_nothing_is_removed_and_a_warning_says_so(monkeypatch):
    from sklearn_lpntk import LpNTKCleaner, _cleaner

    X, y, flip = _flipped_blobs(0.15)
    monkeypatch.setattr(_cleaner, "DETECTION_LIMIT", 0.5)
    with pytest.warns(UserWarning, match=r"estimated that 1\d\.\d% of the labels are wrong"):
        cleaner = LpNTKCleaner(max_epochs=5, random_state=0).fit(X, y)
    assert cleaner.get_support().all() and not cleaner.label_issues_.any()
    assert cleaner.noise_rate_ > 0.08  # the estimate is still reported
    assert cleaner.label_quality_[flip].mean() < cleaner.label_quality_[~flip].mean()


def test_cleaner_respects_the_cap_per_class_and_warns():
    from sklearn_lpntk import LpNTKCleaner

    X, y, _ = _flipped_blobs(0.4)
    with pytest.warns(UserWarning, match="more than prune_ratio=0.1 allows"):
        cleaner = LpNTKCleaner(0.1, max_epochs=5, random_state=0).fit(X, y)
    for c, kept in cleaner.sampling_strategy_.items():
        assert kept >= expected_counts(y, 0.1)[c]
    removed = set(np.flatnonzero(~cleaner.get_support()))
    assert removed <= set(np.flatnonzero(cleaner.label_issues_))
    assert len(removed) < cleaner.label_issues_.sum()


def test_the_cap_warns_on_a_fit_read_from_the_cache_at_another_ratio(tmp_path):
    """The warnings belong to the fit, not to the cached computation: a grid search over
    prune_ratio with memory= warns where a fresh fit would."""
    from sklearn_lpntk import LpNTKCleaner

    X, y, _ = _flipped_blobs(0.4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the first fit's cap does not bind
        first = LpNTKCleaner(0.9, max_epochs=5, random_state=0, memory=tmp_path).fit(X, y)
    assert not first.from_cache_
    with pytest.warns(UserWarning, match="more than prune_ratio=0.1 allows"):
        again = LpNTKCleaner(0.1, max_epochs=5, random_state=0, memory=tmp_path).fit(X, y)
    assert again.from_cache_
    np.testing.assert_array_equal(again.label_issues_, first.label_issues_)


def test_clean_separable_data_is_left_alone_without_a_warning():
    from sklearn_lpntk import LpNTKCleaner

    X, y, _ = _flipped_blobs(0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cleaner = LpNTKCleaner(max_epochs=5, random_state=0).fit(X, y)
    assert cleaner.noise_rate_ == 0.0 and cleaner.get_support().all()


@pytest.mark.parametrize("name", ["count", "separation"])
def test_retired_keywords_name_what_replaced_them(name):
    from sklearn_lpntk import LpNTKCleaner

    value = {"count": "threshold", "separation": 2.0}[name]
    with pytest.raises(TypeError, match=rf"'{name}' is now nothing.*noise_rate_"):
        LpNTKCleaner(**{name: value})
    with pytest.raises(TypeError, match="noise_rate_"):
        LpNTKCleaner().set_params(**{name: value})
