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


#: What to do about non-finite kernels or scores (the two ways they arise).
NON_FINITE_HINT = (
    "Either the network's training diverged (lower lr, or fewer max_epochs) or the "
    "features are so large that the network overflows (scale them, e.g. with "
    "sklearn.preprocessing.StandardScaler, or compute the kernel in float64: "
    "kernel=LpNTK(dtype='float64'))."
)


def check_finite(values, what="The similarity matrix"):
    """Raise a ValueError naming ``what`` when ``values`` hold NaN or infinity."""
    bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise ValueError(f"{what} has {bad} non-finite values. {NON_FINITE_HINT}")
