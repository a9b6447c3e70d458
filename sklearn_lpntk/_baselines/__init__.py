"""Baseline pruners with the same contract as LpNTKPruner."""

from ._forgetting import ForgettingPruner
from ._random import RandomPruner
from ._scores import EL2NPruner, GraNdPruner

__all__ = ["EL2NPruner", "ForgettingPruner", "GraNdPruner", "RandomPruner"]
