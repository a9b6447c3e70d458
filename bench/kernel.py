"""Kernel benchmark: every way to compute the per-class lpNTK, side by side.

    python bench/kernel.py            # digits MLP (1,797 samples) and LeNet (5,000 images)
    python bench/kernel.py --quick    # smaller LeNet set, fewer reference rows
    python bench/kernel.py --device cuda

Each method runs in a fresh process (so its peak memory is its own) on the same
model and data, and computes the ten per-class Gram matrices K_c:

* official : the official code's approach, reimplemented here only as a
             reference: for every pair (i, j >= i) of a class, the K x K eNTK
             block J(x_i) J(x_j)^T from ``vmap(jacrev)`` (the Jacobian of x_j
             recomputed for every row i), then the mask-sum m_i^T Theta m_j.
             Too slow to finish, so a sample of rows is timed and the total is
             extrapolated with a fitted (constant + per-column) cost per row;
* naive    : one autograd backward per sample, gradients stacked, Gram by matmul;
* features, factorized, projection : the library's strategies.

Printed: seconds, extra peak RSS (and GPU memory), the largest error relative to
the naive kernel (max |K - K_naive| / max |K_naive|, per class, worst class),
speed ratios, the machine's matmul throughput and the share of it the Gram step
reaches. Results also go to ``bench/results/kernel-<device>.json``.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    LeNet,
    Measure,
    digits_mlp,
    gram_gflops,
    images_28,
    machine,
    matmul_gflops,
    run_child,
)

METHODS = ("official", "naive", "features", "factorized", "projection")


def _setup(model_name, n_lenet, device):
    if model_name == "mlp":
        model, X, y = digits_mlp()
    else:
        X, y = images_28(n_lenet, seed=0)
        torch.manual_seed(0)
        model = LeNet().eval()  # at initialisation: the timing does not depend on training
    return model.to(device), X, y


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _naive_class(model, X, y, n_classes, device):
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for x, label in zip(X, y):
        z = model(torch.as_tensor(x[None], device=device))[0]
        m = 2.0 * torch.nn.functional.one_hot(torch.tensor(label), n_classes).to(z) - 1.0
        grads = torch.autograd.grad((m * z).sum(), params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    phi = torch.stack(rows)
    return phi @ phi.T


def _official_rows(model, X, y, n_classes, rows, device, col_chunk):
    """Rows ``rows`` of K_c the official way: per-pair K x K blocks, mask-summed."""
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def logits(p, x):
        return functional_call(model, p, (x[None],))[0]

    jac = vmap(jacrev(logits), in_dims=(None, 0))
    Xt = torch.as_tensor(X, device=device)
    m = 2.0 * torch.nn.functional.one_hot(torch.as_tensor(y), n_classes).float().to(device) - 1
    out = {}
    for i in rows:
        ji = [v.reshape(n_classes, -1) for v in jac(params, Xt[i : i + 1]).values()]
        values = []
        for s in range(i, len(X), col_chunk):
            jc = [v.reshape(len(v), n_classes, -1) for v in jac(params, Xt[s : s + col_chunk])
                  .values()]
            # K x K eNTK blocks, summed over the parameter tensors
            blocks = sum(torch.einsum("ap,jbp->jab", a, b) for a, b in zip(ji, jc))
            values.append(torch.einsum("a,jab,jb->j", m[i], blocks, m[s : s + col_chunk]))
        out[i] = torch.cat(values).cpu().numpy()
    return out


def child(args):
    device = torch.device(args.device)
    torch.manual_seed(0)
    model, X, y = _setup(args.model, args.n, device)
    n_classes = 10
    classes = [np.flatnonzero(y == c) for c in range(n_classes)]
    result = {"method": args.method, "model": args.model, "n": len(y),
              "n_params": sum(p.numel() for p in model.parameters())}
    kernels = {}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if args.method == "official":
        # time sample rows of class 0 spread over the triangle, fit t = a + b * ncols
        idx = classes[0]
        n0 = len(idx)
        picks = np.unique(np.linspace(0, n0 - 1, args.official_rows).astype(int))
        times, ncols, partial = [], [], {}
        col_chunk = 256 if args.model == "mlp" else 8
        _official_rows(model, X[idx], y[idx], n_classes, [n0 - 1], device, col_chunk)  # warm-up
        with Measure() as m:
            for i in picks:
                t0 = time.perf_counter()
                row = _official_rows(model, X[idx], y[idx], n_classes, [int(i)], device,
                                     col_chunk)
                _sync(device)
                times.append(time.perf_counter() - t0)
                ncols.append(n0 - i)
                partial.update(row)
        A = np.stack([np.ones(len(times)), ncols], axis=1)
        (a, b), *_ = np.linalg.lstsq(A, np.array(times), rcond=None)
        total = sum(a * len(c) + b * len(c) * (len(c) + 1) / 2 for c in classes)
        result.update(seconds=float(total), extrapolated=True, rows_timed=len(picks),
                      measured_seconds=m.seconds, extra_peak=m.extra_peak,
                      per_row_constant=float(a), per_column=float(b))
        kernels = {f"0_{i}": v for i, v in partial.items()}
    elif args.method == "naive":
        with Measure() as m:
            for c, idx in enumerate(classes):
                kernels[str(c)] = _naive_class(model, X[idx], y[idx], n_classes,
                                               device).detach().cpu().numpy()
            _sync(device)
        result.update(seconds=m.seconds, extra_peak=m.extra_peak)
    else:
        from sklearn_lpntk._engine import LpNTKEngine

        engine = LpNTKEngine(model, strategy=args.method, device=device, dtype="float32",
                             projection_dim=args.projection_dim)
        plan = engine.plan(engine.probe(X, y), [len(idx) for idx in classes])
        store_s = gram_s = 0.0
        flops = 0.0
        with Measure() as m:
            for c, idx in enumerate(classes):
                t0 = time.perf_counter()
                kernel = engine.kernel(X[idx], y[idx], plan, c, random_state=0)
                store = kernel.store
                _sync(device)
                t1 = time.perf_counter()
                K = kernel.gram()
                _sync(device)
                gram_s += time.perf_counter() - t1
                store_s += t1 - t0
                width = (store.dense.shape[1] if store.dense is not None else 0) + sum(
                    g.A[0].numel() + g.D[0].numel() for g in store.ghosts)
                flops += 2.0 * len(idx) ** 2 * width
                kernels[str(c)] = K.cpu().numpy()
                del kernel, store, K
        result.update(seconds=m.seconds, extra_peak=m.extra_peak, store_seconds=store_s,
                      gram_seconds=gram_s, gram_gflops=flops / gram_s / 1e9,
                      stored_per_sample=int(plan.probe.stored_numbers)
                      if args.method != "projection" else args.projection_dim)
    if device.type == "cuda":
        result["gpu_peak"] = torch.cuda.max_memory_allocated(device)
    np.savez(args.out, **kernels)
    print(json.dumps(result))


def _max_rel_err(kernels, reference):
    worst = 0.0
    for key, K in kernels.items():
        if "_" in key:  # a row of the official method: "class_row"
            c, i = (int(v) for v in key.split("_"))
            ref = reference[str(c)][i, i:]
            scale = np.abs(reference[str(c)]).max()
        else:
            ref, scale = reference[key], np.abs(reference[key]).max()
        worst = max(worst, float(np.abs(K - ref).max() / scale))
    return worst


def _mb(n):
    return f"{n / 1e6:,.0f}"


def parent(args):
    here = Path(__file__).resolve()
    print(f"# lpNTK kernel benchmark\n\nmachine: {machine()}\n")
    mm = matmul_gflops(2048 if args.quick else 4096)
    print(f"matmul throughput (float32, square torch.mm): {mm:.1f} GFLOP/s\n")
    report = {"machine": machine(), "matmul_gflops": mm, "device": args.device, "models": {}}
    tmp = Path(tempfile.mkdtemp())
    for model_name in ("mlp", "lenet"):
        n = args.lenet_n if model_name == "lenet" else 1797
        rows = {}
        kernels = {}
        for method in METHODS:
            out = tmp / f"{model_name}-{method}.npz"
            child_args = ["--child", "--method", method, "--model", model_name, "--n", str(n),
                          "--out", str(out), "--device", args.device,
                          "--official-rows", str(args.official_rows[model_name]),
                          "--projection-dim", str(args.projection_dim)]
            rows[method] = run_child(str(here), child_args)
            kernels[method] = dict(np.load(out))
            print(f"  {model_name:5s} {method:10s} {rows[method]['seconds']:10.3f} s",
                  file=sys.stderr)
        naive = kernels["naive"]
        for method in METHODS:
            rows[method]["max_rel_err"] = _max_rel_err(kernels[method], naive)
        shape = (("digits MLP 64-256-10", "all 1,797 digits")
                 if model_name == "mlp" else
                 ("LeNet conv32-conv64-pool-fc128-fc10", f"{n:,} generated 28x28 images"))
        p = rows["naive"]["n_params"]
        print(f"## {shape[0]} (P = {p:,}), {shape[1]}, 10 classes\n")
        print("| method | time (s) | vs official | vs naive | extra peak RSS (MB) "
              "| max rel. err vs naive | notes |")
        print("|---|---|---|---|---|---|---|")
        t_off, t_naive = rows["official"]["seconds"], rows["naive"]["seconds"]
        for method in METHODS:
            r = rows[method]
            notes = []
            if r.get("extrapolated"):
                notes.append(f"extrapolated from {r['rows_timed']} timed rows of class 0 "
                             f"({r['per_row_constant'] * 1e3:.2f} ms + "
                             f"{r['per_column'] * 1e3:.3f} ms per column)")
            if "gram_seconds" in r:
                notes.append(f"gradients {r['store_seconds']:.3f} s + Gram "
                             f"{r['gram_seconds']:.3f} s at {r['gram_gflops']:.0f} GFLOP/s "
                             f"({r['gram_gflops'] / mm:.0%} of matmul); "
                             f"{r['stored_per_sample']:,} numbers stored per sample")
            if "gpu_peak" in r:
                notes.append(f"GPU peak {_mb(r['gpu_peak'])} MB")
            print(f"| {method} | {r['seconds']:.4g} | {t_off / r['seconds']:,.0f}x | "
                  f"{t_naive / r['seconds']:.2f}x | {_mb(r['extra_peak'])} | "
                  f"{r['max_rel_err']:.1e} | {'; '.join(notes)} |")
        print()
        report["models"][model_name] = rows
    n_c = args.lenet_n // 10
    g = gram_gflops(n_c, 1_199_882 if not args.quick else 300_000)
    print(f"Gram-shaped matmul A A^T with A of {n_c} x "
          f"{1_199_882 if not args.quick else 300_000:,} (a LeNet class): {g:.1f} GFLOP/s "
          f"({g / mm:.0%} of square matmul)\n")
    report["gram_shaped_gflops"] = g
    out_dir = here.parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"kernel-{args.device}.json").write_text(json.dumps(report, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--lenet-n", type=int, default=None)
    ap.add_argument("--projection-dim", type=int, default=4096)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--method", choices=METHODS)
    ap.add_argument("--model", choices=("mlp", "lenet"))
    ap.add_argument("--n", type=int)
    ap.add_argument("--out")
    ap.add_argument("--official-rows", type=int)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    if args.lenet_n is None:
        args.lenet_n = 1000 if args.quick else 5000
    args.official_rows = {"mlp": 10 if args.quick else 40, "lenet": 2 if args.quick else 4}
    parent(args)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
    main()
