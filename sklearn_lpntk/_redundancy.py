"""How much of the data is redundant: ``prune_ratio="auto"``'s calibrated threshold.

Inside one class the lpNTK cosines of a briefly trained network are all high
and close together (on Fashion-MNIST a row's nearest same-class row has a
median cosine of 0.998), so no absolute cosine separates a near-duplicate from
an ordinary neighbour. What does separate them is the distance to the nearest
row relative to the row's neighbourhood: ``1 - s_ij`` against the row's local
scale, ``1 - s`` to its ``n_neighbors``-th most similar row
(:func:`~sklearn_lpntk.selection.local_scale`).

The data say how small that relative distance is for an interchangeable pair.
A few rows of every class are copied with a small perturbation
(``_copies.perturb``: by default Gaussian noise of 5 % of every feature's
spread; the augmentation a user names otherwise), the lpNTK cosine between
every copy and its original is read under the fitted network, and the
threshold is the median (:data:`CALIBRATION_QUANTILE`) of
``(1 - cosine) / local scale`` over the copies. Each class's rows are then walked
in their keep order and a row is dropped when it is that close to a row kept
before it (:func:`~sklearn_lpntk.selection.drop_near_duplicates`):
exact duplicates always, copies as close as the calibration's at least half of
the time, and on data without near-duplicates almost nothing.
"""

import warnings
from functools import partial

import numpy as np

from ._class_kernels import pair_cosines
from ._copies import perturb
from ._selection import drop_near_duplicates, local_scale

#: Rows copied to calibrate (stratified; at least two per class where possible).
CALIBRATION_ROWS = 256
#: The threshold is this quantile of the copies' relative distances.
CALIBRATION_QUANTILE = 0.5
#: The threshold never exceeds this: a row's nearest neighbour is at a relative
#: distance of at most 1, and on clean Fashion-MNIST a median of about 0.36
#: (``bench/redundancy.py``), so a copy that is not much closer than that is not
#: seen as a copy by the kernel, and calling such pairs duplicates would remove
#: most of a clean class.
MAX_THRESHOLD = 0.25


def calibration_rows(y, rng, n_rows=CALIBRATION_ROWS):
    """About ``n_rows`` row indices, stratified by class, at least two per class."""
    y = np.asarray(y)
    picked = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        share = int(round(n_rows * len(rows) / len(y)))
        picked.append(rng.choice(rows, min(len(rows), max(2, share)), replace=False))
    return np.sort(np.concatenate(picked))


def duplicate_threshold(cosine_of_pairs, X, y, scale_of_rows, perturbation, scale, random_state):
    """The calibrated relative threshold and the copies' relative distances.

    What ``prune_ratio="auto"`` uses: about 256 rows, stratified by class (at
    least two of every class where it has them, at most all), are copied with
    the perturbation; rows of infinite scale (no neighbour) are left out. The
    threshold is the median over the copies of
    ``max(0, 1 - cosine(copy, original)) / scale(original)``; with no row
    left it is 0.

    Parameters
    ----------
    cosine_of_pairs : callable
        ``cosine_of_pairs(X_a, X_b, y_ab)`` returns the lpNTK cosine between
        every row of ``X_a`` and the row of ``X_b`` at the same position (both
        labelled ``y_ab``), under the fitted network; for instance the
        diagonal of the cross block of
        ``lpntk_kernel(net, concat([X_a, X_b]), concat([y_ab, y_ab]),
        normalize="cosine")``.
    X, y : arrays
        The training rows in the network's input shape, and their labels.
    scale_of_rows : array of shape (n_samples,)
        Every training row's local scale within its class.
    perturbation, scale
        The copies' perturbation: ``kind`` and ``scale`` of
        :func:`sklearn_lpntk.datasets.perturb`.
    random_state : int or None
        Which rows are copied, and the perturbation's draws.

    Returns
    -------
    threshold : float
        Pairs with ``1 - s_ij <= threshold * (scale_i + scale_j) / 2`` are
        near-duplicates; at most 0.25 (``MAX_THRESHOLD``), with a warning
        when the copies' median is further.
    ratios : ndarray
        ``(1 - cosine(copy, original)) / scale(original)`` for every copy.
    """
    rng = np.random.default_rng(random_state)
    rows = calibration_rows(y, rng)
    rows = rows[np.isfinite(np.asarray(scale_of_rows)[rows])]
    if len(rows) == 0:
        return 0.0, np.empty(0)
    originals = np.asarray(X[rows])
    copies = perturb(originals, perturbation, scale=scale, random_state=rng)
    cosines = np.asarray(cosine_of_pairs(originals, copies, np.asarray(y)[rows]), dtype=float)
    ratios = np.clip(1.0 - cosines, 0.0, None) / np.asarray(scale_of_rows)[rows]
    threshold = float(np.quantile(ratios, CALIBRATION_QUANTILE))
    if threshold > MAX_THRESHOLD:
        warnings.warn(
            f"The kernel does not see the calibration copies as near-duplicates: their "
            f"median distance is {threshold:.2f} of their rows' neighbourhood (at most "
            f"{MAX_THRESHOLD} counts as a copy), so only pairs closer than "
            f"{MAX_THRESHOLD} are removed. A perturbation the network is not invariant "
            "to (often shifts and flips) cannot be recognised this way.",
            UserWarning,
            stacklevel=3,
        )
        threshold = MAX_THRESHOLD
    return threshold, ratios


def find_near_duplicates(source, X, y, rows, cuts, near, *, n_neighbors, perturbation, scale, seed):
    """Every class's near-duplicates, for ``PreparedFit``'s redundancy fields.

    ``source`` is the fit's :class:`~sklearn_lpntk._class_kernels.KernelSource`,
    ``rows`` every class's row indices, ``cuts`` their keep orders (nested cuts)
    and ``near`` their neighbour graphs. Returns ``{"redundant": per-class masks,
    "redundancy_threshold": the calibrated threshold}``.
    """
    scales = np.empty(len(y))
    for idx, graph in zip(rows, near):
        scales[idx] = local_scale(graph, n_neighbors)
    threshold, _ = duplicate_threshold(
        partial(pair_cosines, source), X, y, scales, perturbation, scale, seed
    )
    redundant = tuple(
        drop_near_duplicates(graph, cut.order, threshold, scale=scales[idx])
        for idx, graph, cut in zip(rows, near, cuts)
    )
    return {"redundant": redundant, "redundancy_threshold": threshold}
