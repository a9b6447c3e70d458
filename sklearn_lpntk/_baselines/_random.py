"""Stratified random pruning."""

from .._base import BasePruner
from .._params import fill_doc
from .._selection import PrefixCut


@fill_doc
class RandomPruner(BasePruner):
    """Keep ``k_c`` uniformly random rows of every class c (``prune_ratio`` sets ``k_c``).

    The reference every other pruner must beat. It reads no value of ``X``;
    a table with text, categories or missing values is accepted as the other
    pruners accept it (encoded as their ``encoder="auto"`` does, for the cache
    key only; ``encoder_``), and its own rows are returned.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    {budget_param}
    {memory_param}
    random_state : int, RandomState instance or None, default=None
        Seeds the draw.
    verbose : int, default=0
        1 prints a timing summary.

    Attributes
    ----------
    sample_indices_ : ndarray
        Kept row indices, ascending.
    keep_order_ : dict
        Every class's rows in a random order; a prune ratio keeps the first
        ``k_c`` of each.
    {common_attributes}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lpntk import RandomPruner
    >>> X, y = load_digits(return_X_y=True)
    >>> RandomPruner(prune_ratio=0.3, random_state=0).fit_resample(X, y)[0].shape
    (1253, 64)
    """

    def __init__(
        self, prune_ratio=0.3, *, class_budget="equal", memory=None, random_state=None, verbose=0
    ):
        self.prune_ratio = prune_ratio
        self.class_budget = class_budget
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        with watch.phase("selection"):  # a random order of every class: nested
            return [PrefixCut(rng.permutation(len(idx))) for idx in rows], {}
