"""NumPy-only selection layer: farthest-first clustering and keep-rules."""

from ._farthest_first import (
    FPC_MODES,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
)
from ._keep_rules import KEEP_RULES, n_to_keep, select_from_kernel

__all__ = ["FPC_MODES", "KEEP_RULES", "farthest_first_traversal", "n_to_keep", "row_extremes",
           "select_from_kernel", "self_max_mask"]
