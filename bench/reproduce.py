"""Reproduction benchmark: lpNTK pruning against baselines, with and without label noise.

    python -m bench.reproduce            # full run: about 40 minutes on 2 cores
    python -m bench.reproduce --quick    # a few minutes
    python -m bench.reproduce --report   # tables and plots again from the saved CSV
    python -m bench.reproduce --options  # lpNTK's options at 30 % pruning (about 12 minutes)

Datasets, both generated or shipped offline: scikit-learn's digits (8x8, 1,797
images) and MNIST-1D (the ``mnist1d`` package generates 4,000 training and 1,000
test sequences of length 40 locally; nothing is downloaded). Digits is split
70/30, stratified, per seed; MNIST-1D uses its own train/test split.

For every seed, prune ratio and method, the pruner sees only the training set;
a downstream ``MLPClassifier(128)`` (after ``StandardScaler``) is trained from
scratch on the kept rows and its **final** test accuracy is recorded (no
selection on the test set). Methods: lpNTK with each keep-rule, lpNTK with
``kernel=LpNTK(normalize="cosine")``, random, EL2N, GraNd, forgetting.

Label noise: 10 % and 20 % of the training labels are flipped to another class
at random; every method prunes 30 %; reported are the downstream accuracy on
the clean test set and the precision and recall with which the removed rows
are the flipped ones.

Writes ``bench/results/reproduce.csv`` (one row per fit) and prints markdown
tables (mean ± std over seeds); with matplotlib installed, also
``docs/_static/reproduce_*.png``.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench._common import machine
from sklearn_lpntk import (
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTK,
    LpNTKPruner,
    RandomPruner,
)
from sklearn_lpntk.rules import Centres, RandomMember, ThinLargest

HERE = Path(__file__).resolve().parent
CSV = HERE / "results" / "reproduce.csv"
FIELDS = [
    "dataset",
    "noise",
    "method",
    "prune_ratio",
    "seed",
    "n_train",
    "n_kept",
    "accuracy",
    "precision",
    "recall",
    "seconds",
]


def methods():
    """Name -> pruner factory (prune_ratio, seed)."""
    return {
        # the paper's setting (raw lpNTK) with each of its keep-rules, then its centres on
        # the cosine lpNTK
        "lpNTK centres": lambda r, s: LpNTKPruner.paper(r, random_state=s),
        "lpNTK random_member": lambda r, s: LpNTKPruner.paper(
            r, keep=RandomMember(), random_state=s
        ),
        "lpNTK thin_largest": lambda r, s: LpNTKPruner.paper(r, keep=ThinLargest(), random_state=s),
        "lpNTK cosine centres": lambda r, s: LpNTKPruner(r, keep=Centres(), random_state=s),
        "random": lambda r, s: RandomPruner(r, random_state=s),
        "EL2N": lambda r, s: EL2NPruner(r, random_state=s),
        "GraNd": lambda r, s: GraNdPruner(r, random_state=s),
        "forgetting": lambda r, s: ForgettingPruner(r, random_state=s),
    }


def option_variants():
    """lpNTK variants where the paper and its code disagree (all keep the paper's
    centres; ``LpNTKPruner.paper(0.3, **params)``)."""
    return {
        "default (final network)": {},
        "checkpoints=[2, 5, 10] averaged": {"checkpoints": [2, 5, 10]},
        "validation_fraction=0.1": {"validation_fraction": 0.1},
        "selfmax='filter'": {"keep": Centres(selfmax="filter")},
        "selfmax='repo'": {"keep": Centres(selfmax="repo")},
        "fpc='repo'": {"keep": Centres(fpc="repo")},
        "drop_contradictory=0.0": {"keep": Centres(drop_contradictory=0.0)},
        "error_weighting='full'": {"kernel": LpNTK(normalize=None, error_weighting="full")},
    }


def run_options(quick):
    """Each variant at 30 % pruning, clean and with 20 % flipped labels."""
    seeds = range(2 if quick else 5)
    path = CSV.with_name("reproduce_options.csv")
    rows = []
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for dataset in ("digits", "mnist1d"):
            for seed in seeds:
                X_tr, X_te, y_tr, y_te = load(dataset, seed, quick)
                n_classes = len(np.unique(y_tr))
                rng = np.random.default_rng(1000 + seed)
                y_noisy, flipped = flip_labels(y_tr, 0.2, rng, n_classes)
                for noise, y_fit in ((0.0, y_tr), (0.2, y_noisy)):
                    for name, params in option_variants().items():
                        t0 = time.perf_counter()
                        pruner = LpNTKPruner.paper(0.3, random_state=seed, **params)
                        pruner.fit(X_tr, y_fit)
                        idx = pruner.sample_indices_
                        acc = downstream_accuracy(X_tr[idx], y_fit[idx], X_te, y_te, seed)
                        removed = np.setdiff1d(np.arange(len(y_tr)), idx)
                        hit = len(np.intersect1d(removed, flipped)) if noise else 0
                        row = dict(
                            dataset=dataset,
                            noise=noise,
                            method=name,
                            prune_ratio=0.3,
                            seed=seed,
                            n_train=len(y_tr),
                            n_kept=len(idx),
                            accuracy=acc,
                            precision=hit / max(1, len(removed)) if noise else None,
                            recall=hit / max(1, len(flipped)) if noise else None,
                            seconds=time.perf_counter() - t0,
                        )
                        rows.append(row)
                        writer.writerow(row)
                        f.flush()
                        print(
                            f"{dataset} seed {seed} noise {noise} {name:34s} acc={acc:.4f}",
                            file=sys.stderr,
                        )
    print(f"# lpNTK options at 30 % pruning\n\nmachine: {machine()}\n")
    print(
        "| variant | digits | digits kept rows | MNIST-1D | MNIST-1D kept rows "
        "| digits, 20 % noise: accuracy / precision / recall "
        "| MNIST-1D, 20 % noise: accuracy / precision / recall |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in option_variants():
        cells = []
        for dataset in ("digits", "mnist1d"):
            sel = [
                r
                for r in rows
                if r["dataset"] == dataset and r["method"] == name and r["noise"] == 0.0
            ]
            cells += [
                _cell([r["accuracy"] for r in sel]),
                f"{np.mean([r['n_kept'] for r in sel]):.0f}",
            ]
        for dataset in ("digits", "mnist1d"):
            sel = [
                r
                for r in rows
                if r["dataset"] == dataset and r["method"] == name and r["noise"] == 0.2
            ]
            cells.append(
                f"{np.mean([r['accuracy'] for r in sel]):.4f} / "
                f"{np.mean([r['precision'] for r in sel]):.3f} / "
                f"{np.mean([r['recall'] for r in sel]):.3f}"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")


def load(name, seed, quick):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return train_test_split(
            X.astype(np.float32), y, test_size=0.3, stratify=y, random_state=seed
        )
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = 42  # the package's default data; the seed varies the methods only
    data = make_dataset(args)
    X_tr, y_tr = data["x"].astype(np.float32), data["y"].astype(np.int64)
    X_te, y_te = data["x_test"].astype(np.float32), data["y_test"].astype(np.int64)
    if quick:
        X_tr, y_tr = X_tr[:1500], y_tr[:1500]
    return X_tr, X_te, y_tr, y_te


def flip_labels(y, fraction, rng, n_classes):
    """Copy of y with ``fraction`` of the labels changed to another class."""
    y = y.copy()
    flipped = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    y[flipped] = (y[flipped] + rng.integers(1, n_classes, size=len(flipped))) % n_classes
    return y, flipped


def downstream_accuracy(X_tr, y_tr, X_te, y_te, seed):
    clf = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(128,), max_iter=300, random_state=seed)
    )
    return float(clf.fit(X_tr, y_tr).score(X_te, y_te))


def run(args):
    seeds = range(2 if args.quick else 5)
    ratios = (0.0, 0.3, 0.5) if args.quick else (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)
    noises = (0.2,) if args.quick else (0.1, 0.2)
    CSV.parent.mkdir(exist_ok=True)
    rows = []
    with open(CSV, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()

        def record(**row):
            rows.append(row)
            writer.writerow(row)
            f.flush()

        for dataset in ("digits", "mnist1d"):
            for seed in seeds:
                X_tr, X_te, y_tr, y_te = load(dataset, seed, args.quick)
                n_classes = len(np.unique(y_tr))
                t0 = time.perf_counter()
                acc = downstream_accuracy(X_tr, y_tr, X_te, y_te, seed)
                record(
                    dataset=dataset,
                    noise=0.0,
                    method="full",
                    prune_ratio=0.0,
                    seed=seed,
                    n_train=len(y_tr),
                    n_kept=len(y_tr),
                    accuracy=acc,
                    precision=None,
                    recall=None,
                    seconds=time.perf_counter() - t0,
                )
                for name, make in methods().items():
                    for r in ratios:
                        if r == 0.0:
                            continue  # the full set, recorded above
                        t0 = time.perf_counter()
                        pruner = make(r, seed).fit(X_tr, y_tr)
                        idx = pruner.sample_indices_
                        acc = downstream_accuracy(X_tr[idx], y_tr[idx], X_te, y_te, seed)
                        record(
                            dataset=dataset,
                            noise=0.0,
                            method=name,
                            prune_ratio=r,
                            seed=seed,
                            n_train=len(y_tr),
                            n_kept=len(idx),
                            accuracy=acc,
                            precision=None,
                            recall=None,
                            seconds=time.perf_counter() - t0,
                        )
                        print(
                            f"{dataset} seed {seed} {name:22s} r={r:.1f} acc={acc:.4f}",
                            file=sys.stderr,
                        )
                for noise in noises:
                    rng = np.random.default_rng(1000 + seed)
                    y_noisy, flipped = flip_labels(y_tr, noise, rng, n_classes)
                    acc = downstream_accuracy(X_tr, y_noisy, X_te, y_te, seed)
                    record(
                        dataset=dataset,
                        noise=noise,
                        method="full",
                        prune_ratio=0.0,
                        seed=seed,
                        n_train=len(y_tr),
                        n_kept=len(y_tr),
                        accuracy=acc,
                        precision=None,
                        recall=None,
                        seconds=0.0,
                    )
                    for name, make in methods().items():
                        t0 = time.perf_counter()
                        pruner = make(0.3, seed).fit(X_tr, y_noisy)
                        idx = pruner.sample_indices_
                        removed = np.setdiff1d(np.arange(len(y_tr)), idx)
                        hit = len(np.intersect1d(removed, flipped))
                        acc = downstream_accuracy(X_tr[idx], y_noisy[idx], X_te, y_te, seed)
                        record(
                            dataset=dataset,
                            noise=noise,
                            method=name,
                            prune_ratio=0.3,
                            seed=seed,
                            n_train=len(y_tr),
                            n_kept=len(idx),
                            accuracy=acc,
                            precision=hit / max(1, len(removed)),
                            recall=hit / max(1, len(flipped)),
                            seconds=time.perf_counter() - t0,
                        )
                        print(
                            f"{dataset} seed {seed} noise {noise} {name:22s} acc={acc:.4f}",
                            file=sys.stderr,
                        )
    return rows


def read_csv():
    with open(CSV) as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("noise", "prune_ratio", "accuracy", "seconds"):
            row[key] = float(row[key])
        for key in ("precision", "recall"):
            row[key] = float(row[key]) if row[key] != "" else None
    return rows


def _cell(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if values else ""


def report(rows):
    print(f"# Reproduction benchmark\n\nmachine: {machine()}\n")
    names = ["full", *methods()]
    for dataset in ("digits", "mnist1d"):
        clean = [r for r in rows if r["dataset"] == dataset and r["noise"] == 0.0]
        if not clean:
            continue
        ratios = sorted({r["prune_ratio"] for r in clean if r["method"] != "full"})
        n_seeds = len({r["seed"] for r in clean})
        print(
            f"## {dataset}: downstream test accuracy (final epoch), mean ± std over "
            f"{n_seeds} seeds\n"
        )
        print("| method | " + " | ".join(f"prune {r:g}" for r in ratios) + " |")
        print("|---|" + "---|" * len(ratios))
        full = [r["accuracy"] for r in clean if r["method"] == "full"]
        print("| full (no pruning) | " + " | ".join(_cell(full) for _ in ratios) + " |")
        for name in names[1:]:
            cells = [
                _cell(
                    [
                        r["accuracy"]
                        for r in clean
                        if r["method"] == name and r["prune_ratio"] == ratio
                    ]
                )
                for ratio in ratios
            ]
            print(f"| {name} | " + " | ".join(cells) + " |")
        print()
        for noise in sorted({r["noise"] for r in rows if r["noise"] > 0}):
            noisy = [r for r in rows if r["dataset"] == dataset and r["noise"] == noise]
            if not noisy:
                continue
            print(f"### {dataset}, {noise:.0%} of training labels flipped, 30 % pruned\n")
            print(
                "| method | test accuracy | precision (removed rows that were flipped) "
                "| recall (flipped rows removed) |"
            )
            print("|---|---|---|---|")
            for name in names:
                sel = [r for r in noisy if r["method"] == name]
                prec = [r["precision"] for r in sel if r["precision"] is not None]
                rec = [r["recall"] for r in sel if r["recall"] is not None]
                print(
                    f"| {name} | {_cell([r['accuracy'] for r in sel])} | {_cell(prec)} "
                    f"| {_cell(rec)} |"
                )
            print()
    plots(rows)


def plots(rows):
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print("(matplotlib not installed: no plots)", file=sys.stderr)
        return
    from sklearn_lpntk.plotting import plot_accuracy_vs_ratio

    out = HERE.parent / "docs" / "_static"
    out.mkdir(exist_ok=True)
    for dataset in ("digits", "mnist1d"):
        clean = [r for r in rows if r["dataset"] == dataset and r["noise"] == 0.0]
        if not clean:
            continue
        results = {}
        full = [r["accuracy"] for r in clean if r["method"] == "full"]
        for name in methods():
            results[name] = {0.0: full}
            for r in clean:
                if r["method"] == name:
                    results[name].setdefault(r["prune_ratio"], []).append(r["accuracy"])
        ax = plot_accuracy_vs_ratio(results, title=f"{dataset}: final test accuracy")
        ax.figure.savefig(out / f"reproduce_{dataset}.png", dpi=110, bbox_inches="tight")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report", action="store_true", help="only re-read the CSV")
    ap.add_argument("--options", action="store_true", help="lpNTK's options only")
    args = ap.parse_args()
    if args.options:
        run_options(args.quick)
        return
    rows = read_csv() if args.report else run(args)
    report(rows)


if __name__ == "__main__":
    main()
