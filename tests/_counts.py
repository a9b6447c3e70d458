"""Expected kept counts, from the definition k_c = max(1, floor(n_c (1 - r))).

Computed here in exact rational arithmetic, independently of the library (a wrong
formula in ``sklearn_lpntk._selection.keep_counts`` must fail the tests), with the
documented tolerance of 1e-9 (``docs/algorithm.md``: 100 rows at 0.9 keep 10).
"""

import math
from fractions import Fraction

import numpy as np


def n_to_keep(n_samples, prune_ratio):
    """Rows kept out of a class of ``n_samples`` at ``prune_ratio``."""
    exact = int(n_samples) * (1 - Fraction(float(prune_ratio))) + Fraction(1, 10**9)
    return max(1, math.floor(exact))


def expected_counts(y, prune_ratio):
    """Kept rows per class label."""
    labels, counts = np.unique(y, return_counts=True)
    return {lab: n_to_keep(c, prune_ratio) for lab, c in zip(labels, counts)}


def kept_count(y, prune_ratio):
    """Kept rows in total."""
    return sum(expected_counts(y, prune_ratio).values())
