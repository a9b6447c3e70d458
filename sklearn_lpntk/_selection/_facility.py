"""Facility location: keep the rows that best represent their class (``keep="representative"``).

:func:`facility_location` maximises ``F(S) = sum_i max(0, max_{j in S} s_ij)``
greedily (lazy greedy, with the usual (1 - 1/e) guarantee for this monotone
submodular function); :func:`graph_facility_location` does the same on a
neighbour graph (an entry counts when one of its two rows lists the other, and
the diagonal always), so the guarantee holds for the sparsified objective. The
keep order is the greedy order: nested.
"""

import heapq

import numpy as np

from ._checks import check_count, check_finite
from ._cuts import PrefixCut, matrix_assignment_log
from ._graph import GraphPrefixCut, graph_assignment_log
from ._rule import MatrixRule, register_rule


@register_rule("representative")
class FacilityLocation(MatrixRule):
    """Keep the rows that best represent their class: greedy facility location.

    Each row added is the one that raises ``sum_i max(0, max_{j kept} s_ij)``
    most, so every row of the class ends up close to some kept row (a covering
    of the class). The keep order is the greedy order, so one fit serves every
    prune ratio. The default rule of 0.4 to 0.7 (``keep="representative"``).

    Parameters
    ----------
    graph : {"auto", "dense", "exact", "approximate"}, default="auto"
        How a class is read: "dense", its whole matrix; "exact", every row's
        ``n_neighbors`` most similar rows, block by block; "approximate", the
        same graph from a similarity search on sketches (faiss-cpu, the
        ``large`` extra, or pynndescent), ranked by the exact lpNTK. "auto":
        dense up to 10,000 rows per class while the matrix fits the memory
        limit, then exact up to 2.5e11 multiply-adds, then approximate.
    n_neighbors : int, default=10
        Neighbours per row of the graph.
    drop_contradictory : float in [-1, 1] or None, default=None
        Rows with a same-class partner of lpNTK cosine below this value are
        never kept (the class is then read as a matrix).
    """

    nested = True

    def __init__(self, graph="auto", n_neighbors=10, drop_contradictory=None):
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.drop_contradictory = drop_contradictory

    def _matrix_cut(self, S, sub, rows, masks, random_state):
        order = rows[facility_location(sub, len(rows))]
        return PrefixCut(order, matrix_assignment_log(S, order), "order", masks)

    def _graph_cut(self, graph, random_state):
        order = graph_facility_location(graph)
        return GraphPrefixCut(order, graph_assignment_log(graph, order), graph, "order")


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


def graph_facility_location(graph, n_keep=None):
    """Lazy-greedy facility location on a :class:`NeighbourGraph`.

    Maximises ``F(S) = sum_i max(0, max_{j in S, j covers i} s_ij)`` where j
    covers i when i lists j (or j lists i) as a neighbour, or ``i == j`` (see
    :meth:`NeighbourGraph.covering`). Each step adds the row with the largest
    gain, ties to the lowest index; stale gains are upper bounds
    (submodularity), so the lazy queue makes the same choices as recomputing
    every gain. Returns the chosen rows in order (all rows when ``n_keep`` is
    None, so the order can be cut at any count).
    """
    n = graph.shape[0]
    n_keep = n if n_keep is None else n_keep
    check_count("n_keep", n_keep, n)
    offsets, members, values = graph.covering()
    positive = np.maximum(values, 0)
    gains = np.add.reduceat(positive, offsets[:-1]) if len(members) else np.zeros(n)
    cover = np.zeros(n)

    def gain(j):
        lo, hi = offsets[j], offsets[j + 1]
        return float(np.maximum(values[lo:hi] - cover[members[lo:hi]], 0).sum())

    def take(j):
        rows, vals = members[offsets[j] : offsets[j + 1]], values[offsets[j] : offsets[j + 1]]
        cover[rows] = np.maximum(cover[rows], vals)  # rows are distinct

    return lazy_greedy(gains, n_keep, gain, take)
