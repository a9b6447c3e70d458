"""Baseline pruners with the same contract as LpNTKPruner."""

from ._coverage import CCSPruner, ModeratePruner
from ._forgetting import ForgettingPruner
from ._random import RandomPruner
from ._scores import EL2NPruner, GraNdPruner

__all__ = [
    "CCSPruner",
    "EL2NPruner",
    "ForgettingPruner",
    "GraNdPruner",
    "ModeratePruner",
    "RandomPruner",
]
