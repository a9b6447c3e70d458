"""The benchmarks (not part of the package, never run by the tests).

Run each from the repository root as a module, e.g. ``python -m bench.prune --report``;
the shared helpers are in ``bench/_common.py``.
"""
