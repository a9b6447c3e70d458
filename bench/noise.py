"""Label noise: LpNTKCleaner against cleanlab's find_label_issues, same rows removed.

For each dataset and each rate of flipped labels (a flipped row gets a uniformly
random other class), every seed:

* ``LpNTKCleaner`` decides by itself how many rows to remove (m);
* cleanlab's ``find_label_issues`` gets out-of-fold predicted probabilities of
  the same downstream architecture (5-fold cross-validation, trained as the
  benchmark trains); its own count is recorded, and its m highest-ranked issues
  (by self-confidence) are removed for the comparison at the same count;
* the cleaner's ranking (lowest typicality first) is also cut at cleanlab's own
  count, which compares the two rankings where the cleaner removed nothing;
* a random m rows are removed for reference.

Precision and recall of the removed rows against the flipped ones, and the
final-epoch test accuracy of a fresh network trained on what remains (cosine
learning rate, as in ``bench/prune.py``), are written to
``bench/results/noise.csv``. cleanlab is used here only (extra ``bench``)::

    python -m bench.noise                      # MNIST-1D and a 10,000-image Fashion-MNIST pool
    python -m bench.noise --quick
    python -m bench.noise --report
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from bench import _common as common
from sklearn_lpntk import LpNTKCleaner

HERE = Path(__file__).resolve().parent

CSV = HERE / "results" / "noise.csv"
FIELDS = [
    "dataset",
    "pool",
    "noise",
    "seed",
    "method",
    "removed",
    "precision",
    "recall",
    "accuracy",
    "seconds",
]


def flip_labels(y, rate, rng):
    flip = rng.random(len(y)) < rate
    noisy = y.copy()
    k = len(np.unique(y))
    noisy[flip] = (y[flip] + rng.integers(1, k, flip.sum())) % k
    return noisy, flip


def out_of_fold_probabilities(Xtr, y, setup, seed, device):
    """5-fold out-of-fold softmax probabilities of the downstream architecture."""
    from sklearn.model_selection import StratifiedKFold
    from torch.func import functional_call

    probs = np.zeros((len(y), len(np.unique(y))))
    X = torch.as_tensor(Xtr, device=device)
    Y = torch.as_tensor(y, device=device)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(Xtr, y))
    n_train = min(len(tr) for tr, _ in folds)
    sets = [tr[:n_train] for tr, _ in folds]
    steps = setup["epochs"] * int(np.ceil(n_train / setup["batch"]))
    params = common.train_ensemble(
        setup["model"],
        X,
        Y,
        sets,
        list(range(5)),
        X[:1],
        Y[:1],
        steps=steps,
        batch=setup["batch"],
        lr=setup["lr"],
        device=device,
        return_params=True,
    )
    base = setup["model"]().to("meta")
    with torch.no_grad():
        for f, (_, te) in enumerate(folds):
            p = {k: v[f] for k, v in params.items()}
            logits = functional_call(base, p, (X[te],))
            probs[te] = torch.softmax(logits, -1).cpu().numpy()
    return probs


def run(args):
    from cleanlab.filter import find_label_issues

    device = torch.device(args.device)
    f, writer = common.appending_csv(CSV, FIELDS)
    for dataset, pool in (("mnist1d", None), ("fmnist", args.pool)):
        setup = common.SETUPS[dataset]
        if args.quick:
            setup = {**setup, "epochs": max(3, setup["epochs"] // 3)}
        Xtr, ytr, Xte, yte = common.load(dataset, pool, args.data_home)
        X_test = torch.as_tensor(Xte, device=device)
        y_test = torch.as_tensor(yte, device=device)
        for rate in args.rates:
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                noisy, flip = flip_labels(ytr, rate, rng)
                t = time.perf_counter()
                cleaner = LpNTKCleaner(
                    net=setup["model"],
                    lr=setup["lr"],
                    batch_size=setup["batch"],
                    device=str(device),
                    max_epochs=setup["pruner_epochs"],
                    random_state=seed,
                ).fit(Xtr, noisy)
                lp_removed = np.flatnonzero(~cleaner.get_support())
                lp_s = time.perf_counter() - t
                m = len(lp_removed)
                t = time.perf_counter()
                probs = out_of_fold_probabilities(Xtr, noisy, setup, seed, device)
                ranked = find_label_issues(noisy, probs, return_indices_ranked_by="self_confidence")
                cl_s = time.perf_counter() - t
                candidates = {
                    "noisy, nothing removed": np.array([], dtype=int),
                    "lpNTK cleaner": lp_removed,
                    "cleanlab, same count": ranked[:m],
                    "cleanlab, own count": ranked,
                    "lpNTK typicality, cleanlab's count": np.argsort(
                        cleaner.typicality_, kind="stable"
                    )[: len(ranked)],
                    "random, same count": rng.choice(len(noisy), m, replace=False),
                }
                seconds = {
                    "lpNTK cleaner": lp_s,
                    "cleanlab, same count": cl_s,
                    "cleanlab, own count": cl_s,
                }
                Y = torch.as_tensor(noisy, device=device)
                X = torch.as_tensor(Xtr, device=device)
                for method, removed in candidates.items():
                    keep = np.setdiff1d(np.arange(len(noisy)), removed)
                    steps = setup["epochs"] * int(np.ceil(len(keep) / setup["batch"]))
                    acc = common.train_ensemble(
                        setup["model"],
                        X,
                        Y,
                        [keep],
                        [seed],
                        X_test,
                        y_test,
                        steps=steps,
                        batch=setup["batch"],
                        lr=setup["lr"],
                        device=device,
                    )[0]
                    hit = np.isin(removed, np.flatnonzero(flip)).sum()
                    row = dict(
                        dataset=dataset,
                        pool=len(ytr),
                        noise=rate,
                        seed=seed,
                        method=method,
                        removed=len(removed),
                        precision=f"{hit / max(len(removed), 1):.4f}",
                        recall=f"{hit / max(flip.sum(), 1):.4f}",
                        accuracy=f"{acc:.5f}",
                        seconds=f"{seconds.get(method, 0.0):.1f}",
                    )
                    writer.writerow(row)
                    f.flush()
                    print(row, flush=True)


def report(args):
    rows = list(csv.DictReader(open(CSV)))
    print("| dataset | flipped | method | rows removed | precision | recall | accuracy after |")
    print("|---|---|---|---|---|---|---|")
    keys = []
    for r in rows:
        k = (r["dataset"], r["pool"], r["noise"], r["method"])
        if k not in keys:
            keys.append(k)
    for dataset, pool, noise, method in keys:
        sel = [
            r
            for r in rows
            if (r["dataset"], r["pool"], r["noise"], r["method"]) == (dataset, pool, noise, method)
        ]

        def stat(name, fmt, sel=sel):
            v = np.array([float(r[name]) for r in sel])
            return f"{v.mean():{fmt}} ± {v.std(ddof=1) if len(v) > 1 else 0:{fmt}}"

        print(
            f"| {dataset} ({pool}) | {float(noise):.0%} | {method} | {stat('removed', '.0f')} | "
            f"{stat('precision', '.3f')} | {stat('recall', '.3f')} | "
            f"{stat('accuracy', '.4f')} |"
        )


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pool", type=int, default=10000)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.pool = 1, 3000
    return report(args) if args.report else run(args)


if __name__ == "__main__":
    main()
