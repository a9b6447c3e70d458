"""The torch-only lpNTK engine: labelled per-sample gradients and Gram matrices.

Nothing in this subpackage imports scikit-learn; it works on tensors and
``torch.nn.Module`` objects and is usable on its own.
"""

from ._device import resolve_device
from ._features import (
    ERROR_WEIGHTINGS,
    LabelledGradientFeatures,
    check_logits,
    eval_mode,
)
from ._kernel import NORMALIZATIONS, gram, iter_class_kernels, lpntk_kernel, normalize_kernel

__all__ = [
    "ERROR_WEIGHTINGS",
    "NORMALIZATIONS",
    "LabelledGradientFeatures",
    "check_logits",
    "eval_mode",
    "gram",
    "iter_class_kernels",
    "lpntk_kernel",
    "normalize_kernel",
    "resolve_device",
]
