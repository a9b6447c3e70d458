"""The fit cache of ``memory=``: a prepared fit read back instead of computed.

:func:`load_or_compute` wraps the function that computes a
:class:`~._prepared.PreparedFit` in a joblib cache, keyed on what the caller
hands it (the data and every parameter that can change the result), so that a
second fit at another ratio only cuts. The cache knows nothing of pruners.
"""

import os
import time
import warnings
from dataclasses import replace

import joblib
from sklearn.utils.validation import check_memory

from ._prepared import PreparedFit
from ._version import __version__


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
