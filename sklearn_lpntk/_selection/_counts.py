"""How many rows each class keeps: the one place that states the rule.

Every class c of ``n_c`` rows keeps ``k_c = max(1, floor(n_c * (1 - prune_ratio)))``
rows. With class weights (a class budget) the same total is shared among the
classes instead (:func:`allocate_counts`). Every pruner, cut and document
refers here.
"""

import numpy as np


def keep_counts(sizes, prune_ratio, weights=None):
    """Rows kept per class: ``max(1, floor(n_c * (1 - prune_ratio)))`` each.

    This is the one place the rule is computed; a 1e-9 guard absorbs floating
    point (100 rows at 0.9 keep 10).

    Parameters
    ----------
    sizes : array-like of int
        Rows of every class.
    prune_ratio : float
        Share removed, in [0, 1).
    weights : array-like of float or None, default=None
        With a class budget's weights, the same total is shared out with kept
        fractions proportional to them (at least one row and at most all of
        every class; the excess of a full class goes to the others).

    Returns
    -------
    counts : ndarray of int
        Rows kept per class.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    equal = np.maximum(1, np.floor(sizes * (1.0 - prune_ratio) + 1e-9)).astype(np.intp)
    if weights is None:
        return equal
    return allocate_counts(sizes, int(equal.sum()), weights)


def allocate_counts(sizes, total, weights):
    """Per-class counts summing to ``total``, kept fractions proportional to ``weights``.

    The continuous shares are ``clip(lam * weights[c] * n_c, 1, n_c)`` with
    ``lam`` chosen so that they sum to ``total`` (water-filling: a class that
    would keep more rows than it has keeps them all and the excess goes to the
    others, DRoP's allocation; a class of weight 0 keeps one row). They are
    rounded down and the rows still missing go, one each, to the classes with
    the largest remainders (ties: the lower class index), so the counts sum to
    ``total`` exactly.

    Parameters
    ----------
    sizes : array of int, shape (n_classes,)
        Rows of every class.
    total : int
        Rows to keep in all; ``n_classes <= total <= sum(sizes)``.
    weights : array of float, shape (n_classes,)
        Non-negative; the kept fraction of a class grows with its weight. All
        zero is read as all equal.

    Returns
    -------
    counts : ndarray of int, shape (n_classes,)
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != sizes.shape or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            "class weights must be finite, non-negative, one per class; got "
            f"{weights.tolist()} for {len(sizes)} classes."
        )
    total = int(total)
    if not len(sizes) <= total <= int(sizes.sum()):
        raise ValueError(
            f"total must be in [{len(sizes)}, {int(sizes.sum())}] (one row per "
            f"class up to every row); got {total}."
        )
    if not weights.any():
        weights = np.ones_like(weights)

    def shares(lam):
        return np.clip(lam * weights * sizes, 1.0, sizes)

    low, high = 0.0, 1.0
    while shares(high).sum() < total:  # the largest useful lam: every weighted class full
        high *= 2.0
        if high > 1e300:
            break
    for _ in range(200):  # bisection to float precision
        middle = 0.5 * (low + high)
        if shares(middle).sum() < total:
            low = middle
        else:
            high = middle
    share = shares(high)
    counts = np.floor(share + 1e-9).astype(np.int64)
    counts = np.clip(counts, 1, sizes)
    remainder = share - counts
    while counts.sum() < total:  # the largest remainders first, lower index on ties
        room = np.flatnonzero(counts < sizes)
        pick = room[np.argmax(remainder[room])]
        counts[pick] += 1
        remainder[pick] -= 1.0
    while counts.sum() > total:  # rounding up at the lower bound overshot
        room = np.flatnonzero(counts > 1)
        pick = room[np.argmin(remainder[room])]
        counts[pick] -= 1
        remainder[pick] += 1.0
    return counts.astype(np.intp)
