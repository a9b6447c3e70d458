"""Self-max and contradiction filters around the traversal: one class's choice of rows."""

from dataclasses import dataclass

import numpy as np

from ._checks import check_option
from ._coverage import (
    default_hard_fraction,
    drop_redundant,
    facility_location,
    stratified_coverage,
    typicality,
)
from ._farthest_first import (
    as_lazy_kernel,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
)
from ._keep_rules import KEEP_RULES, MATRIX_RULES, select_from_kernel

#: Below this kept fraction of a class, keep="budget" keeps representative rows;
#: at or above it, it removes redundant rows (and so keeps the hard ones).
BUDGET_SWITCH = 0.5

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
                selfmax=None, drop_contradictory=None, fpc="canonical", hard_fraction="auto"):
    """Self-max and contradiction filters, then the keep-rule.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), or a lazy kernel
        The class's lpNTK (see :func:`select_from_kernel`).
    n_keep : int
        Rows to keep (fewer only where a filter leaves fewer, or in "repo" mode).
    keep : str
        A traversal rule ("centres", "random_member", "thin_largest"; see
        :func:`select_from_kernel`) or a matrix rule: "representative"
        (:func:`facility_location`), "redundancy" (:func:`drop_redundant`),
        "coverage" (:func:`stratified_coverage` over the difficulty
        ``-typicality``, so that the least typical, most contradictory rows are
        the hardest) or "budget" ("redundancy" while at least
        :data:`BUDGET_SWITCH` of the class is kept, "representative" below).
    cluster_ratio, random_state, fpc
        As for :func:`select_from_kernel` (``fpc`` is its ``mode``).
    hard_fraction : float in [0, 1) or "auto"
        Only for "coverage": share of the class dropped as hardest first;
        "auto" follows :func:`default_hard_fraction` of the prune ratio.
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
    check_option("keep", keep, KEEP_RULES)
    kernel = as_lazy_kernel(kernel)
    if keep in MATRIX_RULES:
        if selfmax is not None:
            raise ValueError(f"selfmax={selfmax!r} works with the traversal keep-rules "
                             f"only; keep={keep!r} reads the whole matrix. Use selfmax=None.")
        return _matrix_rule(kernel, n_keep, keep, random_state, drop_contradictory,
                            hard_fraction)
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


def _matrix_rule(kernel, n_keep, keep, random_state, drop_contradictory, hard_fraction):
    """A keep-rule on the whole matrix; each row is assigned to its most similar kept row."""
    S = np.asarray(kernel.rows(0, kernel.shape[0]) if hasattr(kernel, "rows")
                   else [kernel.row(i) for i in range(kernel.shape[0])])
    if keep not in ("representative", "budget") or S.dtype not in (np.float32, np.float64):
        S = S.astype(np.float64)  # facility location reads float32 exactly; others copy
    n = S.shape[0]
    masks, rows = {}, np.arange(n)
    if drop_contradictory is not None:
        _, min_cos = row_extremes(kernel)
        masks["contradictory"] = min_cos < drop_contradictory
        if (~masks["contradictory"]).any():
            rows = np.flatnonzero(~masks["contradictory"])
    sub = S if len(rows) == n else S[np.ix_(rows, rows)]
    k = min(n_keep, len(rows))
    if keep == "budget":
        keep = "redundancy" if n_keep >= BUDGET_SWITCH * n else "representative"
    if keep == "representative":
        local = facility_location(sub, k)
    elif keep == "redundancy":
        local = drop_redundant(sub, k)
    else:
        fraction = default_hard_fraction(1 - n_keep / n) if hard_fraction == "auto" \
            else hard_fraction
        local = stratified_coverage(-typicality(sub), k, hard_fraction=fraction,
                                    random_state=random_state)
    kept = np.sort(rows[local])
    assignment = np.empty(n, dtype=kept.dtype)
    for start in range(0, n, 512):  # most similar kept row, without an (n, k) copy
        block = S[start:start + 512][:, kept]
        assignment[start:start + 512] = kept[np.argmax(block, axis=1)]
    assignment[kept] = kept
    return Selection(kept, rows[local], assignment, **masks)
