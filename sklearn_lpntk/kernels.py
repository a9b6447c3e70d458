"""The lpNTK engine's public building blocks: kernels, memory plans, neighbour graphs.

:func:`lpntk_kernel` is the one call most users need. The names below are for
those who compute kernels themselves, outside an estimator: the engine behind
:class:`~sklearn_lpntk.LpNTKPruner`, one class's kernel read whole or row by
row, and every row's nearest rows without the whole Gram matrix. Nothing here
needs scikit-learn; inputs are arrays or tensors and a ``torch.nn.Module``.

The engine's lifecycle::

    from sklearn_lpntk.kernels import LpNTKEngine

    engine = LpNTKEngine(model, normalize="cosine")
    plan = engine.plan(engine.probe(X, y), [len(X)])  # memory plan, before any work
    K = engine.kernel(X, y, plan).matrix()            # (n, n) NumPy array

See the API reference for each name; the layer-rule protocol of the factorised
strategy is :mod:`sklearn_lpntk.layers`.
"""

from ._engine import (
    BACKENDS,
    NORMALIZATIONS,
    STRATEGIES,
    ClassKernel,
    FactorizedGradients,
    KernelPlan,
    LpNTKEngine,
    MemoryBudgetError,
    Probe,
    approximate_neighbours,
    candidate_neighbours,
    exact_neighbours,
    gram,
    lpntk_kernel,
    normalize_kernel,
    rerank,
    sketch,
)

__all__ = [
    "BACKENDS",
    "NORMALIZATIONS",
    "STRATEGIES",
    "ClassKernel",
    "FactorizedGradients",
    "KernelPlan",
    "LpNTKEngine",
    "MemoryBudgetError",
    "Probe",
    "approximate_neighbours",
    "candidate_neighbours",
    "exact_neighbours",
    "gram",
    "lpntk_kernel",
    "normalize_kernel",
    "rerank",
    "sketch",
]
