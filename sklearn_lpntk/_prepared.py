"""What a pruner's fit computes before the prune ratio is applied, and its cache.

A fit has two parts. The expensive one (the brief training, the kernels, the
scores, the keep orders) does not depend on ``prune_ratio``; it yields a
:class:`PreparedFit`. The cheap one cuts that at the ratio's per-class counts.
With ``memory=`` the prepared fit is cached by joblib, keyed on the data and on
every parameter but ``prune_ratio``, ``verbose``, ``n_jobs`` and ``memory``
itself, so that a second fit at another ratio (a grid search over
``prune_ratio``) only cuts.
"""

import os
import time
import warnings
from dataclasses import dataclass, field

import joblib
import numpy as np
from sklearn.utils.validation import check_memory

from ._selection import allocate_counts, equal_counts
from ._version import __version__

#: Parameters that never change what the expensive part computes.
NOT_IN_KEY = ("prune_ratio", "verbose", "n_jobs", "memory")


@dataclass
class PreparedFit:
    """One fit's work up to the prune ratio: per-class cuts and ratio-free attributes.

    Attributes
    ----------
    class_rows : list of ndarray
        Row indices (into the training data) of every encoded class.
    cuts : list
        One cut per class (see :mod:`sklearn_lpntk._selection._orders`).
    attributes : dict
        Fitted attributes that do not depend on the ratio (``net_``,
        ``scores_``, ``self_kernel_``, ...).
    timings : dict
        Seconds per phase spent preparing.
    class_weights : ndarray or None
        Per-class weights of the budget (``class_budget``); None keeps the same
        fraction of every class.
    summary : str
        Appended to the verbose report (e.g. the kernel strategy).
    key : str or None
        The cache key it was computed for (None when not cached).
    """

    class_rows: list
    cuts: list
    attributes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    class_weights: np.ndarray = None
    summary: str = ""
    key: str = None

    def counts(self, prune_ratio):
        """Rows kept per class at ``prune_ratio`` (see :func:`class_counts`)."""
        return class_counts([len(r) for r in self.class_rows], prune_ratio, self.class_weights)

    def covers(self, prune_ratio):
        """Whether every class can be cut at its count for ``prune_ratio``."""
        return all(cut.covers(int(k)) for cut, k in zip(self.cuts, self.counts(prune_ratio)))

    def cut(self, prune_ratio):
        """The fitted attributes at ``prune_ratio``.

        Returns a dict with ``"kept"`` (row indices, unsorted), the ratio-free
        attributes, and, where the cuts have them, ``centres_``,
        ``cluster_labels_`` and the filter masks.
        """
        selections = [
            cut.select(int(k), prune_ratio) for cut, k in zip(self.cuts, self.counts(prune_ratio))
        ]
        rows = self.class_rows
        n = sum(len(r) for r in rows)
        out = dict(self.attributes)
        out["kept"] = np.concatenate([r[s.kept] for r, s in zip(rows, selections)])
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
        orders = [getattr(cut, "order", None) for cut in self.cuts]
        if any(o is None for o in orders):
            return None
        return {label: r[o] for label, r, o in zip(classes.tolist(), self.class_rows, orders)}


def class_counts(sizes, prune_ratio, weights=None):
    """Rows kept per class: ``floor(n_c * (1 - prune_ratio))`` (at least one) each, or,
    with ``weights``, the same total shared by :func:`allocate_counts`."""
    equal = equal_counts(sizes, prune_ratio)
    if weights is None:
        return equal
    return allocate_counts(sizes, int(equal.sum()), weights)


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


def cache_key(pruner, X, y, classes):
    """A digest of the data and of every parameter that changes the prepared fit."""
    params = {k: v for k, v in pruner.get_params(deep=False).items() if k not in NOT_IN_KEY}
    cls = type(pruner)
    return joblib.hash(
        {
            "version": __version__,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": params,
            "X": X,
            "y": y,
            "classes": classes,
        }
    )


def _prepare(key, pruner, X, y, classes, prune_ratio, calls):
    """The cached function: only ``key`` is hashed (it covers everything else)."""
    calls.append(key)
    prepared = pruner._prepare_uncached(X, y, classes, prune_ratio)
    prepared.key = key
    return prepared


_IGNORED = ["pruner", "X", "y", "classes", "prune_ratio", "calls"]


def prepare(pruner, memory, X, y, classes, prune_ratio, watch):
    """The pruner's :class:`PreparedFit`, from ``memory`` when it holds it.

    Returns ``(prepared, from_cache)``. Seconds spent hashing and reading or
    writing the cache are counted as the "cache" phase of ``watch``; a
    computed fit adds its own phases.
    """
    if memory is None:
        prepared = pruner._prepare_uncached(X, y, classes, prune_ratio)
        _count(watch, prepared.timings)
        return prepared, False
    if not isinstance(pruner.random_state, (int, np.integer)):
        warnings.warn(
            f"{type(pruner).__name__}(memory=...) caches only fits with an integer "
            f"random_state; with random_state={pruner.random_state!r} every fit draws anew, "
            "so nothing is cached. Set random_state=0 (or any integer).",
            UserWarning,
            stacklevel=4,
        )
        prepared = pruner._prepare_uncached(X, y, classes, prune_ratio)
        _count(watch, prepared.timings)
        return prepared, False
    start = time.perf_counter()
    key = cache_key(pruner, X, y, classes)
    cached = memory.cache(_prepare, ignore=_IGNORED)
    calls = []
    prepared = cached(key, pruner, X, y, classes, prune_ratio, calls)
    trusted = (
        isinstance(prepared, PreparedFit)
        and prepared.key == key
        and len(prepared.class_rows) == len(classes)
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
        prepared = _recompute(cached, key, pruner, X, y, classes, prune_ratio, calls)
    fresh = bool(calls)
    seconds = time.perf_counter() - start
    if fresh:
        _count(watch, prepared.timings)
        seconds -= sum(prepared.timings.values())
    watch.add("cache", max(seconds, 0.0))
    return prepared, not fresh


def _recompute(cached, key, pruner, X, y, classes, prune_ratio, calls):
    if hasattr(cached, "call"):  # joblib: compute again and overwrite the entry
        result = cached.call(key, pruner, X, y, classes, prune_ratio, calls)
        return result[0] if isinstance(result, tuple) else result
    return _prepare(key, pruner, X, y, classes, prune_ratio, calls)


def _count(watch, timings):
    for phase, seconds in timings.items():
        watch.add(phase, seconds)
