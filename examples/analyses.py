"""
==============================
The paper's analyses on digits
==============================

Relation types, learning difficulty and forgetting, as in the paper.

Run with ``python examples/analyses.py [--plots DIR]``. It prints

* how the same-class pairs split into interchangeable / unrelated / contradictory
  (by the angle of their labelled gradients; thresholds 0.5 and 0, ours);
* the Spearman correlation between each row's learning difficulty (sum over
  epochs of ||softmax - e_y||) and two lpNTK statistics of the row;
* how well the first-order formula predicts which rows one SGD step on a batch
  makes wrong (precision, recall, F1 against the true step);

and, with ``--plots DIR`` and matplotlib, writes pictures of what was pruned.
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from sklearn_lpntk import ForgettingPruner, LpNTKPruner, lpntk_kernel
from sklearn_lpntk.analysis import (
    RELATIONS,
    correlation,
    cosine_matrix,
    learning_difficulty,
    precision_recall_f1,
    predict_forgetting,
    relation_counts,
    sgd_step_forgetting,
)


def main(plots=None, epochs=10):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    pruner = LpNTKPruner(prune_ratio=0.5, max_epochs=epochs, random_state=0).fit(X, y)
    module = pruner.net_.module_

    kernels = {}
    mean_cos = np.empty(len(y))
    for weighting in ("sign", "full"):
        counts, cosines = np.zeros(3), []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            K = lpntk_kernel(module, X[idx], y[idx], error_weighting=weighting)
            counts += relation_counts(K).sum(axis=0) / 2  # every pair counted twice
            cos = cosine_matrix(K)
            cosines.append(cos[np.triu_indices(len(idx), k=1)])
            if weighting == "sign":
                kernels[c] = K
                mean_cos[idx] = (cos.sum(axis=1) - 1) / (len(idx) - 1)
        share = counts / counts.sum()
        q = np.quantile(np.concatenate(cosines), [0.0, 0.05, 0.5])
        print(
            f"same-class pairs, error_weighting={weighting!r}: "
            + ", ".join(f"{name} {s:.1%}" for name, s in zip(RELATIONS, share))
            + f"; cosine min {q[0]:+.2f}, 5% {q[1]:+.2f}, median {q[2]:+.2f}"
        )

    dynamics = ForgettingPruner(max_epochs=epochs, random_state=0).fit(X, y)
    difficulty = learning_difficulty(dynamics.probabilities_[0, 1:], y)
    for name, stat in (
        ("lpNTK self-similarity", pruner.self_kernel_),
        ("mean same-class lpNTK cosine", mean_cos),
    ):
        r, p = correlation(difficulty, stat)
        print(f"learning difficulty vs {name}: Spearman r = {r:+.3f} (p = {p:.1e})")

    rng = np.random.default_rng(0)
    batch = rng.choice(len(y), size=128, replace=False)
    for lr in (0.05, 0.2, 0.5):
        pred = predict_forgetting(module, X, y, X[batch], y[batch], lr)
        true = sgd_step_forgetting(module, X, y, X[batch], y[batch], lr)
        p, r, f = precision_recall_f1(pred["forgotten"], true["forgotten"])
        print(
            f"one SGD step, lr={lr}: {true['forgotten'].sum()} rows forgotten, "
            f"{pred['forgotten'].sum()} predicted; precision {p:.2f}, recall {r:.2f}, "
            f"F1 {f:.2f}"
        )

    if plots:
        import matplotlib

        matplotlib.use("Agg")
        from sklearn_lpntk import plotting

        out = Path(plots)
        out.mkdir(parents=True, exist_ok=True)
        plotting.plot_image_grid(X, pruner.get_support(), image_shape=(8, 8)).savefig(
            out / "kept_vs_pruned.png", dpi=110, bbox_inches="tight"
        )
        for name, draw in (
            ("relations", plotting.plot_relation_histogram),
            ("spectrum", plotting.plot_kernel_spectrum),
        ):
            ax = draw(kernels[3])
            ax.figure.savefig(out / f"{name}_class3.png", dpi=110, bbox_inches="tight")
        idx = np.flatnonzero(y == 3)
        ax = plotting.plot_cluster_sizes(
            pruner.cluster_labels_[idx], title="cluster sizes, class 3"
        )
        ax.figure.savefig(out / "clusters_class3.png", dpi=110, bbox_inches="tight")
        print(f"plots written to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plots", default=None, help="folder for the pictures")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    main(plots=args.plots, epochs=args.epochs)
