"""LpNTKCleaner: flipped labels found and clean data left alone, the noise rate read off
rows flipped on purpose, and the per-class cap."""

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


@pytest.mark.parametrize("count", ["threshold", "mixture"])
def test_cleaner_removes_flipped_labels_and_leaves_clean_data_alone(count):
    from sklearn_lpntk import LpNTKCleaner

    X, y, flip = _flipped_blobs(0.15)
    cleaner = LpNTKCleaner(count=count, random_state=0).fit(X, y)
    removed = ~cleaner.get_support()
    if count == "mixture":
        assert cleaner.separation_ > 2
    else:  # the rate read off the rows flipped on purpose is close to the true one
        assert cleaner.separation_ is None and abs(cleaner.noise_rate_ - flip.mean()) < 0.05
    precision = (removed & flip).sum() / removed.sum()
    recall = (removed & flip).sum() / flip.sum()
    assert precision > 0.8 and recall > 0.8, (precision, recall)
    X, y, _ = _flipped_blobs(0.0)
    clean = LpNTKCleaner(count=count, random_state=0).fit(X, y)
    assert clean.get_support().all() and not clean.label_issues_.any()
    assert clean.noise_rate_ == 0.0


def test_noise_rate_from_threshold_rows_on_known_scores():
    from sklearn_lpntk._cleaner import noise_rate_from_thresholds

    rng = np.random.default_rng(0)
    clean = rng.normal(1.0, 0.1, 800)  # well above every mislabeled score
    mislabeled = rng.normal(0.0, 0.1, 200)
    flipped = rng.normal(0.0, 0.1, 100)  # rows flipped on purpose look like mislabeled ones
    typicality = np.concatenate([clean, mislabeled, flipped])
    threshold_rows = np.r_[np.zeros(1000, bool), np.ones(100, bool)]
    rate, score = noise_rate_from_thresholds(typicality, threshold_rows)
    assert abs(rate - 0.2) < 0.05
    assert np.isnan(score[threshold_rows]).all()
    assert score[:800].min() == 1.0  # every flipped row is less typical than a clean one
    assert np.median(score[800:1000]) < 0.75
    rate, _ = noise_rate_from_thresholds(
        typicality[np.r_[0:800, 1000:1100]], np.r_[np.zeros(800, bool), np.ones(100, bool)]
    )
    assert rate == 0.0


def test_cleaner_respects_the_cap_per_class():
    from sklearn_lpntk import LpNTKCleaner

    X, y, _ = _flipped_blobs(0.4)
    cleaner = LpNTKCleaner(0.1, random_state=0).fit(X, y)
    for c, kept in cleaner.sampling_strategy_.items():
        assert kept >= expected_counts(y, 0.1)[c]
    assert set(np.flatnonzero(~cleaner.get_support())) <= set(np.flatnonzero(cleaner.label_issues_))
