"""NumPy-only selection layer: per-class counts, farthest-first clustering, filters,
keep-rules and their cuts (the :class:`Cut` protocol), neighbour graphs, row scores."""

from ._checks import NON_FINITE_HINT, check_finite
from ._counts import allocate_counts, keep_counts
from ._cuts import (
    AssignmentLog,
    CoverageCut,
    Cut,
    PrefixCut,
    RemovalCut,
    Selection,
    Switch,
    TraversalCut,
)
from ._farthest_first import (
    FPC_MODES,
    as_lazy_kernel,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
)
from ._filters import BUDGET_SWITCH, SELFMAX_MODES, choose_rows, rule_cut
from ._graph import (
    GraphPrefixCut,
    NeighbourGraph,
    facility_objective,
    graph_facility_location,
    graph_redundancy_order,
    top_neighbours,
)
from ._herding import BLOCK_ROWS, block_herding, kernel_herding, mean_discrepancy
from ._keep_rules import (
    KEEP_RULES,
    MATRIX_RULES,
    TRAVERSAL_RULES,
    select_from_kernel,
    traversal_cut,
)
from ._matrix_rules import (
    default_hard_fraction,
    drop_redundant,
    facility_location,
    middle_band,
    middle_out_order,
    redundancy_order,
    stratified_coverage,
    typicality,
)
from ._redundant import drop_near_duplicates, local_scale, message_passing_selection
from ._row_scores import el2n_scores, forgetting_events, inverse_norms

__all__ = [
    "BLOCK_ROWS",
    "block_herding",
    "kernel_herding",
    "mean_discrepancy",
    "drop_near_duplicates",
    "local_scale",
    "message_passing_selection",
    "top_neighbours",
    "GraphPrefixCut",
    "NeighbourGraph",
    "facility_objective",
    "graph_facility_location",
    "graph_redundancy_order",
    "allocate_counts",
    "keep_counts",
    "AssignmentLog",
    "Cut",
    "CoverageCut",
    "PrefixCut",
    "RemovalCut",
    "Switch",
    "TraversalCut",
    "rule_cut",
    "redundancy_order",
    "traversal_cut",
    "NON_FINITE_HINT",
    "check_finite",
    "BUDGET_SWITCH",
    "FPC_MODES",
    "KEEP_RULES",
    "MATRIX_RULES",
    "TRAVERSAL_RULES",
    "default_hard_fraction",
    "drop_redundant",
    "facility_location",
    "middle_band",
    "middle_out_order",
    "stratified_coverage",
    "typicality",
    "SELFMAX_MODES",
    "Selection",
    "as_lazy_kernel",
    "choose_rows",
    "el2n_scores",
    "farthest_first_traversal",
    "forgetting_events",
    "inverse_norms",
    "row_extremes",
    "select_from_kernel",
    "self_max_mask",
]
