"""Every class's kernel turned into the keep-rule's cut (joblib tasks over the classes).

:func:`class_kernel` computes a class's lpNTK from the :class:`KernelSource`;
the class's plan says how a rule reads it (:class:`~sklearn_lpntk.rules.ClassView`:
its whole matrix, a neighbour graph built by :func:`class_graph`, or the kernel
itself, row by row or in blocks); :func:`class_cuts` runs the rule on every class.
"""

import time
from dataclasses import replace

import numpy as np
from joblib import Parallel, delayed

from ._engine import approximate_neighbours, block_neighbours
from ._progress import progress_bar
from ._selection import ClassView, NearDuplicates, NeighbourGraph, check_finite

GRAPHS = ("exact", "approximate")


def class_kernel(source, c, X, y, progress=None):
    """Class c's lpNTK, checked finite: the matrix (or the lazy kernel) and its diagonal."""
    kernel = source.engine.kernel(
        X,
        y,
        source.plan,
        c,
        states=source.states,
        random_state=int(source.class_seeds[c]),
        progress=progress,
    )
    diagonal = kernel.diagonal()
    check_finite(kernel.raw_diagonal(), f"The lpNTK of class {c}")
    if kernel.lazy:
        return kernel, diagonal
    matrix = kernel.matrix()  # the stored gradients are no longer needed
    check_finite(matrix, f"The lpNTK of class {c}")
    return matrix, diagonal


def held_out_typicality(source, c, X_seen, X_held, progress=None):
    """Mean lpNTK cosine of every row of ``X_held``, labelled c, to the rows ``X_seen``
    of class c that the source's networks were trained on (a float64 vector).

    The held-out rows' own labels play no part: each gets the labelled gradient of
    class c, and its similarity is read against the seen rows only
    (:meth:`~sklearn_lpntk.kernels.ClassKernel.typicality_to`, in ``O(n P)``, no Gram
    matrix). ``source.plan`` must have planned class c for ``len(X_seen) + len(X_held)``
    rows (``train_for_kernels(..., class_sizes=...)``).
    """
    if len(X_seen) == 0:
        return np.zeros(len(X_held))
    rows = np.concatenate([X_seen, X_held]).astype(X_held.dtype, copy=False)
    kernel = source.engine.kernel(
        rows,
        np.full(len(rows), c),
        source.plan,
        c,
        states=source.states,
        random_state=int(source.class_seeds[c]),
        progress=progress,
    )
    check_finite(kernel.raw_diagonal(), f"The lpNTK of class {c}")
    seen = np.zeros(len(rows), dtype=bool)
    seen[: len(X_seen)] = True
    return kernel.typicality_to(seen)[len(X_seen) :]


def class_graph(kernel, diagonal, class_plan, seed, *, n_jobs=1, progress=None):
    """A class's :class:`~sklearn_lpntk.selection.NeighbourGraph` from its kernel.

    The exact graph is built block of rows by block (joblib tasks over
    ``n_jobs``, threads by default, so that ``joblib.parallel_config("dask")``
    can spread one large class); the approximate one by a similarity search.
    Typicality is exact either way (:meth:`ClassKernel.typicality`).
    """
    n, k = kernel.shape[0], class_plan.n_neighbors
    if class_plan.graph == "approximate":
        indices, values = approximate_neighbours(kernel, k, random_state=seed, progress=progress)
    else:
        step = max(1, class_plan.block_rows)
        blocks = [(s, min(s + step, n)) for s in range(0, n, step)]
        tasks = (delayed(block_neighbours)(kernel, s, e, k) for s, e in blocks)
        results = []
        for (s, e), result in zip(
            blocks, Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(tasks)
        ):
            results.append(result)
            if progress is not None:
                progress(e - s)
        indices = np.concatenate([r[0] for r in results])
        values = np.concatenate([r[1] for r in results])
    return NeighbourGraph(
        indices,
        values,
        diagonal,
        exact=class_plan.graph == "exact",
        typical=kernel.typicality(),
    )


def class_view(source, c, kernel, diagonal, *, block_jobs=1, linked=None):
    """How class c is offered to the rule: its matrix, its neighbour graph (and the
    kernel, for a rule that reads blocks), or the kernel read on demand."""
    class_plan = source.plan.classes[c]
    if class_plan.graph in GRAPHS:
        seed = int(source.class_seeds[c])
        graph = class_graph(kernel, diagonal, class_plan, seed, n_jobs=block_jobs, progress=linked)
        return ClassView(graph=graph, kernel=kernel)
    if isinstance(kernel, np.ndarray):
        return ClassView(matrix=kernel)
    return ClassView(kernel=kernel)


def _class_cut(source, c, X, y, n_keep, rule, progress=None, block_jobs=1, linked=None):
    """Kernel, view and cut of one class (a joblib task).

    Returns the class's cut (a traversal on a kernel read row by row stops
    where ``n_keep`` rows need it), the kernel's diagonal, the seconds spent
    on the kernel, on the neighbour graph (0 without one) and on the rule, and,
    for :class:`~sklearn_lpntk.rules.NearDuplicates`, the class's neighbour
    graph (its cut is then the inner rule's, finished once the threshold is
    calibrated over all classes).
    """
    start = time.perf_counter()
    kernel, diagonal = class_kernel(source, c, X, y, progress)
    middle = time.perf_counter()
    view = class_view(source, c, kernel, diagonal, block_jobs=block_jobs, linked=linked)
    graph_done = time.perf_counter()
    class_plan = source.plan.classes[c]
    seed = int(source.class_seeds[c])
    near = None
    if isinstance(rule, NearDuplicates):
        cut = rule.order_cut(view, random_state=seed)
        near = rule.neighbours(view)
    else:
        lazy = class_plan.lazy and class_plan.graph is None
        cut = rule.cut(view, n_keep if lazy else None, random_state=seed)
    end = time.perf_counter()
    return cut, diagonal, middle - start, graph_done - middle, end - graph_done, near


def class_cuts(source, rows, X, y, n_keep, rule, watch, verbose=0):
    """Every class's cut under ``rule`` (a checked :class:`~sklearn_lpntk.rules.KeepRule`).

    ``rows`` are the row indices of every class. Returns the cuts,
    ``self_kernel_`` and every class's neighbour graph for near-duplicates (None
    for other rules); the seconds go to ``watch``'s "kernel", "neighbours" and
    "selection".
    """
    plan = source.plan
    light = replace(source, attributes={})  # the tasks need no trained network
    tasks = [(light, c, X[idx], y[idx], int(n_keep[c]), rule) for c, idx in enumerate(rows)]
    if verbose >= 2:
        for c, p in enumerate(plan.classes):
            how = (
                f"blocks of {p.block_rows} rows"
                if p.graph == "blocks"
                else f"{p.graph} graph of {p.n_neighbors} neighbours"
                if p.graph
                else ("lazy rows" if p.lazy else "full Gram")
            )
            print(
                f"class {c}: {p.n_samples} rows, chunks of {p.chunk_size}, {how}, "
                f"about {p.bytes_needed / 1e6:.0f} MB"
            )
    done = progress_bar(len(tasks), "lpNTK: classes", "class", bool(verbose))
    graphs = any(p.graph in GRAPHS for p in plan.classes)
    results = []
    if source.n_jobs == 1 or graphs:
        # with a neighbour graph, the classes run one after the other and the
        # graph's blocks of rows take the n_jobs
        bar = progress_bar(len(y) * plan.copies, "lpNTK: gradients", "row", bool(verbose))
        in_graphs = sum(p.n_samples for p in plan.classes if p.graph in GRAPHS)
        linked = progress_bar(in_graphs, "lpNTK: neighbours", "row", bool(verbose) and graphs)
        with bar, linked, done:
            for task in tasks:
                class_plan = plan.classes[task[1]]
                block_jobs = min(source.n_jobs_asked, class_plan.block_jobs or source.n_jobs_asked)
                results.append(
                    _class_cut(
                        *task, progress=bar.update, block_jobs=block_jobs, linked=linked.update
                    )
                )
                done.update(1)
    else:
        with done:
            parallel = Parallel(n_jobs=source.n_jobs, return_as="generator")
            for result in parallel(delayed(_class_cut)(*task) for task in tasks):
                results.append(result)
                done.update(1)
    self_kernel = np.empty(len(y), dtype=np.float64)
    for idx, (_, diagonal, kernel_s, graph_s, selection_s, _) in zip(rows, results):
        self_kernel[idx] = diagonal
        watch.add("kernel", kernel_s)
        if graphs:
            watch.add("neighbours", graph_s)
        watch.add("selection", selection_s)
    return [r[0] for r in results], self_kernel, [r[5] for r in results]


def pair_cosines(source, X_a, X_b, y_ab):
    """lpNTK cosine of every row of ``X_a`` with the row of ``X_b`` at its position,
    under the source's networks (their states averaged as for the classes)."""
    both = np.concatenate([X_a, X_b]).astype(X_a.dtype, copy=False)
    labels = np.concatenate([y_ab, y_ab])
    engine = source.engine
    plan = engine.plan(
        engine.probe(both, labels), [len(both)], need_full=True, copies=source.plan.copies
    )
    raw = engine.kernel(both, labels, plan, states=source.states).store.gram().cpu().numpy()
    n = len(X_a)
    d = np.sqrt(np.clip(np.diagonal(raw), 1e-300, None))
    return np.diagonal(raw[:n, n:]) / d[:n] / d[n:]
