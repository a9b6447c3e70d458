"""sklearn-lpntk: prune training data with the labelled pseudo Neural Tangent Kernel."""

from ._engine import lpntk_kernel
from ._networks import LogitMLP
from ._pruner import LpNTKPruner
from ._selection import farthest_first_traversal

__version__ = "0.1.0"

__all__ = [
    "LogitMLP",
    "LpNTKPruner",
    "farthest_first_traversal",
    "lpntk_kernel",
    "__version__",
]
