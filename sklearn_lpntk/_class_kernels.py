"""Per-class lpNTK work of a fit: each class's kernel, filters and keep order (joblib tasks)."""

import time

import numpy as np
from joblib import Parallel, delayed

from ._base import class_rows
from ._engine import approximate_neighbours, block_neighbours
from ._prepared import PreparedFit
from ._progress import progress_bar
from ._selection import NeighbourGraph, check_finite, prepare_rows


def class_kernel(engine, plan, c, X, y, states, seed, progress=None):
    """Class c's lpNTK, checked finite: the matrix (or the lazy kernel) and its diagonal."""
    kernel = engine.kernel(X, y, plan, c, states=states, random_state=seed, progress=progress)
    diagonal = kernel.diagonal()
    check_finite(kernel.raw_diagonal(), f"The lpNTK of class {c}")
    if kernel.lazy:
        return kernel, diagonal
    matrix = kernel.matrix()  # the stored gradients are no longer needed
    check_finite(matrix, f"The lpNTK of class {c}")
    return matrix, diagonal


def class_graph(kernel, diagonal, class_plan, seed, *, n_jobs=1, progress=None):
    """A class's :class:`~sklearn_lpntk._selection.NeighbourGraph` from its kernel.

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


def _prepare_class(
    engine,
    plan,
    c,
    X,
    y,
    states,
    n_keep,
    options,
    seed,
    progress=None,
    block_jobs=1,
    graph_progress=None,
):
    """Kernel, filters, traversal and keep order of one class (a joblib task).

    Returns the class's cut (see :func:`~sklearn_lpntk._selection.prepare_rows`;
    for a lazy kernel the traversal stops where ``n_keep`` rows need it), the
    kernel's diagonal, and the seconds spent on the kernel, on the neighbour
    graph (0 without one) and on the order.
    """
    start = time.perf_counter()
    kernel, diagonal = class_kernel(engine, plan, c, X, y, states, seed, progress)
    middle = time.perf_counter()
    class_plan = plan.classes[c]
    if class_plan.graph is not None:
        kernel = class_graph(
            kernel, diagonal, class_plan, seed, n_jobs=block_jobs, progress=graph_progress
        )
    graph_done = time.perf_counter()
    lazy = class_plan.lazy and class_plan.graph is None
    cut = prepare_rows(kernel, n_keep if lazy else None, random_state=seed, **options)
    end = time.perf_counter()
    return cut, diagonal, middle - start, graph_done - middle, end - graph_done


def prepare_classes(
    engine, plan, states, n_jobs, X_net, y_enc, n_keep, class_seeds, options, watch, verbose=0
):
    """Per class: kernel from the engine, then filters, traversal and keep order.

    ``options`` are the keyword arguments of
    :func:`~sklearn_lpntk._selection.prepare_rows`. Returns a
    :class:`~sklearn_lpntk._prepared.PreparedFit` whose attributes hold
    ``self_kernel_``; the seconds go to ``watch``'s "kernel" and "selection".
    """
    n = len(y_enc)
    members = class_rows(y_enc, len(plan.classes))
    tasks = [
        (
            engine,
            plan,
            c,
            X_net[idx],
            y_enc[idx],
            states,
            int(n_keep[c]),
            options,
            int(class_seeds[c]),
        )
        for c, idx in enumerate(members)
    ]
    if verbose >= 2:
        for c, p in enumerate(plan.classes):
            how = (
                f"{p.graph} graph of {p.n_neighbors} neighbours"
                if p.graph
                else ("lazy rows" if p.lazy else "full Gram")
            )
            print(
                f"class {c}: {p.n_samples} rows, chunks of {p.chunk_size}, "
                f"{how}, "
                f"about {p.bytes_needed / 1e6:.0f} MB"
            )
    done = progress_bar(len(tasks), "lpNTK: classes", "class", bool(verbose))
    graphs = any(p.graph is not None for p in plan.classes)
    if n_jobs == 1 or graphs:
        # with a neighbour graph, the classes run one after the other and the
        # graph's blocks of rows take the n_jobs
        rows = progress_bar(n * plan.copies, "lpNTK: gradients", "row", bool(verbose))
        in_graphs = sum(p.n_samples for p in plan.classes if p.graph is not None)
        linked = progress_bar(in_graphs, "lpNTK: neighbours", "row", bool(verbose) and graphs)
        with rows, linked, done:
            results = []
            for task in tasks:
                results.append(
                    _prepare_class(
                        *task,
                        progress=rows.update,
                        block_jobs=n_jobs,
                        graph_progress=linked.update,
                    )
                )
                done.update(1)
    else:
        with done:
            results = []
            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            for result in parallel(delayed(_prepare_class)(*task) for task in tasks):
                results.append(result)
                done.update(1)
    self_kernel = np.empty(n, dtype=np.float64)
    for idx, (_, diagonal, kernel_s, graph_s, selection_s) in zip(members, results):
        self_kernel[idx] = diagonal
        watch.add("kernel", kernel_s)
        if graphs:
            watch.add("neighbours", graph_s)
        watch.add("selection", selection_s)
    return PreparedFit(members, [r[0] for r in results], {"self_kernel_": self_kernel})
