"""Expected kept counts, from the definition k_c = max(1, floor(n_c (1 - r)))."""

import numpy as np

from sklearn_lpntk._selection import n_to_keep


def expected_counts(y, prune_ratio):
    """Kept rows per class label."""
    labels, counts = np.unique(y, return_counts=True)
    return {lab: n_to_keep(c, prune_ratio) for lab, c in zip(labels, counts)}


def kept_count(y, prune_ratio):
    """Kept rows in total."""
    return sum(expected_counts(y, prune_ratio).values())
