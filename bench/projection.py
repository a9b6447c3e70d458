"""How much the projection strategy changes the kernel and the kept rows.

    python -m bench.projection          # digits, 5 seeds
    python -m bench.projection --quick  # 2 seeds

For each seed the default pruner is fitted on all of scikit-learn's digits with
the exact kernel and with ``kernel=LpNTK(strategy="projection")`` at several
``projection_dim`` (same seed, so the same trained network). Printed: relative
Frobenius error of each class kernel, and the overlap |kept_proj & kept_exact| /
|kept_exact| at several prune ratios (a random subset would overlap 1 - ratio).
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits

from bench._common import machine
from sklearn_lpntk import LpNTK, LpNTKPruner, lpntk_kernel


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds = range(2 if args.quick else 5)
    dims = (1024, 4096, 8192)
    ratios = (0.1, 0.3, 0.5, 0.7, 0.9)
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    errors = {d: [] for d in dims}
    overlap = {(d, r): [] for d in dims for r in ratios}
    for seed in seeds:
        for r in ratios:
            exact = LpNTKPruner(prune_ratio=r, random_state=seed).fit(X, y)
            kept = set(exact.sample_indices_.tolist())
            for d in dims:
                kernel = LpNTK(strategy="projection", projection_dim=d)
                proj = LpNTKPruner(prune_ratio=r, kernel=kernel, random_state=seed).fit(X, y)
                both = len(kept & set(proj.sample_indices_.tolist()))
                overlap[d, r].append(both / len(kept))
        module = exact.net_.module_
        for c in range(10):
            idx = np.flatnonzero(y == c)
            K = lpntk_kernel(module, X[idx], y[idx], strategy="factorized")
            for d in dims:
                P = lpntk_kernel(
                    module,
                    X[idx],
                    y[idx],
                    strategy="projection",
                    projection_dim=d,
                    random_state=seed,
                )
                errors[d].append(np.linalg.norm(P - K) / np.linalg.norm(K))
    print(f"# Projection vs exact lpNTK on digits ({len(seeds)} seeds)\n\nmachine: {machine()}\n")
    print(
        "| projection_dim | rel. Frobenius error (mean ± std over classes and seeds) | "
        + " | ".join(f"overlap at prune {r}" for r in ratios)
        + " |"
    )
    print("|---|---|" + "---|" * len(ratios))
    for d in dims:
        cells = " | ".join(f"{np.mean(overlap[d, r]):.3f}" for r in ratios)
        print(f"| {d} | {np.mean(errors[d]):.3f} ± {np.std(errors[d]):.3f} | {cells} |")
    print("| random subset | | " + " | ".join(f"{1 - r:.3f}" for r in ratios) + " |")


if __name__ == "__main__":
    main()
