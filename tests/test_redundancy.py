"""Planted near-duplicates: the copies, the screen's metrics and the redundancy rules."""

import itertools

import numpy as np
import pytest

from sklearn_lpntk._duplicates import calibrate, calibration_rows
from sklearn_lpntk._selection import (
    MAX_THRESHOLD,
    NeighbourGraph,
    drop_near_duplicates,
    duplicate_threshold,
    local_scale,
    message_passing_selection,
)
from sklearn_lpntk.analysis import copy_retrieval, distinct_share
from sklearn_lpntk.datasets import plant_near_duplicates


def unit_rows(n, d, rng):
    F = rng.standard_normal((n, d))
    return F / np.linalg.norm(F, axis=1, keepdims=True)


def with_copies(rng, n=30, n_copied=10, noise=0.01, d=8):
    F = unit_rows(n, d, rng)
    C = F[:n_copied] + noise * rng.standard_normal((n_copied, d))
    F = np.concatenate([F, C / np.linalg.norm(C, axis=1, keepdims=True)])
    return F @ F.T, np.concatenate([np.arange(n), np.arange(n_copied)])


# ------------------------------------------------------------------ planting
@pytest.mark.parametrize("perturbation", ["noise", "shift", "flip"])
def test_planting_appends_copies_of_a_share_of_every_class(perturbation):
    rng = np.random.default_rng(0)
    X = rng.random((40, 1, 6, 6)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    before = X.copy()
    Xp, yp, groups = plant_near_duplicates(
        X, y, share=0.25, n_copies=2, perturbation=perturbation, random_state=3
    )
    np.testing.assert_array_equal(X, before)  # the input is not modified
    assert Xp.shape == (40 + 2 * 10, 1, 6, 6) and Xp.dtype == X.dtype
    np.testing.assert_array_equal(Xp[:40], X)
    np.testing.assert_array_equal(groups[:40], np.arange(40))
    copied = groups[40:]
    np.testing.assert_array_equal(yp[40:], y[copied])
    assert [np.sum(y[copied[:10]] == c) for c in (0, 1)] == [5, 5]  # 25 % of each class
    assert not np.any(np.all(Xp[40:] == X[copied], axis=(1, 2, 3)))  # every copy differs
    again = plant_near_duplicates(
        X, y, share=0.25, n_copies=2, perturbation=perturbation, random_state=3
    )
    np.testing.assert_array_equal(again[0], Xp)


def test_a_shift_moves_by_at_most_scale_positions_and_zero_fills():
    X = np.arange(1, 26, dtype=float).reshape(1, 1, 5, 5).repeat(50, axis=0)
    Xp, _, groups = plant_near_duplicates(
        X, np.zeros(50), share=1.0, n_copies=1, perturbation="shift", random_state=0
    )
    for copy in Xp[50:, 0]:
        matches = [
            (dy, dx)
            for dy, dx in itertools.product(range(-1, 2), repeat=2)
            if (dy, dx) != (0, 0)
            and np.array_equal(
                np.roll(np.roll(X[0, 0], dy, 0), dx, 1)[1:-1, 1:-1], copy[1:-1, 1:-1]
            )
        ]
        assert matches, "a copy is not a one-position shift of its original"
        assert (copy == 0).sum() >= 5  # the vacated border is zero


def test_signals_shift_along_time_and_a_callable_perturbation_is_used():
    X = np.random.default_rng(1).random((10, 1, 12))
    Xp, _, _ = plant_near_duplicates(
        X, np.zeros(10), share=1.0, n_copies=1, perturbation="shift", random_state=0
    )
    assert np.all((Xp[10:, 0, 0] == 0) | (Xp[10:, 0, -1] == 0))
    Xc, _, groups = plant_near_duplicates(
        X, np.zeros(10), share=0.5, n_copies=1, perturbation=lambda R, rng: R + 1.0
    )
    np.testing.assert_allclose(Xc[10:], X[groups[10:]] + 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"share": 1.5}, "share must be in"),
        ({"n_copies": 0}, "n_copies must be a positive integer"),
        ({"perturbation": "blur"}, "perturbation must be one of"),
        ({"perturbation": lambda R, rng: R[:, :1]}, "same shape"),
    ],
)
def test_planting_refuses_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plant_near_duplicates(np.ones((4, 3)), np.zeros(4), **kwargs)


# ------------------------------------------------------------------- metrics
def brute_retrieval(S, groups):
    n = len(groups)
    hits, queries = 0, 0
    for i in range(n):
        if not any(groups[j] == groups[i] for j in range(n) if j != i):
            continue
        queries += 1
        best = max(S[i, j] for j in range(n) if j != i)
        tied = [j for j in range(n) if j != i and S[i, j] == best]
        hits += all(groups[j] == groups[i] for j in tied)
    pos = [S[i, j] for i in range(n) for j in range(i + 1, n) if groups[i] == groups[j]]
    neg = [S[i, j] for i in range(n) for j in range(i + 1, n) if groups[i] != groups[j]]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return hits / queries, wins / (len(pos) * len(neg))


def test_retrieval_is_perfect_when_copies_are_the_most_similar_pairs():
    S, groups = with_copies(np.random.default_rng(0))
    got = copy_retrieval(S, groups)
    assert got["precision"] == 1.0 and got["auc"] == 1.0
    assert got["n_queries"] == 20 and got["n_copy_pairs"] == 10
    # the same matrix negated ranks every copy pair last
    assert copy_retrieval(-S, groups)["auc"] == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_retrieval_equals_a_brute_force_reading_of_its_definition(seed):
    rng = np.random.default_rng(seed)
    S, groups = with_copies(rng, n=12, n_copied=5, noise=1.5)
    S = np.round(S, 1)  # ties, which the definitions must handle alike
    precision, auc = brute_retrieval(S, groups)
    got = copy_retrieval(S, groups)
    assert got["precision"] == pytest.approx(precision)
    assert got["auc"] == pytest.approx(auc)


def test_retrieval_without_copies_is_nan_and_checks_shapes():
    got = copy_retrieval(np.eye(4), np.arange(4))
    assert np.isnan(got["precision"]) and np.isnan(got["auc"])
    with pytest.raises(ValueError, match="shape"):
        copy_retrieval(np.eye(3), np.arange(4))


def test_distinct_share_counts_groups_against_what_the_budget_allows():
    groups = np.array([0, 0, 0, 1, 2, 3, 3, 4])
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    # class 0 has groups {0, 1, 2}, class 1 groups {3, 4}
    got = distinct_share([0, 1, 5], groups, y)  # groups 0 and 3 held
    assert got["kept"] == pytest.approx(2 / 5)
    # the budget allows min(3, 2) + min(2, 1) = 3 distinct groups
    assert got["of_allowed"] == pytest.approx(2 / 3)
    assert distinct_share([0, 3, 5, 7], groups, y)["of_allowed"] == 1.0


# ------------------------------------------------------- near-duplicate rule
def brute_near_duplicates(S, order, threshold):
    kept, dropped = [], set()
    for i in order:
        if any(S[i, j] >= threshold for j in kept):
            dropped.add(i)
        else:
            kept.append(i)
    return np.array([i in dropped for i in range(len(S))])


@pytest.mark.parametrize("seed", range(3))
def test_near_duplicate_rule_matches_its_definition_and_finds_planted_copies(seed):
    rng = np.random.default_rng(seed)
    S, groups = with_copies(rng)
    order = rng.permutation(len(S))
    dropped = drop_near_duplicates(S, order, 0.99)
    np.testing.assert_array_equal(dropped, brute_near_duplicates(S, order, 0.99))
    # exactly one row of every copied pair is dropped, the first in order kept
    assert dropped.sum() == 10
    for g in range(10):
        pair = np.flatnonzero(groups == g)
        first = pair[np.argmin([np.flatnonzero(order == p)[0] for p in pair])]
        assert not dropped[first] and dropped[pair[pair != first]].all()


def test_near_duplicate_rule_on_a_graph_reads_the_listed_pairs_both_ways():
    S, _ = with_copies(np.random.default_rng(5))
    M = S.copy()
    np.fill_diagonal(M, -np.inf)
    idx = np.argsort(-M, axis=1, kind="stable")[:, :3]
    graph = NeighbourGraph(idx, np.take_along_axis(S, idx, 1), np.ones(len(S)))
    sparse = np.full_like(S, -np.inf)
    rows = np.repeat(np.arange(len(S)), 3)
    sparse[rows, idx.ravel()] = S[rows, idx.ravel()]
    sparse = np.maximum(sparse, sparse.T)
    order = np.arange(len(S))[::-1]
    for t in (0.5, 0.9, 0.99):
        np.testing.assert_array_equal(
            drop_near_duplicates(graph, order, t), brute_near_duplicates(sparse, order, t)
        )


def test_near_duplicate_rule_refuses_an_order_that_is_not_a_permutation():
    with pytest.raises(ValueError, match="order must list every one"):
        drop_near_duplicates(np.eye(3), [0, 0, 1], 0.5)


# ---------------------------------------------------------------------- D2
def brute_d2(scores, S, n_keep, hard_fraction, k, gamma, n_strata):
    n = len(scores)
    nbrs = {i: set() for i in range(n)}
    for i in range(n):
        others = sorted((j for j in range(n) if j != i), key=lambda j: (-S[i, j], j))[:k]
        for j in others:
            nbrs[i].add(j)
            nbrs[j].add(i)
    dist = np.sqrt(np.clip(2 - 2 * S, 0, None))
    forward = np.array(
        [scores[i] + sum(np.exp(-dist[i, j]) * scores[j] for j in nbrs[i]) for i in range(n)]
    )
    n_hard = min(int(np.floor(hard_fraction * n)), n - n_keep)
    hardest = sorted(range(n), key=lambda i: (-scores[i], i))[:n_hard]
    pool = [i for i in range(n) if i not in hardest]
    lo, hi = min(forward[pool]), max(forward[pool])
    width = (hi - lo) / n_strata
    strata = {}
    for i in pool:
        b = n_strata - 1 if width == 0 else min(int((forward[i] - lo) // width), n_strata - 1)
        strata.setdefault(b, []).append(i)
    bins = [strata[b] for b in sorted(strata, key=lambda b: (len(strata[b]), b))]
    current, chosen, left = forward.copy(), [], n_keep
    for pos, members in enumerate(bins):
        take = min(len(members), left // (len(bins) - pos))
        left -= take
        for _ in range(take):
            free = [i for i in members if i not in chosen]
            pick = max(free, key=lambda i: (current[i], -i))
            chosen.append(pick)
            for j in nbrs[pick]:
                current[j] -= np.exp(-gamma * dist[pick, j]) * current[pick]
    return np.sort(chosen)


@pytest.mark.parametrize("seed, n_keep, hard", [(0, 10, 0.0), (1, 5, 0.2), (2, 18, 0.3)])
def test_d2_equals_a_brute_force_reading_of_its_definition(seed, n_keep, hard):
    rng = np.random.default_rng(seed)
    S, _ = with_copies(rng, n=16, n_copied=4, noise=0.2)
    scores = rng.random(len(S))
    got = message_passing_selection(scores, S, n_keep, hard_fraction=hard, n_strata=4)
    np.testing.assert_array_equal(got, brute_d2(scores, S, n_keep, hard, 5, 0.1, 4))
    assert len(got) == n_keep


def test_d2_drops_the_hardest_share_first():
    rng = np.random.default_rng(3)
    S, _ = with_copies(rng, n=40, n_copied=0)
    scores = np.linspace(0, 1, 40)
    kept = message_passing_selection(scores, S, 10, hard_fraction=0.25)
    assert kept.max() < 30  # the ten hardest rows are never kept


def test_d2_refuses_bad_input():
    with pytest.raises(ValueError, match="hard_fraction"):
        message_passing_selection(np.ones(4), np.eye(4), 2, hard_fraction=1.0)
    with pytest.raises(ValueError, match="n_keep"):
        message_passing_selection(np.ones(4), np.eye(4), 5)


# ------------------------------------------------------------ local scale
def test_local_scale_is_the_distance_to_the_kth_neighbour_on_matrix_and_graph():
    S, _ = with_copies(np.random.default_rng(7))
    scale = local_scale(S, 4)
    for i in range(len(S)):
        others = np.sort(np.delete(S[i], i))[::-1]
        assert scale[i] == pytest.approx(1 - others[3])
    M = S.copy()
    np.fill_diagonal(M, -np.inf)
    idx = np.argsort(-M, axis=1, kind="stable")[:, :4]
    graph = NeighbourGraph(idx, np.take_along_axis(S, idx, 1), np.ones(len(S)))
    np.testing.assert_allclose(local_scale(graph, 4), scale)
    assert np.isinf(local_scale(np.ones((1, 1)), 4)).all()


def test_local_scale_on_a_padded_graph_reads_the_last_listed_neighbour():
    """A class smaller than k + 1 rows pads its graph with -1; the scale is the same as
    on the dense matrix, which reads the last other row."""
    rng = np.random.default_rng(3)
    F = rng.normal(size=(3, 4))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    S = F @ F.T
    M = S.copy()
    np.fill_diagonal(M, -np.inf)
    order = np.argsort(-M, axis=1, kind="stable")[:, :2]
    indices = np.hstack([order, np.full((3, 2), -1)])
    values = np.hstack([np.take_along_axis(S, order, 1), np.full((3, 2), -np.inf)])
    graph = NeighbourGraph(indices, values, np.ones(3))
    scale = local_scale(graph, 4)
    assert np.isfinite(scale).all()
    np.testing.assert_allclose(scale, local_scale(S, 4))
    np.testing.assert_allclose(scale, 1 - np.sort(M, axis=1)[:, 1])


def test_relative_threshold_drops_pairs_close_against_their_neighbourhood():
    rng = np.random.default_rng(8)
    S, groups = with_copies(rng, noise=0.001)
    scale = local_scale(S, 5)
    order = np.arange(len(S))
    dropped = drop_near_duplicates(S, order, 0.2, scale=scale)
    brute = np.zeros(len(S), dtype=bool)
    kept = []
    for i in order:
        if any(1 - S[i, j] <= 0.2 * (scale[i] + scale[j]) / 2 for j in kept):
            brute[i] = True
        else:
            kept.append(i)
    np.testing.assert_array_equal(dropped, brute)
    np.testing.assert_array_equal(np.flatnonzero(dropped), np.arange(30, 40))
    with pytest.raises(ValueError, match="scale must have one entry per row"):
        drop_near_duplicates(S, order, 0.2, scale=scale[:3])


# ------------------------------------------------------------ calibration
def test_calibration_reads_the_median_relative_distance_of_planted_copies():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((60, 5))
    y = np.repeat([0, 1, 2], 20)
    scales = np.full(60, 0.1)

    def cosine_of_pairs(A, B, labels):
        assert len(A) == len(B) == len(labels)
        return np.sum(A * B, 1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1)

    threshold, ratios = calibrate(cosine_of_pairs, X, y, scales, "noise", 0.05, 0)
    assert len(ratios) >= 6  # at least two rows of every class
    assert threshold == pytest.approx(np.median(ratios))
    # identical copies (a perturbation that changes nothing) give a zero threshold
    zero, _ = calibrate(cosine_of_pairs, X, y, scales, lambda R, g: R, None, 0)
    assert zero == pytest.approx(0.0, abs=1e-12)
    assert calibration_rows(y, np.random.default_rng(0), 9).size == 9


def test_calibration_caps_a_threshold_the_kernel_cannot_support():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((40, 5))
    y = np.repeat([0, 1], 20)

    def orthogonal(A, B, labels):
        return np.zeros(len(A))  # every copy as far as can be

    with pytest.warns(UserWarning, match="does not see the calibration copies"):
        threshold, ratios = calibrate(orthogonal, X, y, np.full(40, 0.1), "noise", None, 0)
    assert threshold == MAX_THRESHOLD and np.all(ratios == 10.0)


def test_the_threshold_is_the_median_relative_distance_of_the_copies_numpy_only():
    cosines = np.array([1.0, 0.99, 0.98, 0.97, 1.02])  # rounding can pass 1
    scales = np.array([0.1, 0.2, 0.1, 0.3, 0.1])
    threshold, ratios = duplicate_threshold(cosines, scales)
    np.testing.assert_allclose(ratios, [0.0, 0.05, 0.2, 0.1, 0.0])
    assert threshold == pytest.approx(0.05)
    none, no_ratios = duplicate_threshold([], [])
    assert none == 0.0 and no_ratios.size == 0
    with pytest.warns(UserWarning, match="does not see the calibration copies"):
        capped, _ = duplicate_threshold(np.zeros(3), np.full(3, 0.5))
    assert capped == MAX_THRESHOLD


# ------------------------------------------------------- d2 as a keep-rule
def test_the_d2_keep_rule_is_message_passing_on_the_class_kernel():
    from sklearn.datasets import load_digits

    from sklearn_lpntk import LpNTKPruner, lpntk_kernel
    from sklearn_lpntk._selection import default_hard_fraction

    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]
    pruner = LpNTKPruner(0.7, keep="d2", max_epochs=2, random_state=0).fit(X, y)
    module = pruner.net_.module_
    expected = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        S = lpntk_kernel(module, X[rows], y[rows], normalize="cosine")
        typical = (S.sum(axis=1) - np.diagonal(S)) / (len(S) - 1)  # the paper's k = 5 below
        k = max(1, int(np.floor(len(rows) * 0.3 + 1e-9)))
        local = message_passing_selection(
            1 - typical, S, k, hard_fraction=default_hard_fraction(1 - k / len(rows))
        )
        expected.append(rows[local])
    np.testing.assert_array_equal(pruner.sample_indices_, np.sort(np.concatenate(expected)))
    assert pruner.keep_order_ is None  # not nested
    assert pruner.get_support(prune_ratio=0.9).sum() < pruner.get_support().sum()
