"""
=======================================
Which digits does lpNTK keep and drop?
=======================================

A look at the rows themselves: :class:`~sklearn_lpntk.LpNTKPruner` removes
half of every class of scikit-learn's digits, and the figure shows a random
sample of kept images above a random sample of pruned ones. With the default
``keep="herding"`` the kept rows follow each class's distribution, common and
unusual shapes in proportion;
the paper's setting (:meth:`~sklearn_lpntk.LpNTKPruner.paper`) keeps the
farthest-first centres, which favours unusual images.
"""

# %%
# Prune half of every class
# -------------------------
import numpy as np
from sklearn.datasets import load_digits

from sklearn_lpntk import LpNTKPruner
from sklearn_lpntk.plotting import plot_image_grid

X, y = load_digits(return_X_y=True)
pruner = LpNTKPruner(prune_ratio=0.5, random_state=0).fit(X, y)
kept = pruner.get_support()
print(f"kept {kept.sum()} of {len(y)} images; per class: {np.bincount(y[kept])}")

# %%
# Kept (top) and pruned (bottom) images
# -------------------------------------
fig = plot_image_grid(X, kept, image_shape=(8, 8), n_per_row=12, random_state=0)

# %%
# The paper's setting keeps different rows
# ----------------------------------------
# The two selections overlap only partly: the share of rows both keep is
# printed below, then the same picture for the paper's setting.
paper = LpNTKPruner.paper(prune_ratio=0.5, random_state=0).fit(X, y)
both = np.sum(kept & paper.get_support()) / kept.sum()
print(f"rows kept by both: {both:.0%}")
fig = plot_image_grid(X, paper.get_support(), image_shape=(8, 8), n_per_row=12, random_state=0)
