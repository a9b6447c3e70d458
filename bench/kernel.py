"""Kernel benchmark: every way to compute the per-class lpNTK, side by side.

    python -m bench.kernel            # digits MLP, LeNet, ResNet-8, a small transformer
    python -m bench.kernel --quick    # smaller sets, fewer reference rows
    python -m bench.kernel --device cuda

It starts with two in-process sections: ``lpntk_kernel`` on all 1,797 digits as a
user calls it, against the naive per-sample loop in the same process, and the
Gram step itself (``gram`` and ``FactorStore.gram``) against the plain matrix
product, the previous implementation, the machine's matmul throughput and its
memory bandwidth.

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

from bench._common import (
    LeNet,
    Measure,
    ResNet8,
    TinyTransformer,
    digits_mlp,
    gram_gflops,
    images_28,
    images_32,
    machine,
    matmul_gflops,
    run_child,
    token_sequences,
)

METHODS = ("official", "naive", "features", "factorized", "projection")
#: which methods run per model (the official method is far too slow beyond LeNet)
MODEL_METHODS = {
    "mlp": METHODS,
    "lenet": METHODS,
    "resnet8": ("naive", "features", "factorized"),
    "encoder": ("naive", "features", "factorized"),
}
MODEL_TITLES = {
    "mlp": ("digits MLP 64-256-10", "all 1,797 digits"),
    "lenet": ("LeNet conv32-conv64-pool-fc128-fc10", "{n:,} generated 28x28 images"),
    "resnet8": ("ResNet-8 with BatchNorm (16-32-64 channels)", "{n:,} generated 3x32x32 images"),
    "encoder": (
        "transformer encoder: token and position embeddings, 2 layers of 4-head "
        "attention built from Linear layers, LayerNorm, GELU feed-forward",
        "{n:,} generated sequences of 32 tokens from a 1,000-token vocabulary",
    ),
}


def _setup(model_name, n, device):
    if model_name == "mlp":
        model, X, y = digits_mlp()
        return model.to(device), X, y
    data, net = {
        "lenet": (images_28, LeNet),
        "resnet8": (images_32, ResNet8),
        "encoder": (token_sequences, TinyTransformer),
    }[model_name]
    X, y = data(n, seed=0)
    torch.manual_seed(0)
    model = net().eval()  # at initialisation: the timing does not depend on training
    if model_name == "resnet8":  # non-trivial running statistics, as after training
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 2.0)
    return model.to(device), X, y


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _naive_class(model, X, y, n_classes, device):
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for x, label in zip(X, y):
        z = model(torch.as_tensor(x[None], device=device))[0]  # ints stay ints (tokens)
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
            jc = [
                v.reshape(len(v), n_classes, -1)
                for v in jac(params, Xt[s : s + col_chunk]).values()
            ]
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
    result = {
        "method": args.method,
        "model": args.model,
        "n": len(y),
        "n_params": sum(p.numel() for p in model.parameters()),
    }
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
                row = _official_rows(model, X[idx], y[idx], n_classes, [int(i)], device, col_chunk)
                _sync(device)
                times.append(time.perf_counter() - t0)
                ncols.append(n0 - i)
                partial.update(row)
        A = np.stack([np.ones(len(times)), ncols], axis=1)
        (a, b), *_ = np.linalg.lstsq(A, np.array(times), rcond=None)
        total = sum(a * len(c) + b * len(c) * (len(c) + 1) / 2 for c in classes)
        result.update(
            seconds=float(total),
            extrapolated=True,
            rows_timed=len(picks),
            measured_seconds=m.seconds,
            extra_peak=m.extra_peak,
            per_row_constant=float(a),
            per_column=float(b),
        )
        kernels = {f"0_{i}": v for i, v in partial.items()}
    elif args.method == "naive":
        with Measure() as m:
            for c, idx in enumerate(classes):
                kernels[str(c)] = (
                    _naive_class(model, X[idx], y[idx], n_classes, device).detach().cpu().numpy()
                )
            _sync(device)
        result.update(seconds=m.seconds, extra_peak=m.extra_peak)
    else:
        from sklearn_lpntk.kernels import LpNTKEngine
        from sklearn_lpntk.layers import rule_coverage

        engine = LpNTKEngine(
            model,
            strategy=args.method,
            device=device,
            dtype="float32",
            projection_dim=args.projection_dim,
        )
        plan = engine.plan(engine.probe(X, y), [len(idx) for idx in classes])
        store_s = gram_s = 0.0
        flops = 0.0
        with Measure() as m:
            for c, idx in enumerate(classes):
                t0 = time.perf_counter()
                kernel = engine.kernel(X[idx], y[idx], plan, c, random_state=0)
                _sync(device)
                t1 = time.perf_counter()
                K = kernel.gram()
                _sync(device)
                gram_s += time.perf_counter() - t1
                store_s += t1 - t0
                # numbers per sample the Gram reads: the sketch, or phi's stored factors
                width = (
                    args.projection_dim
                    if plan.strategy == "projection"
                    else plan.probe.stored_numbers
                )
                flops += 2.0 * len(idx) ** 2 * width
                kernels[str(c)] = K.cpu().numpy()
                del kernel, K
        result["rule_share"] = rule_coverage(model)
        result.update(
            seconds=m.seconds,
            extra_peak=m.extra_peak,
            store_seconds=store_s,
            gram_seconds=gram_s,
            gram_gflops=flops / gram_s / 1e9,
            stored_per_sample=int(plan.probe.stored_numbers)
            if args.method != "projection"
            else args.projection_dim,
        )
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


def _best(fn, repeats):
    """Best-of-``repeats`` seconds of ``fn()`` after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _naive_whole(model, X, y):
    """The per-sample loop a user would write first: every row, then one matmul."""
    phi = []
    params = [p for p in model.parameters() if p.requires_grad]
    for x, label in zip(torch.as_tensor(X), torch.as_tensor(y)):
        z = model(x[None])[0]
        m = 2.0 * torch.nn.functional.one_hot(label, z.shape[0]).to(z) - 1.0
        phi.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad((m * z).sum(), params)]))
    phi = torch.stack(phi)
    return phi @ phi.T


def previous_gram(phi, block_size=4096):
    """The Gram step of 0.4, kept here only to time it side by side."""
    n = phi.shape[0]
    out = torch.empty(n, n, dtype=phi.dtype)
    for i in range(0, n, block_size):
        rows = phi[i : i + block_size]
        b = len(rows)
        block = rows @ phi[i:].T
        diag = torch.triu(block[:, :b])
        block[:, :b] = diag + torch.triu(diag, 1).T
        out[i : i + b, i:] = block
        out[i + b :, i : i + b] = block[:, b:].T
    return out


def outside_section(args, report):
    """lpntk_kernel on all digits, as a user calls it, against the naive loop."""
    from sklearn_lpntk import lpntk_kernel

    model, X, y = digits_mlp()
    repeats = 3 if args.quick else 7
    t_lib = _best(lambda: lpntk_kernel(model, X, y), repeats)
    t_naive = _best(lambda: _naive_whole(model, X, y), 1 if args.quick else 3)
    err = float(
        np.abs(lpntk_kernel(model, X, y) - _naive_whole(model, X, y).detach().numpy()).max()
        / np.abs(_naive_whole(model, X, y).detach().numpy()).max()
    )
    print("## `lpntk_kernel` from outside: all 1,797 digits, digits MLP, one call\n")
    print("| | seconds (best of runs) | ratio |\n|---|---|---|")
    print(f"| naive per-sample loop, then `phi @ phi.T` | {t_naive:.3f} | 1x |")
    print(f"| `lpntk_kernel(model, X, y)` | {t_lib:.4f} | **{t_naive / t_lib:.1f}x** |\n")
    print(f"max relative difference to the naive kernel: {err:.1e}\n")
    report["outside"] = {
        "naive_seconds": t_naive,
        "lpntk_kernel_seconds": t_lib,
        "ratio": t_naive / t_lib,
        "max_rel_err": err,
    }


def _bandwidth():
    """Copy bandwidth (read + write) of a 256 MB tensor, in GB/s."""
    a = torch.empty(64 * 2**20)
    return 2 * a.numel() * 4 / _best(lambda: a.clone(), 3) / 1e9


def gram_section(args, report, mm):
    """The Gram step against the plain product, the previous code and the machine."""
    from sklearn_lpntk.kernels import LpNTKEngine, gram

    bw = _bandwidth()
    print("## The Gram step\n")
    print(
        f"matmul throughput {mm:.0f} GFLOP/s, copy bandwidth {bw:.1f} GB/s. "
        "GFLOP/s count the full product (2 n^2 w) for all three, so that they compare "
        "with the matmul; a product is memory-bound when its arithmetic intensity "
        "(w / 2 flops per output byte written) is below matmul / bandwidth, and is "
        "then reported as output bandwidth.\n"
    )
    print(
        "| n x width | `A @ A.T` (ms) | previous Gram (ms) | `gram` now (ms) | now vs "
        "previous | now: GFLOP/s (share of matmul) or GB/s written (share of copy "
        "bandwidth) |"
    )
    print("|---|---|---|---|---|---|")
    shapes = [(1797, 10), (1797, 65), (1797, 256), (600, 28_300), (6000, 256)]
    if not args.quick:
        shapes += [(2000, 28_300)]
    rows = []
    repeats = 3 if args.quick else 5
    for n, w in shapes:
        A = torch.randn(n, w)
        t_mm = _best(lambda A=A: A @ A.T, repeats)
        t_prev = _best(lambda A=A: previous_gram(A), repeats)
        t_now = _best(lambda A=A: gram(A), repeats)
        flops = 2.0 * n * n * w
        compute_bound = (w / 2) > mm / bw
        if compute_bound:
            eff = f"{flops / t_now / 1e9:.0f} GFLOP/s ({flops / t_now / 1e9 / mm:.0%})"
        else:
            gbs = n * n * 4 / t_now / 1e9
            eff = f"{gbs:.1f} GB/s ({gbs / bw:.0%}), memory-bound"
        print(
            f"| {n:,} x {w:,} | {t_mm * 1e3:.1f} | {t_prev * 1e3:.1f} | {t_now * 1e3:.1f} | "
            f"{t_prev / t_now:.1f}x | {eff} |"
        )
        rows.append(
            {
                "n": n,
                "width": w,
                "matmul_s": t_mm,
                "previous_s": t_prev,
                "gram_s": t_now,
                "compute_bound": compute_bound,
            }
        )
        del A
    # the digits MLP's factorised store: two ghost pieces, Hadamard products fused
    model, X, y = digits_mlp()
    engine = LpNTKEngine(model, strategy="factorized", device="cpu", dtype="float32")
    plan = engine.plan(engine.probe(X, y), [len(y)], need_full=True)
    store = engine.kernel(X, y, plan).store
    factors = [f for g in store.ghosts for f in (g.A[:, 0], g.D[:, 0])]
    t_store = _best(store.gram, repeats)
    t_products = sum(_best(lambda f=f: f @ f.T, repeats) for f in factors)
    flops = sum(2.0 * len(f) ** 2 * f.shape[1] for f in factors)
    print(
        f"\nThe digits MLP's whole-data store (ghost factors of widths "
        f"{', '.join(str(f.shape[1]) for f in factors)}): `FactorStore.gram` "
        f"{t_store * 1e3:.1f} ms, against {t_products * 1e3:.1f} ms for the four products "
        f"`F @ F.T` alone ({flops / t_store / 1e9:.0f} GFLOP/s, "
        f"{flops / t_store / 1e9 / mm:.0%} of matmul).\n"
    )
    report["gram_step"] = {
        "bandwidth_gbs": bw,
        "shapes": rows,
        "mlp_store_gram_s": t_store,
        "mlp_products_s": t_products,
    }


def parent(args):
    here = Path(__file__).resolve()
    print(f"# lpNTK kernel benchmark\n\nmachine: {machine()}\n")
    mm = matmul_gflops(2048 if args.quick else 4096)
    print(f"matmul throughput (float32, square torch.mm): {mm:.1f} GFLOP/s\n")
    report = {"machine": machine(), "matmul_gflops": mm, "device": args.device, "models": {}}
    if args.device == "cpu":
        outside_section(args, report)
        gram_section(args, report, mm)
    tmp = Path(tempfile.mkdtemp())
    sizes = {"mlp": 1797, "lenet": args.lenet_n, "resnet8": args.other_n, "encoder": args.other_n}
    for model_name, methods in MODEL_METHODS.items():
        n = sizes[model_name]
        rows = {}
        kernels = {}
        for method in methods:
            out = tmp / f"{model_name}-{method}.npz"
            child_args = [
                "--child",
                "--method",
                method,
                "--model",
                model_name,
                "--n",
                str(n),
                "--out",
                str(out),
                "--device",
                args.device,
                "--official-rows",
                str(args.official_rows.get(model_name, 1)),
                "--projection-dim",
                str(args.projection_dim),
            ]
            rows[method] = run_child("bench.kernel", child_args)
            kernels[method] = dict(np.load(out))
            print(
                f"  {model_name:7s} {method:10s} {rows[method]['seconds']:10.3f} s", file=sys.stderr
            )
        naive = kernels["naive"]
        for method in methods:
            rows[method]["max_rel_err"] = _max_rel_err(kernels[method], naive)
        title, data = MODEL_TITLES[model_name]
        p = rows["naive"]["n_params"]
        share = rows["factorized"].get("rule_share", 0.0)
        print(f"## {title} (P = {p:,}), {data.format(n=n)}, 10 classes\n")
        print(f"Layer rules cover {share:.0%} of the parameters.\n")
        print(
            "| method | time (s) | vs official | vs naive | extra peak RSS (MB) "
            "| max rel. err vs naive | notes |"
        )
        print("|---|---|---|---|---|---|---|")
        t_off = rows["official"]["seconds"] if "official" in rows else None
        t_naive = rows["naive"]["seconds"]
        for method in methods:
            r = rows[method]
            notes = []
            if r.get("extrapolated"):
                notes.append(
                    f"extrapolated from {r['rows_timed']} timed rows of class 0 "
                    f"({r['per_row_constant'] * 1e3:.2f} ms + "
                    f"{r['per_column'] * 1e3:.3f} ms per column)"
                )
            if "gram_seconds" in r:
                notes.append(
                    f"gradients {r['store_seconds']:.3f} s + Gram "
                    f"{r['gram_seconds']:.3f} s at {r['gram_gflops']:.0f} GFLOP/s "
                    f"({r['gram_gflops'] / mm:.0%} of matmul); "
                    f"{r['stored_per_sample']:,} numbers stored per sample"
                )
            if "gpu_peak" in r:
                notes.append(f"GPU peak {_mb(r['gpu_peak'])} MB")
            vs_off = f"{t_off / r['seconds']:,.0f}x" if t_off else "-"
            print(
                f"| {method} | {r['seconds']:.4g} | {vs_off} | "
                f"{t_naive / r['seconds']:.2f}x | {_mb(r['extra_peak'])} | "
                f"{r['max_rel_err']:.1e} | {'; '.join(notes)} |"
            )
        print()
        report["models"][model_name] = rows
    n_c = args.lenet_n // 10
    g = gram_gflops(n_c, 1_199_882 if not args.quick else 300_000)
    print(
        f"Gram-shaped matmul A A^T with A of {n_c} x "
        f"{1_199_882 if not args.quick else 300_000:,} (a LeNet class): {g:.1f} GFLOP/s "
        f"({g / mm:.0%} of square matmul)\n"
    )
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
    ap.add_argument("--model", choices=tuple(MODEL_METHODS))
    ap.add_argument(
        "--other-n",
        type=int,
        default=None,
        help="samples for ResNet-8 and the transformer (default 1000; quick 300)",
    )
    ap.add_argument("--n", type=int)
    ap.add_argument("--out")
    ap.add_argument("--official-rows", type=int)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    if args.lenet_n is None:
        args.lenet_n = 1000 if args.quick else 5000
    if args.other_n is None:
        args.other_n = 300 if args.quick else 1000
    args.official_rows = {"mlp": 10 if args.quick else 40, "lenet": 2 if args.quick else 4}
    parent(args)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
    main()
