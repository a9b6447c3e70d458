"""NumPy-only selection layer: per-class counts, the keep-rules (one module per rule
family, registered by name), farthest-first clustering, cuts, neighbour graphs and
row scores."""

# importing a rule family's module registers its rules under their keep= names
from ._checks import NON_FINITE_HINT, check_finite
from ._counts import allocate_counts, keep_counts
from ._coverage import Coverage
from ._cuts import (
    AssignmentLog,
    CoverageCut,
    Cut,
    PrefixCut,
    RemovalCut,
    Selection,
    Switch,
    TraversalCut,
    stratified_choice,
)
from ._d2 import D2, message_passing_selection
from ._facility import FacilityLocation, facility_location, graph_facility_location
from ._graph import (
    GraphPrefixCut,
    NeighbourGraph,
    facility_objective,
    neighbour_lists,
    top_neighbours,
)
from ._herding import (
    BLOCK_ROWS,
    Herding,
    block_herding,
    class_means,
    kernel_herding,
    mean_discrepancy,
)
from ._near_duplicates import (
    CALIBRATION_ROWS,
    MAX_THRESHOLD,
    PERTURBATIONS,
    NearDuplicates,
    NearDuplicatesCut,
    drop_near_duplicates,
    duplicate_threshold,
    local_scale,
)
from ._pairs import (
    Adaptive,
    Redundancy,
    drop_redundant,
    graph_redundancy_order,
    redundancy_order,
)
from ._row_scores import (
    el2n_scores,
    forgetting_events,
    inverse_norms,
    middle_band,
    middle_out_order,
)
from ._rule import (
    GRAPH_MODES,
    ClassView,
    KeepRule,
    as_view,
    choose_rows,
    register_rule,
    rule_cut,
    rule_from,
    rule_names,
)
from ._similarity import typicality
from ._strata import default_hard_fraction, stratified_coverage
from ._traversal import (
    FPC_MODES,
    as_lazy_kernel,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
)
from ._traversal_rules import (
    SELFMAX_MODES,
    Centres,
    RandomMember,
    ThinLargest,
    TraversalRule,
    select_from_kernel,
    traversal_cut,
)

#: Every name ``keep=`` accepts (one registered rule each).
KEEP_RULES = rule_names()

__all__ = [
    "KEEP_RULES",
    "NON_FINITE_HINT",
    "BLOCK_ROWS",
    "CALIBRATION_ROWS",
    "FPC_MODES",
    "GRAPH_MODES",
    "MAX_THRESHOLD",
    "PERTURBATIONS",
    "SELFMAX_MODES",
    "Adaptive",
    "AssignmentLog",
    "Centres",
    "ClassView",
    "Coverage",
    "CoverageCut",
    "Cut",
    "D2",
    "FacilityLocation",
    "GraphPrefixCut",
    "Herding",
    "KeepRule",
    "NearDuplicates",
    "NearDuplicatesCut",
    "NeighbourGraph",
    "PrefixCut",
    "RandomMember",
    "Redundancy",
    "RemovalCut",
    "Selection",
    "Switch",
    "ThinLargest",
    "TraversalCut",
    "TraversalRule",
    "allocate_counts",
    "as_lazy_kernel",
    "as_view",
    "block_herding",
    "check_finite",
    "choose_rows",
    "class_means",
    "default_hard_fraction",
    "drop_near_duplicates",
    "drop_redundant",
    "duplicate_threshold",
    "el2n_scores",
    "facility_location",
    "facility_objective",
    "farthest_first_traversal",
    "forgetting_events",
    "graph_facility_location",
    "graph_redundancy_order",
    "inverse_norms",
    "keep_counts",
    "kernel_herding",
    "local_scale",
    "mean_discrepancy",
    "message_passing_selection",
    "middle_band",
    "middle_out_order",
    "neighbour_lists",
    "redundancy_order",
    "register_rule",
    "row_extremes",
    "rule_cut",
    "rule_from",
    "rule_names",
    "select_from_kernel",
    "self_max_mask",
    "stratified_choice",
    "stratified_coverage",
    "top_neighbours",
    "traversal_cut",
    "typicality",
]
