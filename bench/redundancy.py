"""Does a kernel see interchangeable samples? Planted near-duplicates, no downstream training.

A pool of distinct real rows gets perturbed copies of a random share of each
class (``sklearn_lpntk.datasets.plant_near_duplicates``), so which rows are
interchangeable is known. The pruner's network is trained briefly on the planted
pool, as ``LpNTKPruner`` does, and every kernel variant is read class by class:

* **retrieval**: for rows that have a copy, the share whose most similar other
  row of the class is one of its copies (precision@1), and the AUC of copy-pair
  against distinct-pair similarities;
* **flatness**: the mean off-diagonal cosine inside a class;
* **distinct share kept**: the share of distinct originals that a keep-rule on
  the variant keeps at 50 / 70 / 90 % pruning, over what the budget allows
  (``min(originals, kept)`` per class), against random subsets of the same
  per-class size (mean and 95 % interval of 20 draws).

Variants: the default cosine lpNTK; centred per class; the top eigen-direction
of the class removed (spectral cut); the last layer's parameters only; the
labelled gradient averaged over ``--views`` augmented views (the perturbation
the user names); the network at initialisation and after three times the
training; the cosine of penultimate embeddings (SemDeDup's space); raw-feature
cosine and negative squared distance. Rules: facility location
("representative", the default), D2 message passing on the variant's 5-NN graph
over the lpNTK difficulty, and near-duplicate dropping at the calibrated
threshold of ``prune_ratio="auto"`` (when available).

Seconds to minutes per dataset on a laptop CPU::

    python -m bench.redundancy --dataset digits --levels clean "30% x3"
    python -m bench.redundancy --dataset mnist1d --pool 2000 --levels clean "30% x3"
    python -m bench.redundancy --dataset fmnist --pool 2000 --levels clean "30% x3"
    python -m bench.redundancy --dataset digits --downstream --plant 0.3:3:noise
    python -m bench.redundancy --auto-counts --seeds 3   # "auto" on the clean pools
    python -m bench.redundancy --report            # the tables of docs/reproduction.md
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench._common import (
    SETUPS,
    centred,
    cosine,
    interval,
    last_layer_only,
    load,
    plant,
    setup_pruner,
    train_ensemble,
    view_kernel,
)
from sklearn_lpntk import lpntk_kernel
from sklearn_lpntk.analysis import copy_retrieval, distinct_share
from sklearn_lpntk.datasets import perturb, plant_near_duplicates
from sklearn_lpntk.selection import (
    drop_near_duplicates,
    duplicate_threshold,
    facility_location,
    local_scale,
    message_passing_selection,
)

RESULTS = Path(__file__).resolve().parent / "results"
RATIOS = (0.5, 0.7, 0.9)
#: variants with negative similarities: facility location gains nothing on many rows
#: and keeps low indices; in the runs recorded before the pool was shuffled, those were
#: the originals, so their "kept" shares are biased upwards
TIE_BIASED = ("lpNTK centred", "lpNTK spectral cut", "feature distance")
AUTO_NEIGHBOURS = 10
#: (name, share of each class copied, copies per copied row)
LEVELS = (("clean", 0.0, 1), ("20% x1", 0.2, 1), ("30% x3", 0.3, 3))
#: perturbations per dataset, "kind" or "kind:scale" (a one-pixel shift of an 8 x 8
#: digit moves it further than a different digit of the class: no near-duplicate)
KINDS = {
    "digits": ("noise", "noise:0.3"),
    "mnist1d": ("noise", "shift:2"),
    "fmnist": ("noise", "shift", "flip"),
}


def parse_kind(spec):
    kind, _, scale = spec.partition(":")
    return kind, (float(scale) if scale else None)


FIELDS = [
    "dataset",
    "pool",
    "level",
    "kind",
    "seed",
    "variant",
    "precision",
    "auc",
    "flatness",
    "rule",
    "prune_ratio",
    "distinct_of_allowed",
    "random_mean",
    "random_low",
    "random_high",
    "auto_threshold",
    "auto_removed",
    "planted_copies",
]


def shaped(name, X):
    """Rows in the shape the perturbations read (digits as 8 x 8 images)."""
    return X.reshape(len(X), 8, 8) if name == "digits" else X


def flat_back(name, X):
    return X.reshape(len(X), 64) if name == "digits" else X


def spectral_cut(K):
    C = cosine(K)
    w, V = np.linalg.eigh(C)
    return C - w[-1] * np.outer(V[:, -1], V[:, -1])


def embeddings(module, X):
    last = [mod for mod in module.modules() if isinstance(mod, nn.Linear)][-1]
    seen = []
    hook = last.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    was = module.training
    module.eval()
    with torch.no_grad():
        for s in range(0, len(X), 512):
            module(torch.as_tensor(X[s : s + 512]))
    module.train(was)
    hook.remove()
    return torch.cat(seen).double().numpy()


def class_variants(nets, X, y, name, kind, n_views, seed):
    """Every variant's (n, n) similarity matrix for one class."""
    module = nets["default"]
    K = lpntk_kernel(module, X, y, dtype="float32").astype(np.float64)
    flatX = X.reshape(len(X), -1).astype(np.float64)
    E = embeddings(module, X)
    sq = (flatX**2).sum(axis=1)
    out = {
        "lpNTK cosine (default)": cosine(K),
        "lpNTK centred": cosine(centred(K)),
        "lpNTK spectral cut": spectral_cut(K),
        "lpNTK last layer": cosine(
            lpntk_kernel(last_layer_only(module), X, y, dtype="float32").astype(np.float64)
        ),
        f"lpNTK {n_views} views": cosine(
            view_kernel(module, name, X, y, *parse_kind(kind), seed, n_views)
        ),
        "lpNTK at init": cosine(
            lpntk_kernel(nets["init"], X, y, dtype="float32").astype(np.float64)
        ),
        "lpNTK 3x training": cosine(
            lpntk_kernel(nets["long"], X, y, dtype="float32").astype(np.float64)
        ),
        "embedding cosine": cosine(E @ E.T),
        "feature cosine": cosine(flatX @ flatX.T),
        "feature distance": -(sq[:, None] + sq[None, :] - 2 * flatX @ flatX.T),
    }
    return out


def pair_cosines(module, name):
    def cosines(A, B, y):
        n = len(A)
        both = np.concatenate([A, B]).astype(np.float32)
        K = lpntk_kernel(module, flat_back(name, both), np.tile(y, 2), dtype="float32").astype(
            np.float64
        )
        d = np.sqrt(np.diagonal(K))
        return np.diagonal(K[:n, n:]) / d[:n] / d[n:]

    return cosines


def calibration_rows(y, rng, n_rows=256):
    """About ``n_rows`` rows stratified by class, at least two of every class (all of a
    smaller one): the rows ``prune_ratio="auto"`` copies to calibrate its threshold."""
    picked = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        share = int(round(n_rows * len(rows) / len(y)))
        picked.append(rng.choice(rows, min(len(rows), max(2, share)), replace=False))
    return np.sort(np.concatenate(picked))


def calibrated_threshold(cosines_of, X, y, scales, kind, scale, seed):
    """prune_ratio="auto"'s calibration, spelled out with public names: copies of about
    256 rows under ``kind``, their lpNTK cosines to their rows, and
    ``duplicate_threshold`` of those against the rows' local scales."""
    rng = np.random.default_rng(seed)
    rows = calibration_rows(y, rng)
    rows = rows[np.isfinite(scales[rows])]
    originals = np.asarray(X[rows])
    copies = perturb(originals, kind, scale=scale, random_state=rng)
    return duplicate_threshold(cosines_of(originals, copies, y[rows]), scales[rows])[0]


def auto_thresholds(nets, Xs, yp, scales, name, kind, seed):
    """prune_ratio="auto"'s threshold from noise copies, and from the planted kind."""
    module = nets["default"]
    out = {}
    for label, spec in (("auto (noise)", "noise"), ("auto (named)", kind)):
        k, scale = parse_kind(spec)
        out[label] = calibrated_threshold(
            pair_cosines(module, name), Xs, yp, scales, k, scale, seed
        )
    return out


def keep_rows(rule, S, k, seed):
    if rule == "representative":
        return np.asarray(facility_location(S, k))
    # D2 reads cosine-like similarities: rescale a distance to [-1, 1] first
    if S.max() > 1.0 + 1e-9 or S.min() < -1.0 - 1e-9:
        S = 2 * (S - S.min()) / (S.max() - S.min()) - 1
    typical = (S.sum(axis=1) - np.diagonal(S)) / max(1, len(S) - 1)
    return message_passing_selection(1 - typical, S, k, hard_fraction=0.0)


def random_share(y, groups, ratio, rng, draws=20):
    shares = []
    for _ in range(draws):
        kept = np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), max(1, int((y == c).sum() * (1 - ratio))), False)
                for c in np.unique(y)
            ]
        )
        shares.append(distinct_share(kept, groups, y)["of_allowed"])
    shares = np.array(shares)
    half = 1.96 * shares.std(ddof=1) / np.sqrt(len(shares))
    return shares.mean(), shares.mean() - half, shares.mean() + half


def train_nets(name, X, y, seed, device):
    setup = SETUPS[name]
    nets = {}
    for key, epochs in (
        ("init", 0),
        ("default", setup["pruner_epochs"]),
        ("long", 3 * setup["pruner_epochs"]),
    ):
        pruner = setup_pruner(setup, 0.5, device, seed, max_epochs=epochs).fit(X, y)
        nets[key] = pruner.net_.module_.cpu()
    return nets


def run_pool(args, name, Xo, yo, level, kind, seed, writer):
    label_, share, n_copies = level
    t0 = time.perf_counter()
    kind_name, scale = parse_kind(kind)
    Xs, yp, groups = plant_near_duplicates(
        shaped(name, Xo),
        yo,
        share=share,
        n_copies=n_copies,
        perturbation=kind_name,
        scale=scale,
        random_state=seed,
    )
    # originals come first in a planted pool; shuffle, so that a rule whose ties go to
    # the lowest index (facility location on a similarity with no positive gain, as on
    # negative distances) cannot favour them
    perm = np.random.default_rng(1000 + seed).permutation(len(yp))
    Xs, yp, groups = Xs[perm], yp[perm], groups[perm]
    Xp = flat_back(name, Xs).astype(np.float32)
    nets = train_nets(name, Xp, yp, seed, args.device)
    t1 = time.perf_counter()
    per_variant = {}
    rng = np.random.default_rng(seed)
    matrices = {}
    scales = np.empty(len(yp))
    for c in np.unique(yp):
        rows = np.flatnonzero(yp == c)
        matrices[c] = class_variants(nets, Xp[rows], yp[rows], name, kind, args.views, seed)
        scales[rows] = local_scale(matrices[c]["lpNTK cosine (default)"], AUTO_NEIGHBOURS)
    thresholds = auto_thresholds(nets, Xs, yp, scales, name, kind, seed)
    auto_kept = {label: [] for label in thresholds}
    for c in np.unique(yp):
        rows = np.flatnonzero(yp == c)
        for variant, S in matrices.pop(c).items():
            entry = per_variant.setdefault(variant, {"retrieval": [], "flat": [], "kept": {}})
            entry["retrieval"].append(copy_retrieval(S, groups[rows]))
            off = ~np.eye(len(rows), dtype=bool)
            entry["flat"].append(S[off].mean())
            if variant == "lpNTK cosine (default)":
                order = np.asarray(facility_location(S, len(rows)))
                for label, t in thresholds.items():
                    dropped = drop_near_duplicates(S, order, t, scale=scales[rows])
                    auto_kept[label].append(rows[~dropped])
            for ratio in RATIOS:
                k = max(1, int(len(rows) * (1 - ratio)))
                for rule in ("representative", "D2"):
                    local = keep_rows(rule, S, k, seed)
                    entry["kept"].setdefault((rule, ratio), []).append(rows[local])
    randoms = {ratio: random_share(yp, groups, ratio, rng) for ratio in RATIOS}
    n_copies_planted = len(yp) - len(np.unique(groups))
    run_fields = dict(dataset=name, pool=len(yo), level=label_, kind=kind, seed=seed)
    for label, parts in auto_kept.items():
        kept = np.concatenate(parts)
        removed = len(yp) - len(kept)
        share = distinct_share(kept, groups, yp)
        originals_lost = 1 - share["kept"]
        ratio = removed / len(yp)
        writer.writerow(
            dict(
                **run_fields,
                variant="lpNTK cosine (default)",
                rule=label,
                prune_ratio=f"{ratio:.4f}",
                distinct_of_allowed=f"{share['of_allowed']:.4f}",
                auto_threshold=f"{thresholds[label]:.5f}",
                auto_removed=removed,
                planted_copies=n_copies_planted,
            )
        )
        print(
            f"  {label:24s} threshold {thresholds[label]:.5f}: removed {removed} rows "
            f"({ratio:.1%}) of {n_copies_planted} planted copies; distinct originals lost "
            f"{originals_lost:.1%}",
            flush=True,
        )
    for variant, entry in per_variant.items():
        r = entry["retrieval"]
        q = np.array([x["n_queries"] for x in r])
        pairs = np.array([x["n_copy_pairs"] for x in r])
        prec = auc = np.nan
        if q.sum():
            prec = np.nansum([x["precision"] * w for x, w in zip(r, q)]) / q.sum()
            auc = np.nansum([x["auc"] * w for x, w in zip(r, pairs)]) / pairs.sum()
        flat = float(np.mean(entry["flat"]))
        for (rule, ratio), parts in entry["kept"].items():
            got = distinct_share(np.concatenate(parts), groups, yp)["of_allowed"]
            mean, low, high = randoms[ratio]
            writer.writerow(
                dict(
                    **run_fields,
                    variant=variant,
                    precision=f"{prec:.4f}",
                    auc=f"{auc:.4f}",
                    flatness=f"{flat:.4f}",
                    rule=rule,
                    prune_ratio=ratio,
                    distinct_of_allowed=f"{got:.4f}",
                    random_mean=f"{mean:.4f}",
                    random_low=f"{low:.4f}",
                    random_high=f"{high:.4f}",
                )
            )
        rep = [
            distinct_share(np.concatenate(entry["kept"][("representative", r_)]), groups, yp)[
                "of_allowed"
            ]
            for r_ in RATIOS
        ]
        print(
            f"  {variant:24s} P@1 {prec:.3f}  AUC {auc:.3f}  flat {flat:.3f}  "
            f"kept@50/70/90 {rep[0]:.3f} {rep[1]:.3f} {rep[2]:.3f}",
            flush=True,
        )
    print(
        "  random                   kept@50/70/90 "
        + " ".join(f"{randoms[r_][0]:.3f}" for r_ in RATIOS)
        + f"   (training {t1 - t0:.1f} s, kernels {time.perf_counter() - t1:.1f} s)",
        flush=True,
    )


def run(args):
    name = args.dataset
    Xtr, ytr, _, _ = load(name, args.pool, args.data_home)
    out = Path(args.out or RESULTS / f"redundancy-{name}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    with open(out, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new:
            writer.writeheader()
        for seed in range(args.seeds):
            for level in [lv for lv in LEVELS if not args.levels or lv[0] in args.levels]:
                for kind in args.kinds or KINDS[name]:
                    print(f"{name} pool {len(ytr)} level {level[0]} {kind} seed {seed}")
                    run_pool(args, name, Xtr, ytr, level, kind, seed, writer)
                    f.flush()


AUTO_FIELDS = ["dataset", "pool", "plant", "seed", "method", "n_kept", "budget", "accuracy"]


def downstream(args):
    """prune_ratio="auto" against the full pool and a random subset of the same counts.

    Every seed fits ``LpNTKPruner("auto")`` on the (planted) pool, then trains the
    dataset's downstream network on the full pool, on the kept rows and on a
    random subset with the same per-class counts, with equal epochs and with
    equal iterations (final-epoch test accuracy, as ``bench/prune.py``).
    """
    name = args.dataset
    setup = SETUPS[name]
    Xtr, ytr, Xte, yte = load(name, args.pool, args.data_home)
    if args.plant:
        Xtr, ytr, _ = plant(name, Xtr, ytr, args.plant)
    out = Path(args.out or RESULTS / f"auto-{name}.csv")
    new = not out.exists()
    device = torch.device(args.device)
    X, Y = torch.as_tensor(Xtr, device=device), torch.as_tensor(ytr, device=device)
    Xt, Yt = torch.as_tensor(Xte, device=device), torch.as_tensor(yte, device=device)
    full_steps = setup["epochs"] * int(np.ceil(len(ytr) / setup["batch"]))
    with open(out, "a", newline="") as f:
        writer = csv.DictWriter(f, AUTO_FIELDS)
        if new:
            writer.writeheader()
        for seed in range(args.seeds):
            pruner = setup_pruner(setup, "auto", args.device, seed).fit(Xtr, ytr)
            kept = pruner.sample_indices_
            rng = np.random.default_rng(seed)
            rand = np.sort(
                np.concatenate(
                    [
                        rng.choice(np.flatnonzero(ytr == c), np.sum(ytr[kept] == c), False)
                        for c in np.unique(ytr)
                    ]
                )
            )
            sets = {"full": np.arange(len(ytr)), "lpNTK auto": kept, "random": rand}
            for method, rows in sets.items():
                for budget in ("epochs", "iterations"):
                    if method == "full" and budget == "iterations":
                        continue
                    steps = (
                        setup["epochs"] * int(np.ceil(len(rows) / setup["batch"]))
                        if budget == "epochs"
                        else full_steps
                    )
                    acc = train_ensemble(
                        setup["model"],
                        X,
                        Y,
                        [rows],
                        [seed],
                        Xt,
                        Yt,
                        steps=steps,
                        batch=setup["batch"],
                        lr=setup["lr"],
                        device=device,
                    )[0]
                    writer.writerow(
                        dict(
                            dataset=name,
                            pool=len(ytr),
                            plant=args.plant or "",
                            seed=seed,
                            method=method,
                            n_kept=len(rows),
                            budget=budget,
                            accuracy=f"{acc:.5f}",
                        )
                    )
                    f.flush()
            print(
                f"seed {seed}: auto kept {len(kept)} of {len(ytr)} "
                f"(near-duplicates {pruner.duplicate_share_:.3f}, threshold "
                f"{pruner.duplicate_threshold_:.4f})",
                flush=True,
            )


def auto_counts(args):
    """Rows prune_ratio="auto" removes from the clean pools, 3 seeds (no downstream)."""
    for name, pool in (("mnist1d", None), ("fmnist", 5000), ("digits", None)):
        X, y, _, _ = load(name, pool, args.data_home)
        setup = SETUPS[name]
        for seed in range(args.seeds):
            start = time.perf_counter()
            pruner = setup_pruner(setup, "auto", args.device, seed).fit(X, y)
            print(
                f"{name} pool {len(y)} seed {seed}: removed "
                f"{len(y) - len(pruner.sample_indices_)} rows ({pruner.duplicate_share_:.2%}), "
                f"threshold {pruner.duplicate_threshold_:.4f}, "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )


def auto_table():
    """Markdown: auto's removed share and its paired differences to full and random."""
    lines = [
        "| dataset | pool | planted | removed | budget | auto − full (points) | "
        "auto − random (points) |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("auto-*.csv")):
        rows = list(csv.DictReader(open(path)))
        keys = sorted({(r["dataset"], r["pool"], r["plant"]) for r in rows})
        for dataset, pool, planted in keys:
            sub = [
                r for r in rows if (r["dataset"], r["pool"], r["plant"]) == (dataset, pool, planted)
            ]
            acc = {(r["method"], r["budget"], r["seed"]): float(r["accuracy"]) for r in sub}
            needed = [("full", "epochs")] + [
                (m, b) for m in ("lpNTK auto", "random") for b in ("epochs", "iterations")
            ]
            seeds = sorted(
                s for s in {r["seed"] for r in sub} if all((m, b, s) in acc for m, b in needed)
            )
            if not seeds:
                continue
            n_kept = np.mean([int(r["n_kept"]) for r in sub if r["method"] == "lpNTK auto"])
            removed = 1 - n_kept / int(pool)
            for budget in ("epochs", "iterations"):
                d_full = np.array(
                    [100 * (acc["lpNTK auto", budget, s] - acc["full", "epochs", s]) for s in seeds]
                )
                d_rand = np.array(
                    [100 * (acc["lpNTK auto", budget, s] - acc["random", budget, s]) for s in seeds]
                )
                lines.append(
                    f"| {dataset} | {pool} | {planted or 'none'} | {removed:.1%} | {budget} | "
                    f"{d_full.mean():+.2f} ± {100 * interval(d_full / 100):.2f} | "
                    f"{d_rand.mean():+.2f} ± {100 * interval(d_rand / 100):.2f} |"
                )
    return "\n".join(lines)


def screen_table():
    """Markdown: every variant's retrieval and distinct share kept, per planted pool."""
    out = []
    for path in sorted(RESULTS.glob("redundancy-*.csv")):
        rows = list(csv.DictReader(open(path)))
        pools = sorted({(r["dataset"], r["pool"], r["level"], r["kind"]) for r in rows})
        for dataset, pool, level, kind in pools:
            if level == "clean":
                continue
            sub = [
                r
                for r in rows
                if (r["dataset"], r["pool"], r["level"], r["kind"]) == (dataset, pool, level, kind)
            ]
            out.append(
                f"\n### {dataset}, {pool} originals, {level} copies by {kind}\n\n"
                "| kernel | P@1 | AUC | flatness | kept 50 % | kept 70 % | kept 90 % | "
                "D2 kept 70 % | D2 kept 90 % |\n|---|---|---|---|---|---|---|---|---|"
            )
            variants = list(
                dict.fromkeys(r["variant"] for r in sub if r["rule"] == "representative")
            )
            for v in variants:
                get = {
                    (r["rule"], r["prune_ratio"]): r
                    for r in sub
                    if r["variant"] == v and r["rule"] in ("representative", "D2")
                }
                first = get["representative", "0.5"]
                cells = [
                    f"{float(get['representative', q]['distinct_of_allowed']):.3f}"
                    for q in ("0.5", "0.7", "0.9")
                ]
                cells += [
                    f"{float(get['D2', q]['distinct_of_allowed']):.3f}" for q in ("0.7", "0.9")
                ]
                mark = " †" if v in TIE_BIASED else ""
                out.append(
                    f"| {v}{mark} | {float(first['precision']):.3f} | {float(first['auc']):.3f} | "
                    f"{float(first['flatness']):.3f} | " + " | ".join(cells) + " |"
                )
            rnd = {r["prune_ratio"]: r for r in sub if r["rule"] == "representative"}
            out.append(
                "| random (mean of 20) | | | | "
                + " | ".join(f"{float(rnd[q]['random_mean']):.3f}" for q in ("0.5", "0.7", "0.9"))
                + " | "
                + " | ".join(f"{float(rnd[q]['random_mean']):.3f}" for q in ("0.7", "0.9"))
                + " |"
            )
            autos = [r for r in sub if r["rule"] == "auto (noise)"]
            for r in autos:
                out.append(
                    f"\n`{r['rule']}`: threshold {float(r['auto_threshold']):.4f}, removed "
                    f"{r['auto_removed']} rows of {r['planted_copies']} planted copies, "
                    f"distinct share kept {float(r['distinct_of_allowed']):.3f}."
                )
    clean = []
    for path in sorted(RESULTS.glob("redundancy-*.csv")):
        for r in csv.DictReader(open(path)):
            if r["level"] == "clean" and r["rule"] == "auto (noise)":
                clean.append(
                    f"| {r['dataset']} | {r['pool']} | {r['kind']} | {r['auto_removed']} "
                    f"({float(r['prune_ratio']):.1%}) |"
                )
    head = (
        '\n### `prune_ratio="auto"` on the clean pools (no planted copy)\n\n'
        "| dataset | pool | run | rows removed |\n|---|---|---|---|"
    )
    return "\n".join(out + [head] + sorted(set(clean)))


def planted_table():
    """Markdown: bench/prune.py --plant runs, every method's paired difference to random."""
    from bench.prune import paired

    lines = []
    for path in sorted(RESULTS.glob("planted-*.csv")):
        rows = list(csv.DictReader(open(path)))
        if not rows:
            continue
        lines.append(
            f"\n### {rows[0]['dataset']}, planted pool of {rows[0]['pool']} rows "
            f"(`{path.name}`)\n\n| method | ratio | budget | accuracy | − random (points) |"
            "\n|---|---|---|---|---|"
        )
        methods = list(dict.fromkeys(r["method"] for r in rows if r["method"] != "full"))
        ratios = sorted({float(r["prune_ratio"]) for r in rows if r["method"] != "full"})
        for ratio in ratios:
            for budget in ("epochs", "iterations"):
                for method in methods:
                    got = paired(rows, method, ratio, budget)
                    if got is None:
                        continue
                    mean, sd, diff, half = got
                    cell = f"{100 * diff:+.2f} ± {100 * half:.2f}"
                    if method == "random":
                        cell = ""
                    elif diff - half > 0:
                        cell = f"**{cell}**"
                    lines.append(
                        f"| {method} | {ratio:.0%} | {budget} | {mean:.4f} ± {sd:.4f} | {cell} |"
                    )
        full = [float(r["accuracy"]) for r in rows if r["method"] == "full"]
        if full:
            lines.append(f"\nFull planted pool: {np.mean(full):.4f} ± {np.std(full, ddof=1):.4f}.")
    return "\n".join(lines)


def report():
    print(screen_table())
    print("\n### Downstream on planted pools: the levers against random\n")
    print(
        '`python -m bench.prune --plant 0.3:3:KIND --methods random "lpNTK representative" '
        '"lpNTK D2" "lpNTK last layer" --ratios 0.5 0.7 0.9`, 5 paired seeds, copied to '
        "`bench/results/planted-*.csv`; bold: the 95 % interval excludes 0 in the method's "
        "favour."
    )
    print(planted_table())
    print('\n### Downstream: `prune_ratio="auto"` against the full pool and random\n')
    print(auto_table())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(KINDS), default="digits")
    parser.add_argument("--pool", type=int, default=None, help="distinct originals")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--levels", nargs="*", help="subset of the redundancy levels")
    parser.add_argument("--kinds", nargs="*", help='perturbations, "kind" or "kind:scale"')
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--plant", default=None, help='for --downstream: "share:copies:kind"')
    parser.add_argument("--downstream", action="store_true", help="auto against full/random")
    parser.add_argument("--report", action="store_true")
    parser.add_argument(
        "--auto-counts", action="store_true", help='rows "auto" removes from clean pools'
    )
    args = parser.parse_args()
    if args.report:
        return report()
    if args.downstream:
        return downstream(args)
    if args.auto_counts:
        return auto_counts(args)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    run(args)


if __name__ == "__main__":
    main()
