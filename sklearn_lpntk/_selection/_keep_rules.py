"""Rules that turn a farthest-first clustering into the rows to keep."""

import numpy as np

from ._checks import check_count, check_option
from ._farthest_first import as_lazy_kernel, farthest_first_traversal

#: Keep-rules read from a farthest-first clustering (lazy kernels allowed).
TRAVERSAL_RULES = ("centres", "random_member", "thin_largest")
#: Keep-rules that read the whole similarity matrix of a class.
MATRIX_RULES = ("representative", "redundancy", "coverage", "budget")
KEEP_RULES = TRAVERSAL_RULES + MATRIX_RULES


def n_to_keep(n_samples, prune_ratio):
    """Rows kept out of a class of ``n_samples``: floor(n (1 - r)), at least 1."""
    return max(1, int(np.floor(n_samples * (1.0 - prune_ratio) + 1e-9)))


def _clusters(centres, assignment, allowed):
    """Allowed members of each cluster (ascending row order; the centre always), in
    centre order."""
    out = []
    for c in centres:
        members = (assignment == c) & allowed
        members[c] = True
        out.append(np.flatnonzero(members))
    return out


def _keep_random_member(centres, assignment, allowed, rng):
    return np.array([rng.choice(m) for m in _clusters(centres, assignment, allowed)])


def _thin_largest(centres, assignment, allowed, n_keep, thin_fraction, rng):
    """Thin the largest clusters until only ``n_keep`` rows remain.

    Repeatedly take the currently largest cluster (ties: the one whose centre
    was chosen first) and remove a random ``thin_fraction`` of its non-centre
    members (at least one, never more than still has to go). Centres are never
    removed, so no cluster vanishes.
    """
    clusters = _clusters(centres, assignment, allowed)
    kept = [list(members) for members in clusters]
    to_remove = max(0, sum(len(m) for m in kept) - n_keep)
    while to_remove > 0:
        sizes = [len(m) for m in kept]
        i = int(np.argmax(sizes))
        others = [s for s in kept[i] if s != centres[i]]
        n_drop = min(to_remove, max(1, int(thin_fraction * len(kept[i]))), len(others))
        dropped = set(rng.choice(others, size=n_drop, replace=False).tolist())
        kept[i] = [s for s in kept[i] if s not in dropped]
        to_remove -= n_drop
    return np.concatenate([np.asarray(m, dtype=np.intp) for m in kept])


def select_from_kernel(kernel, n_keep, *, keep="centres", cluster_ratio=0.5,
                       thin_fraction=0.5, random_state=None, candidates=None, initial=(),
                       mode="canonical"):
    """Choose ``n_keep`` rows of one class from its similarity matrix.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), or a lazy kernel
        Similarity (lpNTK) between the samples of one class; a lazy kernel
        (``shape``, ``diagonal()``, ``row(i)``) has only the rows it needs read.
    n_keep : int
        Number of rows to keep, 1 <= n_keep <= n.
    keep : {"centres", "random_member", "thin_largest"}, default="centres"
        "centres": the ``n_keep`` farthest-first centres. "random_member": one
        uniformly random member of each of the ``n_keep`` clusters.
        "thin_largest": cluster into ``max(1, floor(cluster_ratio * n_keep))``
        clusters, then thin the largest clusters until ``n_keep`` rows remain.
    cluster_ratio : float, default=0.5
        Only for "thin_largest": clusters per kept row.
    thin_fraction : float, default=0.5
        Only for "thin_largest": the share of a cluster removed each time it is
        thinned (the official code removes half of the largest cluster).
    random_state : numpy.random.Generator, int or None
        Randomness of "random_member" and "thin_largest".
    candidates : array of bool, shape (n,), optional
        Rows allowed to be kept (besides ``initial``); the others are still
        clustered but never kept. Fewer than ``n_keep`` rows are kept when
        fewer are allowed.
    initial : sequence of int, optional
        Centres forced first (see :func:`farthest_first_traversal`).
    mode : {"canonical", "repo"}, default="canonical"
        Traversal variant (see :func:`farthest_first_traversal`).

    Returns
    -------
    kept : ndarray
        Sorted row indices of the kept samples (length ``n_keep``).
    centres : ndarray
        The farthest-first centres, in the order chosen.
    assignment : ndarray of shape (n,)
        For every row, the row index of its centre.
    """
    check_option("keep", keep, TRAVERSAL_RULES)
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    check_count("n_keep", n_keep, n)
    rng = np.random.default_rng(random_state)
    if keep == "thin_largest":
        n_clusters = max(1, int(np.floor(cluster_ratio * n_keep)))
    else:
        n_clusters = n_keep
    centres, assignment = farthest_first_traversal(
        kernel, n_clusters, candidates=candidates, initial=initial, mode=mode)
    allowed = np.ones(n, dtype=bool) if candidates is None else np.array(candidates, bool)
    if keep == "centres":
        kept = centres
    elif keep == "random_member":
        kept = _keep_random_member(centres, assignment, allowed, rng)
    else:
        kept = _thin_largest(centres, assignment, allowed, n_keep, thin_fraction, rng)
    return np.sort(kept), centres, assignment
