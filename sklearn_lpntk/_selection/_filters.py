"""Self-max and contradiction filters around the traversal: one class's choice of rows."""

from dataclasses import replace

import numpy as np

from ._checks import check_option
from ._cuts import CoverageCut, PrefixCut, Switch, matrix_assignment_log
from ._farthest_first import as_lazy_kernel, row_extremes, self_max_mask
from ._graph import (
    GraphPrefixCut,
    NeighbourGraph,
    graph_assignment_log,
    graph_facility_location,
    graph_redundancy_order,
)
from ._herding import block_herding, kernel_herding
from ._keep_rules import KEEP_RULES, MATRIX_RULES, traversal_cut
from ._matrix_rules import facility_location, redundancy_order, typicality

#: Below this kept fraction of a class, keep="budget" keeps representative rows;
#: at or above it, it removes redundant rows (and so keeps the hard ones).
BUDGET_SWITCH = 0.5

#: Values of the ``selfmax`` option (None switches the filter off).
SELFMAX_MODES = ("filter", "repo")


def choose_rows(
    kernel,
    n_keep,
    *,
    keep="centres",
    cluster_ratio=0.5,
    random_state=None,
    selfmax=None,
    drop_contradictory=None,
    fpc="canonical",
    hard_fraction="auto",
):
    """Self-max and contradiction filters, then the keep-rule.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), lazy kernel or NeighbourGraph
        The class's lpNTK. A lazy kernel (an object with ``shape``,
        ``diagonal()`` and ``row(i)``, such as a
        :class:`~sklearn_lpntk.kernels.ClassKernel`) has only the rows the
        traversal rules need read. A :class:`NeighbourGraph` serves the matrix
        rules only (``MATRIX_RULES``), without filters.
    n_keep : int
        Rows to keep (fewer only where a filter leaves fewer, or in "repo" mode).
    keep : str, default="centres"
        A traversal rule (``TRAVERSAL_RULES``) or a matrix rule
        (``MATRIX_RULES``). Traversal rules cluster by
        :func:`~sklearn_lpntk.farthest_first_traversal`: "centres" keeps the
        ``n_keep`` centres, "random_member" one random member of each of
        ``n_keep`` clusters, "thin_largest" clusters into
        ``max(1, floor(cluster_ratio * n_keep))`` clusters and halves the
        largest until ``n_keep`` rows remain. Matrix rules: "representative"
        (:func:`facility_location`), "redundancy" (the more typical row of the
        most similar remaining pair is dropped until ``n_keep`` remain),
        "coverage" (:func:`stratified_coverage` over the difficulty
        ``-typicality``, so that the least typical, most contradictory rows are
        the hardest), "budget" ("redundancy" while at least half of the class
        is kept, "representative" below) and "d2"
        (:func:`message_passing_selection`) and "herding" (:func:`kernel_herding`:
        the rows whose kernel mean best matches the class's).
    cluster_ratio : float, default=0.5
        Only for "thin_largest": clusters per kept row.
    random_state : int, Generator or None, default=None
        Draws of "random_member", "thin_largest" and "coverage".
    selfmax : {None, "filter", "repo"}, default=None
        Traversal rules only (a matrix rule raises a ValueError). "filter":
        only rows whose self-similarity is at least their similarity to every
        other row may be kept, topped up by the traversal when too few;
        "repo": the official code's replace-when-small behaviour.
    drop_contradictory : float or None, default=None
        Rows with a partner of lpNTK cosine below this value are never kept.
    fpc : {"canonical", "repo"}, default="canonical"
        The traversal's ``mode`` (:func:`~sklearn_lpntk.farthest_first_traversal`).
    hard_fraction : float in [0, 1) or "auto", default="auto"
        For "coverage" and "d2": share of the class dropped as hardest first;
        "auto" is :func:`default_hard_fraction` of the class's removed share
        ``1 - n_keep / n``.

    Returns
    -------
    Selection
        The same as ``rule_cut(kernel, n_keep, ...).select(n_keep)``.
    """
    return rule_cut(
        kernel,
        n_keep,
        keep=keep,
        cluster_ratio=cluster_ratio,
        random_state=random_state,
        selfmax=selfmax,
        drop_contradictory=drop_contradictory,
        fpc=fpc,
        hard_fraction=hard_fraction,
    ).select(n_keep)


def rule_cut(
    kernel,
    n_keep=None,
    *,
    keep="centres",
    cluster_ratio=0.5,
    random_state=None,
    selfmax=None,
    drop_contradictory=None,
    fpc="canonical",
    hard_fraction="auto",
    block_rows=None,
):
    """Everything :func:`choose_rows` computes that does not depend on ``n_keep``.

    Returns a :class:`Cut` whose ``select(k)`` equals
    ``choose_rows(kernel, k, ...)`` for every ``k``: the traversal or the
    greedy order is computed once. With ``n_keep`` given, a traversal rule
    reads only as many kernel rows as ``n_keep`` needs (for lazy kernels) and
    its cut then covers only the selections that need no more; the matrix
    rules always compute their whole order.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), lazy kernel or NeighbourGraph
        One class's kernel. A graph serves the matrix rules only, with
        ``selfmax`` and ``drop_contradictory`` None (a ValueError otherwise).
    n_keep : int or None, default=None
        The largest selection a traversal rule will be asked for; None
        computes the whole traversal. With ``selfmax`` as well, only the side
        of the filter's switch that ``n_keep`` needs is computed.
    keep, cluster_ratio, selfmax, drop_contradictory, fpc, hard_fraction
        As for :func:`choose_rows`.
    random_state : int or None, default=None
        An int (or None) so that every cut draws alike.
    block_rows : int or None, default=None
        Only for "herding": read the class in random blocks of at most this many
        rows (:func:`block_herding`) instead of as one matrix; the kernel must
        then offer ``submatrix(rows)`` and ``typicality()`` (a
        :class:`~sklearn_lpntk.kernels.ClassKernel` does) and no filter is applied.

    Returns
    -------
    cut : Cut
        ``cut.select(k)`` gives the :class:`Selection` of ``k`` rows.
    """
    check_option("selfmax", selfmax, (None, *SELFMAX_MODES))
    check_option("keep", keep, KEEP_RULES)
    if isinstance(kernel, NeighbourGraph):
        return _graph_cut(kernel, keep, random_state, selfmax, drop_contradictory, hard_fraction)
    if block_rows is not None and keep == "herding":
        if selfmax is not None or drop_contradictory is not None:
            raise ValueError(
                "keep='herding' read in blocks applies no filter; use selfmax=None and "
                "drop_contradictory=None, or read the class as one matrix (block_rows=None)."
            )
        return PrefixCut(block_herding(kernel, block_rows=block_rows, random_state=random_state))
    kernel = as_lazy_kernel(kernel)
    if keep in MATRIX_RULES:
        if selfmax is not None:
            raise ValueError(
                f"selfmax={selfmax!r} works with the traversal keep-rules "
                f"only; keep={keep!r} reads the whole matrix. Use selfmax=None."
            )
        return _matrix_cut(kernel, keep, random_state, drop_contradictory, hard_fraction)
    n = kernel.shape[0]
    masks, base = {}, None
    if selfmax is not None or drop_contradictory is not None:
        row_max, min_cos = row_extremes(kernel)
    if drop_contradictory is not None:
        masks["contradictory"] = min_cos < drop_contradictory
        base = ~masks["contradictory"]

    def traversal(length, candidates=base, initial=(), rule=keep):
        if candidates is not None and not candidates.any() and not len(initial):
            candidates = None  # nothing left to filter by: fall back to all rows
        return traversal_cut(
            kernel,
            None if length is None else min(length, n),
            keep=rule,
            cluster_ratio=cluster_ratio,
            random_state=random_state,
            candidates=candidates,
            initial=initial,
            mode=fpc,
            masks=masks,
        )

    if selfmax is None:
        return traversal(n_keep)
    diag = np.asarray(kernel.diagonal(), dtype=np.float64)
    masks["selfmax"] = self_max = self_max_mask(kernel, row_max=row_max)
    allowed = self_max if base is None else self_max & base
    if selfmax == "repo":
        # with at most k self-max rows the official code returns them alone
        # (fewer than asked); with more it ignores the filter
        rows = np.flatnonzero(self_max)
        by_norm = rows[np.argsort(-diag[rows], kind="stable")]
        # the self-max rows alone answer every k >= len(rows): complete
        return _regimes(
            len(rows),
            n_keep,
            below=lambda: traversal(n_keep),
            above=lambda: replace(traversal(len(rows), None, by_norm, "centres"), complete=True),
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


def _regimes(threshold, n_keep, *, below, above):
    """A :class:`Switch` at ``threshold``; with ``n_keep`` only its side is computed."""
    if n_keep is None:
        return Switch(threshold, below() if threshold > 1 else None, above())
    if n_keep >= threshold:
        return Switch(threshold, None, above())
    return Switch(threshold, below(), None)


def _matrix_cut(kernel, keep, random_state, drop_contradictory, hard_fraction):
    """The cut of a rule on the whole matrix; each row is assigned to its most
    similar kept row."""
    S = np.asarray(
        kernel.rows(0, kernel.shape[0])
        if hasattr(kernel, "rows")
        else [kernel.row(i) for i in range(kernel.shape[0])]
    )
    if S.dtype not in (np.float32, np.float64):
        S = S.astype(np.float64)
    n = S.shape[0]
    masks, rows = {}, np.arange(n)
    if drop_contradictory is not None:
        _, min_cos = row_extremes(kernel)
        masks["contradictory"] = min_cos < drop_contradictory
        if (~masks["contradictory"]).any():
            rows = np.flatnonzero(~masks["contradictory"])
    sub = S if len(rows) == n else S[np.ix_(rows, rows)]

    def representative():  # facility location reads float32 exactly
        order = rows[facility_location(sub, len(rows))]
        return PrefixCut(order, matrix_assignment_log(S, order), "order", masks)

    def redundancy():
        order = rows[redundancy_order(sub.astype(np.float64))]
        return PrefixCut(order, matrix_assignment_log(S, order), "sorted", masks)

    if keep == "representative":
        return representative()
    if keep == "redundancy":
        return redundancy()
    if keep == "budget":
        return Switch(BUDGET_SWITCH * n, representative(), redundancy())
    if keep == "herding":
        order = rows[kernel_herding(sub)]
        return PrefixCut(order, matrix_assignment_log(S, order), "order", masks)
    typical = typicality(sub.astype(np.float64))
    if keep == "d2":
        return CoverageCut(
            1 - typical,
            rows,
            n,
            hard_fraction=hard_fraction,
            matrix=S,
            masks=masks,
            rule="d2",
            similarity=sub,
        )
    return CoverageCut(
        -typical,
        rows,
        n,
        seed=random_state,
        hard_fraction=hard_fraction,
        auto_from="kept",
        matrix=S,
        masks=masks,
    )


def _graph_cut(graph, keep, random_state, selfmax, drop_contradictory, hard_fraction):
    """The cut of a matrix rule read from a class's neighbour graph."""
    if keep not in MATRIX_RULES or keep == "herding":
        raise ValueError(
            f"keep={keep!r} reads the class's kernel itself; a neighbour graph serves "
            f"the matrix rules {tuple(r for r in MATRIX_RULES if r != 'herding')} only. "
            "Use graph='dense' for it (keep='herding' reads large classes in blocks)."
        )
    for name, value in (("selfmax", selfmax), ("drop_contradictory", drop_contradictory)):
        if value is not None:
            raise ValueError(
                f"{name}={value!r} reads every pair of a class (a row's least similar "
                f"partner), which a neighbour graph does not hold. Use graph='dense', or "
                f"{name}=None."
            )
    n = graph.shape[0]

    def representative():
        order = graph_facility_location(graph)
        return GraphPrefixCut(order, graph_assignment_log(graph, order), graph, "order")

    def redundancy():
        order = graph_redundancy_order(graph)
        return GraphPrefixCut(order, graph_assignment_log(graph, order), graph, "sorted")

    if keep == "representative":
        return representative()
    if keep == "redundancy":
        return redundancy()
    if keep == "budget":
        return Switch(BUDGET_SWITCH * n, representative(), redundancy())
    if keep == "d2":
        return CoverageCut(
            1 - graph.typicality(),
            np.arange(n),
            n,
            hard_fraction=hard_fraction,
            matrix=graph,
            rule="d2",
            similarity=graph,
        )
    return CoverageCut(
        -graph.typicality(),
        np.arange(n),
        n,
        seed=random_state,
        hard_fraction=hard_fraction,
        auto_from="kept",
        matrix=graph,
    )
