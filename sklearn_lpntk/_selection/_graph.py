"""A class as a k-nearest-neighbour graph of similarities (NumPy only).

A class's whole ``n x n`` similarity matrix costs ``n^2`` time and memory. The
rules that read a graph need far less: a row is represented, made redundant or
judged typical by its most similar rows. :class:`NeighbourGraph` holds, for every
row of one class, its ``k`` most similar other rows and their similarities, with
what those rules share: the covering lists, assignments along the graph
(:func:`graph_assignment_log`, :class:`GraphPrefixCut`), neighbour lists of a
matrix or a graph (:func:`neighbour_lists`) and a dense matrix's graph
(:func:`top_neighbours`). :meth:`NeighbourGraph.typicality` is the mean
similarity to the neighbours unless the engine gave the exact class mean.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import check_finite
from ._cuts import AssignmentLog, Cut, Selection


@dataclass(frozen=True, eq=False)
class NeighbourGraph:
    """Every row's ``k`` most similar other rows of the same class.

    Attributes
    ----------
    indices : ndarray of int, shape (n, k)
        Row ``i``'s neighbours, most similar first (never ``i`` itself; ``-1``
        pads rows of a class with fewer than ``k + 1`` rows).
    similarities : ndarray of float, shape (n, k)
        ``s(i, indices[i, j])``; ``-inf`` where ``indices`` is ``-1``.
    diagonal : ndarray of float, shape (n,)
        Self-similarities ``s(i, i)``.
    exact : bool
        Whether the neighbours are the true ``k`` most similar rows (False for
        an approximate search, whose recall is below 1).
    typical : ndarray of float, shape (n,), or None
        Every row's mean similarity to all other rows of its class, when known.
    """

    indices: np.ndarray
    similarities: np.ndarray
    diagonal: np.ndarray
    exact: bool = True
    typical: np.ndarray = None

    def __post_init__(self):
        if self.indices.shape != self.similarities.shape or self.indices.ndim != 2:
            raise ValueError("indices and similarities must both have shape (n, k).")
        if len(self.diagonal) != len(self.indices):
            raise ValueError("diagonal must have one entry per row.")
        check_finite(self.similarities[self.indices >= 0], "The neighbour similarities")

    @property
    def shape(self):
        n = len(self.indices)
        return (n, n)

    @property
    def n_neighbors(self):
        return self.indices.shape[1]

    def edges(self):
        """``(rows, cols, values)`` of every listed pair ``(i, indices[i, j])``."""
        valid = self.indices >= 0
        rows = np.broadcast_to(np.arange(len(self.indices))[:, None], self.indices.shape)
        return rows[valid], self.indices[valid], self.similarities[valid].astype(np.float64)

    def covering(self):
        """For every row j, the rows it can represent and how well, as CSR arrays.

        Row j covers itself (its self-similarity) and every row that lists j
        among its neighbours; an edge listed both ways counts once. Returns
        ``(offsets, members, values)``: j's rows are
        ``members[offsets[j]:offsets[j + 1]]``, ascending.
        """
        cached = self.__dict__.get("_covering")
        if cached is not None:
            return cached
        n = len(self.indices)
        rows, cols, values = self.edges()
        # an edge (i -> j) lets j cover i; the reverse listing (j -> i) carries the
        # same similarity for a symmetric kernel, so keep one copy of every pair
        cover_by = np.concatenate([cols, rows, np.arange(n)])
        covered = np.concatenate([rows, cols, np.arange(n)])
        vals = np.concatenate([values, values, np.asarray(self.diagonal, dtype=np.float64)])
        order = np.lexsort((-vals, covered, cover_by))
        cover_by, covered, vals = cover_by[order], covered[order], vals[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (cover_by[1:] != cover_by[:-1]) | (covered[1:] != covered[:-1])
        cover_by, covered, vals = cover_by[first], covered[first], vals[first]
        offsets = np.concatenate([[0], np.cumsum(np.bincount(cover_by, minlength=n))])
        result = offsets.astype(np.int64), covered, vals
        object.__setattr__(self, "_covering", result)  # computed once, read by every rule
        return result

    def most_similar(self, kept):
        """Every row's kept row along the graph.

        Parameters
        ----------
        kept : array-like of int
            Kept rows (at least one).

        Returns
        -------
        assignment : ndarray of int, shape (n,)
            Kept rows are their own; a row the graph links to kept rows takes
            the most similar of them, other rows the kept row of their most
            similar placed neighbour, and rows with no path to a kept row
            ``kept[0]``.
        """
        return graph_most_similar(self, kept)

    def typicality(self):
        """Every row's mean similarity to the other rows of its class, when the graph
        was given it (``typical``, computed exactly by the engine); otherwise the
        mean similarity to its listed neighbours (0 without any)."""
        if self.typical is not None:
            return np.asarray(self.typical, dtype=np.float64)
        valid = self.indices >= 0
        sums = np.where(valid, self.similarities, 0.0).sum(axis=1, dtype=np.float64)
        counts = valid.sum(axis=1)
        return np.divide(sums, counts, out=np.zeros(len(sums)), where=counts > 0)


def graph_assignment_log(graph, order):
    """Log of "most similar row among the first m of ``order``", read along the graph.

    A row is assigned to a chosen row that covers it (see
    :meth:`NeighbourGraph.covering`) with the largest similarity, ties to the
    lowest index; rows that no chosen row covers stay unassigned (-1 in
    :meth:`AssignmentLog.at`) until :func:`fill_assignment` places them.
    """
    offsets, members, values = graph.covering()
    n = graph.shape[0]
    best = np.full(n, -np.inf)
    current = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
    log = AssignmentLog.recorder(n)
    for j in order:
        lo, hi = offsets[j], offsets[j + 1]
        rows, vals = members[lo:hi], values[lo:hi]
        moved = (vals > best[rows]) | ((vals == best[rows]) & (j < current[rows]))
        where = rows[moved]
        best[where] = vals[moved]
        current[where] = j
        log.record(j, where)
    return log.finish()


def fill_assignment(graph, assignment, kept):
    """Place rows that no kept row covers: take the centre of their most similar
    assigned neighbour, repeatedly; rows with no path to a kept row go to
    ``kept[0]``. ``assignment`` (-1 for unassigned rows) is changed in place."""
    missing = assignment < 0
    while missing.any():
        idx = graph.indices[missing]
        cand = np.where(idx >= 0, assignment[np.maximum(idx, 0)], -1)
        has = cand >= 0
        found = has.any(axis=1)
        if not found.any():
            break
        first = np.argmax(has, axis=1)  # neighbours are sorted, most similar first
        rows = np.flatnonzero(missing)[found]
        assignment[rows] = cand[found, first[found]]
        missing[rows] = False
    assignment[missing] = kept[0]
    return assignment


@dataclass(frozen=True, eq=False)
class GraphPrefixCut(Cut):
    """A nested rule on a graph: the rows kept for ``k`` are the first ``k`` of
    ``order``; every row is assigned to its most similar kept row along the
    graph (:func:`graph_assignment_log`, then :func:`fill_assignment`)."""

    order: np.ndarray
    log: AssignmentLog
    graph: NeighbourGraph
    centres: str = "order"

    def covers(self, k):
        return True

    def select(self, k, prune_ratio=None):
        prefix = self.order[: min(int(k), len(self.order))]
        kept = np.sort(prefix)
        assignment = fill_assignment(self.graph, self.log.at(len(prefix)), prefix)
        assignment[kept] = kept
        return Selection(kept, prefix if self.centres == "order" else kept, assignment)


def graph_most_similar(graph, kept):
    """Every row's most similar row among ``kept`` along the graph (kept rows: themselves)."""
    kept = np.asarray(kept, dtype=np.intp)
    assignment = fill_assignment(graph, graph_assignment_log(graph, kept).at(len(kept)), kept)
    assignment[kept] = kept
    return assignment


def facility_objective(similarity, kept):
    """``sum_i max(0, max_{j in kept} s_ij)`` on a dense matrix (for comparing rules)."""
    S = np.asarray(similarity)
    total = 0.0
    for start in range(0, S.shape[0], 1024):
        total += float(np.maximum(S[start : start + 1024][:, kept].max(axis=1), 0).sum())
    return total


def top_neighbours(similarity, n_neighbors):
    """A dense class matrix's :class:`NeighbourGraph`.

    Parameters
    ----------
    similarity : ndarray of shape (n, n) or NeighbourGraph
        A class's similarities; a graph is returned as it is.
    n_neighbors : int
        Neighbours listed per row (at most ``n - 1``).

    Returns
    -------
    graph : NeighbourGraph
        Every row's ``n_neighbors`` most similar other rows, ties to the lower
        index; exact. Its ``typical`` is None, so rules on it read typicality
        as the mean over the listed neighbours (the engine's graphs carry the
        exact class mean).
    """
    if isinstance(similarity, NeighbourGraph):
        return similarity
    S = np.asarray(similarity, dtype=np.float64)
    n = len(S)
    k = max(0, min(n_neighbors, n - 1))
    M = S.copy()
    np.fill_diagonal(M, -np.inf)
    idx = np.argsort(-M, axis=1, kind="stable")[:, :k]
    return NeighbourGraph(idx, np.take_along_axis(S, idx, 1), np.diagonal(S).copy())


def neighbour_lists(similarity, n_neighbors):
    """``(n, indices, similarities)``: every row's most similar other rows of a matrix
    (its ``n_neighbors`` most similar) or of a graph (its listed pairs), both ways."""
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
