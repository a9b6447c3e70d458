"""The torch-only lpNTK engine: labelled per-sample gradients and Gram matrices.

Nothing in this subpackage imports scikit-learn; it works on tensors and
``torch.nn.Module`` objects and is usable on its own.
"""

from ._device import resolve_device
from ._factorized import FactorizedGradients
from ._features import (
    ERROR_WEIGHTINGS,
    LabelledGradientFeatures,
    check_logits,
    eval_mode,
)
from ._kernel import (
    DTYPES,
    NORMALIZATIONS,
    STRATEGIES,
    ClassKernel,
    LpNTKEngine,
    class_kernel,
    lpntk_kernel,
    normalize_kernel,
)
from ._layers import register_rule
from ._plan import MemoryBudgetError, format_bytes, parse_memory_budget
from ._store import CountSketch, FactorStore, gram

__all__ = [
    "DTYPES",
    "ERROR_WEIGHTINGS",
    "NORMALIZATIONS",
    "STRATEGIES",
    "ClassKernel",
    "CountSketch",
    "FactorStore",
    "FactorizedGradients",
    "LabelledGradientFeatures",
    "LpNTKEngine",
    "MemoryBudgetError",
    "check_logits",
    "class_kernel",
    "eval_mode",
    "format_bytes",
    "gram",
    "lpntk_kernel",
    "normalize_kernel",
    "parse_memory_budget",
    "register_rule",
    "resolve_device",
]
