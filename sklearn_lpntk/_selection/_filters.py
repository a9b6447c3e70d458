"""Self-max and contradiction filters around the traversal: one class's choice of rows."""

from dataclasses import dataclass

import numpy as np

from ._checks import check_option
from ._farthest_first import (
    as_lazy_kernel,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
)
from ._keep_rules import select_from_kernel

#: Values of the ``selfmax`` option (None switches the filter off).
SELFMAX_MODES = ("filter", "repo")


@dataclass(frozen=True)
class Selection:
    """The rows chosen in one class, as indices into the class.

    Attributes
    ----------
    kept : ndarray of int
        Kept rows, ascending.
    centres : ndarray of int
        Farthest-first centres, in the order chosen.
    assignment : ndarray of int, shape (n,)
        For every row, the row index of its centre.
    selfmax : ndarray of bool or None
        Self-max rows (when the self-max filter was asked for).
    contradictory : ndarray of bool or None
        Rows excluded as contradictory (when asked for).
    """

    kept: np.ndarray
    centres: np.ndarray
    assignment: np.ndarray
    selfmax: np.ndarray = None
    contradictory: np.ndarray = None


def choose_rows(kernel, n_keep, *, keep="centres", cluster_ratio=0.5, random_state=None,
                selfmax=None, drop_contradictory=None, fpc="canonical"):
    """Self-max and contradiction filters, then traversal and keep-rule.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), or a lazy kernel
        The class's lpNTK (see :func:`select_from_kernel`).
    n_keep : int
        Rows to keep (fewer only where a filter leaves fewer, or in "repo" mode).
    keep, cluster_ratio, random_state, fpc
        As for :func:`select_from_kernel` (``fpc`` is its ``mode``).
    selfmax : {None, "filter", "repo"}
        "filter": only rows whose self-similarity is at least their similarity
        to every other row may be kept, topped up by the traversal when too
        few; "repo": the official code's replace-when-small behaviour.
    drop_contradictory : float or None
        Rows with a partner of lpNTK cosine below this value are never kept.

    Returns
    -------
    Selection
    """
    check_option("selfmax", selfmax, (None, *SELFMAX_MODES))
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    masks = {}
    candidates, initial = None, ()
    if selfmax is not None or drop_contradictory is not None:
        row_max, min_cos = row_extremes(kernel)
    if drop_contradictory is not None:
        masks["contradictory"] = min_cos < drop_contradictory
        candidates = ~masks["contradictory"]
    if selfmax is not None:
        diag = np.asarray(kernel.diagonal(), dtype=np.float64)
        masks["selfmax"] = self_max = self_max_mask(kernel, row_max=row_max)
        allowed = self_max if candidates is None else self_max & candidates
        if selfmax == "repo" and self_max.sum() <= n_keep:
            # the official code returns the self-max rows alone (fewer than asked)
            kept = np.flatnonzero(self_max)
            centres, assignment = farthest_first_traversal(
                kernel, len(kept), initial=kept[np.argsort(-diag[kept], kind="stable")],
                mode=fpc)
            return Selection(kept, centres, assignment, **masks)
        if selfmax == "filter":
            if allowed.sum() >= n_keep:
                candidates = allowed
            else:  # keep every allowed self-max row, then top up by traversal
                rows = np.flatnonzero(allowed)
                initial = rows[np.argsort(-diag[rows], kind="stable")]
    if candidates is not None and not candidates.any() and not len(initial):
        candidates = None  # nothing left to filter by: fall back to all rows
    kept, centres, assignment = select_from_kernel(
        kernel, min(n_keep, n), keep=keep, cluster_ratio=cluster_ratio,
        random_state=random_state, candidates=candidates, initial=initial, mode=fpc,
    )
    return Selection(kept, centres, assignment, **masks)
