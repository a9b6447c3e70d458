"""What ``prune_ratio="auto"`` removes from real tables, and what removing it costs.

Seven real classification tables (``bench/_tables.py``: mixed numeric and
categorical columns, missing values, most of them imbalanced), each split into
a stratified 75 / 25 train / test split per seed. On every training split
``LpNTKPruner("auto", random_state=seed)`` is fitted twice:

* **raw**: on the training DataFrame as it is (categories, missing values), the
  pruner encoding it for its network (``encoder="auto"``, the default);
* **encoded**: on the output of ``bench._tables.preprocessor()`` fitted on the
  training rows (impute, one-hot, scale), as a user with an existing
  ``ColumnTransformer`` before the pruner would do.

Each downstream model of ``bench._tables`` (gradient boosting "gb", logistic
regression "lr", an MLP "mlp") is then trained on the full training split, on
the rows "auto" kept, and on a random subset with the same per-class counts
(preprocessing fitted on the rows it is trained on, as in a pipeline), and
scored on the whole test split: accuracy, balanced accuracy and worst-class
recall. Seeds pair the three. A seed where "auto" removed nothing scores the
full split for all three (difference exactly 0).

    python -m bench.auto_tables                       # 5 seeds, all seven tables
    python -m bench.auto_tables --tables credit churn --seeds 0 1
    python -m bench.auto_tables --report              # the tables of docs/reproduction.md
    python -m bench.auto_tables --orders              # the share found in each rule's order

Results are appended to ``bench/results/tables-auto.csv`` (one row per table,
seed, input, model and subset); a rerun skips what the file already holds.
CPU only; a few hours on two busy cores.
"""

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

from bench._common import ROOT, appending_csv, interval
from bench._tables import MODELS, TABLES, encoded, fit_score, load_table, preprocessor, split
from sklearn_lpntk import LpNTKPruner

RESULTS = ROOT / "bench" / "results"
OUT = RESULTS / "tables-auto.csv"
INPUTS = ("raw", "encoded")
SUBSETS = ("full", "auto", "random")
FIELDS = [
    "table",
    "seed",
    "input",
    "model",
    "subset",
    "n_train",
    "n_kept",
    "removed_by_class",
    "threshold",
    "prune_seconds",
    "accuracy",
    "balanced",
    "worst",
]


def random_rows(y, kept, seed):
    """Random rows with the same per-class counts as ``kept``."""
    rng = np.random.default_rng(seed)
    return np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), np.sum(y[kept] == c), replace=False)
                for c in np.unique(y)
            ]
        )
    )


def prune(X, y, seed):
    """``LpNTKPruner("auto")`` on X: the kept rows, the fitted pruner and its seconds."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the threshold cap's warning
        pruner = LpNTKPruner("auto", random_state=seed, device="cpu").fit(X, y)
    return pruner.sample_indices_, pruner, time.perf_counter() - start


def removed_by_class(y, kept):
    """``"class:share;..."``: the share of every class that was removed."""
    return ";".join(f"{c}:{1 - np.sum(y[kept] == c) / np.sum(y == c):.4f}" for c in np.unique(y))


def run_table(name, seeds, inputs, writer, f, done=frozenset()):
    X, y = load_table(name)
    for seed in seeds:
        inputs_left = [source for source in inputs if (name, str(seed), source) not in done]
        if not inputs_left:
            continue
        X_tr, X_te, y_tr, y_te = split(X, y, seed)
        X_tr, X_te = X_tr.reset_index(drop=True), X_te.reset_index(drop=True)
        E_tr, E_te = encoded(X_tr, X_te)
        full = {m: fit_score(m, seed, E_tr, y_tr, E_te, y_te) for m in MODELS}
        for source in inputs_left:
            if source == "raw":
                kept, pruner, seconds = prune(X_tr, y_tr, seed)
            else:
                X_enc = preprocessor().fit_transform(X_tr).astype(np.float32)
                kept, pruner, seconds = prune(X_enc, y_tr, seed)
            subsets = {"auto": kept, "random": random_rows(y_tr, kept, seed)}
            for model in MODELS:
                scores = {"full": full[model]}
                for subset, rows in subsets.items():
                    if len(rows) == len(y_tr):  # nothing removed: the full split itself
                        scores[subset] = full[model]
                        continue
                    X_a, X_b = encoded(X_tr.iloc[rows], X_te)
                    scores[subset] = fit_score(model, seed, X_a, y_tr[rows], X_b, y_te)
                for subset in SUBSETS:
                    rows = subsets.get(subset, np.arange(len(y_tr)))
                    writer.writerow(
                        dict(
                            table=name,
                            seed=seed,
                            input=source,
                            model=model,
                            subset=subset,
                            n_train=len(y_tr),
                            n_kept=len(rows),
                            removed_by_class=removed_by_class(y_tr, kept),
                            threshold=f"{pruner.duplicate_threshold_:.5f}",
                            prune_seconds=f"{seconds:.1f}",
                            **{k: f"{v:.5f}" for k, v in scores[subset].items()},
                        )
                    )
            f.flush()
            print(
                f"{name} seed {seed} {source}: auto removed {len(y_tr) - len(kept)} of "
                f"{len(y_tr)} rows ({1 - len(kept) / len(y_tr):.1%}) in {seconds:.0f} s",
                flush=True,
            )


def completed(path):
    """``{(table, seed, input)}`` already measured in full in ``path`` (a rerun skips them)."""
    if not Path(path).exists():
        return set()
    count = {}
    for r in _read(path):
        key = (r["table"], r["seed"], r["input"])
        count[key] = count.get(key, 0) + 1
    return {key for key, n in count.items() if n == len(MODELS) * len(SUBSETS)}


def run(args):
    done = completed(args.out)
    f, writer = appending_csv(args.out, FIELDS)
    with f:
        for name in args.tables:
            run_table(name, args.seeds, args.inputs, writer, f, done)


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _points(d):
    """``mean ± half-width`` of paired differences, in points."""
    d = 100 * np.asarray(d)
    return f"{d.mean():+.2f} ± {interval(d):.2f}"


def report(path=OUT):
    """Markdown: what "auto" removes per table and input, then the paired differences."""
    rows = _read(path)
    by = {}
    for r in rows:
        by.setdefault((r["table"], r["input"], r["model"], r["seed"]), {})[r["subset"]] = r
    tables = [t for t in TABLES if any(k[0] == t for k in by)]
    seeds_of = {}  # (table, input, model) -> the seeds with all three subsets
    for (t, i, m, s), subsets in by.items():
        if set(subsets) >= set(SUBSETS):
            seeds_of.setdefault((t, i, m), []).append(s)
    out = [
        '### What `prune_ratio="auto"` removes (share of the training split)',
        "",
        "Mean over seeds, with the smallest and largest share in brackets; per class: the mean "
        "share of each class removed (raw input).",
        "",
        "| table | training rows | raw DataFrame | ColumnTransformer output | per class (raw) |",
        "|---|---|---|---|---|",
    ]
    for t in tables:
        cells, n_train, per_class = [], "—", {}
        for source in INPUTS:
            autos = [by[t, source, "gb", s]["auto"] for s in seeds_of.get((t, source, "gb"), [])]
            shares = [1 - int(a["n_kept"]) / int(a["n_train"]) for a in autos]
            if not shares:
                cells.append("—")
                continue
            cells.append(
                f"{np.mean(shares):.1%} ({min(shares):.1%}–{max(shares):.1%}), {len(shares)} seeds"
            )
            if source == "raw":
                n_train = autos[0]["n_train"]
                for a in autos:
                    for part in a["removed_by_class"].split(";"):
                        c, share = part.rsplit(":", 1)
                        per_class.setdefault(c, []).append(float(share))
        classes = ", ".join(f"{c} {np.mean(v):.1%}" for c, v in per_class.items())
        out.append(f"| {t} | {n_train} | {cells[0]} | {cells[1]} | {classes} |")
    titles = {"raw": "the raw DataFrame", "encoded": "the ColumnTransformer output"}
    for source, title in titles.items():
        out += [
            "",
            f'### Downstream cost of `prune_ratio="auto"` on {title}',
            "",
            "Paired differences over seeds in points (mean ± 95 % t-interval): the model trained "
            'on the rows "auto" kept minus the model trained on the full training split, and '
            "minus a random subset of the same per-class counts; test accuracy and balanced "
            "accuracy on the whole test split.",
            "",
            "| table | model | seeds | removed | accuracy (full) | auto − full | "
            "auto − random | balanced (full) | auto − full | auto − random |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for t in tables:
            for m in MODELS:
                cells = [by[t, source, m, s] for s in seeds_of.get((t, source, m), [])]
                if not cells:
                    continue
                removed = np.mean(
                    [1 - int(c["auto"]["n_kept"]) / int(c["auto"]["n_train"]) for c in cells]
                )
                parts = [f"| {t} | {m} | {len(cells)} | {removed:.1%}"]
                for metric in ("accuracy", "balanced"):
                    value = {k: np.array([float(c[k][metric]) for c in cells]) for k in SUBSETS}
                    parts += [
                        f"{value['full'].mean():.3f}",
                        _points(value["auto"] - value["full"]),
                        _points(value["auto"] - value["random"]),
                    ]
                out.append(" | ".join(parts) + " |")
    return "\n".join(out)


def orders(tables, seed=0):
    """The share "auto" finds when it walks facility location's order (0.7) and
    herding's (0.8), on the training split of ``seed`` (raw tables, no downstream run)."""
    from sklearn_lpntk import LpNTKPruner

    print("| table | auto in facility location's order (0.7) | auto in herding's order (0.8) |")
    print("|---|---|---|")
    for name in tables:
        X, y = load_table(name)
        X_tr, _, y_tr, _ = split(X, y, seed)
        cells = []
        for keep in ("representative", "herding"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pruner = LpNTKPruner("auto", keep=keep, random_state=seed, device="cpu")
                pruner.fit(X_tr, y_tr)
            removed = len(y_tr) - len(pruner.sample_indices_)
            cells.append(f"{pruner.duplicate_share_:.1%} ({removed} rows)")
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="*", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--inputs", nargs="*", default=list(INPUTS), choices=list(INPUTS))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", action="store_true", help="print the markdown tables")
    parser.add_argument(
        "--orders", action="store_true", help="the share found in each rule's order (seed 0)"
    )
    args = parser.parse_args()
    if args.orders:
        orders(args.tables)
    elif args.report:
        print(report(args.out))
    else:
        run(args)


if __name__ == "__main__":
    main()
