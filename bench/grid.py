"""Prune once, cut at any ratio: a grid search and a pruning curve against one fit.

Measured side by side in one process, after a warm-up fit (torch's one-time
start-up is not charged to anything):

* one ``LpNTKPruner().fit_resample`` on two thirds of the data (the training
  fold of 3-fold cross-validation), median of three;
* ``GridSearchCV`` over 5 prune ratios x 3 folds, the pruner in a pipeline
  before the classifier: without ``memory`` (every candidate trains the network
  and computes the kernels again, as in 0.5) and with ``memory`` (a fresh
  cache directory: one fit per fold, plus the refit on all rows), and with
  ``memory`` and ``refit=False``;
* ``pruning_curve`` over the same 5 ratios x 3 folds: as in 0.5 (the pruner
  refitted at every ratio; measured through a wrapper the curve does not know,
  which it fits per ratio) and now (fitted once per fold, its order cut);
* the classifier alone on a training fold (the floor every candidate pays), and
  the two grids again with a ``DummyClassifier`` downstream, so that what is
  left is the pruning's own cost.

The cached and uncached grids must give identical ``cv_results_`` scores, and
both curves identical scores; the script checks it.

Usage::

    python -m bench.grid --dataset digits --out bench/results/grid-digits.json
    python -m bench.grid --dataset fmnist --pool 3000 --out bench/results/grid-fmnist.json

The Fashion-MNIST run needs ``apt-get install dataset-fashion-mnist`` (it is
skipped with a message otherwise) and uses LeNet (``bench/_common.py``).
"""

import argparse
import json
import tempfile
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from bench._common import LeNet, machine
from sklearn_lpntk import LpNTKPruner, make_pipeline, pruning_curve

RATIOS = [0.1, 0.3, 0.5, 0.7, 0.9]


class RefitEveryRatio(BaseEstimator):
    """An LpNTKPruner behind a sampler the curve does not recognise: fitted per ratio (0.5)."""

    def __init__(self, prune_ratio=0.3, net=None, random_state=None):
        self.prune_ratio = prune_ratio
        self.net = net
        self.random_state = random_state

    def fit(self, X, y):
        pruner = LpNTKPruner(self.prune_ratio, net=self.net, random_state=self.random_state)
        self.sample_indices_ = pruner.fit(X, y).sample_indices_
        return self

    def fit_resample(self, X, y):
        self.fit(X, y)
        return X[self.sample_indices_], y[self.sample_indices_]


def _flatten(X):
    return X.reshape(len(X), -1)


def load(dataset, pool, seed):
    if dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X.astype(np.float32), y, None
    from sklearn_lpntk.datasets import load_fashion_mnist

    X, y = load_fashion_mnist(subset="train", return_X_y=True)
    idx, _ = train_test_split(np.arange(len(y)), train_size=pool, stratify=y, random_state=seed)
    X = (X[np.sort(idx)].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return X, y[np.sort(idx)], LeNet


def classifier(dummy=False):
    if dummy:
        return DummyClassifier()
    return sk_make_pipeline(
        FunctionTransformer(_flatten), StandardScaler(), LogisticRegression(max_iter=1000)
    )


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["digits", "fmnist"], default="digits")
    parser.add_argument("--pool", type=int, default=3000, help="Fashion-MNIST rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    try:
        X, y, net = load(args.dataset, args.pool, args.seed)
    except (FileNotFoundError, OSError) as exc:
        print(f"skipped: {exc} (apt-get install dataset-fashion-mnist)")
        return
    cv = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    train, _ = next(cv.split(X, y))
    X_fold, y_fold = X[train], y[train]

    def pruner(**params):
        return LpNTKPruner(net=net, random_state=args.seed, **params)

    pruner().fit(X_fold, y_fold)  # warm-up
    fits = [timed(lambda: pruner().fit_resample(X_fold, y_fold))[0] for _ in range(3)]
    t_fit = float(np.median(fits))
    t_clf = timed(lambda: classifier().fit(X_fold, y_fold))[0]
    grid = {"lpntkpruner__prune_ratio": RATIOS}

    def search(memory, refit=True, dummy=False):
        pipe = make_pipeline(pruner(memory=memory), classifier(dummy))
        return GridSearchCV(pipe, grid, cv=cv, refit=refit).fit(X, y)

    t_grid_before, before = timed(lambda: search(None))
    with tempfile.TemporaryDirectory() as cache:
        t_grid, after = timed(lambda: search(cache))
    with tempfile.TemporaryDirectory() as cache:
        t_grid_norefit, _ = timed(lambda: search(cache, refit=False))
    t_dummy_before = timed(lambda: search(None, dummy=True))[0]
    with tempfile.TemporaryDirectory() as cache:
        t_dummy = timed(lambda: search(cache, dummy=True))[0]
    same_grid = all(
        np.array_equal(before.cv_results_[k], after.cv_results_[k])
        for k in before.cv_results_
        if "test_score" in k
    )

    def curve(p):
        return pruning_curve(
            classifier(), X, y, pruner=p, prune_ratios=RATIOS, cv=cv, random_state=args.seed
        )

    t_curve_before, c_before = timed(lambda: curve(RefitEveryRatio(net=net)))
    t_curve, c_after = timed(lambda: curve(pruner()))
    same_curve = np.array_equal(c_before.scores, c_after.scores)

    result = {
        "dataset": args.dataset,
        "rows": int(len(y)),
        "fold_rows": int(len(train)),
        "network": "LeNet" if net is not None else "LogitMLP (default)",
        "classifier": "flatten -> StandardScaler -> LogisticRegression(max_iter=1000)",
        "machine": machine(),
        "seconds": {
            "one_fit": t_fit,
            "one_fit_runs": fits,
            "classifier_fit": t_clf,
            "grid_uncached": t_grid_before,
            "grid_memory": t_grid,
            "grid_memory_no_refit": t_grid_norefit,
            "grid_uncached_dummy_classifier": t_dummy_before,
            "grid_memory_dummy_classifier": t_dummy,
            "curve_refit_every_ratio": t_curve_before,
            "curve_once_per_fold": t_curve,
        },
        "ratios": {
            "grid_memory / one_fit": t_grid / t_fit,
            "grid_memory_no_refit / one_fit": t_grid_norefit / t_fit,
            "grid_uncached / one_fit": t_grid_before / t_fit,
            "grid_memory_dummy / one_fit": t_dummy / t_fit,
            "grid_uncached_dummy / one_fit": t_dummy_before / t_fit,
            "curve_once_per_fold / grid_memory": t_curve / t_grid,
            "curve_refit_every_ratio / one_fit": t_curve_before / t_fit,
            "curve_once_per_fold / one_fit": t_curve / t_fit,
            "grid speed-up": t_grid_before / t_grid,
            "curve speed-up": t_curve_before / t_curve,
        },
        "identical_grid_scores": bool(same_grid),
        "identical_curve_scores": bool(same_curve),
        "fit_timings": after.best_estimator_.steps[0][1].timings_,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
