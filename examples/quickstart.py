"""
=============================
Quickstart: the README's demo
=============================

Prune 30 % of scikit-learn's digits with lpNTK and compare.

Run with ``python examples/quickstart.py``. It trains a downstream classifier
on the full training split, on the rows ``LpNTKPruner()`` keeps (the library's
default), on the rows the paper's setting keeps (``LpNTKPruner.paper()``), and
on a random stratified subset of the same size, and prints test accuracy and
time for each over a few seeds, then each pruner's difference to random on the
same seeds. Everything runs on the CPU in about a minute.
"""

import argparse
import time

import numpy as np
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_lpntk import LpNTK, LpNTKPruner, make_pipeline
from sklearn_lpntk.rules import rule_names


def downstream(seed):
    return MLPClassifier(hidden_layer_sizes=(128,), max_iter=400, random_state=seed)


def random_subset(y, sizes, seed):
    """Stratified random rows with the same per-class counts as the pruner kept."""
    sampler = RandomUnderSampler(sampling_strategy=sizes, random_state=seed)
    sampler.fit_resample(np.zeros((len(y), 1)), y)
    return sampler.sample_indices_


def main(prune_ratio=0.3, seeds=(0, 1, 2), keep="herding", normalize="cosine"):
    X, y = load_digits(return_X_y=True)
    results = {"full": [], "lpNTK-pruned": [], "paper-pruned": [], "random-pruned": []}
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        t0 = time.perf_counter()
        full = make_pipeline(StandardScaler(), downstream(seed)).fit(X_tr, y_tr)
        results["full"].append((full.score(X_te, y_te), time.perf_counter() - t0, len(y_tr)))

        t0 = time.perf_counter()
        pruned = make_pipeline(
            StandardScaler(),
            LpNTKPruner(
                prune_ratio=prune_ratio,
                keep=keep,
                kernel=LpNTK(normalize=normalize),
                random_state=seed,
            ),
            downstream(seed),
        ).fit(X_tr, y_tr)
        pruner = pruned.named_steps["lpntkpruner"]
        results["lpNTK-pruned"].append(
            (pruned.score(X_te, y_te), time.perf_counter() - t0, len(pruner.sample_indices_))
        )

        t0 = time.perf_counter()
        paper = make_pipeline(
            StandardScaler(), LpNTKPruner.paper(prune_ratio, random_state=seed), downstream(seed)
        ).fit(X_tr, y_tr)
        results["paper-pruned"].append(
            (paper.score(X_te, y_te), time.perf_counter() - t0, len(pruner.sample_indices_))
        )

        t0 = time.perf_counter()
        rows = random_subset(y_tr, pruner.sampling_strategy_, seed)
        rand = make_pipeline(StandardScaler(), downstream(seed)).fit(X_tr[rows], y_tr[rows])
        results["random-pruned"].append(
            (rand.score(X_te, y_te), time.perf_counter() - t0, len(rows))
        )

    print(
        f"digits: {len(y)} samples, test split 30 %, prune_ratio={prune_ratio}, "
        f"keep={keep!r}, normalize={normalize!r}, seeds {list(seeds)}; "
        "downstream MLPClassifier(128)"
    )
    print(f"{'training set':<15s} {'rows':>6s} {'test accuracy':>18s} {'time (s)':>9s}")
    for name, runs in results.items():
        acc = np.array([r[0] for r in runs])
        sec = np.mean([r[1] for r in runs])
        rows = int(np.mean([r[2] for r in runs]))
        print(f"{name:<15s} {rows:>6d} {acc.mean():>11.4f} ± {acc.std():.4f} {sec:>9.2f}")
    print(
        "lpNTK-pruned: LpNTKPruner() (cosine lpNTK, herding); paper-pruned: "
        "LpNTKPruner.paper() (raw lpNTK, farthest-first centres); times include pruning."
    )
    rand = np.array([r[0] for r in results["random-pruned"]])
    for name in ("lpNTK-pruned", "paper-pruned"):
        diff = np.array([r[0] for r in results[name]]) - rand
        verdict = (
            "above"
            if diff.mean() > diff.std()
            else "below"
            if diff.mean() < -diff.std()
            else "level with"
        )
        print(
            f"{name} minus random-pruned, same seeds: {diff.mean():+.4f} ± {diff.std():.4f} "
            f"({verdict} random on these {len(diff)} seeds)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prune-ratio", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds")
    parser.add_argument(
        "--keep",
        default="herding",
        choices=[name for name in rule_names() if name != "near_duplicates"],
        help="the keep-rule, with its defaults",
    )
    parser.add_argument("--normalize", default="cosine", choices=["none", "K", "cosine"])
    args = parser.parse_args()
    main(
        args.prune_ratio,
        tuple(range(args.seeds)),
        args.keep,
        None if args.normalize == "none" else args.normalize,
    )
