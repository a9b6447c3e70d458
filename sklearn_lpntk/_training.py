"""The brief training behind the lpNTK, with the kernels' memory planned before it.

:func:`train_for_kernels` trains the brief networks (one or several
initialisations, with checkpoints or a validation split) after checking the
network and planning every class's kernel against the memory limit; its
:class:`KernelSource` is what every class's kernel is then computed from
(:mod:`._class_cuts`). Shared by LpNTKPruner and LpNTKCleaner.
"""

from dataclasses import dataclass

import numpy as np
from joblib import effective_n_jobs

from ._class_budget import TRAINING_PARAMS
from ._engine import LpNTK
from ._networks import Checkpoints, module_state, resolved_max_epochs, train_network

_SEED_MAX = np.iinfo(np.int32).max


@dataclass(frozen=True)
class KernelSettings:
    """An estimator's settings of the lpNTK fit.

    Attributes
    ----------
    kernel : LpNTK
        The kernel's definition and computation.
    training : dict
        The brief training's ``net``, ``max_epochs``, ``lr``, ``batch_size`` and
        ``device``.
    max_memory : None, "auto", int or str
        Memory the kernel computation may hold at once.
    n_jobs : int or None
        Classes computed in parallel (never changes the result).
    checkpoints, validation_fraction, n_inits
        Which networks' kernels are averaged (see ``LpNTKPruner``).
    verbose : int
        Progress bars and logs.
    """

    kernel: object
    training: dict
    max_memory: object = "auto"
    n_jobs: object = None
    checkpoints: object = None
    validation_fraction: float = None
    n_inits: int = 1
    verbose: int = 0


def kernel_settings(estimator):
    """An lpNTK estimator's :class:`KernelSettings`, from its parameters."""
    params = estimator.get_params(deep=False)
    return KernelSettings(
        kernel=LpNTK() if params["kernel"] is None else params["kernel"],
        training={k: params[k] for k in TRAINING_PARAMS},
        max_memory=params["max_memory"],
        n_jobs=params.get("n_jobs"),
        checkpoints=params.get("checkpoints"),
        validation_fraction=params.get("validation_fraction"),
        n_inits=params.get("n_inits", 1),
        verbose=params["verbose"],
    )


@dataclass(frozen=True)
class KernelSource:
    """What every class's lpNTK is computed from, once the networks are trained: the
    engine (on the first network), its memory ``plan``, the module ``states`` whose
    kernels are averaged (None: the trained network), one seed per class, the
    classes the plan lets run at once (``n_jobs``) and the jobs asked for (which
    also bound the threads building one class's neighbour graph), and the
    training's fitted ``attributes`` (``net_``, ``strategy_``, ``lazy_classes_``,
    ``checkpoints_``, ``validation_scores_``)."""

    engine: object
    plan: object
    states: object
    class_seeds: np.ndarray
    n_jobs: int
    n_jobs_asked: int
    attributes: dict


def train_for_kernels(X, y, classes, rng, watch, settings, reading, class_sizes=None):
    """Train the brief networks, planning the kernels' memory first; a :class:`KernelSource`.

    ``X``, ``y`` (encoded; the labels the kernel is labelled with) and ``classes``
    are the validated data; every seed is drawn from ``rng``; ``watch`` receives
    "setup" and "training". ``settings`` are the estimator's
    (:class:`KernelSettings`); ``reading`` is what the keep-rule needs
    (:meth:`~sklearn_lpntk.rules.KeepRule.plan`: ``need_full``, ``graph``,
    ``n_neighbors``, ``block_rows``), passed to ``LpNTKEngine.plan``, which plans every
    class's kernel for ``class_sizes`` rows (None: the class's rows in ``y``).
    """
    network = dict(settings.training)
    checkpoints, validation_fraction = settings.checkpoints, settings.validation_fraction
    n_inits = settings.n_inits
    torch_seed = int(rng.randint(_SEED_MAX))
    class_seeds = rng.randint(_SEED_MAX, size=len(classes))
    with watch.phase("setup"):
        X_fit, y_fit, X_val, y_val = split_validation(X, y, validation_fraction, rng)
        max_epochs = resolved_max_epochs(network["net"], network["max_epochs"])
        epochs = checkpoint_epochs(checkpoints, validation_fraction, max_epochs)
    # the other initialisations' seeds come last, so that n_inits=1 draws as before
    seeds = [torch_seed, *rng.randint(_SEED_MAX, size=n_inits - 1)]
    per_net = 1 if epochs is None or X_val is not None else len(epochs)
    sizes = np.bincount(y, minlength=len(classes)).tolist()
    if class_sizes is not None:
        sizes = list(class_sizes)
    n_jobs = min(effective_n_jobs(settings.n_jobs), len(classes))
    planned = []

    def plan_before_training(net):
        # check the network and plan the kernel's memory now, so that a bad
        # network or a budget too small fails before training; the
        # untrained network has the trained one's shapes
        engine = settings.kernel.engine(
            net.module_, max_memory=settings.max_memory, device=network["device"]
        )
        probe = engine.probe(X, y, n_classes=len(classes))
        plan = engine.plan(probe, sizes, n_jobs=n_jobs, copies=per_net * n_inits, **reading)
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
                verbose=settings.verbose,
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
    # as many classes at once as the memory limit holds
    return KernelSource(engine, plan, states, class_seeds, plan.jobs, n_jobs, attributes)


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
