"""Keep-rules built on a similarity matrix or a difficulty score (NumPy only).

* :func:`facility_location` keeps representative rows: it maximises
  ``F(S) = sum_i max(0, max_{j in S} s_ij)`` greedily (lazy greedy, with the
  usual (1 - 1/e) guarantee for this monotone submodular function).
* :func:`drop_redundant` removes near-duplicates first: while rows must go, the
  most similar remaining pair loses its more typical member.
* :func:`stratified_coverage` is coverage-centric selection (Zheng et al.,
  ICLR 2023): drop the hardest fraction, split the remaining score range into
  equal-width bins, share the budget equally among bins (smallest first,
  leftovers passed on) and sample uniformly inside each bin.
* :func:`middle_band` keeps the rows whose score is closest to the median (the
  band of Moderate coresets, Xia et al., ICLR 2023).
"""

import heapq

import numpy as np

from ._checks import check_count, check_finite


def typicality(similarity):
    """Mean similarity of every row to the other rows (0 for a single row).

    Parameters
    ----------
    similarity : ndarray of shape (n, n)

    Returns
    -------
    typical : ndarray of shape (n,)
        ``(sum_j s_ij - s_ii) / (n - 1)``.
    """
    S = np.asarray(similarity, dtype=np.float64)
    n = S.shape[0]
    if n < 2:
        return np.zeros(n)
    return (S.sum(axis=1) - np.diagonal(S)) / (n - 1)


def facility_location(similarity, n_keep):
    """Greedy facility location: ``n_keep`` rows that best represent all rows.

    Each step adds the row j with the largest gain
    ``sum_i max(0, s_ij - c_i)``, where ``c_i`` is row i's best similarity to
    the rows chosen so far (starting at 0); ties go to the lowest index. Stale
    gains are upper bounds (submodularity), so a lazy priority queue gives the
    same choices as recomputing every gain.

    Parameters
    ----------
    similarity : ndarray of shape (n, n)
        A class's similarities (float32 is read as it is, sums in float64).
    n_keep : int
        Rows to choose.

    Returns
    -------
    rows : ndarray of int
        The chosen rows, in the order chosen.
    """
    S = np.asarray(similarity)
    if S.dtype not in (np.float32, np.float64):
        S = S.astype(np.float64)
    # a float32 matrix is read as is: every sum below is taken in float64, on
    # values that convert exactly, so the choices equal those on a float64 copy
    n = S.shape[0]
    check_count("n_keep", n_keep, n)
    check_finite(S)
    # column j of S is read as a contiguous row of S.T (S itself when symmetric,
    # as kernels are exactly): strided column reads were most of the cost
    columns = S if np.array_equal(S, S.T) else np.ascontiguousarray(S.T)
    cover = np.zeros(n)
    gains = None
    for start in range(0, n, 512):  # column sums of the positive part, row by row in
        block = np.maximum(S[start : start + 512], 0).astype(np.float64)  # order, no (n, n) copy
        gains = (
            block.sum(axis=0) if gains is None else np.concatenate([gains[None], block]).sum(axis=0)
        )
    scratch = np.empty(n)

    def gain(j):
        np.subtract(columns[j], cover, out=scratch)
        np.maximum(scratch, 0, out=scratch)
        return scratch.sum()

    def take(j):
        np.maximum(cover, columns[j], out=cover)

    return lazy_greedy(gains, n_keep, gain, take)


def lazy_greedy(gains, n_keep, gain, take):
    """The lazy greedy of a monotone submodular objective: ``n_keep`` items in order.

    ``gains`` are every item's first gains; ``gain(j)`` is item j's gain now and
    ``take(j)`` adds it. A stale gain is an upper bound, so an item whose fresh
    gain still leads the queue is the greedy choice; ties go to the lowest index.
    """
    heap = [(-g, j) for j, g in enumerate(np.asarray(gains, dtype=np.float64).tolist())]
    heapq.heapify(heap)
    chosen = []
    while len(chosen) < n_keep:
        _, j = heapq.heappop(heap)
        fresh = gain(j)
        if not heap or (-fresh, j) <= heap[0]:
            chosen.append(j)
            take(j)
        else:
            heapq.heappush(heap, (-fresh, j))
    return np.asarray(chosen, dtype=np.intp)


def drop_redundant(similarity, n_keep, typical=None):
    """Remove near-duplicates until ``n_keep`` rows remain.

    While too many rows remain, take the pair of remaining rows with the
    highest similarity (ties: the lowest first index, then the lowest second
    index) and drop its more typical member (higher ``typical``; ties: the
    higher index), so that of two interchangeable rows the rarer view stays.

    Parameters
    ----------
    similarity : ndarray of shape (n, n)
        A class's similarities.
    n_keep : int
        Rows to keep.
    typical : ndarray of shape (n,) or None, default=None
        Every row's typicality; None computes :func:`typicality` of
        ``similarity``.

    Returns
    -------
    rows : ndarray of int
        The kept rows, ascending.
    """
    S = np.array(similarity, dtype=np.float64)
    n = S.shape[0]
    check_count("n_keep", n_keep, n)
    alive = np.ones(n, dtype=bool)
    alive[redundancy_drops(S, n_keep, typical, copy=False)] = False
    return np.flatnonzero(alive)


def redundancy_order(similarity, typical=None):
    """The keep order of :func:`drop_redundant`: its ``k`` rows are the first ``k``.

    The last survivor comes first, then the dropped rows from the last dropped
    to the first.
    """
    S = np.array(similarity, dtype=np.float64)
    drops = redundancy_drops(S, 1, typical, copy=False)
    survivor = np.setdiff1d(np.arange(S.shape[0]), drops)
    return np.concatenate([survivor, drops[::-1]]).astype(np.intp)


def redundancy_drops(similarity, n_keep, typical=None, *, copy=True):
    """The rows :func:`drop_redundant` removes, in the order it removes them.

    ``copy=False`` lets a float64 ``similarity`` be overwritten.
    """
    S = (np.array if copy else np.asarray)(similarity, dtype=np.float64)
    n = S.shape[0]
    check_count("n_keep", n_keep, n)
    check_finite(S)
    typical = typicality(S) if typical is None else np.asarray(typical, dtype=np.float64)
    alive = np.ones(n, dtype=bool)
    np.fill_diagonal(S, -np.inf)
    partner = S.argmax(axis=1)  # lowest index among equal maxima
    best = S[np.arange(n), partner]
    drops = []
    for _ in range(n - n_keep):
        i = int(np.argmax(np.where(alive, best, -np.inf)))
        j = int(partner[i])
        i, j = min(i, j), max(i, j)
        drop = i if typical[i] > typical[j] else j
        drops.append(drop)
        alive[drop] = False
        S[:, drop] = -np.inf
        best[drop] = -np.inf
        for r in np.flatnonzero(alive & (partner == drop)):
            partner[r] = S[r].argmax()
            best[r] = S[r, partner[r]]
    return np.asarray(drops, dtype=np.intp)


def stratified_coverage(scores, n_keep, *, hard_fraction=0.0, n_bins=50, random_state=None):
    """Coverage-centric selection of ``n_keep`` rows from difficulty ``scores``.

    Parameters
    ----------
    scores : array of shape (n,)
        Difficulty: higher is harder. +inf (e.g. never learned) counts as
        hardest.
    n_keep : int
        Rows to keep.
    hard_fraction : float in [0, 1)
        The hardest ``floor(hard_fraction * n)`` rows are dropped first (at
        most ``n - n_keep``).
    n_bins : int
        Equal-width bins over the remaining (finite) score range.
    random_state : int, Generator or None
        Sampling inside the bins.

    Returns
    -------
    rows : ndarray of int
        The kept rows, ascending.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    check_count("n_keep", n_keep, n)
    if not 0 <= hard_fraction < 1:
        raise ValueError(f"hard_fraction must be in [0, 1), got {hard_fraction}.")
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}.")
    rng = np.random.default_rng(random_state)
    order = np.argsort(-scores, kind="stable")  # hardest first, ties by index
    pool = order[min(int(np.floor(hard_fraction * n)), n - n_keep) :]
    finite = scores[pool][np.isfinite(scores[pool])]
    if len(finite):
        lo, hi = finite.min(), finite.max()
        width = (hi - lo) / n_bins
        which = np.floor((scores[pool] - lo) / width) if width > 0 else np.zeros(len(pool))
        which = np.clip(np.nan_to_num(which, posinf=n_bins - 1), 0, n_bins - 1)
    else:  # only infinite scores left: one bin
        which = np.zeros(len(pool))
    bins = [pool[which == b] for b in range(n_bins)]
    bins = sorted((b for b in bins if len(b)), key=len)  # stable: ties by score order
    budget, kept = n_keep, []
    for i, members in enumerate(bins):
        take = min(len(members), budget // (len(bins) - i))
        kept.append(rng.choice(members, size=take, replace=False))
        budget -= take
    kept = np.concatenate(kept)
    if budget > 0:  # rounding left rows over: top up uniformly from the rest of the pool
        rest = np.setdiff1d(pool, kept)
        kept = np.concatenate([kept, rng.choice(rest, size=budget, replace=False)])
    return np.sort(kept)


def default_hard_fraction(prune_ratio):
    """The hardest share CCS drops by default: ``clip((prune_ratio - 0.3) / 2, 0, 0.3)``.

    0 up to 30 % pruning, 0.1 at 50 %, 0.2 at 70 %, 0.3 from 90 %: the range
    the CCS literature uses, larger at high pruning (our schedule, not tuned on
    any dataset of this project).

    Parameters
    ----------
    prune_ratio : float

    Returns
    -------
    hard_fraction : float
    """
    return float(np.clip((prune_ratio - 0.3) / 2, 0.0, 0.3))


def middle_band(scores, n_keep):
    """The ``n_keep`` rows whose score is closest to the median (ties: lowest index).

    Parameters
    ----------
    scores : ndarray of shape (n,)
        One score per row (Moderate reads distances to the class centre).
    n_keep : int

    Returns
    -------
    rows : ndarray of int
        The kept rows, ascending.
    """
    check_count("n_keep", n_keep, len(scores))
    return np.sort(middle_out_order(scores)[:n_keep])


def middle_out_order(scores):
    """Rows from the score closest to the median outwards (ties: lowest index): the
    keep order of :func:`middle_band`."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(np.abs(scores - np.median(scores)), kind="stable")
