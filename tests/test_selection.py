"""Farthest-first traversal and keep-rules against brute-force readings."""

import numpy as np
import pytest

from sklearn_lpntk import farthest_first_traversal
from sklearn_lpntk._selection import keep_counts, select_from_kernel

from ._counts import n_to_keep


def brute_force_traversal(K, k):
    """Literal reading of the definition, with explicit loops."""
    n = len(K)
    diag = [K[i][i] for i in range(n)]
    centres = [max(range(n), key=lambda i: (diag[i], -i))]  # argmax, lowest index on ties
    while len(centres) < k:
        best_s, best_val = None, None
        for s in range(n):
            if s in centres:
                continue
            val = max(K[h][s] for h in centres)
            if best_val is None or val < best_val:  # strict: lowest index wins ties
                best_s, best_val = s, val
        centres.append(best_s)
    assignment = []
    for s in range(n):
        if s in centres:
            assignment.append(s)
            continue
        best_h, best_val = None, None
        for h in centres:  # in the order chosen: the first wins ties
            if best_val is None or K[h][s] > best_val:
                best_h, best_val = h, K[h][s]
        assignment.append(best_h)
    return centres, assignment


def random_psd(rng, n, with_ties):
    if with_ties:
        # small integer features: many equal inner products and equal norms
        F = rng.integers(-1, 2, size=(n, 3)).astype(float)
    else:
        F = rng.normal(size=(n, rng.integers(1, 6)))
    return F @ F.T


@pytest.mark.parametrize("with_ties", [False, True])
def test_traversal_matches_brute_force_on_random_psd_kernels(with_ties):
    rng = np.random.default_rng(42 + with_ties)
    n_ties_seen = 0
    for _ in range(120):
        n = int(rng.integers(1, 25))
        K = random_psd(rng, n, with_ties)
        k = int(rng.integers(1, n + 1))
        centres, assignment = farthest_first_traversal(K, k)
        ref_centres, ref_assignment = brute_force_traversal(K.tolist(), k)
        assert centres.tolist() == ref_centres
        assert assignment.tolist() == ref_assignment
        n_ties_seen += len(np.unique(K)) < K.size
    if with_ties:
        assert n_ties_seen > 100  # the tie-breaking rules were really exercised


def test_traversal_first_centre_and_self_assignment():
    K = np.array([[1.0, 0.9, 0.0], [0.9, 2.0, 0.1], [0.0, 0.1, 0.5]])
    centres, assignment = farthest_first_traversal(K, 2)
    assert centres.tolist() == [1, 2]  # argmax diag, then least similar to it
    assert assignment.tolist() == [1, 1, 2]


def test_traversal_negative_similarity_is_farthest():
    K = np.array([[3.0, 1.0, -2.0], [1.0, 2.0, 0.5], [-2.0, 0.5, 1.0]])
    centres, _ = farthest_first_traversal(K, 2)
    assert centres.tolist() == [0, 2]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 33])
@pytest.mark.parametrize("prune_ratio", [0.0, 0.1, 0.5, 0.9])
@pytest.mark.parametrize("keep", ["centres", "random_member", "thin_largest"])
def test_exact_counts_per_class(n, prune_ratio, keep):
    rng = np.random.default_rng(n)
    F = rng.normal(size=(n, 4))
    n_keep = n_to_keep(n, prune_ratio)
    assert n_keep == max(1, int(np.floor(n * (1 - prune_ratio) + 1e-9)))
    kept, centres, assignment = select_from_kernel(F @ F.T, n_keep, keep=keep, random_state=0)
    assert len(kept) == n_keep and len(np.unique(kept)) == n_keep
    assert np.all(np.diff(kept) > 0) and kept.min() >= 0 and kept.max() < n
    assert set(assignment.tolist()) == set(centres.tolist())


def test_keep_counts_floor_and_at_least_one():
    # 100 * 0.1 is 9.999... in floating point; 100 rows at 0.9 keep 10
    cases = [(10, 0.3, 7), (100, 0.9, 10), (178, 0.3, 124), (3, 0.9, 1), (1, 0.5, 1), (5, 0.0, 5)]
    for n, ratio, k in cases:
        assert keep_counts([n], ratio).tolist() == [k]
        assert n_to_keep(n, ratio) == k  # the tests' own count agrees


def test_centres_rule_keeps_the_centres():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(30, 5))
    kept, centres, _ = select_from_kernel(F @ F.T, 12, keep="centres")
    assert kept.tolist() == sorted(centres.tolist())


def test_random_member_keeps_one_member_per_cluster_and_varies():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(40, 3))
    K = F @ F.T
    seen = set()
    for seed in range(10):
        kept, centres, assignment = select_from_kernel(
            K, 8, keep="random_member", random_state=seed
        )
        assert sorted(assignment[kept].tolist()) == sorted(centres.tolist())
        seen.add(tuple(kept))
    assert len(seen) > 1
    again, _, _ = select_from_kernel(K, 8, keep="random_member", random_state=3)
    first, _, _ = select_from_kernel(K, 8, keep="random_member", random_state=3)
    assert again.tolist() == first.tolist()


def test_thin_largest_removes_from_the_largest_clusters():
    # two tight groups of 10 and 2 near-duplicates and 4 isolated points
    rng = np.random.default_rng(1)
    base = np.eye(6) * 5
    F = np.vstack(
        [
            base[0] + 0.01 * rng.normal(size=(10, 6)),
            base[1] + 0.01 * rng.normal(size=(2, 6)),
            base[2:],
        ]
    )
    K = F @ F.T
    kept, centres, assignment = select_from_kernel(
        K, 10, keep="thin_largest", cluster_ratio=0.6, random_state=0
    )
    assert len(kept) == 10
    assert set(centres.tolist()) <= set(kept.tolist())  # centres survive
    removed = np.setdiff1d(np.arange(len(K)), kept)
    assert set(removed.tolist()) <= set(range(10))  # all from the big cluster
    for c in centres:  # no cluster vanishes
        assert np.any(assignment[kept] == c)


def test_invalid_selection_arguments():
    K = np.eye(4)
    with pytest.raises(ValueError, match="n_centres must be in"):
        farthest_first_traversal(K, 0)
    with pytest.raises(ValueError, match="square"):
        farthest_first_traversal(np.ones((2, 3)), 1)
    with pytest.raises(ValueError, match="keep='bogus'"):
        select_from_kernel(K, 2, keep="bogus")
