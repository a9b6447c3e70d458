"""Rules that turn a farthest-first clustering into the rows to keep."""

import numpy as np

from ._checks import check_count, check_option
from ._cuts import AssignmentLog, TraversalCut, n_clusters_for
from ._farthest_first import as_lazy_kernel, traverse

#: Keep-rules read from a farthest-first clustering (lazy kernels allowed).
TRAVERSAL_RULES = ("centres", "random_member", "thin_largest")
#: Keep-rules that read the whole similarity matrix of a class.
MATRIX_RULES = ("representative", "redundancy", "coverage", "budget", "d2", "herding")
KEEP_RULES = TRAVERSAL_RULES + MATRIX_RULES


def traversal_cut(
    kernel,
    n_keep=None,
    *,
    keep="centres",
    cluster_ratio=0.5,
    thin_fraction=0.5,
    random_state=None,
    candidates=None,
    initial=(),
    mode="canonical",
    masks=None,
):
    """The farthest-first traversal behind a traversal keep-rule, as a :class:`TraversalCut`.

    With ``n_keep`` the traversal runs only as far as ``n_keep`` rows need (a
    lazy kernel then has only those rows read); without it, until no row is
    left, so that the cut answers every ``k``. Arguments as for
    :func:`select_from_kernel`; an int ``random_state`` seeds every later cut
    alike.
    """
    check_option("keep", keep, TRAVERSAL_RULES)
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    target = n if n_keep is None else min(n, n_clusters_for(keep, n_keep, cluster_ratio))
    recorder = AssignmentLog.recorder(n)
    centres, _ = traverse(
        kernel, target, candidates=candidates, initial=initial, mode=mode, recorder=recorder
    )
    allowed = None if candidates is None else np.array(candidates, bool)
    return TraversalCut(
        centres,
        recorder.finish(),
        complete=len(centres) < target or target == n,
        keep=keep,
        cluster_ratio=cluster_ratio,
        thin_fraction=thin_fraction,
        seed=random_state,
        allowed=allowed,
        masks=masks or {},
    )


def select_from_kernel(
    kernel,
    n_keep,
    *,
    keep="centres",
    cluster_ratio=0.5,
    thin_fraction=0.5,
    random_state=None,
    candidates=None,
    initial=(),
    mode="canonical",
):
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
    kernel = as_lazy_kernel(kernel)
    check_count("n_keep", n_keep, kernel.shape[0])
    selection = traversal_cut(
        kernel,
        n_keep,
        keep=keep,
        cluster_ratio=cluster_ratio,
        thin_fraction=thin_fraction,
        random_state=random_state,
        candidates=candidates,
        initial=initial,
        mode=mode,
    ).select(n_keep)
    return selection.kept, selection.centres, selection.assignment
