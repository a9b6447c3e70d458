"""
=============================================
The lpNTK of one class: spectrum and clusters
=============================================

The kernel behind the pruner, for the images of one digit. Its eigenvalue
spectrum shows how few directions carry most of the labelled gradients, and
the farthest-first clustering that the paper's keep-rule uses splits the
class into clusters of very different sizes: large clusters of
interchangeable images, and many singletons.
"""

# %%
# The kernel of class 3
# ---------------------
# :func:`~sklearn_lpntk.lpntk_kernel` computes the lpNTK of any torch model
# on labelled rows; here the pruner's own briefly trained network.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_lpntk import LpNTKPruner, farthest_first_traversal, lpntk_kernel
from sklearn_lpntk.plotting import plot_cluster_sizes, plot_kernel_spectrum

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
pruner = LpNTKPruner.paper(prune_ratio=0.5, random_state=0).fit(X, y)
rows = np.flatnonzero(y == 3)
K = lpntk_kernel(pruner.net_.module_, X[rows], y[rows])
print(f"kernel of class 3: {K.shape}, trace {np.trace(K):.3g}")

# %%
# Spectrum
# --------
fig, ax = plt.subplots(figsize=(5.5, 3.6))
plot_kernel_spectrum(K, ax=ax, title="lpNTK spectrum, class 3")
fig.tight_layout()
eigenvalues = np.linalg.eigvalsh(K)[::-1]
share = np.cumsum(eigenvalues) / eigenvalues.sum()
print(f"top 1 / 10 eigenvalues carry {share[0]:.0%} / {share[9]:.0%} of the trace")

# %%
# Cluster sizes
# -------------
# Farthest-first traversal with as many centres as the pruner keeps; every
# row joins its most similar centre.
centres, labels = farthest_first_traversal(K, len(rows) // 2)
fig, ax = plt.subplots(figsize=(5.5, 3.6))
plot_cluster_sizes(labels, ax=ax, title="cluster sizes, class 3")
fig.tight_layout()
sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
print(f"{len(centres)} clusters: {np.sum(sizes == 1)} singletons, largest {sizes.max()} rows")
