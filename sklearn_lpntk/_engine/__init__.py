"""The torch-only lpNTK engine: labelled per-sample gradients and Gram matrices.

Nothing in this subpackage imports scikit-learn; it works on tensors and
``torch.nn.Module`` objects and is usable on its own.
"""

# the rule families register themselves with the _layers registry when imported
from . import _conv_rules, _embedding_rules, _norm_rules  # noqa: F401
from ._device import resolve_device
from ._factorized import FactorizedGradients, rule_coverage
from ._features import LabelledGradientFeatures
from ._function import lpntk_kernel
from ._kernel import (
    DTYPES,
    NORMALIZATIONS,
    STRATEGIES,
    ClassKernel,
    LpNTKEngine,
    normalize_kernel,
    row_scale,
)
from ._layers import GhostPiece, PositionalRule, register_rule
from ._model import (
    ERROR_WEIGHTINGS,
    as_tensor,
    check_logits,
    eval_mode,
    parameter_dtype,
    split_state,
    trainable_parameters,
)
from ._neighbours import (
    BACKENDS,
    approximate_neighbours,
    available_backend,
    block_neighbours,
    candidate_neighbours,
    exact_neighbours,
    has_backend,
    rerank,
    sketch,
)
from ._plan import (
    GRAPH_MODES,
    ClassPlan,
    KernelPlan,
    MemoryLimitError,
    Probe,
    format_bytes,
    parse_max_memory,
)
from ._spec import LpNTK
from ._store import CountSketch, FactorStore, gram

__all__ = [
    "BACKENDS",
    "GRAPH_MODES",
    "approximate_neighbours",
    "available_backend",
    "block_neighbours",
    "candidate_neighbours",
    "rerank",
    "sketch",
    "exact_neighbours",
    "has_backend",
    "DTYPES",
    "ERROR_WEIGHTINGS",
    "NORMALIZATIONS",
    "STRATEGIES",
    "ClassKernel",
    "ClassPlan",
    "CountSketch",
    "FactorStore",
    "FactorizedGradients",
    "GhostPiece",
    "KernelPlan",
    "LabelledGradientFeatures",
    "LpNTK",
    "LpNTKEngine",
    "MemoryLimitError",
    "PositionalRule",
    "Probe",
    "as_tensor",
    "check_logits",
    "eval_mode",
    "format_bytes",
    "parameter_dtype",
    "gram",
    "lpntk_kernel",
    "normalize_kernel",
    "parse_max_memory",
    "register_rule",
    "resolve_device",
    "row_scale",
    "rule_coverage",
    "split_state",
    "trainable_parameters",
]
