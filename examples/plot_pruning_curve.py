"""
=====================================
How much of digits can be pruned?
=====================================

The first question about any pruner: how far can the training set shrink
before accuracy drops, and does the pruner beat a random subset of the same
size there? :class:`~sklearn_lpntk.PruningCurveDisplay` answers both in one
call. For every prune ratio and every cross-validation fold it fits
"pruner -> classifier" on the pruned training fold and scores the whole test
fold, next to a random subset of the same size on the same folds, and the
classifier trained on all rows.
"""

# %%
# Curves for lpNTK and EL2N against random
# ----------------------------------------
# The downstream model is a logistic regression on scaled pixels. Both
# pruners train their own small network briefly before choosing rows; only
# the training folds are ever pruned.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lpntk import EL2NPruner, LpNTKPruner, PruningCurveDisplay, max_prune_ratio

X, y = load_digits(return_X_y=True)
classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

fig, ax = plt.subplots(figsize=(6.4, 4.2))
display = PruningCurveDisplay.from_estimator(
    classifier,
    X,
    y,
    pruner=[LpNTKPruner(), EL2NPruner()],
    prune_ratios=[0.1, 0.3, 0.5, 0.7, 0.9],
    cv=3,
    random_state=0,
    ax=ax,
)
fig.tight_layout()

# %%
# Reading the answer off the curves
# ---------------------------------
# :func:`~sklearn_lpntk.max_prune_ratio` gives the largest prune ratio whose
# mean score stays within ``tol`` of the full data's (here one point of
# accuracy). The same question is asked of the random baseline.
for curve in display.curves:
    print(
        f"{curve.name}: prune up to {max_prune_ratio(curve, tol=0.01):.0%}; "
        f"random: up to {max_prune_ratio(curve, tol=0.01, of='baseline'):.0%}"
    )
    for row in curve.summary():
        print(
            f"  {row['prune_ratio']:.0%} pruned: {row['score_mean']:.3f} "
            f"± {row['score_std']:.3f}  (random {row['baseline_mean']:.3f})"
        )

# %%
# Run as a script, ``--save FILE`` writes the figure (the documentation's
# copy under ``docs/_static/`` was made this way).
if __name__ == "__main__":
    import sys

    if "--save" in sys.argv:
        fig.savefig(sys.argv[sys.argv.index("--save") + 1], dpi=110, bbox_inches="tight")
