"""Plots of pruning results (needs the ``plot`` extra: ``pip install sklearn-lpntk[plot]``).

Every function draws on a given matplotlib ``ax`` (or a new figure) and returns
the axes, so plots compose and can be saved by the caller.
"""

import numpy as np


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Plotting needs matplotlib: pip install 'sklearn-lpntk[plot]'.") from exc
    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_accuracy_vs_ratio(results, *, ax=None, title=None):
    """Mean accuracy against prune ratio with standard-deviation error bars.

    Parameters
    ----------
    results : dict
        ``{method: {prune_ratio: [accuracy per seed, ...]}}``.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax)
    for name, by_ratio in results.items():
        ratios = sorted(by_ratio)
        means = [np.mean(by_ratio[r]) for r in ratios]
        stds = [np.std(by_ratio[r]) for r in ratios]
        ax.errorbar(ratios, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set_xlabel("prune ratio (fraction of each class removed)")
    ax.set_ylabel("test accuracy")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_image_grid(
    images, kept_mask, *, n_per_row=10, n_rows=2, image_shape=None, random_state=0, figsize=None
):
    """Kept and pruned images side by side: a grid of each, chosen at random.

    Parameters
    ----------
    images : array of shape (n_samples, ...)
        Flat rows (give ``image_shape``) or (n, H, W) / (n, 1, H, W) arrays.
    kept_mask : array of bool, shape (n_samples,)
        True for kept rows, e.g. ``pruner.get_support()``.
    n_per_row, n_rows : int
        Grid size of each of the two panels.
    image_shape : tuple, optional
        (H, W) to reshape flat rows.
    random_state : int
        Which images are drawn.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    kept_mask = np.asarray(kept_mask, dtype=bool)
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    images = images.reshape(len(images), *images.shape[-2:])
    rng = np.random.default_rng(random_state)
    fig, axes = plt.subplots(
        2 * n_rows, n_per_row, figsize=figsize or (n_per_row * 0.8, 2 * n_rows * 0.9)
    )
    for panel, (mask, label) in enumerate(((kept_mask, "kept"), (~kept_mask, "pruned"))):
        rows = np.flatnonzero(mask)
        pick = rng.choice(rows, size=min(len(rows), n_rows * n_per_row), replace=False)
        for k, ax in enumerate(axes[panel * n_rows : (panel + 1) * n_rows].ravel()):
            ax.axis("off")
            if k < len(pick):
                ax.imshow(images[pick[k]], cmap="gray_r")
        axes[panel * n_rows, 0].set_title(label, loc="left", fontsize="small")
    return fig


def plot_kernel_spectrum(kernel, *, ax=None, title="lpNTK spectrum"):
    """Eigenvalues of a (class) kernel in decreasing order, log scale."""
    ax = _axes(ax)
    eig = np.sort(np.linalg.eigvalsh(np.asarray(kernel, dtype=np.float64)))[::-1]
    ax.semilogy(np.arange(1, len(eig) + 1), np.clip(eig, 1e-12, None))
    ax.set_xlabel("index")
    ax.set_ylabel("eigenvalue")
    ax.set_title(title)
    return ax


def plot_cluster_sizes(cluster_labels, *, ax=None, title="cluster sizes"):
    """Sizes of the farthest-first clusters, largest first (``pruner.cluster_labels_``)."""
    ax = _axes(ax)
    sizes = np.sort(np.unique(np.asarray(cluster_labels), return_counts=True)[1])[::-1]
    ax.bar(np.arange(len(sizes)), sizes, width=1.0)
    ax.set_xlabel("cluster (largest first)")
    ax.set_ylabel("members")
    ax.set_title(title)
    return ax


def plot_relation_histogram(
    kernel, *, thresholds=(0.5, 0.0), ax=None, bins=50, title="pairwise lpNTK cosine"
):
    """Histogram of pairwise cosines with the relation-type thresholds marked."""
    from .analysis import cosine_matrix

    ax = _axes(ax)
    cos = cosine_matrix(kernel)
    values = cos[np.triu_indices_from(cos, k=1)]
    ax.hist(values, bins=bins, range=(-1, 1), color="0.5")
    for t, name in zip(thresholds, ("interchangeable ≥", "contradictory <")):
        ax.axvline(t, linestyle="--", label=f"{name} {t:g}")
    ax.set_xlabel("cosine of labelled gradients")
    ax.set_ylabel("pairs")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
