"""Near-duplicates in a fit: the calibrated threshold of ``prune_ratio="auto"``.

The rule itself (:class:`~sklearn_lpntk.rules.NearDuplicates`: the walk, the
local scales, the cap) is in the selection layer; what needs the fitted network
is here. A few rows of every class are copied with a small perturbation
(``_copies.perturb``: by default Gaussian noise of 5 % of every feature's
spread; the augmentation a user names otherwise), the lpNTK cosine between every
copy and its original is read under the fitted network
(:func:`~._class_cuts.pair_cosines`), and the threshold is the median of
``(1 - cosine) / local scale`` over the copies
(:func:`~sklearn_lpntk.selection.duplicate_threshold`). Each class's rows are
then walked in the inner rule's order and a row is dropped when it is that
close to a row kept before it: exact duplicates always, copies as close as the
calibration's at least half of the time, and on data without near-duplicates
almost nothing.
"""

from functools import partial

import numpy as np

from ._class_cuts import pair_cosines
from ._copies import perturb
from ._selection import CALIBRATION_ROWS, duplicate_threshold, local_scale


def calibration_rows(y, rng, n_rows=CALIBRATION_ROWS):
    """About ``n_rows`` row indices, stratified by class, at least two per class."""
    y = np.asarray(y)
    picked = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        share = int(round(n_rows * len(rows) / len(y)))
        picked.append(rng.choice(rows, min(len(rows), max(2, share)), replace=False))
    return np.sort(np.concatenate(picked))


def calibrate(cosine_of_pairs, X, y, scale_of_rows, perturbation, scale, random_state):
    """The calibrated relative threshold and the copies' relative distances.

    About 256 rows, stratified by class (at least two of every class where it
    has them, at most all), are copied with the perturbation; rows of infinite
    scale (no neighbour) are left out; ``cosine_of_pairs(X_a, X_b, y_ab)``
    gives the lpNTK cosine of every copy with its row.
    """
    rng = np.random.default_rng(random_state)
    rows = calibration_rows(y, rng)
    rows = rows[np.isfinite(np.asarray(scale_of_rows)[rows])]
    if len(rows) == 0:
        return 0.0, np.empty(0)
    originals = np.asarray(X[rows])
    copies = perturb(originals, perturbation, scale=scale, random_state=rng)
    cosines = cosine_of_pairs(originals, copies, np.asarray(y)[rows])
    return duplicate_threshold(cosines, np.asarray(scale_of_rows)[rows])


def near_duplicate_cuts(rule, source, X, y, rows, inner_cuts, graphs, seed):
    """Every class's :class:`~sklearn_lpntk.selection.NearDuplicatesCut` and the threshold.

    ``rule`` is the fit's :class:`~sklearn_lpntk.rules.NearDuplicates`,
    ``inner_cuts`` its inner rule's cuts and ``graphs`` the classes' neighbour
    graphs (from :func:`~._class_cuts.class_cuts`); the threshold is the rule's
    own or calibrated with the fit's networks (``seed`` draws the copies).
    """
    scales = np.empty(len(y))
    for idx, graph in zip(rows, graphs):
        scales[idx] = local_scale(graph, rule.n_neighbors)
    threshold = rule.threshold
    if threshold is None:
        cosines = partial(pair_cosines, source)
        threshold, _ = calibrate(cosines, X, y, scales, rule.perturbation, rule.scale, seed)
    cuts = [rule.finish(cut, graph, threshold) for cut, graph in zip(inner_cuts, graphs)]
    return cuts, float(threshold)
