"""Matching a class (kernel herding) against covering it (facility location) and random.

Issue 30's protocol, one dataset per run. For every seed the library's own
``LpNTKPruner`` is fitted once (its default network and brief training); every
class's cosine lpNTK is read from that network, and the keep orders of the rules
below are computed on it, so that every ratio cuts one order (the run checks that
the herding order cut at 50 % is the fitted ``LpNTKPruner(keep="herding")``'s own
``sample_indices_``):

* ``random``: a random order of every class (a random subset of the same
  per-class counts);
* ``facility location``: ``keep="representative"``, the default of 0.4-0.7;
* ``herding``: ``keep="herding"``, greedy kernel herding (the kept rows' kernel
  mean matched to the class's);
* ``herding, duplicates first``: the near-duplicates that ``prune_ratio="auto"``
  finds (calibrated threshold) go first, the other rows are herded to their own
  distribution (then the duplicates, herded).

Every method keeps the same per-class counts at 30 / 50 / 70 % pruning.
Downstream, trained on the kept rows and scored on the test rows: gradient
boosting (``HistGradientBoostingClassifier``), logistic regression, and a network
(tables: scikit-learn's ``MLPClassifier`` with 256 hidden units; images: the
bench's MLP / 1-D CNN / LeNet-5 of ``bench/prune.py``, under equal epochs and
equal iterations). Scores: accuracy, balanced accuracy (mean per-class recall)
and worst-class accuracy, paired against random on the same seed. Also recorded:
every class's squared lpNTK MMD of the kept rows to the class
(``selection.mean_discrepancy``) and the expected one of a random subset of the
same size (exact, no draws).

Tables (``bench/_tables.py``): a different stratified 75/25 split per seed, the
ColumnTransformer fitted on the training rows, the pruner on its output. Images:
the fixed splits of ``bench/_common.load`` (digits 70/30, MNIST-1D's own,
Fashion-MNIST all 10,000 test images), the pruner given the bench's network for
the dataset (``SETUPS``).

    python -m bench.matching --dataset credit            # one table, 5 seeds
    python -m bench.matching --dataset digits
    python -m bench.matching --dataset fmnist --pool 5000
    python -m bench.matching --report                     # markdown tables
"""

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np

from bench import _tables
from bench._common import SETUPS, appending_csv, interval, load
from sklearn_lpntk import LpNTKPruner, lpntk_kernel
from sklearn_lpntk.selection import facility_location, keep_counts, kernel_herding

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
IMAGES = ("digits", "mnist1d", "fmnist")
METHODS = ("random", "facility location", "herding", "herding, duplicates first")
RATIOS = (0.3, 0.5, 0.7)
METRICS = ("accuracy", "balanced", "worst")
FIELDS = [
    "dataset",
    "seed",
    "method",
    "prune_ratio",
    "model",
    "n_kept",
    "accuracy",
    "balanced",
    "worst",
]
MMD_FIELDS = ["dataset", "seed", "method", "prune_ratio", "label", "n", "k", "mmd2", "random_mmd2"]


def expected_random_mmd2(K, k):
    """The expected squared MMD of a uniformly random ``k``-subset (without replacement)
    of a class to the class, from its kernel: exact, no draws."""
    n = len(K)
    total = K.sum()
    diagonal = np.trace(K) / n
    if k >= n:
        return 0.0
    off = (total - n * diagonal) / (n * (n - 1))
    within = diagonal / k + (k - 1) / k * off  # E mean_{a, b in S} k_ab
    return float(within - total / n**2)


def mmd2(K, rows):
    means = K.mean(axis=1)
    return float(K[np.ix_(rows, rows)].mean() - 2 * means[rows].mean() + means.mean())


def class_kernels(module, X, y, device):
    """Every class's cosine lpNTK (float64) under ``module``, by encoded class."""
    return {
        c: lpntk_kernel(
            module, X[y == c], y[y == c], normalize="cosine", device=device, dtype="float32"
        ).astype(np.float64)
        for c in np.unique(y)
    }


def keep_orders(kernels, y, seed, redundant):
    """``{method: {class: local order}}`` of every method on one seed's kernels."""
    rng = np.random.RandomState(seed)
    orders = {m: {} for m in METHODS}
    for c, K in kernels.items():
        n = len(K)
        orders["random"][c] = rng.permutation(n)
        orders["facility location"][c] = facility_location(K, n)
        orders["herding"][c] = kernel_herding(K)
        dup = redundant[y == c]
        first, later = np.flatnonzero(~dup), np.flatnonzero(dup)
        parts = [first[kernel_herding(K[np.ix_(first, first)])]]
        if len(later):
            parts.append(later[kernel_herding(K[np.ix_(later, later)])])
        orders["herding, duplicates first"][c] = np.concatenate(parts)
    return orders


def cut(orders, y, ratio):
    """Kept rows (global, ascending) of per-class orders at ``ratio``."""
    labels = sorted(orders)
    rows = [np.flatnonzero(y == c) for c in labels]
    counts = keep_counts([len(r) for r in rows], ratio)
    return np.sort(np.concatenate([r[orders[c][:k]] for c, r, k in zip(labels, rows, counts)]))


def prepare_seed(X, y, seed, device, log, pruner_params):
    """Fit the pruners of one seed; the kernels, the keep orders, and a check."""
    t0 = time.perf_counter()
    herding = LpNTKPruner(0.5, keep="herding", random_state=seed, device=device, **pruner_params)
    herding.fit(X, y)
    auto = LpNTKPruner("auto", random_state=seed, device=device, **pruner_params).fit(X, y)
    redundant = np.ones(len(y), dtype=bool)
    redundant[auto.sample_indices_] = False
    kernels = class_kernels(herding.net_.module_, X, y, device)
    orders = keep_orders(kernels, y, seed, redundant)
    same = np.array_equal(cut(orders["herding"], y, 0.5), herding.sample_indices_)
    log(
        f"  seed {seed}: pruners and kernels {time.perf_counter() - t0:.1f} s; the herding "
        f"order reproduces LpNTKPruner(keep='herding'): {same}; auto finds "
        f"{redundant.mean():.1%} near-duplicates"
    )
    return kernels, orders


def record_mmd(writer, dataset, seed, kernels, orders, y, classes):
    for ratio in RATIOS:
        labels = sorted(kernels)
        counts = keep_counts([len(kernels[c]) for c in labels], ratio)
        for c, k in zip(labels, counts):
            K = kernels[c]
            expected = expected_random_mmd2(K, int(k))
            for method in METHODS:
                writer.writerow(
                    dict(
                        dataset=dataset,
                        seed=seed,
                        method=method,
                        prune_ratio=ratio,
                        label=classes[c],
                        n=len(K),
                        k=int(k),
                        mmd2=f"{mmd2(K, orders[method][c][:k]):.6g}",
                        random_mmd2=f"{expected:.6g}",
                    )
                )


# ------------------------------------------------------------------ tables
def run_table(args, log, writer, mmd_writer):
    X_all, y_all = _tables.load_table(args.dataset)
    for seed in args.seeds:
        X_tr, X_te, y_tr, y_te = _tables.split(X_all, y_all, seed)
        A_tr, A_te = _tables.encoded(X_tr, X_te)
        classes, y_enc = np.unique(y_tr, return_inverse=True)
        kernels, orders = prepare_seed(A_tr, y_enc, seed, args.device, log, {})
        record_mmd(mmd_writer, args.dataset, seed, kernels, orders, y_enc, classes)
        t = time.perf_counter()
        for model in _tables.MODELS:
            full = _tables.fit_score(model, seed, A_tr, y_tr, A_te, y_te)
            writer.writerow(row(args.dataset, seed, "full", 0.0, model, len(y_tr), full))
            for ratio in RATIOS:
                for method in METHODS:
                    kept = cut(orders[method], y_enc, ratio)
                    scores = _tables.fit_score(model, seed, A_tr[kept], y_tr[kept], A_te, y_te)
                    writer.writerow(
                        row(args.dataset, seed, method, ratio, model, len(kept), scores)
                    )
        log(f"  seed {seed}: downstream {time.perf_counter() - t:.1f} s")


def row(dataset, seed, method, ratio, model, n_kept, scores):
    return dict(
        dataset=dataset,
        seed=seed,
        method=method,
        prune_ratio=ratio,
        model=model,
        n_kept=n_kept,
        **{m: f"{scores[m]:.5f}" for m in METRICS},
    )


# ------------------------------------------------------------------ images
def run_images(args, log, writer, mmd_writer):
    import torch

    from bench._common import train_ensemble

    setup = SETUPS[args.dataset]
    Xtr, ytr, Xte, yte = load(args.dataset, args.pool, args.data_home)
    params = dict(
        net=setup["model"],
        lr=setup["lr"],
        batch_size=setup["batch"],
        max_epochs=setup["pruner_epochs"],
    )
    classes = np.unique(ytr)
    prepared = {}
    for seed in args.seeds:
        kernels, orders = prepare_seed(Xtr, ytr, seed, args.device, log, params)
        record_mmd(mmd_writer, args.dataset, seed, kernels, orders, ytr, classes)
        prepared[seed] = orders
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    device = torch.device(args.device)
    X, Y = torch.as_tensor(Xtr, device=device), torch.as_tensor(ytr, device=device)
    X_test, y_test = torch.as_tensor(Xte, device=device), torch.as_tensor(yte, device=device)
    full_steps = setup["epochs"] * math.ceil(len(ytr) / setup["batch"])
    seeds = list(args.seeds)

    def networks(sets, steps):
        acc, per_class = train_ensemble(
            setup["model"],
            X,
            Y,
            sets,
            seeds,
            X_test,
            y_test,
            steps=steps,
            batch=setup["batch"],
            lr=setup["lr"],
            device=device,
            per_class=True,
        )
        return [
            {"accuracy": a, "balanced": float(p.mean()), "worst": float(p.min())}
            for a, p in zip(acc, per_class)
        ]

    t = time.perf_counter()
    full = networks([np.arange(len(ytr))] * len(seeds), full_steps)
    for budget in ("epochs", "iterations"):
        for seed, scores in zip(seeds, full):
            writer.writerow(
                row(args.dataset, seed, "full", 0.0, f"net ({budget})", len(ytr), scores)
            )
    for model in ("gb", "lr"):
        for seed in seeds:
            scores = _tables.fit_score(model, seed, flat_tr, ytr, flat_te, yte)
            writer.writerow(row(args.dataset, seed, "full", 0.0, model, len(ytr), scores))
    log(f"  full data: {time.perf_counter() - t:.1f} s")
    for ratio in RATIOS:
        for method in METHODS:
            t = time.perf_counter()
            sets = [cut(prepared[s][method], ytr, ratio) for s in seeds]
            n_kept = len(sets[0])
            for budget in ("epochs", "iterations"):
                steps = (
                    setup["epochs"] * math.ceil(n_kept / setup["batch"])
                    if budget == "epochs"
                    else full_steps
                )
                for seed, scores in zip(seeds, networks(sets, steps)):
                    writer.writerow(
                        row(args.dataset, seed, method, ratio, f"net ({budget})", n_kept, scores)
                    )
            for model in ("gb", "lr"):
                for seed, kept in zip(seeds, sets):
                    scores = _tables.fit_score(model, seed, flat_tr[kept], ytr[kept], flat_te, yte)
                    writer.writerow(row(args.dataset, seed, method, ratio, model, n_kept, scores))
            log(f"  {ratio:.1f} {method}: {time.perf_counter() - t:.1f} s")


def run(args):
    start = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / f"matching-{args.dataset}.log"

    def log(message):
        print(message, flush=True)
        with open(log_path, "a") as f:
            f.write(message + "\n")

    log(f"# {args.dataset}: seeds {args.seeds}, ratios {RATIOS}, device {args.device}")
    f, writer = appending_csv(RESULTS / f"matching-{args.dataset}.csv", FIELDS)
    g, mmd_writer = appending_csv(RESULTS / f"matching-mmd-{args.dataset}.csv", MMD_FIELDS)
    with f, g:
        if args.dataset in IMAGES:
            run_images(args, log, writer, mmd_writer)
        else:
            run_table(args, log, writer, mmd_writer)
    log(f"# done in {time.perf_counter() - start:.0f} s")


# ------------------------------------------------------------------ report
def _read(pattern):
    rows = []
    for path in sorted(RESULTS.glob(pattern)):
        if "-mmd-" in path.name and "mmd" not in pattern:
            continue
        rows += list(csv.DictReader(open(path)))
    return rows


def paired_cells(rows):
    """``{(dataset, method, ratio, model, metric): (mean diff, half-width, n)}`` against
    random on the same seed."""
    values = {}
    for r in rows:
        key = (r["dataset"], r["method"], float(r["prune_ratio"]), r["model"])
        values.setdefault(key, {})[int(r["seed"])] = {m: float(r[m]) for m in METRICS}
    cells = {}
    for (dataset, method, ratio, model), by_seed in values.items():
        if method in ("random", "full"):
            continue
        random = values.get((dataset, "random", ratio, model), {})
        common = sorted(set(by_seed) & set(random))
        if len(common) < 2:
            continue
        for metric in METRICS:
            d = np.array([by_seed[s][metric] - random[s][metric] for s in common])
            cells[dataset, method, ratio, model, metric] = (d.mean(), interval(d), len(d))
    return cells


def _verdict(mean, half):
    if mean - half > 0:
        return "above"
    if mean + half < 0:
        return "below"
    return "level"


def report(args):
    rows = _read("matching-*.csv")
    rows = [r for r in rows if "mmd2" not in r]
    cells = paired_cells(rows)
    datasets = [d for d in (*_tables.TABLES, *IMAGES) if any(k[0] == d for k in cells)]
    methods = [m for m in METHODS if m != "random"]
    print("### Every rule against random, all cells\n")
    print(
        "Cells: dataset × prune ratio (30 / 50 / 70 %) × downstream model; paired over "
        "seeds against a random subset with the same per-class counts. *Above* / *below*: "
        "the 95 % interval of the paired difference excludes 0.\n"
    )
    print("| rule | metric | cells | above random | below random | mean difference |")
    print("|---|---|---|---|---|---|")
    for method in methods:
        for metric in METRICS:
            picked = [v for k, v in cells.items() if k[1] == method and k[4] == metric]
            verdicts = [_verdict(m, h) for m, h, _ in picked]
            mean = np.mean([m for m, _, _ in picked]) if picked else float("nan")
            print(
                f"| {method} | {metric} | {len(picked)} | {verdicts.count('above')} | "
                f"{verdicts.count('below')} | {mean:+.4f} |"
            )
    print("\n### Where a rule is below random beyond the interval\n")
    print("| rule | dataset | prune | model | metric | difference (95 % interval) |")
    print("|---|---|---|---|---|---|")
    for (dataset, method, ratio, model, metric), (m, h, _) in sorted(cells.items()):
        if _verdict(m, h) == "below":
            print(
                f"| {method} | {dataset} | {int(ratio * 100)} % | {model} | {metric} | "
                f"{m:+.4f} ± {h:.4f} |"
            )
    print("\n### Per dataset: cells above / below random beyond the interval\n")
    print(
        "| dataset | " + " | ".join(f"{m} ({metric})" for m in methods for metric in METRICS) + " |"
    )
    print("|---|" + "---|" * (len(methods) * len(METRICS)))
    for dataset in datasets:
        parts = []
        for method in methods:
            for metric in METRICS:
                verdicts = [
                    _verdict(m, h)
                    for k, (m, h, _) in cells.items()
                    if k[0] == dataset and k[1] == method and k[4] == metric
                ]
                parts.append(f"{verdicts.count('above')} / {verdicts.count('below')}")
        print(f"| {dataset} | " + " | ".join(parts) + " |")
    mmd_rows = _read("matching-mmd-*.csv")
    if mmd_rows:
        print("\n### lpNTK MMD of the kept rows to their class\n")
        print(
            "Squared MMD in the cosine lpNTK's feature space, every class, seed and ratio; "
            "*below random*: smaller than the expected squared MMD of a random subset of "
            "the same size (exact expectation).\n"
        )
        print("| rule | class cells | below random | median ratio to random |")
        print("|---|---|---|---|")
        for method in METHODS:
            picked = [r for r in mmd_rows if r["method"] == method]
            if not picked:
                continue
            ratio = np.array([float(r["mmd2"]) / float(r["random_mmd2"]) for r in picked])
            print(
                f"| {method} | {len(picked)} | {int(np.sum(ratio < 1))} | {np.median(ratio):.3f} |"
            )
    for dataset in datasets:
        print(f"\n### {dataset}\n")
        models = sorted({k[3] for k in cells if k[0] == dataset})
        print(
            "Paired difference to random (mean ± 95 % half-width) of accuracy / balanced / "
            "worst-class accuracy.\n"
        )
        ratios = sorted({k[2] for k in cells if k[0] == dataset})
        print("| rule | model | " + " | ".join(f"{int(r * 100)} %" for r in ratios) + " |")
        print("|---|---|" + "---|" * len(ratios))
        for method in methods:
            for model in models:
                parts = []
                for ratio in ratios:
                    values = [cells.get((dataset, method, ratio, model, m)) for m in METRICS]
                    if any(v is None for v in values):
                        parts.append("")
                        continue
                    parts.append(
                        " / ".join(
                            f"**{m:+.3f}**±{h:.3f}"
                            if _verdict(m, h) != "level"
                            else f"{m:+.3f}±{h:.3f}"
                            for m, h, _ in values
                        )
                    )
                print(f"| {method} | {model} | " + " | ".join(parts) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=[*_tables.TABLES, *IMAGES])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--pool", type=int, default=None, help="images: a stratified pool")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.report:
        return report(args)
    if args.dataset is None:
        ap.error("--dataset is required unless --report")
    return run(args)


if __name__ == "__main__":
    main()
