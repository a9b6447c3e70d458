"""Near-duplicate removal and difficulty-with-diversity selection (NumPy only).

* :func:`drop_near_duplicates` walks a class's rows in a given order and drops
  a row whose similarity to an already kept row reaches a threshold (the rule
  of SemDeDup, Abbas et al., 2023, with the order and the threshold supplied).
* :func:`message_passing_selection` is D2 pruning's rule (Maharana et al., ICLR
  2024): difficulty scores passed forward over the neighbour graph, then, inside
  coverage-centric strata, a greedy pick of the highest score that lowers its
  neighbours' scores.

Both read a class's similarities either as a dense matrix or as a
:class:`~._graph.NeighbourGraph` (read through its ``edges``); on the graph only
listed pairs count.
"""

import numpy as np

from ._checks import check_count, check_finite


def _neighbour_lists(similarity, n_neighbors):
    """(indices, similarities) of every row's most similar other rows (listed both ways)."""
    if hasattr(similarity, "edges"):  # a NeighbourGraph
        rows, cols, vals = similarity.edges()
        n = len(similarity.indices)
    else:
        S = np.asarray(similarity, dtype=np.float64)
        n = len(S)
        k = min(n_neighbors, n - 1)
        if k < 1:
            return n, [np.empty(0, np.int64)] * n, [np.empty(0)] * n
        masked = S.copy()
        np.fill_diagonal(masked, -np.inf)
        cols = np.argsort(-masked, axis=1, kind="stable")[:, :k]
        rows = np.repeat(np.arange(n), k)
        cols = cols.ravel()
        vals = S[rows, cols]
    # both directions, each undirected pair once
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)
    key = np.unique(a * n + b, return_index=True)[1]
    a, b, v = a[key], b[key], vals[key]
    src, dst, val = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([v, v])
    order = np.argsort(src, kind="stable")
    src, dst, val = src[order], dst[order], val[order]
    bounds = np.searchsorted(src, np.arange(n + 1))
    return (
        n,
        [dst[bounds[i] : bounds[i + 1]] for i in range(n)],
        [val[bounds[i] : bounds[i + 1]] for i in range(n)],
    )


def local_scale(similarity, n_neighbors):
    """Every row's distance ``1 - s`` to its ``n_neighbors``-th most similar other row.

    The scale of "near" around a row: inside a class whose similarities are all
    high and close together, an absolute threshold on the similarity would call
    most rows near-duplicates, while a row's nearest neighbour relative to its
    k-th one stays informative. On a graph, the ``n_neighbors``-th listed
    neighbour is used, or the last one listed where fewer are (padding).
    Rows with no neighbour get ``inf``.

    Parameters
    ----------
    similarity : ndarray of shape (n, n) or NeighbourGraph
        A class's cosine similarities (at most 1).
    n_neighbors : int
        Which neighbour sets the scale (the last one listed when fewer exist).

    Returns
    -------
    scale : ndarray of shape (n,)
        ``1 - s`` to that neighbour, at least 1e-12; ``inf`` without one.
    """
    if hasattr(similarity, "indices"):  # a NeighbourGraph
        # padding (-1) ends a row's list: the least similar of its first
        # n_neighbors listed neighbours is its last listed one
        values = np.where(similarity.indices >= 0, similarity.similarities, np.inf)
        values = values[:, : max(1, min(n_neighbors, values.shape[1]))]
        kth = values.min(axis=1)
    else:
        S = np.asarray(similarity, dtype=np.float64)
        n = len(S)
        k = min(n_neighbors, n - 1)
        if k < 1:
            return np.full(n, np.inf)
        M = S.copy()
        np.fill_diagonal(M, -np.inf)
        kth = -np.partition(-M, k - 1, axis=1)[:, k - 1]
    return np.where(np.isfinite(kth), np.clip(1.0 - kth, 1e-12, None), np.inf)


def drop_near_duplicates(similarity, order, threshold, scale=None):
    """Rows that are near-duplicates of a row kept before them.

    Parameters
    ----------
    similarity : ndarray of shape (n, n) or NeighbourGraph
        One class's similarities (on a graph, only its listed pairs are read).
    order : array of int, shape (n,)
        The order in which rows are considered (e.g. a keep order: the most
        representative first). Every row appears once.
    threshold : float
        Without ``scale``: a row whose similarity to a kept row is at least this
        is dropped. With ``scale``: a row ``i`` is dropped when
        ``1 - s_ij <= threshold * (scale_i + scale_j) / 2`` for a kept row ``j``.
    scale : array of shape (n,) or None
        Every row's local scale (:func:`local_scale`).

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the dropped (redundant) rows. The first row of ``order`` is
        never dropped.
    """
    order = np.asarray(order, dtype=np.int64)
    n, neighbours, values = _neighbour_lists(similarity, np.inf)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must list every one of the {n} rows exactly once.")
    if scale is not None:
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (n,):
            raise ValueError(f"scale must have one entry per row ({n}); got {scale.shape}.")
    kept = np.zeros(n, dtype=bool)
    dropped = np.zeros(n, dtype=bool)
    for i in order:
        if scale is None:
            near = neighbours[i][values[i] >= threshold]
        else:
            limit = threshold * (scale[i] + scale[neighbours[i]]) / 2
            near = neighbours[i][1 - values[i] <= limit]
        if kept[near].any():
            dropped[i] = True
        else:
            kept[i] = True
    return dropped


def _strata(scores, n_keep, n_strata):
    """CCS budgets: equal-width bins over ``scores``, smallest bins filled first."""
    lo, hi = scores.min(), scores.max()
    edges = np.linspace(lo, hi, n_strata + 1)
    bins = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, n_strata - 1)
    members = [np.flatnonzero(bins == b) for b in range(n_strata)]
    members = [m for m in members if len(m)]
    members.sort(key=len)
    budgets, left = [], n_keep
    for i, m in enumerate(members):
        take = min(len(m), left // (len(members) - i))
        budgets.append(take)
        left -= take
    return members, budgets


def message_passing_selection(
    scores, similarity, n_keep, *, hard_fraction=0.0, n_neighbors=5, gamma=0.1, n_strata=25
):
    """D2 pruning: ``n_keep`` rows that are hard and spread over the class.

    Parameters
    ----------
    scores : array of shape (n,)
        Difficulty, non-negative (higher is harder).
    similarity : ndarray of shape (n, n) or NeighbourGraph
        Cosine similarities of the class; the distance of a pair is
        ``sqrt(2 - 2 s)``. A dense matrix is read through every row's
        ``n_neighbors`` most similar rows.
    n_keep : int
        Rows to keep.
    hard_fraction : float in [0, 1)
        The hardest ``floor(hard_fraction * n)`` rows (at most ``n - n_keep``)
        are dropped first, as in coverage-centric sampling.
    n_neighbors : int
        Neighbours per row for a dense matrix (the paper's k = 5).
    gamma : float
        Strength of the reverse step: a picked row lowers a neighbour's score
        by ``exp(-gamma d) s_picked``.
    n_strata : int
        Equal-width strata over the passed-forward scores.

    Returns
    -------
    ndarray of int
        The kept rows, ascending. Deterministic (ties go to the lowest index).
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    check_count("n_keep", n_keep, n)
    check_finite(scores, "The difficulty scores")
    if not 0 <= hard_fraction < 1:
        raise ValueError(f"hard_fraction must be in [0, 1), got {hard_fraction}.")
    _, neighbours, values = _neighbour_lists(similarity, n_neighbors)
    weight = [np.exp(-np.sqrt(np.clip(2 - 2 * v, 0, None))) for v in values]
    forward = np.array([scores[i] + np.dot(weight[i], scores[neighbours[i]]) for i in range(n)])
    n_hard = min(int(np.floor(hard_fraction * n)), n - n_keep)
    by_hardness = np.argsort(-scores, kind="stable")
    candidate = np.ones(n, dtype=bool)
    candidate[by_hardness[:n_hard]] = False
    pool = np.flatnonzero(candidate)
    members, budgets = _strata(forward[pool], n_keep, n_strata)
    reverse = [np.exp(-gamma * np.sqrt(np.clip(2 - 2 * v, 0, None))) for v in values]
    current = forward.copy()
    chosen = np.zeros(n, dtype=bool)
    for m, budget in zip(members, budgets):
        rows = pool[m]
        for _ in range(budget):
            free = rows[~chosen[rows]]
            pick = free[np.argmax(current[free])]
            chosen[pick] = True
            current[neighbours[pick]] -= reverse[pick] * current[pick]
    return np.flatnonzero(chosen)
