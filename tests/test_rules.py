"""The matrix keep-rules against brute-force readings of their definitions, CCS and
Moderate on problems with known answers."""

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator

from sklearn_lpntk import CCSPruner, LpNTK, LpNTKPruner, ModeratePruner, lpntk_kernel
from sklearn_lpntk._selection import (
    choose_rows,
    default_hard_fraction,
    drop_redundant,
    facility_location,
    middle_band,
    stratified_coverage,
    typicality,
)

from ._counts import expected_counts


def _kernels(seed, n=14, ties=False):
    rng = np.random.default_rng(seed)
    if ties:  # small integers: exact sums, many equal gains and similarities
        F = rng.integers(-1, 3, size=(n, 3)).astype(float)
    else:
        F = rng.normal(size=(n, 4))
    return F @ F.T


def _facility_brute(S, k):
    """Recompute every gain at every step; the largest gain wins, ties to the lowest index."""
    chosen, cover = [], np.zeros(len(S))
    for _ in range(k):
        gains = [
            np.maximum(S[:, j] - cover, 0).sum() if j not in chosen else -np.inf
            for j in range(len(S))
        ]
        j = int(np.argmax(gains))
        chosen.append(j)
        cover = np.maximum(cover, S[:, j])
    return chosen


@pytest.mark.parametrize("seed", range(40))
def test_facility_location_equals_brute_force(seed):
    S = _kernels(seed, ties=seed % 2 == 0)
    for k in (1, 4, len(S)):
        assert facility_location(S, k).tolist() == _facility_brute(S, k)


def _redundancy_brute(S, k, typical):
    """Find the most similar remaining pair by scanning all pairs; drop its more typical row."""
    alive = list(range(len(S)))
    while len(alive) > k:
        best = None
        for i in alive:
            for j in alive:
                if i < j and (best is None or S[i, j] > S[best]):
                    best = (i, j)
        i, j = best
        alive.remove(i if typical[i] > typical[j] else j)
    return alive


@pytest.mark.parametrize("seed", range(40))
def test_redundancy_removal_equals_brute_force(seed):
    S = _kernels(seed, ties=seed % 2 == 0)
    t = typicality(S)
    for k in (1, 5, len(S) - 1, len(S)):
        assert drop_redundant(S, k).tolist() == _redundancy_brute(S, k, t)


def test_redundancy_removal_keeps_one_of_each_duplicate_pair():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(6, 10))
    F = np.vstack([F, F + 1e-3 * rng.normal(size=F.shape)])  # rows i and i + 6 near-equal
    S = F @ F.T / np.outer(np.linalg.norm(F, axis=1), np.linalg.norm(F, axis=1))
    kept = drop_redundant(S, 6)
    assert sorted(kept % 6) == list(range(6))


def test_coverage_shares_the_budget_among_bins_smallest_first():
    # scores in 3 clusters (one bin each with n_bins=3): sizes 2, 10, 20
    scores = np.concatenate([np.full(2, 0.0), np.full(10, 1.0), np.full(20, 2.0)])
    kept = stratified_coverage(scores, 12, n_bins=3, random_state=0)
    # 12 over 3 bins: the bin of 2 takes both, then 10 // 2 = 5 each
    assert np.bincount(scores[kept].astype(int)).tolist() == [2, 5, 5]
    kept = stratified_coverage(scores, 30, n_bins=3, random_state=0)
    assert np.bincount(scores[kept].astype(int)).tolist() == [2, 10, 18]


def test_coverage_drops_the_hardest_first_and_keeps_exact_counts():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=100)
    scores[7] = np.inf  # never learned: the hardest
    for k, frac in ((10, 0.2), (50, 0.3), (95, 0.3), (100, 0.1)):
        kept = stratified_coverage(scores, k, hard_fraction=frac, random_state=1)
        assert len(kept) == len(set(kept.tolist())) == k
        n_hard = min(int(np.floor(frac * 100)), 100 - k)
        hardest = np.argsort(-scores, kind="stable")[:n_hard]
        assert not np.isin(kept, hardest).any()
    a = stratified_coverage(scores, 30, random_state=5)
    assert np.array_equal(a, stratified_coverage(scores, 30, random_state=5))


def test_default_hard_fraction_schedule():
    assert [default_hard_fraction(r) for r in (0.1, 0.3, 0.5, 0.7, 0.9, 0.99)] == pytest.approx(
        [0, 0, 0.1, 0.2, 0.3, 0.3]
    )


def test_middle_band_keeps_the_rows_nearest_the_median():
    scores = np.array([10.0, 1.0, 5.0, 4.0, 6.0, 0.0, 9.0])  # median 5
    assert middle_band(scores, 3).tolist() == [2, 3, 4]


@pytest.mark.parametrize("keep", ["representative", "redundancy", "coverage", "adaptive"])
def test_matrix_rules_assign_every_row_to_its_most_similar_kept_row(keep):
    K = _kernels(3, n=30)
    sel = choose_rows(K, 10, keep=keep, random_state=0)
    assert len(sel.kept) == 10
    for i in range(30):
        if i not in sel.kept:
            assert K[i, sel.assignment[i]] == K[i, sel.kept].max()
    assert (sel.assignment[sel.kept] == sel.kept).all()


def test_adaptive_rule_switches_at_half():
    K = _kernels(4, n=20)
    assert np.array_equal(
        choose_rows(K, 10, keep="adaptive").kept, choose_rows(K, 10, keep="redundancy").kept
    )
    assert np.array_equal(
        choose_rows(K, 9, keep="adaptive").kept, choose_rows(K, 9, keep="representative").kept
    )
    # the switch is an option: at 0.3, 9 of 20 rows are still light pruning
    assert np.array_equal(
        choose_rows(K, 9, keep="adaptive", switch=0.3).kept,
        choose_rows(K, 9, keep="redundancy").kept,
    )
    assert np.array_equal(
        choose_rows(K, 5, keep="adaptive", switch=0.3).kept,
        choose_rows(K, 5, keep="representative").kept,
    )


def test_matrix_rules_have_no_selfmax():
    """0.7 refused selfmax with the matrix rules when the fit ran; since 0.8 only the
    paper's traversal rules have the option."""
    for keep in ("representative", "redundancy", "coverage", "adaptive", "d2", "herding"):
        with pytest.raises(TypeError, match="has no option selfmax; its options are"):
            choose_rows(_kernels(0), 5, keep=keep, selfmax="filter")


@pytest.mark.parametrize("keep", ["representative", "redundancy"])
def test_pruner_applies_the_rule_to_its_own_kernel(keep, small_digits):
    X, y = small_digits
    pruner = LpNTKPruner(
        0.6,
        max_epochs=1,
        keep=keep,
        kernel=LpNTK(normalize="cosine", dtype="float64"),
        random_state=0,
    ).fit(X, y)
    module = pruner.net_.module_
    kept = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        K = lpntk_kernel(
            module,
            X[idx].astype(np.float32),
            np.full(len(idx), c),
            normalize="cosine",
            dtype="float64",
        )
        n_keep = expected_counts(y, 0.6)[c]
        local = choose_rows(K, n_keep, keep=keep, random_state=None).kept
        kept.append(idx[local])
    np.testing.assert_array_equal(np.sort(np.concatenate(kept)), pruner.sample_indices_)


class FixedScores(BaseEstimator):
    """A scorer whose difficulty is the first feature."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.scores_ = np.asarray(X)[:, 0].astype(float)
        self.timings_ = {"scoring": 0.0}
        return self


def test_ccs_pruner_on_a_known_score():
    y = np.repeat([0, 1], 50)
    X = np.column_stack([np.tile(np.arange(50.0), 2), np.zeros(100)])
    pruner = CCSPruner(0.5, scorer=FixedScores(), hard_fraction=0.2, n_bins=5, random_state=0).fit(
        X, y
    )
    kept_scores = X[pruner.sample_indices_, 0]
    assert kept_scores.max() < 40  # the hardest 20 % (scores 40..49) are gone
    # the 40 remaining scores 0..39 fall into 5 equal bins of 8: 25 kept = 5 per bin
    counts = np.bincount((kept_scores[:25] // 8).astype(int), minlength=5)
    assert counts.tolist() == [5, 5, 5, 5, 5]
    np.testing.assert_array_equal(pruner.scores_, X[:, 0])


def test_moderate_keeps_the_middle_distances(small_digits):
    X, y = small_digits
    X = X.astype(np.float32)

    class Linear(torch.nn.Module):  # its penultimate features are the inputs themselves
        def __init__(self, n_inputs=64, n_classes=10):
            super().__init__()
            self.out = torch.nn.Linear(n_inputs, n_classes)

        def forward(self, x):
            return self.out(x)

    pruner = ModeratePruner(0.5, net=Linear, max_epochs=0, random_state=0).fit(X, y)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        d = np.linalg.norm(X[idx] - np.median(X[idx], axis=0), axis=1)
        np.testing.assert_allclose(pruner.scores_[idx], d, rtol=1e-5)
        expected = idx[middle_band(d, expected_counts(y, 0.5)[c])]
        np.testing.assert_array_equal(np.intersect1d(pruner.sample_indices_, idx), expected)


@pytest.mark.parametrize("seed", range(6))
def test_facility_location_reads_columns_of_asymmetric_matrices(seed):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(15, 15))  # not symmetric: column j is not row j
    for k in (1, 5, 15):
        assert facility_location(S, k).tolist() == _facility_brute(S, k)


def test_facility_location_float32_and_large_n_equal_float64_reading():
    """float32 kernels are read without a float64 copy; the choices do not change."""
    rng = np.random.default_rng(0)
    F = rng.normal(size=(1100, 6)).astype(np.float32) + 1.0
    S32 = F @ F.T  # exactly symmetric, several 512-row blocks
    S64 = S32.astype(np.float64)
    fast = facility_location(S32, 700)
    assert fast.tolist() == facility_location(S64, 700).tolist()
    assert fast[:25].tolist() == _facility_brute(S64, 25)


def test_representative_assignment_is_the_most_similar_kept_row():
    from sklearn_lpntk._selection import choose_rows

    rng = np.random.default_rng(1)
    F = rng.normal(size=(1200, 5))
    S = F @ F.T
    sel = choose_rows(S, 300, keep="representative")
    expected = sel.kept[np.argmax(S[:, sel.kept], axis=1)]
    expected[sel.kept] = sel.kept
    np.testing.assert_array_equal(sel.assignment, expected)


def test_facility_location_pruner_keeps_the_brute_force_rows():
    """LpNTKPruner(keep="representative") on a digits subset: per class, the rows a
    brute-force greedy facility location keeps on the cosine lpNTK of the pruner's own
    network."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = (X[:400] / 16.0).astype(np.float32), y[:400]
    pruner = LpNTKPruner(0.5, keep="representative", max_epochs=3, random_state=0).fit(X, y)
    module = pruner.net_.module_
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        K = lpntk_kernel(module, X[rows], y[rows], normalize="cosine")
        k = max(1, int(np.floor(len(rows) * 0.5)))
        expected = np.sort(rows[_facility_brute(K.astype(np.float64), k)])
        kept = np.intersect1d(pruner.sample_indices_, rows)
        np.testing.assert_array_equal(kept, expected)
