"""Coverage-centric sampling over the lpNTK difficulty (``keep="coverage"``)."""

from functools import partial

import numpy as np

from .._options import check_fraction, check_positive_int
from ._cuts import CoverageCut, stratified_choice
from ._rule import MatrixRule, register_rule
from ._similarity import typicality


@register_rule("coverage")
class Coverage(MatrixRule):
    """Coverage-centric sampling (Zheng et al., ICLR 2023) over the lpNTK difficulty.

    A row's difficulty is its negative mean lpNTK similarity to the rest of its
    class (the least typical, most contradictory rows are the hardest). The
    hardest ``hard_fraction`` go first; the remaining difficulty range is split
    into ``n_bins`` equal-width bins that share the budget equally (smallest
    first) and are sampled at random. Redone for every count (not nested).

    Parameters
    ----------
    hard_fraction : float in [0, 1) or "auto", default="auto"
        Share of each class dropped as hardest first. "auto": 0 up to 30 %
        removed from the class, then growing to 0.3 at 90 %
        (``clip((removed - 0.3) / 2, 0, 0.3)``).
    n_bins : int, default=50
        Equal-width difficulty bins.
    graph : {"auto", "dense", "exact", "approximate"}, default="auto"
        How a class is read (see :class:`FacilityLocation`); on a graph the
        difficulty is still the exact mean over the class.
    n_neighbors : int, default=10
        Neighbours per row of the graph (they assign every row to a kept row).
    drop_contradictory : float in [-1, 1] or None, default=None
        Rows with a same-class partner of lpNTK cosine below this value are
        never kept (the class is then read as a matrix).
    """

    def __init__(
        self, hard_fraction="auto", n_bins=50, graph="auto", n_neighbors=10, drop_contradictory=None
    ):
        self.hard_fraction = hard_fraction
        self.n_bins = n_bins
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.drop_contradictory = drop_contradictory

    def check(self):
        super().check()
        check_fraction("Coverage", "hard_fraction", self.hard_fraction, auto=True)
        check_positive_int("Coverage", "n_bins", self.n_bins)

    def _cut(self, scores, rows, n, matrix, masks, random_state):
        return CoverageCut(
            scores,
            rows,
            n,
            partial(stratified_choice, n_bins=self.n_bins, seed=random_state),
            hard_fraction=self.hard_fraction,
            auto_from="kept",
            matrix=matrix,
            masks=masks,
        )

    def _matrix_cut(self, S, sub, rows, masks, random_state):
        return self._cut(
            -typicality(sub.astype(np.float64)), rows, S.shape[0], S, masks, random_state
        )

    def _graph_cut(self, graph, random_state):
        n = graph.shape[0]
        return self._cut(-graph.typicality(), np.arange(n), n, graph, {}, random_state)
