"""Coverage-centric sampling over difficulty scores (NumPy only).

:func:`stratified_coverage` is coverage-centric selection (Zheng et al., ICLR
2023): drop the hardest fraction, split the remaining score range into
equal-width bins, share the budget equally among bins (smallest first, leftovers
passed on) and sample uniformly inside each bin. CCS (``CCSPruner``) applies it
to a network's difficulty scores, the "coverage" rule to the lpNTK difficulty.
"""

import numpy as np

from ._checks import check_count


def stratified_coverage(scores, n_keep, *, hard_fraction=0.0, n_bins=50, random_state=None):
    """Coverage-centric selection of ``n_keep`` rows from difficulty ``scores``.

    Parameters
    ----------
    scores : array of shape (n,)
        Difficulty: higher is harder. +inf (e.g. never learned) counts as
        hardest.
    n_keep : int
        Rows to keep.
    hard_fraction : float in [0, 1)
        The hardest ``floor(hard_fraction * n)`` rows are dropped first (at
        most ``n - n_keep``).
    n_bins : int
        Equal-width bins over the remaining (finite) score range.
    random_state : int, Generator or None
        Sampling inside the bins.

    Returns
    -------
    rows : ndarray of int
        The kept rows, ascending.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    check_count("n_keep", n_keep, n)
    if not 0 <= hard_fraction < 1:
        raise ValueError(f"hard_fraction must be in [0, 1), got {hard_fraction}.")
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}.")
    rng = np.random.default_rng(random_state)
    order = np.argsort(-scores, kind="stable")  # hardest first, ties by index
    pool = order[min(int(np.floor(hard_fraction * n)), n - n_keep) :]
    finite = scores[pool][np.isfinite(scores[pool])]
    if len(finite):
        lo, hi = finite.min(), finite.max()
        width = (hi - lo) / n_bins
        which = np.floor((scores[pool] - lo) / width) if width > 0 else np.zeros(len(pool))
        which = np.clip(np.nan_to_num(which, posinf=n_bins - 1), 0, n_bins - 1)
    else:  # only infinite scores left: one bin
        which = np.zeros(len(pool))
    bins = [pool[which == b] for b in range(n_bins)]
    bins = sorted((b for b in bins if len(b)), key=len)  # stable: ties by score order
    budget, kept = n_keep, []
    for i, members in enumerate(bins):
        take = min(len(members), budget // (len(bins) - i))
        kept.append(rng.choice(members, size=take, replace=False))
        budget -= take
    kept = np.concatenate(kept)
    if budget > 0:  # rounding left rows over: top up uniformly from the rest of the pool
        rest = np.setdiff1d(pool, kept)
        kept = np.concatenate([kept, rng.choice(rest, size=budget, replace=False)])
    return np.sort(kept)


def default_hard_fraction(prune_ratio):
    """The hardest share CCS drops by default: ``clip((prune_ratio - 0.3) / 2, 0, 0.3)``.

    0 up to 30 % pruning, 0.1 at 50 %, 0.2 at 70 %, 0.3 from 90 %: the range
    the CCS literature uses, larger at high pruning (our schedule, not tuned on
    any dataset of this project).

    Parameters
    ----------
    prune_ratio : float

    Returns
    -------
    hard_fraction : float
    """
    return float(np.clip((prune_ratio - 0.3) / 2, 0.0, 0.3))
