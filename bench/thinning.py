"""Kernel thinning (goodpoints) beside kernel herding, on the lpNTK of real classes.

Does kernel thinning (Dwivedi and Mackey; the ``goodpoints`` package) earn a
dependency next to the library's greedy herding? For every class of a few
datasets, the cosine lpNTK of ``LpNTKPruner()``'s own briefly trained network
(seed 0) is thinned to 1/2, 1/4 and 1/8 of the class, the sizes kernel thinning
produces (it halves ``m`` times). Printed side by side, per kept fraction: the
squared MMD of the kept rows to the class (``selection.mean_discrepancy``) as a
share of a random subset's expected one, and the seconds each method took on the
class's matrix.

* ``herding``: :func:`sklearn_lpntk.selection.kernel_herding` (one order serves
  every fraction; its time is the whole order's);
* ``kernel thinning``: ``goodpoints.kt.thin_K`` with the lpNTK as both its split
  and swap kernel, distinct rows (``unique=True``), one run per fraction;
* ``random``: the exact expectation (no draws).

Compress++ (``goodpoints.compress``) only takes its built-in Gaussian and Sobolev
kernels on raw points, so it cannot thin by the lpNTK and is not measured.

    python -m bench.thinning                    # digits, credit, churn
    python -m bench.thinning --datasets digits hpc
"""

import argparse
import time

import numpy as np

from bench import _tables
from bench.matching import class_kernels, expected_random_mmd2
from sklearn_lpntk import LpNTKPruner
from sklearn_lpntk.selection import kernel_herding, mean_discrepancy

FRACTIONS = (2, 4, 8)  # kept: 1/2, 1/4, 1/8 of every class


def data(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y
    X, y = _tables.load_table(name)
    X_tr, X_te, y_tr, _ = _tables.split(X, y, 0)
    A_tr, _ = _tables.encoded(X_tr, X_te)
    return A_tr, np.unique(y_tr, return_inverse=True)[1]


def main():
    from goodpoints import kt

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["digits", "credit", "churn"])
    args = ap.parse_args()
    print(
        "| dataset | class rows | kept | herding MMD² / random | kernel thinning MMD² / random "
        "| herding s (whole order) | kernel thinning s |"
    )
    print("|---|---|---|---|---|---|---|")
    totals = {"herding": [], "kt": []}
    for name in args.datasets:
        X, y = data(name)
        pruner = LpNTKPruner(0.5, random_state=0).fit(X, y)
        kernels = class_kernels(pruner.net_.module_, X, y, "cpu")
        for K in kernels.values():
            n = len(K)
            t = time.perf_counter()
            order = kernel_herding(K)
            herding_s = time.perf_counter() - t
            for f, m in zip(FRACTIONS, range(1, len(FRACTIONS) + 1)):
                k = n // f
                if k < 2:
                    continue
                random = expected_random_mmd2(K, k)
                t = time.perf_counter()
                thinned = kt.thin_K(K, K, m, delta=0.5, seed=0, unique=True)
                kt_s = time.perf_counter() - t
                h = mean_discrepancy(K, order[: len(thinned)]) / random
                g = mean_discrepancy(K, thinned) / random
                totals["herding"].append(h)
                totals["kt"].append(g)
                print(
                    f"| {name} | {n} | 1/{f} ({len(thinned)}) | {h:.3f} | {g:.3f} | "
                    f"{herding_s:.3f} | {kt_s:.3f} |",
                    flush=True,
                )
    print(
        f"\nMedian share of random's squared MMD: herding {np.median(totals['herding']):.3f}, "
        f"kernel thinning {np.median(totals['kt']):.3f}; herding lower in "
        f"{int(np.sum(np.array(totals['herding']) < np.array(totals['kt'])))} of "
        f"{len(totals['kt'])} cells."
    )


if __name__ == "__main__":
    main()
