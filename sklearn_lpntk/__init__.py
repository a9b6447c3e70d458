"""sklearn-lpntk: prune training data with the labelled pseudo Neural Tangent Kernel.

Public API
----------
LpNTKPruner
    The pruner (an imbalanced-learn sampler with ``fit_resample``).
LpNTKCleaner
    Removes likely mislabeled rows; the data decide how many.
make_pipeline, Pipeline
    Pipelines in which pruners resample only the training folds.
PrunedClassifier
    Prune then fit a classifier; for plain scikit-learn pipelines.
lpntk_kernel
    The lpNTK matrix of a torch model on labelled samples.
LpNTK
    The kernel's options, as a pruner's ``kernel``.
MemoryLimitError
    Raised (a ValueError) when the work cannot fit in ``max_memory``.
farthest_first_traversal
    The clustering used to choose what is kept.
LogitMLP
    The default network.
RandomPruner, EL2NPruner, GraNdPruner, ForgettingPruner, CCSPruner, ModeratePruner
    Baselines with the same contract as LpNTKPruner.
pruning_curve, PruningCurve, PruningCurveDisplay, max_prune_ratio, most_pruning_within
    How much can be pruned: cross-validated scores against the prune ratio.
datasets
    Offline loaders (Fashion-MNIST from local IDX files).
layers
    The per-layer rule protocol of the factorised strategy.
rules
    The keep-rules as parameter objects (``LpNTKPruner(keep=...)``).
kernels, selection
    The building blocks underneath: the lpNTK engine, neighbour graphs, and the
    keep-rules on a class's similarities.
"""

from ._baselines import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    ModeratePruner,
    RandomPruner,
)
from ._cleaner import LpNTKCleaner
from ._curve import PruningCurve, max_prune_ratio, most_pruning_within, pruning_curve
from ._display import PruningCurveDisplay
from ._engine import LpNTK, MemoryLimitError, lpntk_kernel
from ._networks import LogitMLP
from ._pruned_classifier import PrunedClassifier
from ._pruner import LpNTKPruner
from ._selection import farthest_first_traversal
from ._version import __version__
from .pipeline import Pipeline, make_pipeline

__all__ = [
    "CCSPruner",
    "ModeratePruner",
    "EL2NPruner",
    "ForgettingPruner",
    "GraNdPruner",
    "RandomPruner",
    "LogitMLP",
    "LpNTKCleaner",
    "LpNTKPruner",
    "LpNTK",
    "MemoryLimitError",
    "Pipeline",
    "PrunedClassifier",
    "PruningCurve",
    "PruningCurveDisplay",
    "farthest_first_traversal",
    "lpntk_kernel",
    "make_pipeline",
    "max_prune_ratio",
    "most_pruning_within",
    "pruning_curve",
    "__version__",
]
