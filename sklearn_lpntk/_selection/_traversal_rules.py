"""The paper's keep-rules on a farthest-first clustering of a class.

Farthest-first traversal (Gonzalez; :mod:`._traversal`) clusters a class; the
official lpNTK code then keeps the cluster centres ("head", :class:`Centres`),
one random member of every cluster ("random", :class:`RandomMember`), or thins
the largest clusters ("node", :class:`ThinLargest`). Each can first filter rows:
the self-max filter of the official code (``selfmax``) and the removal of
contradictory rows (``drop_contradictory``). The traversal reads only the rows of
the centres it picks, so a class too large for its matrix is read row by row.
"""

from dataclasses import replace

import numpy as np

from .._options import check_choice, check_fraction
from ._checks import check_count, check_option
from ._cuts import AssignmentLog, Switch, TraversalCut, n_clusters_for
from ._rule import ContradictionOption, KeepRule, as_view, register_rule
from ._traversal import FPC_MODES, as_lazy_kernel, row_extremes, self_max_mask, traverse

#: Values of the ``selfmax`` option (None switches the filter off).
SELFMAX_MODES = ("filter", "repo")
#: What a traversal cut keeps of its clusters (``keep=`` of :func:`traversal_cut`).
TRAVERSAL_SELECTS = ("centres", "random_member", "thin_largest")


class TraversalRule(ContradictionOption, KeepRule):
    """Base of the rules read from a farthest-first traversal (the paper's rules).

    A subclass sets ``select`` (what a clustering keeps) and, where it has one,
    ``cluster_ratio``.
    """

    select = "centres"
    cluster_ratio = 0.5

    def check(self):
        owner = type(self).__name__
        self._check_contradictory()
        check_choice(owner, "selfmax", self.selfmax, (None, *SELFMAX_MODES))
        check_choice(owner, "fpc", self.fpc, FPC_MODES)

    def plan(self):
        # the kernel itself: its rows are read on demand when the matrix does not fit
        return {"need_full": False, "graph": None, "n_neighbors": 0, "block_rows": None}

    def cut(self, kernel, n_keep=None, *, random_state=None):
        view = as_view(kernel)
        kernel = view.rows()
        n = kernel.shape[0]
        masks, base = {}, None
        if self.selfmax is not None or self.drop_contradictory is not None:
            row_max, min_cos = row_extremes(kernel)
        if self.drop_contradictory is not None:
            masks["contradictory"] = min_cos < self.drop_contradictory
            base = ~masks["contradictory"]

        def traversal(length, candidates=base, initial=(), select=self.select):
            if candidates is not None and not candidates.any() and not len(initial):
                candidates = None  # nothing left to filter by: fall back to all rows
            return traversal_cut(
                kernel,
                None if length is None else min(length, n),
                keep=select,
                cluster_ratio=self.cluster_ratio,
                random_state=random_state,
                candidates=candidates,
                initial=initial,
                mode=self.fpc,
                masks=masks,
            )

        if self.selfmax is None:
            return traversal(n_keep)
        diag = np.asarray(kernel.diagonal(), dtype=np.float64)
        masks["selfmax"] = self_max = self_max_mask(kernel, row_max=row_max)
        allowed = self_max if base is None else self_max & base
        if self.selfmax == "repo":
            # with at most k self-max rows the official code returns them alone
            # (fewer than asked); with more it ignores the filter
            rows = np.flatnonzero(self_max)
            by_norm = rows[np.argsort(-diag[rows], kind="stable")]
            # the self-max rows alone answer every k >= len(rows): complete
            return _regimes(
                len(rows),
                n_keep,
                below=lambda: traversal(n_keep),
                above=lambda: replace(
                    traversal(len(rows), None, by_norm, "centres"), complete=True
                ),
            )
        # "filter": only allowed rows while there are k of them; otherwise every
        # allowed row first, then the traversal tops up from the others
        rows = np.flatnonzero(allowed)
        by_norm = rows[np.argsort(-diag[rows], kind="stable")]
        return _regimes(
            len(rows) + 1,
            n_keep,
            below=lambda: traversal(n_keep if n_keep is None else min(n_keep, len(rows)), allowed),
            above=lambda: traversal(n_keep, base, by_norm),
        )


_TRAVERSAL_DOC = """
    selfmax : {None, "filter", "repo"}, default=None
        The official code's self-max preprocessing (a row is self-max when its
        self-similarity is at least its similarity to every other row of its
        class). "filter": only self-max rows may be kept; when there are fewer
        than ``k``, all of them are kept and the traversal tops up from the
        others. "repo": the official code: with more than ``k`` self-max rows
        the filter is ignored, otherwise only the self-max rows are kept (fewer
        than ``k``). With the cosine kernel every row is self-max.
    drop_contradictory : float in [-1, 1] or None, default=None
        Rows having a same-class partner whose lpNTK cosine is below this value
        (e.g. 0: a negative angle) are never kept; fewer than ``k`` rows are
        kept when too few remain. The threshold is this library's choice; the
        paper gives none.
    fpc : {"canonical", "repo"}, default="canonical"
        "canonical": Gonzalez farthest-first traversal. "repo": the official
        code's variant, which skips a cluster whose centre is less similar to
        itself than to all its members (and may stop with fewer centres)."""


@register_rule("centres")
class Centres(TraversalRule):
    """Keep the farthest-first centres: the paper's rule ("head").

    The traversal starts at the row of largest self-similarity and adds, each
    time, the row least similar to the centres so far, so the kept rows are
    spread over the class, outliers first. Nested without ``selfmax``.

    Parameters
    ----------{traversal}
    """

    def __init__(self, selfmax=None, drop_contradictory=None, fpc="canonical"):
        self.selfmax = selfmax
        self.drop_contradictory = drop_contradictory
        self.fpc = fpc

    @property
    def nested(self):
        return self.selfmax is None


@register_rule("random_member")
class RandomMember(TraversalRule):
    """Keep one random member of each of ``k`` farthest-first clusters ("random").

    Not nested: the clusters change with ``k``.

    Parameters
    ----------{traversal}
    """

    select = "random_member"

    def __init__(self, selfmax=None, drop_contradictory=None, fpc="canonical"):
        self.selfmax = selfmax
        self.drop_contradictory = drop_contradictory
        self.fpc = fpc


@register_rule("thin_largest")
class ThinLargest(TraversalRule):
    """Cluster, then remove random members of the largest clusters ("node", de-biasing).

    The class is clustered into ``max(1, floor(cluster_ratio * k))`` clusters;
    the largest cluster loses a random half of its non-centre members, again
    and again, until ``k`` rows remain. Not nested.

    Parameters
    ----------
    cluster_ratio : float in (0, 1], default=0.5
        Clusters per kept row.{traversal}
    """

    select = "thin_largest"

    def __init__(self, cluster_ratio=0.5, selfmax=None, drop_contradictory=None, fpc="canonical"):
        self.cluster_ratio = cluster_ratio
        self.selfmax = selfmax
        self.drop_contradictory = drop_contradictory
        self.fpc = fpc

    def check(self):
        super().check()
        check_fraction("ThinLargest", "cluster_ratio", self.cluster_ratio, closed_right=True)
        if self.cluster_ratio == 0:
            raise ValueError("ThinLargest(cluster_ratio=0): a share in (0, 1].")


for _rule in (Centres, RandomMember, ThinLargest):
    _rule.__doc__ = _rule.__doc__.replace("{traversal}", _TRAVERSAL_DOC)


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
    check_option("keep", keep, TRAVERSAL_SELECTS)
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
    """Choose ``n_keep`` rows of one class from its similarity matrix by a traversal rule.

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


def _regimes(threshold, n_keep, *, below, above):
    """A :class:`Switch` at ``threshold``; with ``n_keep`` only its side is computed."""
    if n_keep is None:
        return Switch(threshold, below() if threshold > 1 else None, above())
    if n_keep >= threshold:
        return Switch(threshold, None, above())
    return Switch(threshold, below(), None)
