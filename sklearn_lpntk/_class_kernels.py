"""Per-class lpNTK work of a fit: each class's kernel, filters and keep order (joblib tasks)."""

import time

import numpy as np
from joblib import Parallel, delayed

from ._base import class_rows
from ._prepared import PreparedFit
from ._progress import progress_bar
from ._selection import check_finite, prepare_rows


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


def _prepare_class(engine, plan, c, X, y, states, n_keep, options, seed, progress=None):
    """Kernel, filters, traversal and keep order of one class (a joblib task).

    Returns the class's cut (see :func:`~sklearn_lpntk._selection.prepare_rows`;
    for a lazy kernel the traversal stops where ``n_keep`` rows need it), the
    kernel's diagonal, and the seconds spent on the kernel and on the order.
    """
    start = time.perf_counter()
    kernel, diagonal = class_kernel(engine, plan, c, X, y, states, seed, progress)
    middle = time.perf_counter()
    cut = prepare_rows(
        kernel, n_keep if plan.classes[c].lazy else None, random_state=seed, **options
    )
    return cut, diagonal, middle - start, time.perf_counter() - middle


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
            print(
                f"class {c}: {p.n_samples} rows, chunks of {p.chunk_size}, "
                f"{'lazy rows' if p.lazy else 'full Gram'}, "
                f"about {p.bytes_needed / 1e6:.0f} MB"
            )
    done = progress_bar(len(tasks), "lpNTK: classes", "class", bool(verbose))
    if n_jobs == 1:
        rows = progress_bar(n * plan.copies, "lpNTK: gradients", "row", bool(verbose))
        with rows, done:
            results = []
            for task in tasks:
                results.append(_prepare_class(*task, progress=rows.update))
                done.update(1)
    else:
        with done:
            results = []
            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            for result in parallel(delayed(_prepare_class)(*task) for task in tasks):
                results.append(result)
                done.update(1)
    self_kernel = np.empty(n, dtype=np.float64)
    for idx, (_, diagonal, kernel_s, selection_s) in zip(members, results):
        self_kernel[idx] = diagonal
        watch.add("kernel", kernel_s)
        watch.add("selection", selection_s)
    return PreparedFit(members, [r[0] for r in results], {"self_kernel_": self_kernel})
