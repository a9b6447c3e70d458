"""D2 pruning on the lpNTK (``keep="d2"``).

:func:`message_passing_selection` is D2 pruning's rule (Maharana et al., ICLR
2024): difficulty scores passed forward over the neighbour graph, then, inside
coverage-centric strata, a greedy pick of the highest score that lowers its
neighbours' scores. It reads a class's similarities as a dense matrix (its
``n_neighbors`` most similar rows per row) or as a
:class:`~._graph.NeighbourGraph` (its listed pairs).
"""

from functools import partial

import numpy as np

from .._options import check_fraction, check_positive_int
from ._checks import check_count, check_finite
from ._cuts import CoverageCut
from ._graph import neighbour_lists
from ._rule import MatrixRule, register_rule
from ._similarity import typicality


@register_rule("d2")
class D2(MatrixRule):
    """D2 pruning (Maharana et al., ICLR 2024) over the lpNTK difficulty.

    The difficulty ``1 - `` a row's mean lpNTK similarity to its class is passed
    forward over every row's ``n_neighbors`` most similar rows; after dropping
    the ``hard_fraction`` hardest, greedy picks inside ``n_strata`` strata
    lower their neighbours' scores, so the kept rows are hard and spread over
    the class. Deterministic; redone for every count (not nested).

    Parameters
    ----------
    hard_fraction : float in [0, 1) or "auto", default="auto"
        Share of each class dropped as hardest first ("auto" as for
        :class:`Coverage`).
    n_neighbors : int, default=5
        Neighbours the scores pass over (the paper's k = 5); also the
        neighbours per row of a large class's graph.
    gamma : float, default=0.1
        Strength of the reverse step: a picked row lowers a neighbour's score
        by ``exp(-gamma d) s_picked``.
    n_strata : int, default=25
        Equal-width strata over the passed-forward scores.
    graph : {"auto", "dense", "exact", "approximate"}, default="auto"
        How a class is read (see :class:`FacilityLocation`).
    drop_contradictory : float in [-1, 1] or None, default=None
        Rows with a same-class partner of lpNTK cosine below this value are
        never kept (the class is then read as a matrix).
    """

    def __init__(
        self,
        hard_fraction="auto",
        n_neighbors=5,
        gamma=0.1,
        n_strata=25,
        graph="auto",
        drop_contradictory=None,
    ):
        self.hard_fraction = hard_fraction
        self.n_neighbors = n_neighbors
        self.gamma = gamma
        self.n_strata = n_strata
        self.graph = graph
        self.drop_contradictory = drop_contradictory

    def check(self):
        super().check()
        check_fraction("D2", "hard_fraction", self.hard_fraction, auto=True)
        check_positive_int("D2", "n_strata", self.n_strata)
        g = self.gamma
        if isinstance(g, bool) or not isinstance(g, (int, float)) or g < 0:
            raise ValueError(f"D2(gamma={g!r}): a number of at least 0.")

    def _cut(self, scores, rows, n, matrix, similarity, masks):
        chooser = partial(
            d2_choice,
            similarity=similarity,
            n_neighbors=self.n_neighbors,
            gamma=self.gamma,
            n_strata=self.n_strata,
        )
        return CoverageCut(
            scores, rows, n, chooser, hard_fraction=self.hard_fraction, matrix=matrix, masks=masks
        )

    def _matrix_cut(self, S, sub, rows, masks, random_state):
        typical = typicality(sub.astype(np.float64))
        return self._cut(1 - typical, rows, S.shape[0], S, sub, masks)

    def _graph_cut(self, graph, random_state):
        n = graph.shape[0]
        return self._cut(1 - graph.typicality(), np.arange(n), n, graph, graph, {})


def d2_choice(scores, k, hard_fraction, *, similarity, n_neighbors=5, gamma=0.1, n_strata=25):
    """The chooser of :class:`D2` (positions into ``scores``)."""
    return message_passing_selection(
        scores,
        similarity,
        k,
        hard_fraction=hard_fraction,
        n_neighbors=n_neighbors,
        gamma=gamma,
        n_strata=n_strata,
    )


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
    _, neighbours, values = neighbour_lists(similarity, n_neighbors)
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
