"""Stratified random pruning."""

import numpy as np

from .._base import BasePruner


class RandomPruner(BasePruner):
    """Keep a uniformly random ``floor(n_c * (1 - prune_ratio))`` rows of every class.

    The reference every other pruner must beat.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    random_state : int, RandomState instance or None, default=None
        Seeds the draw.
    verbose : int, default=0
        1 prints a timing summary.

    Attributes
    ----------
    sample_indices_ : ndarray
        Kept row indices, ascending.
    classes_, n_features_in_, feature_names_in_, sampling_strategy_, timings_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner`.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lpntk import RandomPruner
    >>> X, y = load_digits(return_X_y=True)
    >>> RandomPruner(prune_ratio=0.3, random_state=0).fit_resample(X, y)[0].shape
    (1253, 64)
    """

    def __init__(self, prune_ratio=0.3, *, random_state=None, verbose=0):
        self.prune_ratio = prune_ratio
        self.random_state = random_state
        self.verbose = verbose

    def _select_rows(self, X, y, classes, n_keep, rng, watch):
        with watch.phase("selection"):
            kept = [
                rng.choice(np.flatnonzero(y == c), size=k, replace=False)
                for c, k in enumerate(n_keep)
            ]
        return {"kept": np.concatenate(kept)}
