"""A catalogue of bad and unusual inputs, shared by the tests (and runnable on its own).

Each case is ``(name, call, expect)``: ``call()`` fits a pruner or computes a kernel;
``expect`` is ``("error", regex)`` for a clear ValueError/TypeError from this package
whose message matches (``("error", regex, TypeError)`` also names the type), or
``("ok", None)`` for input that must simply work.
"""

import numpy as np
import torch

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTKCleaner,
    LpNTKPruner,
    ModeratePruner,
    RandomPruner,
    lpntk_kernel,
)


def _data():
    rng = np.random.default_rng(0)
    return rng.random((40, 4)).astype(np.float32), np.repeat([0, 1], 20)


TRAINED = {
    "LpNTKPruner": lambda **p: LpNTKPruner(max_epochs=1, random_state=0, **p),
    "EL2NPruner": lambda **p: EL2NPruner(max_epochs=1, n_inits=1, random_state=0, **p),
    "GraNdPruner": lambda **p: GraNdPruner(n_inits=1, random_state=0, **p),
    "ForgettingPruner": lambda **p: ForgettingPruner(max_epochs=2, random_state=0, **p),
    "ModeratePruner": lambda **p: ModeratePruner(max_epochs=1, random_state=0, **p),
    "LpNTKCleaner": lambda **p: LpNTKCleaner(max_epochs=1, random_state=0, **p),
}
ALL = {
    **TRAINED,
    "RandomPruner": lambda **p: RandomPruner(random_state=0, **p),
    "CCSPruner": lambda **p: CCSPruner(
        scorer=EL2NPruner(max_epochs=1, n_inits=1), random_state=0, **p
    ),
}


class BatchNormMLP(torch.nn.Module):
    """Linear-BatchNorm1d-ReLU-Linear: BatchNorm cannot train on a batch of one row."""

    def __init__(self, n_inputs=4, n_classes=2):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(n_inputs, 8),
            torch.nn.BatchNorm1d(8),
            torch.nn.ReLU(),
            torch.nn.Linear(8, n_classes),
        )

    def forward(self, x):
        return self.body(x)


class BatchNormCNN(torch.nn.Module):
    """Conv-BatchNorm2d-ReLU-pool-Linear on 1x6x6 images."""

    def __init__(self, n_classes=2):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3),
            torch.nn.BatchNorm2d(4),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            torch.nn.Linear(4 * 4 * 4, n_classes),
        )

    def forward(self, x):
        return self.body(x)


class NeedsWidth(torch.nn.Module):
    """A module whose constructor needs an argument the pruner cannot infer."""

    def __init__(self, width, n_inputs=4, n_classes=2):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_inputs, width), torch.nn.ReLU(), torch.nn.Linear(width, n_classes)
        )

    def forward(self, x):
        return self.body(x)


class ListIterator:
    """A training iterator that is not a DataLoader (so drop_last cannot be set)."""

    def __init__(self, dataset, batch_size=1, shuffle=False):
        self.dataset, self.batch_size = dataset, batch_size

    def __iter__(self):
        for start in range(0, len(self.dataset), self.batch_size):
            rows = np.arange(start, min(start + self.batch_size, len(self.dataset)))
            Xb, yb = self.dataset[rows]
            yield torch.as_tensor(Xb), torch.as_tensor(yb)


def _zero_sizes_and_unusual_arguments(add):
    """Issue 18: zero-size axes, BatchNorm's one-row batch, probabilities, fit
    parameters, n_jobs=0, constructor arguments, dates."""
    import pandas as pd
    from sklearn.base import clone
    from skorch import NeuralNetClassifier

    X, y = _data()
    rng = np.random.default_rng(1)
    X65, y65 = rng.random((65, 4)).astype(np.float32), np.arange(65) % 2
    images65 = rng.random((65, 1, 6, 6)).astype(np.float32)
    dates = np.array(["2020-01-01", "2021-06-30"] * 20, dtype="datetime64[D]").reshape(-1, 1)
    when = pd.DataFrame({"a": X[:, 0], "when": pd.date_range("2020-01-01", periods=40)})
    took = pd.DataFrame({"a": X[:, 0], "took": pd.to_timedelta(np.arange(40), unit="h")})
    objects = np.array([[np.datetime64("2020-01-01"), 1.0]] * 40, dtype=object)
    softmax = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Softmax(dim=1))
    for pname, make in ALL.items():
        for shape in ((40, 3, 0), (40, 0, 5)):
            add(
                f"{pname}: X of shape {shape}",
                lambda m=make, s=shape: m().fit(np.zeros(s, dtype=np.float32), y),
                ("error", "axis of size 0", ValueError),
            )
        for method in ("fit", "fit_resample", "fit_transform"):
            add(
                f"{pname}: {method}(sample_weight=...)",
                lambda m=make, f=method: getattr(m(), f)(X, y, sample_weight=np.ones(40)),
                ("error", r"unexpected argument.*sample_weight.*sample_indices_", TypeError),
            )
        for dname, data in (
            ("datetime64 array", dates),
            ("DataFrame datetime column", when),
            ("DataFrame timedelta column", took),
            ("object array with dates", objects),
        ):
            add(
                f"{pname}: {dname}",
                lambda m=make, d=data: m().fit(d, y),
                ("error", "dates or durations.*convert them to numbers", ValueError),
            )
    bn_pruners = {
        **TRAINED,
        "GraNdPruner": lambda **p: GraNdPruner(n_inits=1, max_epochs=1, random_state=0, **p),
        "CCSPruner": lambda **p: CCSPruner(
            scorer=EL2NPruner(max_epochs=1, n_inits=1, **p), random_state=0
        ),
    }
    for pname, make in bn_pruners.items():
        add(
            f"{pname}: BatchNorm1d net, last batch of one row",
            lambda m=make: m(net=BatchNormMLP, batch_size=64).fit(X65, y65),
            ("ok", None),
        )
        add(
            f"{pname}: BatchNorm2d net, last batch of one row",
            lambda m=make: m(net=BatchNormCNN, batch_size=64).fit(images65, y65),
            ("ok", None),
        )
    for pname, make in TRAINED.items():
        add(
            f"{pname}: module ending in softmax",
            lambda m=make: m(net=softmax).fit(X, y),
            ("error", "probabilities, not logits.*CrossEntropyLoss", ValueError),
        )
        add(
            f"{pname}: module class needing a constructor argument",
            lambda m=make: m(net=NeedsWidth).fit(X, y),
            ("error", "module__width", TypeError),
        )
        add(
            f"{pname}: skorch net missing a constructor argument",
            lambda m=make: m(
                net=NeuralNetClassifier(NeedsWidth, criterion=torch.nn.CrossEntropyLoss)
            ).fit(X, y),
            ("error", "module__width", TypeError),
        )
    skorch_bn = NeuralNetClassifier(
        BatchNormMLP,
        criterion=torch.nn.CrossEntropyLoss,
        batch_size=64,
        max_epochs=1,
        train_split=None,
    )
    add(
        "LpNTKPruner: skorch BatchNorm net, last batch of one row",
        lambda: TRAINED["LpNTKPruner"](net=skorch_bn).fit(X65, y65),
        ("ok", None),
    )
    add(
        "LpNTKPruner: skorch BatchNorm net with its own iterator, one row left",
        lambda: TRAINED["LpNTKPruner"](
            net=clone(skorch_bn).set_params(iterator_train=ListIterator)
        ).fit(X65, y65),
        ("error", "BatchNorm.*batch_size=64", ValueError),
    )
    add(
        "LpNTKPruner: skorch net with NLLLoss and softmax",
        lambda: TRAINED["LpNTKPruner"](net=NeuralNetClassifier(softmax, max_epochs=1)).fit(X, y),
        ("error", "probabilities, not logits", ValueError),
    )
    add(
        "lpntk_kernel: module ending in softmax",
        lambda: lpntk_kernel(softmax, torch.tensor(X), torch.tensor(y)),
        ("error", "probabilities, not logits", ValueError),
    )
    add(
        "LpNTKPruner: n_jobs=0",
        lambda: TRAINED["LpNTKPruner"](n_jobs=0).fit(X, y),
        ("error", "n_jobs=0.*-1 for all processors", ValueError),
    )
    add(  # the cleaner's n_jobs did nothing and was removed in 0.8
        "LpNTKCleaner: n_jobs=2",
        lambda: TRAINED["LpNTKCleaner"](n_jobs=2).fit(X, y),
        ("error", "'n_jobs' is now nothing: the cleaner scores one fold after", TypeError),
    )


class NaNNet(torch.nn.Module):
    """A network whose output is NaN: a diverged training."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.lin(x) * float("nan")


def cases():
    import pandas as pd
    from skorch import NeuralNetClassifier

    X, y = _data()
    out = []

    def add(name, call, expect):
        out.append((name, call, expect))

    labels = {
        "labels with None": np.array(["a", "b"] * 19 + [None, "a"], dtype=object),
        "float labels with NaN": np.r_[np.zeros(20), np.ones(19), np.nan],
        "pandas string labels with NA": pd.Series(["a", "b"] * 19 + [pd.NA, "a"], dtype="string"),
        "one-hot y with an all-zero row": np.r_[np.eye(2)[y[:-1]], [[0, 0]]].astype(int),
    }
    df = pd.DataFrame(X, columns=list("abcd"))
    df["c"] = pd.Categorical(["u", "v"] * 20)
    for pname, make in ALL.items():
        for lname, yy in labels.items():
            match = "missing values" if "one-hot" not in lname else "exactly one 1"
            add(f"{pname}: {lname}", lambda m=make, yy=yy: m().fit(X, yy), ("error", match))
        add(  # encoded for the network by default (encoder="auto")
            f"{pname}: categorical DataFrame column",
            lambda m=make: m().fit(df, y),
            ("ok", None),
        )
        if "encoder" in make().get_params():
            add(
                f"{pname}: categorical DataFrame column, encoder=None",
                lambda m=make: m(encoder=None).fit(df, y),
                ("error", r"non-numeric columns \['c'\]"),
            )
        add(
            f"{pname}: X with zero features",
            lambda m=make: m().fit(np.zeros((40, 0)), y),
            ("error", "no features"),
        )
        add(
            f"{pname}: X scaled by 1e30",
            lambda m=make: m().fit(X * 1e30, y),
            # the kernel and GraNd overflow (a clear error); the prediction-based scores
            # saturate but stay finite, so the documented counts hold
            ("error", "StandardScaler")
            if pname in ("LpNTKPruner", "GraNdPruner", "LpNTKCleaner")
            else ("ok", None),
        )
    for pname, make in TRAINED.items():
        add(
            f"{pname}: 1-D output",
            lambda m=make: m(
                net=torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Flatten(0))
            ).fit(X, y),
            ("error", "logits"),
        )
        add(
            f"{pname}: fewer logits than classes",
            lambda m=make: m(net=torch.nn.Linear(4, 1)).fit(X, y),
            ("error", "1 logits"),
        )
        add(
            f"{pname}: net expecting another input width",
            lambda m=make: m(net=torch.nn.Linear(5, 2)).fit(X, y),
            ("error", "could not be applied"),
        )
        add(
            f"{pname}: float64 module",
            lambda m=make: m(net=torch.nn.Linear(4, 2).double()).fit(X, y),
            ("ok", None),
        )
        add(
            f"{pname}: batch_size as numpy integer",
            lambda m=make: m(batch_size=np.int64(8)).fit(X, y),
            ("ok", None),
        )
        add(
            f"{pname}: tensor X with requires_grad",
            lambda m=make: m().fit(torch.tensor(X, requires_grad=True), y),
            ("ok", None),
        )
        for device in ("meta", "mps", "quantum"):
            add(
                f"{pname}: device={device!r}",
                lambda m=make, d=device: m(device=d).fit(X, y),
                ("error", "device"),
            )
        add(
            f"{pname}: skorch net without a module",
            lambda m=make: m(net=NeuralNetClassifier("not a module")).fit(X, y),
            ("error", "module"),
        )
        add(
            f"{pname}: network with NaN output",
            lambda m=make: m(net=NaNNet).fit(X, y),
            ("error", "non-finite|NaN") if pname != "ModeratePruner" else ("ok", None),
        )
    add(
        "LpNTKPruner: checkpoints=[0.5, 1]",
        lambda: TRAINED["LpNTKPruner"](checkpoints=[0.5, 1]).fit(X, y),
        ("error", "whole"),
    )
    add(
        "LpNTKPruner: max_memory=4e9",
        lambda: TRAINED["LpNTKPruner"](max_memory=4e9).fit(X, y),
        ("ok", None),
    )
    add(
        "LpNTKPruner: memory_budget=4e9 (the 0.7 name)",
        lambda: TRAINED["LpNTKPruner"](memory_budget=4e9).fit(X, y),
        ("error", "'memory_budget' is now max_memory", TypeError),
    )
    model = torch.nn.Linear(4, 3)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    add(
        "lpntk_kernel: length mismatch",
        lambda: lpntk_kernel(model, Xt, yt[:-1]),
        ("error", "one label per row"),
    )
    add(
        "lpntk_kernel: one-hot y",
        lambda: lpntk_kernel(model, Xt, torch.nn.functional.one_hot(yt, 3)),
        ("error", "1-D"),
    )
    add(
        "lpntk_kernel: non-integer labels",
        lambda: lpntk_kernel(model, Xt, yt + 0.5),
        ("error", "integer class indices"),
    )
    add(
        "lpntk_kernel: string labels",
        lambda: lpntk_kernel(model, X, np.array(["a", "b"] * 20)),
        ("error", "integer class indices"),
    )
    _zero_sizes_and_unusual_arguments(add)
    add(
        "lpntk_kernel: NaN in X",
        lambda: lpntk_kernel(model, np.r_[X[:-1], [[np.nan] * 4]], y),
        ("error", "NaN"),
    )
    add(
        "lpntk_kernel: a plain function as the model",
        lambda: lpntk_kernel(lambda x: x, Xt, yt),
        ("error", "torch.nn.Module"),
    )
    return out


def outcome(call):
    """("clear", message, type) for a ValueError/TypeError raised from sklearn_lpntk,
    ("deep", message) for any other exception, ("ok", None) when it ran."""
    import traceback
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except (ValueError, TypeError) as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1].filename
        if "sklearn_lpntk" in last.replace("\\", "/"):
            return "clear", str(exc), type(exc)
        return "deep", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - classifying what happens is the point
        return "deep", f"{type(exc).__name__}: {exc}"
    return "ok", None


def as_documented(result, expect):
    import re

    kind, msg, want, rx = result[0], result[1], expect[0], expect[1]
    typed = len(expect) < 3 or (kind == "clear" and result[2] is expect[2])
    return kind == want == "ok" or (
        kind == "clear" and want == "error" and typed and re.search(rx, msg) is not None
    )


if __name__ == "__main__":
    results = [(name, outcome(call), expect) for name, call, expect in cases()]
    good = sum(as_documented(r, e) for _, r, e in results)
    for name, (kind, msg, *_), _ in results:
        print(f"{kind:5s} {name}: {(msg or '')[:100]!r}")
    print(f"{good} of {len(results)} cases handled as documented")
