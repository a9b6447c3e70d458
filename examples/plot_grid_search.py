"""
=================================================
Grid-search the prune ratio inside a pipeline
=================================================

Pruning is a pipeline step: :func:`sklearn_lpntk.make_pipeline` resamples
only the training folds, so :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_val_score` score every test row.
The search below tunes the prune ratio and the keep-rule together, and its
``refit`` rule, :func:`~sklearn_lpntk.most_pruning_within`, picks the most
pruning whose cross-validated score stays within one point of the best,
rather than the single best score. The pruner gets ``memory=``: neither its
brief training nor its kernels depend on the prune ratio, so each fold and
keep-rule trains once and every other ratio only cuts the cached keep order.
The last section shows the same with scikit-learn's own ``Pipeline`` through
:class:`~sklearn_lpntk.PrunedClassifier`.

Run it as a script with ``python examples/plot_grid_search.py``.
"""

# %%
# The search
# ----------
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lpntk import LpNTKPruner, PrunedClassifier, make_pipeline, most_pruning_within

X, y = load_digits(return_X_y=True)
cache = tempfile.TemporaryDirectory()  # the pruner's cache, removed at the end
pipe = make_pipeline(
    StandardScaler(),
    LpNTKPruner(max_epochs=5, random_state=0, memory=cache.name),
    LogisticRegression(max_iter=2000),
)
ratios = [0.1, 0.3, 0.5, 0.7]
keeps = ["herding", "representative", "centres"]
grid = {"lpntkpruner__prune_ratio": ratios, "lpntkpruner__keep": keeps}
start = time.perf_counter()
search = GridSearchCV(pipe, grid, cv=3, refit=most_pruning_within(0.01)).fit(X, y)
print(
    f"{len(ratios) * len(keeps) * 3} fits in {time.perf_counter() - start:.1f} s; the "
    f"network was trained {len(keeps) * 3 + 1} times (once per fold and keep-rule, "
    "and for the refit)"
)
print("chosen:", search.best_params_)
print(
    f"best cross-validated accuracy: {search.cv_results_['mean_test_score'].max():.4f}; "
    f"chosen candidate: {search.cv_results_['mean_test_score'][search.best_index_]:.4f}"
)
kept = search.best_estimator_.named_steps["lpntkpruner"].sample_indices_
print(f"the refitted pipeline trained on {len(kept)} of {len(y)} rows")

# %%
# Score against prune ratio, per keep-rule
# ----------------------------------------
results = search.cv_results_
fig, ax = plt.subplots(figsize=(6.4, 4))
for keep in keeps:
    rows = [i for i, p in enumerate(results["params"]) if p["lpntkpruner__keep"] == keep]
    ax.errorbar(
        [ratios[ratios.index(results["params"][i]["lpntkpruner__prune_ratio"])] for i in rows],
        results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        marker="o",
        capsize=3,
        label=keep,
    )
best = results["mean_test_score"].max()
ax.axhspan(best - 0.01, best, color="0.85", label="within 0.01 of the best")
ax.plot(
    search.best_params_["lpntkpruner__prune_ratio"],
    results["mean_test_score"][search.best_index_],
    "k*",
    markersize=14,
    label="chosen",
)
ax.set_xlabel("prune ratio")
ax.set_ylabel("3-fold accuracy")
ax.legend(fontsize="small")
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# The same with scikit-learn's Pipeline
# -------------------------------------
# scikit-learn's ``Pipeline`` cannot drop rows in a middle step, so the
# pruner goes inside the last step with :class:`~sklearn_lpntk.PrunedClassifier`.
sk_pipe = SkPipeline(
    [
        ("scale", StandardScaler()),
        (
            "clf",
            PrunedClassifier(
                LogisticRegression(max_iter=2000),
                LpNTKPruner(prune_ratio=0.3, max_epochs=5, random_state=0),
            ),
        ),
    ]
)
scores = cross_val_score(sk_pipe, X, y, cv=5)
print(
    f"sklearn Pipeline + PrunedClassifier, 5-fold accuracy: {np.mean(scores):.4f} "
    f"± {np.std(scores):.4f}"
)
cache.cleanup()
