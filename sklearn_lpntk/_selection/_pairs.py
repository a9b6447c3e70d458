"""Redundant pairs: drop the more typical row of the most similar pair (``keep="redundancy"``).

:func:`drop_redundant` removes near-duplicates first: while rows must go, the
most similar remaining pair loses its more typical member, so that of two
interchangeable rows the rarer view stays. :func:`redundancy_order` is its keep
order (nested) and :func:`graph_redundancy_order` the same on a neighbour graph.
:class:`Adaptive` (``keep="adaptive"``) removes redundant pairs while most of a
class is kept and keeps representative rows below.
"""

import numpy as np

from ._checks import check_count, check_finite
from ._cuts import PrefixCut, Switch, matrix_assignment_log
from ._facility import FacilityLocation
from ._graph import GraphPrefixCut, graph_assignment_log
from ._rule import MatrixRule, register_rule
from ._similarity import typicality


@register_rule("redundancy")
class Redundancy(MatrixRule):
    """Drop the more typical row of the most similar remaining pair, until k remain.

    Of two interchangeable rows the rarer view stays, so the kept rows are the
    class minus its redundant rows (the hard, atypical rows survive). On a
    neighbour graph only listed pairs count. The keep order is the reverse
    order of removal: nested.

    Parameters
    ----------
    graph : {"auto", "dense", "exact", "approximate"}, default="auto"
        How a class is read (see :class:`FacilityLocation`).
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
        order = rows[redundancy_order(sub.astype(np.float64))]
        return PrefixCut(order, matrix_assignment_log(S, order), "sorted", masks)

    def _graph_cut(self, graph, random_state):
        order = graph_redundancy_order(graph)
        return GraphPrefixCut(order, graph_assignment_log(graph, order), graph, "sorted")


@register_rule("adaptive")
class Adaptive(MatrixRule):
    """Redundant pairs go while most of a class is kept, representative rows stay below.

    :class:`Redundancy` while at least ``switch`` of a class is kept (light
    pruning: only interchangeable rows go), :class:`FacilityLocation` below
    (heavy pruning: the rows that cover the class). Called ``keep="budget"``
    before 0.8. Not nested across the switch.

    Parameters
    ----------
    switch : float in (0, 1], default=0.5
        The kept share of a class at and above which redundant pairs are
        removed.
    graph : {"auto", "dense", "exact", "approximate"}, default="auto"
        How a class is read (see :class:`FacilityLocation`).
    n_neighbors : int, default=10
        Neighbours per row of the graph.
    drop_contradictory : float in [-1, 1] or None, default=None
        Rows with a same-class partner of lpNTK cosine below this value are
        never kept (the class is then read as a matrix).
    """

    def __init__(self, switch=0.5, graph="auto", n_neighbors=10, drop_contradictory=None):
        self.switch = switch
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.drop_contradictory = drop_contradictory

    def check(self):
        super().check()
        s = self.switch
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= 1:
            raise ValueError(f"Adaptive(switch={s!r}): a kept share in (0, 1].")

    def _rules(self):
        options = dict(graph=self.graph, n_neighbors=self.n_neighbors)
        return FacilityLocation(**options), Redundancy(**options)

    def _matrix_cut(self, S, sub, rows, masks, random_state):
        below, above = (r._matrix_cut(S, sub, rows, masks, random_state) for r in self._rules())
        return Switch(self.switch * S.shape[0], below, above)

    def _graph_cut(self, graph, random_state):
        below, above = (r._graph_cut(graph, random_state) for r in self._rules())
        return Switch(self.switch * graph.shape[0], below, above)


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


def graph_redundancy_order(graph, typical=None):
    """Keep order of the redundancy rule on a graph: its first ``k`` rows are kept.

    While rows must go, the listed pair of remaining rows with the largest
    similarity loses its more typical member (ties: the higher index goes);
    when no listed pair is left, the most typical remaining rows go first.
    The order starts with the last survivor, then the dropped rows from the
    last dropped to the first.
    """
    n = graph.shape[0]
    typical = graph.typicality() if typical is None else np.asarray(typical, np.float64)
    rows, cols, values = graph.edges()
    alive = np.ones(n, dtype=bool)
    drops = []
    for e in np.lexsort((np.minimum(rows, cols), -values)):
        if len(drops) == n - 1:
            break
        i, j = int(min(rows[e], cols[e])), int(max(rows[e], cols[e]))
        if alive[i] and alive[j]:
            drop = i if typical[i] > typical[j] else j
            alive[drop] = False
            drops.append(drop)
    rest = np.flatnonzero(alive)
    rest = rest[np.lexsort((rest, -typical[rest]))]  # most typical first
    drops.extend(rest[: max(0, len(rest) - 1)].tolist())
    survivor = rest[len(rest) - 1 :] if len(rest) else np.empty(0, np.intp)
    return np.concatenate([survivor, np.asarray(drops[::-1], dtype=np.intp)]).astype(np.intp)
