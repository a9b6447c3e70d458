"""The lpNTK part of a fit, shared by LpNTKPruner and LpNTKCleaner.

:func:`train_for_kernels` trains the brief networks and plans the kernels'
memory; its :class:`KernelSource` gives every class's kernel
(:func:`class_kernel`). :func:`class_cuts` turns those kernels into the
pruner's per-class cuts (joblib tasks); the cleaner reads typicality instead.
"""

import time
from dataclasses import dataclass, replace

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from ._class_budget import TRAINING_PARAMS
from ._engine import LpNTKEngine, approximate_neighbours, block_neighbours
from ._networks import Checkpoints, module_state, resolved_max_epochs, train_network
from ._progress import progress_bar
from ._selection import NeighbourGraph, check_finite, rule_cut, top_neighbours

_SEED_MAX = np.iinfo(np.int32).max
#: The estimators' parameters that build the LpNTKEngine (feature_batch_size is its batch_size).
_KERNEL_PARAMS = "strategy normalize error_weighting feature_batch_size projection_dim".split()
_KERNEL_PARAMS += ["memory_budget", "device", "dtype"]


@dataclass(frozen=True)
class KernelSource:
    """What every class's lpNTK is computed from, once the networks are trained: the
    engine (on the first network), its memory ``plan``, the module ``states`` whose
    kernels are averaged (None: the trained network), one seed per class, the jobs
    planned for, and the training's fitted ``attributes`` (``net_``, ``strategy_``,
    ``lazy_classes_``, ``checkpoints_``, ``validation_scores_``)."""

    engine: object
    plan: object
    states: object
    class_seeds: np.ndarray
    n_jobs: int
    attributes: dict


def train_for_kernels(
    X, y, classes, rng, watch, params, *, need_full, graph, n_neighbors, class_sizes=None
):
    """Train the brief networks, planning the kernels' memory first; a :class:`KernelSource`.

    ``X``, ``y`` (encoded; the labels the kernel is labelled with) and ``classes``
    are the validated data; every seed is drawn from ``rng``; ``watch`` receives
    "setup" and "training". ``params`` are the estimator's parameters: the
    network's (``TRAINING_PARAMS``), the engine's (``_KERNEL_PARAMS``),
    ``checkpoints``, ``validation_fraction``, ``n_inits``, ``n_jobs`` and
    ``verbose``. ``need_full``, ``graph`` (None: the kernel itself) and
    ``n_neighbors`` are passed to ``LpNTKEngine.plan``, which plans every class's kernel
    for ``class_sizes`` rows (None: the class's rows in ``y``).
    """
    network = {k: params[k] for k in TRAINING_PARAMS}
    kernel = {k: params[k] for k in _KERNEL_PARAMS}
    kernel["batch_size"] = kernel.pop("feature_batch_size")
    checkpoints, validation_fraction = params["checkpoints"], params["validation_fraction"]
    n_inits = params["n_inits"]
    torch_seed = int(rng.randint(_SEED_MAX))
    class_seeds = rng.randint(_SEED_MAX, size=len(classes))
    with watch.phase("setup"):
        X_fit, y_fit, X_val, y_val = split_validation(X, y, validation_fraction, rng)
        max_epochs = resolved_max_epochs(network["net"], network["max_epochs"])
        epochs = checkpoint_epochs(checkpoints, validation_fraction, max_epochs)
    # the other initialisations' seeds come last, so that n_inits=1 draws as before
    seeds = [torch_seed, *rng.randint(_SEED_MAX, size=n_inits - 1)]
    per_net = 1 if epochs is None or X_val is not None else len(epochs)
    sizes = np.bincount(y, minlength=len(classes)).tolist() if class_sizes is None else class_sizes
    n_jobs = min(effective_n_jobs(params["n_jobs"]), len(classes))
    planned = []

    def plan_before_training(net):
        # check the network and plan the kernel's memory now, so that a bad
        # network or a budget too small fails before training; the
        # untrained network has the trained one's shapes
        engine = LpNTKEngine(net.module_, **kernel)
        probe = engine.probe(X, y, n_classes=len(classes))
        plan = engine.plan(
            probe,
            sizes,
            n_jobs=n_jobs,
            copies=per_net * n_inits,
            need_full=need_full,
            graph=graph,
            n_neighbors=n_neighbors,
        )
        planned.extend((engine, plan))

    nets, savers, states = [], [], []
    for i, seed in enumerate(seeds):
        saver = None if epochs is None else Checkpoints(epochs, X_val, y_val)
        nets.append(
            train_network(
                X=X_fit,
                y=y_fit,
                n_classes=len(classes),
                **network,
                verbose=params["verbose"],
                seed=int(seed),
                watch=watch,
                callbacks=[("lpntk_checkpoints", saver)] if saver else (),
                on_initialized=plan_before_training if i == 0 else None,
            )
        )
        savers.append(saver)
        states += saver.states_ if saver else [module_state(nets[-1].module_)]
    engine, plan = planned
    net, saver = nets[0], savers[0]
    attributes = {
        "net_": net,
        "strategy_": plan.strategy,
        "lazy_classes_": [classes[c] for c in plan.lazy],
        "checkpoints_": list(saver.taken_) if saver else [int(len(net.history))],
    }
    if saver is not None and X_val is not None:
        attributes["validation_scores_"] = dict(saver.validation_scores_)
    if epochs is None and n_inits == 1:
        states = None  # the trained network itself
    return KernelSource(engine, plan, states, class_seeds, n_jobs, attributes)


def split_validation(X, y, validation_fraction, rng):
    """Training rows and held-out rows for choosing the checkpoint."""
    if validation_fraction is None:
        return X, y, None, None
    from sklearn.model_selection import train_test_split

    try:
        X_fit, X_val, y_fit, y_val = train_test_split(
            X, y, test_size=validation_fraction, stratify=y, random_state=rng.randint(_SEED_MAX)
        )
    except ValueError as exc:
        raise ValueError(
            f"validation_fraction={validation_fraction} cannot hold out a "
            f"stratified validation set here ({exc}). Use a larger fraction or more "
            "rows per class."
        ) from exc
    return X_fit, y_fit, X_val, y_val


def checkpoint_epochs(checkpoints, validation_fraction, max_epochs):
    """The epochs whose networks give the kernel, or None for the last one."""
    if checkpoints is None:
        return None if validation_fraction is None else list(range(max_epochs + 1))
    given = np.atleast_1d(np.asarray(checkpoints, dtype=object))
    if not all(
        isinstance(e, (int, np.integer))
        and not isinstance(e, bool)
        or (isinstance(e, (float, np.floating)) and float(e).is_integer())
        for e in given
    ):
        raise ValueError(f"checkpoints must be whole epochs (integers); got {checkpoints!r}.")
    epochs = sorted({int(e) for e in given})
    if not epochs or epochs[0] < 0 or epochs[-1] > max_epochs:
        raise ValueError(
            f"checkpoints must be epochs in [0, max_epochs={max_epochs}] (0 is the "
            f"initialisation); got {checkpoints!r}."
        )
    return epochs


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


def _class_cut(source, c, X, y, n_keep, options, progress=None, block_jobs=1, linked=None, near=0):
    """Kernel, neighbour graph, filters, traversal and keep order of one class (a joblib task).

    Returns the class's cut (see :func:`~sklearn_lpntk.selection.rule_cut`;
    for a lazy kernel the traversal stops where ``n_keep`` rows need it), the
    kernel's diagonal, and the seconds spent on the kernel, on the neighbour
    graph (0 without one) and on the order; with ``near`` > 0 also every row's
    ``near`` most similar rows (a NeighbourGraph, for ``prune_ratio="auto"``).
    """
    start = time.perf_counter()
    kernel, diagonal = class_kernel(source, c, X, y, progress)
    middle = time.perf_counter()
    class_plan = source.plan.classes[c]
    seed = int(source.class_seeds[c])
    if class_plan.graph is not None:
        kernel = class_graph(kernel, diagonal, class_plan, seed, n_jobs=block_jobs, progress=linked)
    graph_done = time.perf_counter()
    lazy = class_plan.lazy and class_plan.graph is None
    cut = rule_cut(kernel, n_keep if lazy else None, random_state=seed, **options)
    neighbours = top_neighbours(kernel, near) if near else None
    end = time.perf_counter()
    return cut, diagonal, middle - start, graph_done - middle, end - graph_done, neighbours


def class_cuts(source, rows, X, y, n_keep, options, watch, verbose=0, near=0):
    """Every class's cut from its kernel: filters, traversal and keep order.

    ``rows`` are the row indices of every class, ``options`` the keyword
    arguments of :func:`~sklearn_lpntk.selection.rule_cut`. Returns the
    cuts, ``self_kernel_`` and (with ``near`` > 0) every class's neighbour graph of
    ``near`` neighbours; the seconds go to ``watch``'s "kernel", "neighbours"
    and "selection".
    """
    plan = source.plan
    light = replace(source, attributes={})  # the tasks need no trained network
    tasks = [(light, c, X[idx], y[idx], int(n_keep[c]), options) for c, idx in enumerate(rows)]
    extra = {"near": near}
    if verbose >= 2:
        for c, p in enumerate(plan.classes):
            how = (
                f"{p.graph} graph of {p.n_neighbors} neighbours"
                if p.graph
                else ("lazy rows" if p.lazy else "full Gram")
            )
            print(
                f"class {c}: {p.n_samples} rows, chunks of {p.chunk_size}, {how}, "
                f"about {p.bytes_needed / 1e6:.0f} MB"
            )
    done = progress_bar(len(tasks), "lpNTK: classes", "class", bool(verbose))
    graphs = any(p.graph is not None for p in plan.classes)
    results = []
    if source.n_jobs == 1 or graphs:
        # with a neighbour graph, the classes run one after the other and the
        # graph's blocks of rows take the n_jobs
        bar = progress_bar(len(y) * plan.copies, "lpNTK: gradients", "row", bool(verbose))
        in_graphs = sum(p.n_samples for p in plan.classes if p.graph is not None)
        linked = progress_bar(in_graphs, "lpNTK: neighbours", "row", bool(verbose) and graphs)
        with bar, linked, done:
            for task in tasks:
                results.append(
                    _class_cut(
                        *task,
                        progress=bar.update,
                        block_jobs=source.n_jobs,
                        linked=linked.update,
                        **extra,
                    )
                )
                done.update(1)
    else:
        with done:
            parallel = Parallel(n_jobs=source.n_jobs, return_as="generator")
            for result in parallel(delayed(_class_cut)(*task, **extra) for task in tasks):
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
