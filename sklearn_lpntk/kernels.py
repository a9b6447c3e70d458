"""The lpNTK engine's public building blocks: kernels, memory plans, neighbour graphs.

:func:`~sklearn_lpntk.lpntk_kernel` is the one call most users need, and
:class:`~sklearn_lpntk.LpNTK` the kernel's options as a pruner reads them. The names below are for
those who compute kernels themselves, outside an estimator: the engine behind
:class:`~sklearn_lpntk.LpNTKPruner`, one class's kernel read whole or row by
row, and every row's nearest rows without the whole Gram matrix. None of it uses
scikit-learn; inputs are arrays or tensors and a ``torch.nn.Module``.

The engine's lifecycle: probe the model on two rows, plan the memory of every
class before any expensive work, then compute one class's kernel at a time
(``kernel`` reads the model's parameters when it is called, so a plan made
before training serves the trained model):

>>> import numpy as np
>>> import torch
>>> from sklearn_lpntk.kernels import LpNTKEngine, exact_neighbours
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
>>> X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
>>> y = np.zeros(30, dtype=int)  # the rows of one class
>>> engine = LpNTKEngine(model, normalize="cosine")
>>> plan = engine.plan(engine.probe(X, y), [len(X)])
>>> kernel = engine.kernel(X, y, plan)
>>> K = kernel.matrix()
>>> K.shape, bool(np.allclose(np.diagonal(K), 1.0))
((30, 30), True)
>>> indices, similarities = exact_neighbours(kernel, 5)  # without the whole matrix
>>> indices.shape
(30, 5)

See the API reference for each name; the layer-rule protocol of the factorised
strategy is ``sklearn_lpntk.layers``.
"""

from ._engine import (
    BACKENDS,
    ERROR_WEIGHTINGS,
    GRAPH_MODES,
    NORMALIZATIONS,
    STRATEGIES,
    ClassKernel,
    KernelPlan,
    LpNTK,
    LpNTKEngine,
    MemoryLimitError,
    Probe,
    approximate_neighbours,
    available_backend,
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
    "ERROR_WEIGHTINGS",
    "GRAPH_MODES",
    "NORMALIZATIONS",
    "STRATEGIES",
    "ClassKernel",
    "KernelPlan",
    "LpNTK",
    "LpNTKEngine",
    "MemoryLimitError",
    "Probe",
    "approximate_neighbours",
    "available_backend",
    "candidate_neighbours",
    "exact_neighbours",
    "gram",
    "lpntk_kernel",
    "normalize_kernel",
    "rerank",
    "sketch",
]
