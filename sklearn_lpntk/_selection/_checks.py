"""Argument checks shared by the selection functions."""

import numpy as np


def check_option(name, value, choices):
    """Raise a ValueError naming ``name`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; use one of {choices}.")


def check_count(name, value, n):
    """Raise a ValueError unless ``1 <= value <= n`` (a number of rows of ``n``)."""
    if not 1 <= value <= n:
        raise ValueError(f"{name} must be in [1, {n}] for {n} samples, got {value}.")


def check_finite(matrix):
    """Raise a ValueError when a similarity matrix holds NaN or infinity."""
    if not np.all(np.isfinite(matrix)):
        raise ValueError(
            "The similarity matrix has non-finite values. Either the network's training "
            "diverged (lower lr) or the features overflow (scale them, e.g. with "
            "sklearn.preprocessing.StandardScaler)."
        )
