"""The prepared fit: what a pruner's fit computes before the prune ratio.

A fit has two parts. The expensive one (the brief training, the kernels, the
scores, the keep orders) does not depend on ``prune_ratio``; it yields an
immutable :class:`PreparedFit`, which :meth:`PreparedFit.cut` cuts at any
ratio (and at "auto" when its cuts know their near-duplicates). The cache of
``memory=`` is in :mod:`._cache`.
"""

from dataclasses import dataclass

import numpy as np

from ._selection import keep_counts


@dataclass(frozen=True)
class PreparedFit:
    """One fit's work up to the prune ratio: per-class cuts and ratio-free attributes.

    Attributes
    ----------
    class_rows : tuple of ndarray
        Row indices (into the training data) of every encoded class.
    cuts : tuple
        One cut per class (see :class:`~sklearn_lpntk.selection.Cut`).
    attributes : dict
        Fitted attributes that do not depend on the ratio (``net_``,
        ``scores_``, ``self_kernel_``, ...).
    class_weights : ndarray or None
        Per-class weights of the class budget; None keeps the same fraction of
        every class.
    timings : dict
        Seconds per phase spent computing it.
    summary : str
        Appended to the verbose report (e.g. the kernel strategy).
    key : str or None
        The cache key it was computed for (None when not cached).
    """

    class_rows: tuple
    cuts: tuple
    attributes: dict
    class_weights: np.ndarray = None
    timings: dict = None
    summary: str = ""
    key: str = None

    def counts(self, prune_ratio):
        """Rows kept per class at ``prune_ratio`` (see ``_selection.keep_counts``);
        at "auto", every class's rows that are not near-duplicates."""
        if prune_ratio == "auto":
            return np.array([cut.n_distinct for cut in self.cuts])
        sizes = [len(r) for r in self.class_rows]
        return keep_counts(sizes, prune_ratio, self.class_weights)

    def covers(self, prune_ratio):
        """Whether every class can be cut at its count for ``prune_ratio``."""
        if prune_ratio == "auto":
            return all(hasattr(cut, "n_distinct") for cut in self.cuts)
        return all(cut.covers(int(k)) for cut, k in zip(self.cuts, self.counts(prune_ratio)))

    def cut(self, prune_ratio):
        """The fitted attributes at ``prune_ratio``.

        Returns a dict with ``"kept"`` (row indices, ascending), the ratio-free
        attributes, and, where the cuts have them, ``centres_``,
        ``cluster_labels_`` and the filter masks. At "auto": the rows that are
        not near-duplicates, and ``duplicate_share_``, the share removed.
        """
        selections = [
            cut.select(int(k), prune_ratio) for cut, k in zip(self.cuts, self.counts(prune_ratio))
        ]
        rows = self.class_rows
        n = sum(len(r) for r in rows)
        out = dict(self.attributes)
        kept = np.concatenate([r[s.kept] for r, s in zip(rows, selections)])
        out["kept"] = np.sort(np.asarray(kept, dtype=np.intp))
        if prune_ratio == "auto":
            out["duplicate_share_"] = 1.0 - len(kept) / n
        if all(s.centres is not None for s in selections):
            out["centres_"] = np.sort(
                np.concatenate([r[s.centres] for r, s in zip(rows, selections)])
            )
            labels = np.empty(n, dtype=np.intp)
            for r, s in zip(rows, selections):
                labels[r] = r[s.assignment]
            out["cluster_labels_"] = labels
        for name in ("selfmax", "contradictory"):
            if getattr(selections[0], name) is not None:
                mask = np.zeros(n, dtype=bool)
                for r, s in zip(rows, selections):
                    mask[r] = getattr(s, name)
                out[f"{name}_"] = mask
        return out

    def keep_order(self, classes):
        """``{label: rows in keep order}`` when every class's rule is nested, else None."""
        orders = [cut.order for cut in self.cuts]
        if any(o is None for o in orders):
            return None
        return {label: r[o] for label, r, o in zip(classes.tolist(), self.class_rows, orders)}
