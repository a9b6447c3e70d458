"""Scaling benchmark: kernel cost in N, and exact pruning of 60,000 images with LeNet.

    python -m bench.scale             # N = 2,500 ... 20,000, then the 60,000-image pruning
    python -m bench.scale --quick     # N = 1,000 ... 8,000 and a 12,000-image pruning
    python -m bench.scale --device cuda

Part 1 computes the ten per-class lpNTK matrices of a LeNet (conv32-conv64-
maxpool-fc128-fc10, 1,199,882 parameters) with the default ("auto") strategy
for N, 2N, 4N and 8N generated 28x28 images, in a fresh process each, and
reports the gradient phase (linear in N) and the Gram phase (per class
quadratic: N^2 / 10 pairs in all) separately, with peak memory.

Part 2 runs ``LpNTKPruner`` end to end on 60,000 generated 28x28 ten-class
images with that LeNet (one epoch of training, reported separately), the exact
kernel, the default memory limit (``max_memory``) and ``prune_ratio=0.3``, and reports every
phase and the peak resident memory of the whole process.
Results also go to ``bench/results/scale-<device>.json``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench._common import LeNet, Measure, images_28, machine, rss_bytes, run_child


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def child_kernel(args):
    from sklearn_lpntk.kernels import LpNTKEngine

    device = torch.device(args.device)
    X, y = images_28(args.n, seed=0)
    torch.manual_seed(0)
    model = LeNet().eval().to(device)
    engine = LpNTKEngine(model, device=device, dtype="float32", max_memory="auto")
    sizes = np.bincount(y, minlength=10).tolist()
    plan = engine.plan(engine.probe(X, y), sizes)
    grad_s = gram_s = 0.0
    with Measure() as m:
        for c in range(len(sizes)):
            idx = np.flatnonzero(y == c)
            t0 = time.perf_counter()
            kernel = engine.kernel(X[idx], y[idx], plan, c)
            _sync(device)
            t1 = time.perf_counter()
            K = kernel.gram()
            _sync(device)
            grad_s += t1 - t0
            gram_s += time.perf_counter() - t1
            del kernel, K
    out = {
        "n": args.n,
        "strategy": plan.strategy,
        "seconds": m.seconds,
        "gradient_seconds": grad_s,
        "gram_seconds": gram_s,
        "extra_peak": m.extra_peak,
        "peak_rss": rss_bytes()[1],
    }
    if device.type == "cuda":
        out["gpu_peak"] = torch.cuda.max_memory_allocated(device)
    print(json.dumps(out))


def child_prune(args):
    from sklearn_lpntk import LpNTKPruner

    device = torch.device(args.device)
    X, y = images_28(args.n, seed=1)
    t0 = time.perf_counter()
    pruner = LpNTKPruner(
        prune_ratio=0.3,
        net=LeNet,
        max_epochs=1,
        batch_size=128,
        random_state=0,
        device=device,
        verbose=1,
    )
    pruner.fit(X, y)
    total = time.perf_counter() - t0
    out = {
        "n": args.n,
        "strategy": pruner.strategy_,
        "kept": len(pruner.sample_indices_),
        "timings": pruner.timings_,
        "total_seconds": total,
        "seconds_without_training": total - pruner.timings_["training"],
        "lazy_classes": [int(c) for c in pruner.lazy_classes_],
        "peak_rss": rss_bytes()[1],
        "data_bytes": X.nbytes,
    }
    if device.type == "cuda":
        out["gpu_peak"] = torch.cuda.max_memory_allocated(device)
    print(json.dumps(out))


def parent(args):
    here = str(Path(__file__).resolve())
    print(f"# lpNTK scaling benchmark\n\nmachine: {machine()}\n")
    base = 1000 if args.quick else 2500
    rows = []
    for n in (base, 2 * base, 4 * base, 8 * base):
        rows.append(
            run_child("bench.scale", ["--child", "kernel", "--n", str(n), "--device", args.device])
        )
        print(f"  N={n}: {rows[-1]['seconds']:.1f} s", file=sys.stderr)
    print(f"## Per-class lpNTK of LeNet (P = 1,199,882), {rows[0]['strategy']} strategy\n")
    print(
        "| N | gradients (s) | Gram (s) | total (s) | ratio to previous N | extra peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|")
    prev = None
    for r in rows:
        ratio = f"{r['seconds'] / prev:.2f}x" if prev else ""
        print(
            f"| {r['n']:,} | {r['gradient_seconds']:.2f} | {r['gram_seconds']:.2f} | "
            f"{r['seconds']:.2f} | {ratio} | {r['extra_peak'] / 1e6:,.0f} |"
        )
        prev = r["seconds"]
    g = [r["gradient_seconds"] / r["n"] * 1e3 for r in rows]
    q = [r["gram_seconds"] / r["n"] ** 2 * 1e9 for r in rows]
    print(
        f"\ngradient cost per sample: {', '.join(f'{v:.2f}' for v in g)} ms "
        f"(constant = linear in N); Gram cost per N^2: "
        f"{', '.join(f'{v:.2f}' for v in q)} ns (constant = quadratic in N)\n"
    )
    n_full = 12000 if args.quick else 60000
    full = run_child(
        "bench.scale",
        ["--child", "prune", "--n", str(n_full), "--device", args.device],
        timeout=5400,
    )
    t = full["timings"]
    print(f"## LpNTKPruner end to end: {n_full:,} generated 28x28 images, LeNet, prune_ratio=0.3\n")
    print("| phase | seconds |\n|---|---|")
    for phase in ("setup", "training", "kernel", "selection"):
        print(f"| {phase} | {t.get(phase, 0.0):.1f} |")
    print(f"| **total without training** | **{full['seconds_without_training']:.1f}** |")
    print(f"| total with one training epoch | {full['total_seconds']:.1f} |\n")
    print(
        f"strategy: {full['strategy']} (exact); kept {full['kept']:,} of {n_full:,}; "
        f"classes clustered from lazy rows: {full['lazy_classes'] or 'none'}; "
        f"peak RSS of the whole process: {full['peak_rss'] / 1e9:.2f} GB "
        f"(the images alone: {full['data_bytes'] / 1e9:.2f} GB)"
        + (f"; GPU peak {full['gpu_peak'] / 1e9:.2f} GB" if "gpu_peak" in full else "")
    )
    out_dir = Path(here).parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"scale-{args.device}.json").write_text(
        json.dumps({"machine": machine(), "scaling": rows, "prune": full}, indent=1)
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--child", choices=("kernel", "prune"), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int)
    args = ap.parse_args()
    if args.child == "kernel":
        child_kernel(args)
    elif args.child == "prune":
        child_prune(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
