"""NumPy-only selection layer: farthest-first clustering and keep-rules."""

from ._farthest_first import farthest_first_traversal
from ._keep_rules import KEEP_RULES, n_to_keep, select_from_kernel

__all__ = ["KEEP_RULES", "farthest_first_traversal", "n_to_keep", "select_from_kernel"]
