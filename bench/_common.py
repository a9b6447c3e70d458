"""The benchmarks' one helper module: models, data, downstream training, memory and
timing helpers, confidence intervals, plotting.

Not part of the package. The benchmarks run from the repository root as modules
(``python -m bench.prune ...``), so they import this as ``bench._common`` and the
package from the checkout. Data is generated locally or read from local files (no
downloads).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

#: The repository root: the working directory of every benchmark process.
ROOT = Path(__file__).resolve().parent.parent


class LeNet(nn.Module):
    """conv32-conv64-maxpool-fc128-fc10 on 1x28x28 inputs: 1,199,882 parameters."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.fc2 = nn.Linear(128, n_classes)

    def forward(self, x):
        h = torch.relu(self.conv1(x))
        h = self.pool(torch.relu(self.conv2(h)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(h, 1))))


class _Block(nn.Module):
    """A ResNet basic block: conv-BN-ReLU-conv-BN plus a (1x1 conv + BN) shortcut."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.short(x))


class ResNet8(nn.Module):
    """ResNet-8 for 3x32x32 inputs: a stem and three basic blocks (16, 32, 64 channels)."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        )
        self.blocks = nn.Sequential(_Block(16, 16, 1), _Block(16, 32, 2), _Block(32, 64, 2))
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        return self.fc(h.mean(dim=(2, 3)))


class _EncoderLayer(nn.Module):
    """Pre-norm transformer layer; multi-head attention built from Linear layers."""

    def __init__(self, width, heads, hidden):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.heads = heads

    def forward(self, h):
        n, t, w = h.shape
        q, k, v = self.qkv(self.ln1(h)).reshape(n, t, 3, self.heads, -1).unbind(2)
        q, k, v = (x.transpose(1, 2) for x in (q, k, v))  # (n, heads, t, w / heads)
        att = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
        h = h + self.out((att @ v).transpose(1, 2).reshape(n, t, w))
        return h + self.ff(self.ln2(h))


class TinyTransformer(nn.Module):
    """Token + position embeddings, two encoder layers, mean pooling, a linear head."""

    def __init__(self, vocab=1000, width=64, length=32, heads=4, layers=2, n_classes=10):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(length, width)
        self.layers = nn.Sequential(
            *(_EncoderLayer(width, heads, 2 * width) for _ in range(layers))
        )
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_classes)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device).expand_as(idx)
        h = self.layers(self.tokens(idx) + self.positions(pos))
        return self.head(self.ln(h).mean(dim=1))


def images_32(n, seed=0):
    """``n`` 3x32x32 ten-class images: a class-specific colour blob on noise (float32)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n)
    grid = np.stack(np.meshgrid(np.arange(32), np.arange(32), indexing="ij"))
    centres = rng.uniform(8, 24, size=(n, 2))
    blob = np.exp(-((grid[None] - centres[:, :, None, None]) ** 2).sum(1) / 40.0)
    colour = np.eye(3)[y % 3][:, :, None, None] * (0.5 + y[:, None, None, None] / 20)
    X = colour * blob[:, None] + rng.normal(0, 0.1, size=(n, 3, 32, 32))
    return X.astype(np.float32), y.astype(np.int64)


def token_sequences(n, vocab=1000, length=32, seed=0):
    """``n`` sequences of ``length`` token ids; each class draws from its own token band."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n)
    band = vocab // 10
    own = rng.integers(0, band, size=(n, length)) + (y * band)[:, None]
    other = rng.integers(0, vocab, size=(n, length))
    X = np.where(rng.random((n, length)) < 0.3, own, other)
    return X.astype(np.int64), y.astype(np.int64)


def digits_mlp(seed=0, epochs=5):
    """The digits MLP (64-256-10) trained briefly with Adam, and the digits data."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    _train(model, torch.as_tensor(X), torch.as_tensor(y), epochs=epochs)
    return model.eval(), X, y.astype(np.int64)


def _train(model, X, y, epochs, batch_size=128, lr=1e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=g).split(batch_size):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()


def images_28(n, seed=0):
    """``n`` 28x28 ten-class images made from scikit-learn's digits.

    Each image is a digit upscaled from 8x8 to 20x20, placed at a random offset
    in a 28x28 canvas, with random contrast and Gaussian noise: MNIST-shaped
    data generated offline. Returns float32 (n, 1, 28, 28) in [0, 1] and labels.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(y), size=n)
    base = torch.as_tensor(X[pick] / 16.0, dtype=torch.float32).reshape(n, 1, 8, 8)
    big = nn.functional.interpolate(base, size=(20, 20), mode="bilinear", align_corners=False)
    out = torch.zeros(n, 1, 28, 28)
    offsets = rng.integers(0, 9, size=(n, 2))
    for dy in range(9):
        for dx in range(9):
            rows = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
            if len(rows):
                out[rows, :, dy : dy + 20, dx : dx + 20] = big[rows]
    contrast = torch.as_tensor(rng.uniform(0.6, 1.0, size=(n, 1, 1, 1)), dtype=torch.float32)
    noise = torch.as_tensor(rng.normal(0, 0.05, size=out.shape), dtype=torch.float32)
    return (out * contrast + noise).clamp_(0, 1).numpy(), y[pick].astype(np.int64)


def rss_bytes():
    """(current, peak) resident set size of this process, in bytes."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def reset_peak_rss():
    """Make the peak RSS start from the current RSS (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Measure:
    """Wall time and extra peak RSS of a block: ``with Measure() as m: ...``."""

    def __enter__(self):
        reset_peak_rss()
        self.rss0, _ = rss_bytes()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.extra_peak = max(0, rss_bytes()[1] - self.rss0)


def run_child(module, args, timeout=3600):
    """Run ``python -m module args`` from the repository root in a fresh process; return
    the JSON it printed last."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def matmul_gflops(n=4096, repeats=3, dtype=torch.float32):
    """Best-of-``repeats`` throughput of a square matrix product, in GFLOP/s."""
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def gram_gflops(rows, cols, repeats=3, dtype=torch.float32):
    """Throughput of ``A @ A.T`` for A of shape (rows, cols), in GFLOP/s."""
    a = torch.randn(rows, cols, dtype=dtype)
    a @ a.T
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a.T
        best = min(best, time.perf_counter() - t0)
    return 2 * rows * rows * cols / best / 1e9


def machine():
    """One line describing this machine."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {gpu}"
    )


# ------------------------------------------------- models and data of the pruning benches
class MLP(nn.Module):
    def __init__(self, n_inputs=64, n_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(n_inputs, 128), nn.ReLU(), nn.Linear(128, n_classes)
        )

    def forward(self, x):
        return self.net(x)


class CNN1D(nn.Module):
    """Three 1-D convolutions (32 channels) and a linear read-out, for 40-step signals."""

    def __init__(self, n_classes=10, length=40):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(1, 32, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(32, 32, 3, padding=1, stride=2),
            nn.ReLU(),
            nn.Conv1d(32, 32, 3, padding=1, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * (length // 4), n_classes),
        )

    def forward(self, x):
        return self.net(x)


class LeNet5(nn.Module):
    """conv6-pool-conv16-pool-fc120-fc84-fc10 on 1x28x28 images (61,706 parameters)."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, n_classes),
        )

    def forward(self, x):
        return self.net(x)


#: model, downstream epochs, batch size, learning rate (Adam), pruner-net epochs
SETUPS = {
    "digits": dict(model=MLP, epochs=40, batch=64, lr=1e-3, pruner_epochs=10),
    "mnist1d": dict(model=CNN1D, epochs=30, batch=128, lr=2e-3, pruner_epochs=10),
    "fmnist": dict(model=LeNet5, epochs=10, batch=256, lr=2e-3, pruner_epochs=5),
}


# ------------------------------------------------------------------- data
def load(name, pool, data_home=None):
    """Training pool and test set; the pool is a stratified subset when ``pool`` is set."""
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    elif name == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        data = make_dataset(get_dataset_args())
        Xtr, ytr = data["x"].astype(np.float32)[:, None], data["y"].astype(np.int64)
        Xte, yte = data["x_test"].astype(np.float32)[:, None], data["y_test"].astype(np.int64)
    else:
        from sklearn_lpntk.datasets import load_fashion_mnist

        Xtr, ytr = load_fashion_mnist(data_home, return_X_y=True, as_images=True)
        Xte, yte = load_fashion_mnist(data_home, subset="test", return_X_y=True, as_images=True)
    if pool and pool < len(ytr):
        rng = np.random.default_rng(0)
        idx = np.concatenate(
            [
                rng.choice(
                    np.flatnonzero(ytr == c), pool * np.sum(ytr == c) // len(ytr), replace=False
                )
                for c in np.unique(ytr)
            ]
        )
        Xtr, ytr = Xtr[np.sort(idx)], ytr[np.sort(idx)]
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


# ------------------------------------------------------- downstream training
def train_ensemble(
    model_cls,
    X,
    Y,
    index_sets,
    seeds,
    X_test,
    y_test,
    *,
    steps,
    batch,
    lr,
    device,
    schedule="cosine",
    return_params=False,
    per_class=False,
):
    """Train one fresh network per seed on its own rows, all at once with vmap.

    ``index_sets[s]`` are the rows of ``X`` and ``Y`` (device tensors) seed s trains on
    (all of one length). Seed s fixes the initialisation and the batch order.
    Adam for ``steps`` optimiser steps, reshuffled every epoch, with the
    learning rate annealed to 0 along a cosine (``schedule="cosine"``) or held
    constant; returns the final test accuracy of every seed (with ``per_class``
    also every class's accuracy per seed; with ``return_params``, the trained
    stacked parameters instead).
    """
    models = []
    for s in seeds:
        torch.manual_seed(10_000 + int(s))
        models.append(model_cls().to(device))
    params, _ = stack_module_state(models)
    params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    base = model_cls().to("meta")

    def forward(p, x):
        return functional_call(base, p, (x,))

    batched = vmap(forward)
    opt = torch.optim.Adam(params.values(), lr=lr)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        if schedule == "cosine"
        else None
    )
    idx = torch.as_tensor(np.stack(index_sets), device=device)  # (S, n)
    S, n = idx.shape
    gens = [torch.Generator().manual_seed(20_000 + int(s)) for s in seeds]
    done = 0
    while done < steps:
        order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
        order = torch.gather(idx, 1, order)
        for start in range(0, n, batch):
            if done >= steps:
                break
            pick = order[:, start : start + batch]
            xb = X[pick]  # (S, b, ...)
            yb = Y[pick]
            logits = batched(params, xb)
            loss = (
                nn.functional.cross_entropy(logits.flatten(0, 1), yb.flatten(), reduction="sum")
                / pick.shape[1]
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            done += 1
    if return_params:
        return {k: v.detach() for k, v in params.items()}
    with torch.no_grad():
        predictions = []
        for start in range(0, len(X_test), 4096):
            xb = X_test[start : start + 4096]
            predictions.append(vmap(forward, in_dims=(0, None))(params, xb).argmax(-1))
        right = (torch.cat(predictions, dim=1) == y_test).cpu().numpy()  # (S, n_test)
    if per_class:  # accuracy of every class, (S, n_classes)
        labels = y_test.cpu().numpy()
        return right.mean(axis=1), np.stack(
            [right[:, labels == c].mean(axis=1) for c in np.unique(labels)], axis=1
        )
    return right.mean(axis=1)


# ------------------------------------------------------------------ reports
def interval(d):
    """Half-width of the 95 % t-interval of the mean of the paired differences ``d``."""
    from scipy import stats

    d = np.asarray(d, dtype=np.float64)
    if len(d) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


# ------------------------------------------------------- results and command lines
def appending_csv(path, fields):
    """``(file, writer)``: ``path`` opened for appending rows of ``fields``, with the
    header written when the file is new (results of earlier runs are kept)."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0  # a killed run may leave it empty
    f = open(path, "a", newline="")
    writer = csv.DictWriter(f, fieldnames=fields)
    if new:
        writer.writeheader()
    return f, writer


def run_or_report(ap, run, report, prepare=None):
    """The command line of a dataset benchmark: ``--report`` prints the tables, otherwise
    ``--dataset`` is required and ``run(args)`` measures (after ``prepare(args)``)."""
    args = ap.parse_args()
    if args.report:
        return report(args)
    if args.dataset is None:
        ap.error("--dataset is required unless --report")
    if prepare is not None:
        prepare(args)
    return run(args)


def last_layer_only(module):
    """A copy of ``module`` whose only trainable parameters are its last Linear layer's."""
    import copy

    module = copy.deepcopy(module)
    last = [m for m in module.modules() if isinstance(m, nn.Linear)][-1]
    for p in module.parameters():
        p.requires_grad_(False)
    for p in last.parameters():
        p.requires_grad_(True)
    return module


def plant(name, X, y, spec, seed=0):
    """Plant near-duplicates: ``spec`` is "share:copies:kind[:scale]" (e.g. 0.3:3:noise)."""
    from sklearn_lpntk.datasets import plant_near_duplicates

    share, copies, kind, *scale = spec.split(":")
    shaped = X.reshape(len(X), 8, 8) if name == "digits" else X
    Xp, yp, groups = plant_near_duplicates(
        shaped,
        y,
        share=float(share),
        n_copies=int(copies),
        perturbation=kind,
        scale=float(scale[0]) if scale else None,
        random_state=seed,
    )
    # shuffled, so that no rule whose ties go to the lowest index favours the originals
    perm = np.random.default_rng(1000 + seed).permutation(len(yp))
    Xp, yp, groups = Xp[perm], yp[perm], groups[perm]
    return Xp.reshape(len(Xp), *X.shape[1:]).astype(X.dtype), yp, groups


def setup_pruner(setup, prune_ratio, device, seed, **params):
    """``LpNTKPruner`` with a dataset setup's network, learning rate, batch and epochs."""
    from sklearn_lpntk import LpNTKPruner

    return LpNTKPruner(
        prune_ratio,
        **{
            "net": setup["model"],
            "lr": setup["lr"],
            "batch_size": setup["batch"],
            "max_epochs": setup["pruner_epochs"],
            "device": device,
            "random_state": seed,
            **params,
        },
    )


def cosine(K):
    """``K_ij / sqrt(K_ii K_jj)`` of a dense kernel."""
    d = np.sqrt(np.clip(np.diagonal(K), 1e-30, None))
    return K / d[:, None] / d[None, :]


def centred(K):
    """A kernel centred in feature space (the class-mean gradient removed)."""
    r = K.mean(axis=1, keepdims=True)
    return K - r - r.T + K.mean()


def view_kernel(module, name, X, y, kind, scale, seed, n_views=4):
    """The lpNTK of the labelled gradient averaged over the row and ``n_views - 1``
    perturbed views of it (digits perturbed as 8 x 8 images)."""
    from sklearn_lpntk import lpntk_kernel
    from sklearn_lpntk.datasets import perturb

    def shaped(A):
        return A.reshape(len(A), 8, 8) if name == "digits" else A

    views = [X] + [
        perturb(shaped(X), kind, scale=scale, random_state=seed + v).reshape(X.shape)
        for v in range(1, n_views)
    ]
    n = len(X)
    big = lpntk_kernel(module, np.concatenate(views), np.tile(y, n_views), dtype="float32")
    return big.astype(np.float64).reshape(n_views, n, n_views, n).mean(axis=(0, 2))
