"""LpNTKPruner: a scikit-learn / imbalanced-learn sampler that prunes with lpNTK."""

import copy
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BasePruner
from ._engine import (
    DTYPES,
    ERROR_WEIGHTINGS,
    STRATEGIES,
    LpNTKEngine,
    check_logits,
    class_kernel,
    resolve_device,
)
from ._networks import Checkpoints, build_net, n_inputs_of
from ._progress import progress_bar
from ._selection import (
    FPC_MODES,
    KEEP_RULES,
    farthest_first_traversal,
    row_extremes,
    select_from_kernel,
)


def _prune_class(engines, X, y, plan, n_keep, options, seed, progress=None):
    """Kernel, traversal and keep-rule of one class (a joblib task).

    ``engines`` holds one engine per checkpoint; their kernels are averaged.
    Returns the kept rows, centres and assignment as indices into the class,
    the kernel's diagonal, the self-max / contradictory masks when asked for,
    and the seconds spent on the kernel and the selection.
    """
    start = time.perf_counter()
    kernel = class_kernel(engines, X, y, plan, random_state=seed, progress=progress)
    if kernel.lazy:
        source, diagonal = kernel, kernel.diagonal()
    else:
        source = kernel.matrix()
        diagonal = np.diagonal(source).astype(np.float64)
        del kernel  # the stored gradients are no longer needed
    middle = time.perf_counter()
    result = _choose_rows(source, n_keep, seed=seed, **options)
    result.update(diagonal=diagonal, kernel_s=middle - start,
                  selection_s=time.perf_counter() - middle)
    return result


def _choose_rows(source, n_keep, *, keep, cluster_ratio, seed, selfmax, drop_contradictory,
                 fpc):
    """Self-max and contradiction filters, then traversal and keep-rule."""
    n = source.shape[0]
    masks = {}
    candidates, initial = None, ()
    if selfmax is not None or drop_contradictory is not None:
        row_max, min_cos = row_extremes(source)
    if drop_contradictory is not None:
        masks["contradictory"] = min_cos < drop_contradictory
        candidates = ~masks["contradictory"]
    if selfmax is not None:
        diag = np.asarray(source.diagonal(), dtype=np.float64)
        masks["selfmax"] = self_max = diag >= row_max
        allowed = self_max if candidates is None else self_max & candidates
        if selfmax == "repo" and self_max.sum() <= n_keep:
            # the official code returns the self-max rows alone (fewer than asked)
            kept = np.flatnonzero(self_max)
            centres, assignment = farthest_first_traversal(
                source, len(kept), initial=kept[np.argsort(-diag[kept], kind="stable")],
                mode=fpc)
            return {"kept": kept, "centres": centres, "assignment": assignment, **masks}
        if selfmax == "filter":
            if allowed.sum() >= n_keep:
                candidates = allowed
            else:  # keep every allowed self-max row, then top up by traversal
                rows = np.flatnonzero(allowed)
                initial = rows[np.argsort(-diag[rows], kind="stable")]
    if candidates is not None and not candidates.any() and not len(initial):
        candidates = None  # nothing left to filter by: fall back to all rows
    kept, centres, assignment = select_from_kernel(
        source, min(n_keep, n), keep=keep, cluster_ratio=cluster_ratio, random_state=seed,
        candidates=candidates, initial=initial, mode=fpc,
    )
    return {"kept": kept, "centres": centres, "assignment": assignment, **masks}


class LpNTKPruner(BasePruner):
    """Prune a classification training set with the labelled pseudo NTK.

    A small network is trained briefly on ``(X, y)``; the lpNTK between every
    two samples of the same class is computed from one labelled gradient per
    sample; each class is clustered by farthest-first traversal on the raw
    lpNTK similarity, and ``floor(n_c * (1 - prune_ratio))`` rows (at least
    one) of each class are kept (Guo et al., ICLR 2024).

    Read more in ``docs/algorithm.md`` and ``docs/parameters.md``.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed.
    net : None, skorch NeuralNetClassifier, or torch.nn.Module class/instance, \
            default=None
        The network trained briefly before the kernel is computed. None builds
        a :class:`~sklearn_lpntk.LogitMLP` (one hidden layer of 256 ReLU
        units) trained with Adam and cross-entropy. A module class receives
        ``n_inputs``/``n_classes`` (or ``input_units``/``output_units``) when
        its constructor takes them. A skorch net is cloned and a module
        instance deep-copied: the argument itself is never modified. The module
        must return logits (no softmax).
    max_epochs : int, default=None
        Training epochs. None: 10 for a net built here, the skorch net's own
        value otherwise. 0 computes the kernel at initialisation.
    lr : float, default=None
        Learning rate. None: 1e-3 (Adam) for a net built here, the skorch
        net's own value otherwise.
    batch_size : int, default=None
        Training batch size. None: 128 for a net built here, the skorch net's
        own value otherwise.
    feature_batch_size : int, default=None
        Largest chunk of samples differentiated at once when computing the
        kernel (None: 64 for the features strategy, 256 otherwise). Chunks are
        made smaller when ``memory_budget`` requires it. Does not change the
        result.
    strategy : {"auto", "features", "factorized", "projection"}, default="auto"
        How the kernel is computed. "features": per-sample gradients with
        ``torch.func`` and a matrix product. "factorized": one batched
        backward pass per chunk; Linear and convolution layers contribute
        factorised ("ghost") inner products or their small per-sample
        gradients, other layers per-sample autograd. "projection": a count
        sketch of the gradients to ``projection_dim`` numbers (approximate).
        "auto": factorized when layer rules cover at least half of the
        parameters, else features; a projection (with a warning) only when
        the exact kernel cannot fit in ``memory_budget``. See
        ``docs/performance.md``.
    projection_dim : int, default=4096
        Sketch dimension of the projection strategy. The typical error of a
        kernel entry is about ``sqrt(2 / projection_dim)`` of
        ``sqrt(k_ii k_jj)``.
    memory_budget : "auto", None, int or str, default="auto"
        Memory the kernel computation may hold at once, e.g. "4GB" or
        "512MiB" or a number of bytes, on the device where it runs (divided
        between parallel jobs). Chunk sizes follow from it; a class whose Gram
        matrix does not fit is clustered from rows computed on demand. "auto"
        is half of the free memory; None means no limit. A budget too small
        for the work raises ``MemoryBudgetError`` (a ValueError) before
        training, naming the budget needed.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the kernel computation.
    n_jobs : int or None, default=None
        Classes processed in parallel through joblib (so any joblib backend,
        e.g. Dask or Ray, can run them). None means 1 unless in a
        ``joblib.parallel_config`` context; -1 means all processors.
    keep : {"centres", "random_member", "thin_largest"}, default="centres"
        Which rows of each class survive. "centres": the farthest-first
        centres (the paper's default). "random_member": one random member of
        each cluster. "thin_largest": cluster into ``cluster_ratio * k_c``
        clusters and remove random members of the largest clusters until
        ``k_c`` rows remain (de-biasing).
    cluster_ratio : float in (0, 1], default=0.5
        Only for ``keep="thin_largest"``: clusters per kept row.
    normalize : {None, "K", "cosine"}, default=None
        Kernel scaling: none (official code), divide by the number of classes,
        or cosine (unit self-similarity).
    error_weighting : {"sign", "full"}, default="sign"
        "sign": the paper's label-sign vector ``2 e_y - 1``. "full": the exact
        first-order error ``e_y - softmax(z)`` (gradient inner product of the
        log-likelihood).
    selfmax : {None, "filter", "repo"}, default=None
        Self-max preprocessing (notes §5.2). A row is self-max when its
        self-similarity is at least its similarity to every other row of its
        class (full rows). "filter": only self-max rows may be kept; when there
        are fewer than ``k_c``, all of them are kept and farthest-first
        traversal tops up from the other rows. "repo": the official code's
        behaviour: with more than ``k_c`` self-max rows the filter is ignored,
        otherwise only the self-max rows are kept (fewer than ``k_c``).
    drop_contradictory : float in [-1, 1] or None, default=None
        If set, rows having a same-class partner whose lpNTK cosine is below
        this value (e.g. 0: a negative angle) are never kept; fewer than
        ``k_c`` rows are kept when too few remain. The threshold is this
        library's choice; the paper gives none.
    fpc : {"canonical", "repo"}, default="canonical"
        "canonical": Gonzalez farthest-first traversal. "repo": the official
        code's variant, which skips a cluster whose centre is less similar to
        itself than to all its members (and may stop with fewer centres).
    checkpoints : array-like of int or None, default=None
        Epochs of the brief training (0 = initialisation) whose kernels are
        averaged, answering "the kernel is frozen at one checkpoint". None uses
        the network after the last epoch. With ``validation_fraction``, the
        single checkpoint among these with the best validation accuracy is
        used instead of the average.
    validation_fraction : float in (0, 1) or None, default=None
        Hold out this stratified fraction of the rows while training the
        network and use the epoch (of ``checkpoints``, or of all epochs) with
        the best accuracy on it. The kernel and the pruning still cover every
        row; no test data is ever involved.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where training and the kernel run. "auto" uses CUDA when present.
    random_state : int, RandomState instance or None, default=None
        Seeds the network initialisation, the training order and the random
        keep-rules. The same value gives the same ``sample_indices_`` on the
        same machine.
    verbose : int, default=0
        0: silent. 1: progress bars for training, features and selection, and
        a timing summary. 2: also the skorch training log and the plan of
        each class (chunk size, lazy rows).

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Kept row indices into the training data, ascending.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit`` (size of the second axis).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    net_ : skorch.NeuralNetClassifier
        The briefly trained network whose kernel was used.
    cluster_labels_ : ndarray of shape (n_samples,)
        For every training row, the row index of its cluster centre.
    centres_ : ndarray
        Row indices of all cluster centres, ascending.
    sampling_strategy_ : dict
        Number of rows kept per class label (imbalanced-learn's attribute).
    self_kernel_ : ndarray of shape (n_samples,)
        lpNTK self-similarity ``kappa(i, i)`` of every row (after ``normalize``).
    strategy_ : str
        The strategy used: "features", "factorized" or "projection".
    checkpoints_ : list of int
        Epochs whose networks gave the kernel.
    validation_scores_ : dict
        Validation accuracy per candidate epoch (with ``validation_fraction``).
    selfmax_ : ndarray of bool, shape (n_samples,)
        Self-max rows (with ``selfmax``).
    contradictory_ : ndarray of bool, shape (n_samples,)
        Rows excluded by ``drop_contradictory``.
    lazy_classes_ : list
        Class labels whose Gram matrix did not fit in ``memory_budget`` and
        were clustered from rows computed on demand.
    timings_ : dict
        Wall-clock seconds per phase: "setup" (input validation, building and
        initialising the network, planning memory; the first fit in a process
        also pays torch's one-time warm-up here), "training", "kernel"
        (per-sample gradients and Gram matrices, summed over classes) and
        "selection" (traversal and keep-rule, including rows computed on
        demand; summed over classes).

    See Also
    --------
    sklearn_lpntk.make_pipeline : a pipeline that prunes training folds.
    sklearn_lpntk.PrunedClassifier : prune, then fit a classifier.
    sklearn_lpntk.lpntk_kernel : the kernel on its own.

    Notes
    -----
    The pruner has ``fit_resample`` and ``fit_transform``, both returning the
    kept ``(X, y)``, but no ``transform``: data seen after fitting (test folds,
    new data) is never pruned.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lpntk import LpNTKPruner
    >>> X, y = load_digits(return_X_y=True)
    >>> X_kept, y_kept = LpNTKPruner(prune_ratio=0.3, max_epochs=2,
    ...                              random_state=0).fit_resample(X, y)
    >>> X_kept.shape
    (1253, 64)
    """

    _parameter_constraints = {
        **BasePruner._parameter_constraints,
        "net": "no_validation",  # checked by check_net, with a precise message
        "max_epochs": [Interval(Integral, 0, None, closed="left"), None],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "feature_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "strategy": [StrOptions(set(STRATEGIES))],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        "memory_budget": [None, str, Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions(set(DTYPES))],
        "n_jobs": [Integral, None],
        "keep": [StrOptions(set(KEEP_RULES))],
        "cluster_ratio": [Interval(Real, 0, 1, closed="right")],
        "normalize": [None, StrOptions({"K", "cosine"})],
        "error_weighting": [StrOptions(set(ERROR_WEIGHTINGS))],
        "device": [str, torch.device],
        "selfmax": [None, StrOptions({"filter", "repo"})],
        "drop_contradictory": [None, Interval(Real, -1, 1, closed="both")],
        "fpc": [StrOptions(set(FPC_MODES))],
        "checkpoints": [None, "array-like"],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        prune_ratio=0.3,
        *,
        net=None,
        max_epochs=None,
        lr=None,
        batch_size=None,
        feature_batch_size=None,
        strategy="auto",
        projection_dim=4096,
        memory_budget="auto",
        dtype="float32",
        n_jobs=None,
        keep="centres",
        cluster_ratio=0.5,
        normalize=None,
        error_weighting="sign",
        selfmax=None,
        drop_contradictory=None,
        fpc="canonical",
        checkpoints=None,
        validation_fraction=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.prune_ratio = prune_ratio
        self.net = net
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.feature_batch_size = feature_batch_size
        self.strategy = strategy
        self.projection_dim = projection_dim
        self.memory_budget = memory_budget
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.keep = keep
        self.cluster_ratio = cluster_ratio
        self.normalize = normalize
        self.error_weighting = error_weighting
        self.selfmax = selfmax
        self.drop_contradictory = drop_contradictory
        self.fpc = fpc
        self.checkpoints = checkpoints
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _select_rows(self, X_net, y_enc, classes, n_keep, rng, watch):
        device = resolve_device(self.device)
        torch_seed = int(rng.randint(np.iinfo(np.int32).max))
        class_seeds = rng.randint(np.iinfo(np.int32).max, size=len(classes))
        with watch.phase("setup"):
            X_fit, y_fit, X_val, y_val = self._split_validation(X_net, y_enc, rng)
            epochs, saver = None, None
            if self.checkpoints is not None or self.validation_fraction is not None:
                with warnings.catch_warnings():  # build_net warns again below
                    warnings.simplefilter("ignore")
                    probe = build_net(
                        self.net, n_inputs=n_inputs_of(X_net), n_classes=len(classes),
                        max_epochs=self.max_epochs, lr=self.lr, batch_size=self.batch_size,
                        device=device, verbose=0,
                    )
                epochs = self._checkpoint_epochs(probe.max_epochs)
                saver = Checkpoints(epochs, X_val, y_val)
            net = build_net(
                self.net, n_inputs=n_inputs_of(X_net), n_classes=len(classes),
                max_epochs=self.max_epochs, lr=self.lr, batch_size=self.batch_size,
                device=device, verbose=self.verbose,
                callbacks=[("lpntk_checkpoints", saver)] if saver else (),
            )
        n_kernels = 1 if epochs is None or X_val is not None else len(epochs)
        rng_devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(torch_seed)
            with watch.phase("setup"):
                net.initialize()
                n_out = check_logits(net.module_, X_net, device=device)
                if n_out != len(classes):
                    raise ValueError(
                        f"The network returns {n_out} logits but y has {len(classes)} "
                        "classes; its last layer must have one output per class."
                    )
                # plan the kernel's memory now, so that a budget too small fails
                # before training; the untrained network has the trained one's shapes
                engine = self._make_engine(net.module_, device)
                engine.probe(X_net, y_enc)
                sizes = np.bincount(y_enc, minlength=len(classes)).tolist()
                n_jobs = min(effective_n_jobs(self.n_jobs), len(classes))
                plans = engine.plan(sizes, n_jobs=n_jobs, copies=n_kernels)
            with watch.phase("training"):
                net.partial_fit(X_fit, y_fit)
        engines = self._checkpoint_engines(net, saver, engine, device, X_net, y_enc)
        selection = self._select(engines, plans, n_jobs, X_net, y_enc, n_keep, class_seeds,
                                 watch)
        fitted = {
            "kept": selection["kept"],
            "net_": net,
            "strategy_": engines[0].strategy,
            "lazy_classes_": [classes[c] for c, plan in enumerate(plans) if plan.lazy],
            "centres_": selection["centres"],
            "cluster_labels_": selection["cluster_labels"],
            "self_kernel_": selection["self_kernel"],
            "checkpoints_": list(saver.taken_) if saver else [int(len(net.history))],
            "summary": f" ({engines[0].strategy} strategy)",
        }
        for name in ("selfmax", "contradictory"):
            if name in selection:
                fitted[f"{name}_"] = selection[name]
        if saver is not None and X_val is not None:
            fitted["validation_scores_"] = dict(saver.validation_scores_)
        return fitted

    def _split_validation(self, X, y, rng):
        """Training rows and held-out rows for choosing the checkpoint."""
        if self.validation_fraction is None:
            return X, y, None, None
        from sklearn.model_selection import train_test_split

        try:
            X_fit, X_val, y_fit, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, stratify=y,
                random_state=rng.randint(np.iinfo(np.int32).max))
        except ValueError as exc:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} cannot hold out a "
                f"stratified validation set here ({exc}). Use a larger fraction or more "
                "rows per class."
            ) from exc
        return X_fit, y_fit, X_val, y_val

    def _checkpoint_epochs(self, max_epochs):
        """The epochs whose networks give the kernel, or None for the last one."""
        if self.checkpoints is None:
            return None if self.validation_fraction is None else list(range(max_epochs + 1))
        epochs = sorted({int(e) for e in np.atleast_1d(self.checkpoints)})
        if not epochs or epochs[0] < 0 or epochs[-1] > max_epochs:
            raise ValueError(
                f"checkpoints must be epochs in [0, max_epochs={max_epochs}] (0 is the "
                f"initialisation); got {self.checkpoints!r}."
            )
        return epochs

    def _checkpoint_engines(self, net, saver, engine, device, X, y):
        """One engine per network whose kernel is averaged (usually just one)."""
        if saver is None:
            return [engine.reload()]
        engines = []
        for state in saver.states_:
            module = copy.deepcopy(net.module_)
            module.load_state_dict(state)
            copy_engine = self._make_engine(module, device)
            copy_engine.probe(X, y)
            copy_engine.strategy = engine.strategy
            engines.append(copy_engine)
        return engines

    def _make_engine(self, module, device):
        return LpNTKEngine(
            module, strategy=self.strategy, normalize=self.normalize,
            error_weighting=self.error_weighting, batch_size=self.feature_batch_size,
            projection_dim=self.projection_dim, memory_budget=self.memory_budget,
            device=device, dtype=self.dtype,
        )

    def _select(self, engines, plans, n_jobs, X_net, y_enc, n_keep, class_seeds, watch):
        """Per class: kernel from the engine, then traversal and keep-rule."""
        n = len(y_enc)
        members = [np.flatnonzero(y_enc == label) for label in range(len(plans))]
        options = {"keep": self.keep, "cluster_ratio": self.cluster_ratio,
                   "selfmax": self.selfmax, "drop_contradictory": self.drop_contradictory,
                   "fpc": self.fpc}
        tasks = [
            (engines, X_net[idx], y_enc[idx], plan, int(n_keep[label]), options,
             int(class_seeds[label]))
            for label, (idx, plan) in enumerate(zip(members, plans))
        ]
        if self.verbose >= 2:
            for label, plan in enumerate(plans):
                print(f"class {label}: {plan.n_samples} rows, chunks of {plan.chunk_size}, "
                      f"{'lazy rows' if plan.lazy else 'full Gram'}, "
                      f"about {plan.bytes_needed / 1e6:.0f} MB")
        done = progress_bar(len(plans), "lpNTK: classes", "class", bool(self.verbose))
        if n_jobs == 1:
            rows = progress_bar(n, "lpNTK: gradients", "row", bool(self.verbose))
            with rows, done:
                results = []
                for task in tasks:
                    results.append(_prune_class(*task, progress=rows.update))
                    done.update(1)
        else:
            with done:
                results = []
                parallel = Parallel(n_jobs=n_jobs, return_as="generator")
                for result in parallel(delayed(_prune_class)(*task) for task in tasks):
                    results.append(result)
                    done.update(1)
        kept, centres = [], []
        cluster_labels = np.empty(n, dtype=np.intp)
        self_kernel = np.empty(n, dtype=np.float64)
        masks = {name: np.zeros(n, dtype=bool) for name in ("selfmax", "contradictory")
                 if name in results[0]}
        for idx, result in zip(members, results):
            for name, mask in masks.items():
                mask[idx] = result[name]
            kept.append(idx[result["kept"]])
            centres.append(idx[result["centres"]])
            cluster_labels[idx] = idx[result["assignment"]]
            self_kernel[idx] = result["diagonal"]
            watch.add("kernel", result["kernel_s"])
            watch.add("selection", result["selection_s"])
        return {
            "kept": np.sort(np.concatenate(kept)),
            "centres": np.sort(np.concatenate(centres)),
            "cluster_labels": cluster_labels,
            "self_kernel": self_kernel,
            **masks,
        }
