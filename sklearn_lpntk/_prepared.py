"""The prepared fit: what a pruner's fit computes before the prune ratio, and its cache.

A fit has two parts. The expensive one (the brief training, the kernels, the
scores, the keep orders) does not depend on ``prune_ratio``; it yields an
immutable :class:`PreparedFit`, which :meth:`PreparedFit.cut` cuts at any
ratio. :func:`load_or_compute` wraps the function that computes it in a
joblib cache (``memory=``), keyed on what the caller hands it (the data and
the estimator's parameters but those it declares irrelevant), so that a
second fit at another ratio only cuts. The cache knows nothing of pruners.
"""

import os
import time
import warnings
from dataclasses import dataclass, replace

import joblib
import numpy as np
from sklearn.utils.validation import check_memory

from ._selection import keep_counts
from ._version import __version__


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
    redundant : tuple of ndarray of bool, or None
        Every class's near-duplicates (``prune_ratio="auto"``; None when this
        fit did not look for them).
    redundancy_threshold : float or None
        The calibrated relative threshold that found them.
    """

    class_rows: tuple
    cuts: tuple
    attributes: dict
    class_weights: np.ndarray = None
    timings: dict = None
    summary: str = ""
    key: str = None
    redundant: tuple = None
    redundancy_threshold: float = None

    def counts(self, prune_ratio):
        """Rows kept per class at ``prune_ratio`` (see ``_selection.keep_counts``);
        at "auto", every class's rows that are not near-duplicates."""
        if prune_ratio == "auto":
            return np.array([int((~r).sum()) for r in self.redundant])
        sizes = [len(r) for r in self.class_rows]
        return keep_counts(sizes, prune_ratio, self.class_weights)

    def covers(self, prune_ratio):
        """Whether every class can be cut at its count for ``prune_ratio``."""
        if prune_ratio == "auto":
            return self.redundant is not None
        return all(cut.covers(int(k)) for cut, k in zip(self.cuts, self.counts(prune_ratio)))

    def _cut_auto(self):
        """The rows that are not near-duplicates, and the redundancy found."""
        rows = self.class_rows
        kept = np.concatenate([r[~d] for r, d in zip(rows, self.redundant)])
        n = sum(len(r) for r in rows)
        return {
            **self.attributes,
            "kept": np.sort(np.asarray(kept, dtype=np.intp)),
            "redundancy_": 1.0 - len(kept) / n,
            "redundancy_threshold_": self.redundancy_threshold,
        }

    def cut(self, prune_ratio):
        """The fitted attributes at ``prune_ratio``.

        Returns a dict with ``"kept"`` (row indices, ascending), the ratio-free
        attributes, and, where the cuts have them, ``centres_``,
        ``cluster_labels_`` and the filter masks. At "auto": the rows that are
        not near-duplicates, with ``redundancy_`` and ``redundancy_threshold_``.
        """
        if prune_ratio == "auto":
            return self._cut_auto()
        selections = [
            cut.select(int(k), prune_ratio) for cut, k in zip(self.cuts, self.counts(prune_ratio))
        ]
        rows = self.class_rows
        n = sum(len(r) for r in rows)
        out = dict(self.attributes)
        kept = np.concatenate([r[s.kept] for r, s in zip(rows, selections)])
        out["kept"] = np.sort(np.asarray(kept, dtype=np.intp))
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


def check_pruner_memory(memory):
    """``memory`` as a joblib.Memory-like object, or None when nothing is cached.

    A path that exists but is not a directory, or that cannot be created,
    raises a ValueError naming ``memory`` here, before any expensive work.
    """
    if memory is None:
        return None
    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    try:
        memory = check_memory(memory)  # joblib creates the directory
    except OSError as exc:
        raise ValueError(
            f"memory={memory!r} cannot be used as a cache directory ({exc}). Pass a "
            "directory that can be created and written, or memory=None."
        ) from exc
    return None if getattr(memory, "location", "") is None else memory


def _compute_for(key, compute, calls):
    """The cached function: only ``key`` is hashed (it covers everything else)."""
    calls.append(key)
    return replace(compute(), key=key)


_IGNORED = ["compute", "calls"]


def load_or_compute(compute, memory, key_fields, prune_ratio, watch):
    """``(prepared, from_cache)``: ``compute()``'s :class:`PreparedFit`, from ``memory``
    (None: no cache) when it holds the entry of ``key_fields``.

    ``compute`` takes no argument; ``key_fields`` is everything its result depends
    on (data and parameters), hashed with the package version. An entry whose lazy
    orders do not reach ``prune_ratio`` is computed again. Hashing and reading or
    writing the cache are ``watch``'s "cache" phase; a computed fit adds its own.
    """
    if memory is None:
        prepared = compute()
        _count(watch, prepared.timings)
        return prepared, False
    start = time.perf_counter()
    key = joblib.hash({"version": __version__, **key_fields})
    cached = memory.cache(_compute_for, ignore=_IGNORED)
    calls = []
    prepared = cached(key, compute, calls)
    trusted = (
        isinstance(prepared, PreparedFit)
        and prepared.key == key
        and len(prepared.class_rows) == len(key_fields["classes"])
    )
    if not trusted:
        warnings.warn(
            f"The cache entry in memory={getattr(memory, 'location', memory)!r} for this "
            "fit does not hold this data's result (a foreign or damaged cache); "
            "recomputing and replacing it.",
            UserWarning,
            stacklevel=4,
        )
    if not trusted or not prepared.covers(prune_ratio):
        # a lazy class's order may have been cut shorter than needed now
        if hasattr(cached, "call"):  # joblib: compute again and overwrite the entry
            result = cached.call(key, compute, calls)
            prepared = result[0] if isinstance(result, tuple) else result
        else:
            prepared = _compute_for(key, compute, calls)
    fresh = bool(calls)
    seconds = time.perf_counter() - start
    if fresh:
        _count(watch, prepared.timings)
        seconds -= sum(prepared.timings.values())
    watch.add("cache", max(seconds, 0.0))
    return prepared, not fresh


def _count(watch, timings):
    for phase, seconds in timings.items():
        watch.add(phase, seconds)
