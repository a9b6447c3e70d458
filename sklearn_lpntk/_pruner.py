"""LpNTKPruner: a scikit-learn / imbalanced-learn sampler that prunes with lpNTK."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BasePruner
from ._class_kernels import class_cuts, train_for_kernels
from ._copies import PERTURBATIONS
from ._engine import GRAPH_MODES, NORMALIZATIONS
from ._params import LPNTK_CONSTRAINTS, check_graph_options, check_n_jobs, fill_doc
from ._redundancy import find_near_duplicates
from ._selection import FPC_MODES, KEEP_RULES, MATRIX_RULES, SELFMAX_MODES

#: The parameters of the keep-rule (the keyword arguments of ``_selection.rule_cut``).
_RULE_OPTIONS = ("keep", "cluster_ratio", "hard_fraction", "selfmax", "drop_contradictory", "fpc")


@fill_doc
class LpNTKPruner(BasePruner):
    """Prune a classification training set with the labelled pseudo NTK.

    A small network is trained briefly on ``(X, y)``; the lpNTK (Guo et al.,
    ICLR 2024) between every two samples of the same class is computed from
    one labelled gradient per sample, and ``k_c`` rows of every class c are
    kept (see ``prune_ratio``). By default (since 0.4) the
    kept rows are those that best represent their class under the cosine
    lpNTK (greedy facility location); the paper's setting, farthest-first
    centres on the raw kernel, is ``LpNTKPruner.paper()``. The default was
    chosen from ``docs/reproduction.md``: the paper's setting loses to a
    random subset from 30 % pruning on, the default is level with it.

    Read more in ``docs/algorithm.md`` and ``docs/parameters.md``.

    Parameters
    ----------
    prune_ratio : float in [0, 1) or "auto", default=0.3
        Fraction of each class that is removed: class c keeps ``k_c`` rows, at
        least one (``docs/algorithm.md``, "How many rows each class keeps").
        "auto": the data decide; only near-duplicates are removed, rows whose
        lpNTK distance to a row kept before them (in the keep order) is as small,
        relative to their neighbourhood, as that between a row and a perturbed
        copy of it (``calibration_perturbation``; see "How much is redundant"
        in ``docs/algorithm.md``). ``redundancy_`` is the share removed. Needs
        ``keep="representative"`` and ``normalize="cosine"`` (the defaults).
    max_epochs : int, default=None
        Training epochs. None: 10 for a net built here, the skorch net's own
        value otherwise. 0 computes the kernel at initialisation.
    feature_batch_size : int, default=None
        Largest chunk of samples differentiated at once when computing the
        kernel (None: 64 for the features strategy, 256 otherwise). Chunks are
        made smaller when ``memory_budget`` requires it. Does not change the
        result.
    projection_dim : int, default=4096
        Sketch dimension of the projection strategy. The typical error of a
        kernel entry is about ``sqrt(2 / projection_dim)`` of
        ``sqrt(k_ii k_jj)``.
    n_jobs : int or None, default=None
        Classes processed in parallel through joblib (so any joblib backend,
        e.g. Dask or Ray, can run them). None means 1 unless in a
        ``joblib.parallel_config`` context; -1 means all processors.
    keep : {"centres", "random_member", "thin_largest", "representative", \
            "redundancy", "coverage", "budget", "d2"}, default="representative"
        Which rows of each class survive. From the farthest-first clustering
        (the paper): "centres", the centres themselves (the paper's default;
        outliers first); "random_member", one random member of each cluster;
        "thin_largest", cluster into ``cluster_ratio * k_c`` clusters and
        remove random members of the largest clusters until ``k_c`` rows remain
        (de-biasing). From the whole class matrix (this library's rules, see
        ``docs/algorithm.md``): "representative", greedy facility location
        (typical rows that cover the class); "redundancy", drop the more
        typical row of the most similar pair until ``k_c`` remain;
        "coverage", coverage-centric sampling over the lpNTK difficulty (low
        mean similarity to the class) after dropping the most contradictory
        ``hard_fraction``; "budget", "redundancy" while at least half of a
        class is kept and "representative" below; "d2", D2 pruning (Maharana
        et al., ICLR 2024): the same difficulty passed forward over the
        class's nearest-neighbour graph (5 neighbours, or the graph's
        ``n_neighbors``), then, inside strata and after dropping the
        ``hard_fraction`` hardest, greedy picks that lower their neighbours'
        scores. The matrix rules need the class's full Gram matrix within
        ``memory_budget`` or a neighbour graph (``graph``).
    graph : {"auto", "dense", "exact", "approximate"}, default="auto"
        How the matrix rules read a class: "dense", its whole Gram matrix;
        "exact", every row's ``n_neighbors`` most similar rows, block by block;
        "approximate", the same graph from a similarity search on sketches
        (faiss-cpu, the ``large`` extra, or pynndescent), ranked by the exact
        lpNTK. "auto": dense up to 10,000 rows per class while the matrix fits
        ``memory_budget``, then exact up to 2.5e11 multiply-adds, then
        approximate (``docs/algorithm.md``). The traversal rules, ``selfmax``
        and ``drop_contradictory`` read the kernel itself.
    n_neighbors : int, default=10
        Neighbours per row of the graph (``graph`` other than "dense"); with
        ``prune_ratio="auto"`` also the neighbours searched for near-duplicates,
        the last of which sets a row's neighbourhood scale.
    calibration_perturbation : {"noise", "shift", "flip"} or callable, \
            default="noise"
        Only for ``prune_ratio="auto"``: how the calibration's copies differ
        from their rows. "noise": Gaussian noise of ``calibration_scale``
        (0.05) feature standard deviations; "shift": moved by up to
        ``calibration_scale`` (1) positions along the inputs' last two axes
        longer than one; "flip": mirrored along the last axis; a callable
        ``f(X, rng)`` returns perturbed rows (the augmentation you applied
        offline). The kernel must see such copies as close (a warning says
        when it does not).
    calibration_scale : float or None, default=None
        Size of ``calibration_perturbation`` (see above).
    cluster_ratio : float in (0, 1], default=0.5
        Only for ``keep="thin_largest"``: clusters per kept row.
    hard_fraction : float in [0, 1) or "auto", default="auto"
        Only for ``keep="coverage"`` and ``keep="d2"``: share of each class
        dropped as hardest before sampling. "auto": 0 up to 30 % pruning, then growing to 0.3 at
        90 % (``clip((prune_ratio - 0.3) / 2, 0, 0.3)``).
    normalize : {None, "K", "cosine"}, default="cosine"
        Kernel scaling: none (the official code), divide by the number of
        classes, or cosine (unit self-similarity; the default since 0.4).
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
    n_inits : int, default=1
        Networks trained from independent initialisations (seeded from
        ``random_state``) whose kernels are averaged before normalisation (with
        ``checkpoints``, every checkpoint of every network). The selection then
        depends less on one brief run; training and the kernel cost
        ``n_inits`` times as much. ``net_`` and ``checkpoints_`` are the first
        network's.
    {budget_param}
    {encoder_param}
    {memory_param}
    {kernel_params}
    {network_params}

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Kept row indices into the training data, ascending.
    keep_order_ : dict or None
        For the nested keep-rules ("centres", "representative",
        "redundancy", without ``selfmax``): every class's rows (by class
        label) in the order they are kept, so that a prune ratio keeps the
        first ``k_c`` of each. A class whose Gram
        matrix did not fit ``memory_budget`` has its order only as far as
        this fit needed. None for the other rules, whose selection for
        another ratio is not a prefix ("random_member", "thin_largest",
        "coverage", "budget", "d2", ``selfmax``); ``get_support(prune_ratio=...)``
        cuts every rule at any ratio without refitting.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit`` (size of the second axis).
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names, when ``X`` was a DataFrame with string column names.
    encoder_ : transformer or None
        The encoding fitted on ``X`` for the network (see ``encoder``), e.g.
        ``encoder_.get_feature_names_out()`` names the network's inputs; None
        when ``X`` went to the network as it is. ``n_features_in_`` and
        ``feature_names_in_`` describe the user's columns, not the encoded ones.
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
    redundancy_ : float
        With ``prune_ratio="auto"``: the share of the rows removed as
        near-duplicates.
    redundancy_threshold_ : float
        With ``prune_ratio="auto"``: the calibrated threshold, a distance
        ``1 - cosine`` relative to the pair's neighbourhood scale.
    timings_ : dict
        Wall-clock seconds per phase: "setup" (input validation, building and
        initialising the network, planning memory; the first fit in a process
        also pays torch's one-time warm-up here), "training", "kernel"
        (per-sample gradients and Gram matrices, summed over classes),
        "neighbours" (with a neighbour graph: building it, summed over classes),
        "selection" (traversal, keep order and the cut at ``prune_ratio``,
        including rows computed on demand; summed over classes) and, with
        ``memory``, "cache" (hashing the data, reading or writing the cache).
        A fit read from the cache has only "setup", "cache" and "selection".
    from_cache_ : bool
        Whether this fit was read from ``memory`` (True) or computed.
    class_weights_ : dict or None
        The class budget's weight of every class label (``class_budget``);
        None for "equal".

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

    _accepts_auto = True

    _parameter_constraints = {
        **BasePruner._parameter_constraints,
        "prune_ratio": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        **LPNTK_CONSTRAINTS,
        "calibration_perturbation": [StrOptions(set(PERTURBATIONS)), callable],
        "calibration_scale": [None, Interval(Real, 0, None, closed="neither")],
        "keep": [StrOptions(set(KEEP_RULES))],
        "graph": [StrOptions(set(GRAPH_MODES))],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "cluster_ratio": [Interval(Real, 0, 1, closed="right")],
        "hard_fraction": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="left")],
        "normalize": [None, StrOptions({n for n in NORMALIZATIONS if n is not None})],
        "selfmax": [None, StrOptions(set(SELFMAX_MODES))],
        "drop_contradictory": [None, Interval(Real, -1, 1, closed="both")],
        "fpc": [StrOptions(set(FPC_MODES))],
        "checkpoints": [None, "array-like"],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
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
        keep="representative",
        graph="auto",
        n_neighbors=10,
        calibration_perturbation="noise",
        calibration_scale=None,
        cluster_ratio=0.5,
        hard_fraction="auto",
        normalize="cosine",
        error_weighting="sign",
        selfmax=None,
        drop_contradictory=None,
        fpc="canonical",
        checkpoints=None,
        validation_fraction=None,
        n_inits=1,
        device="auto",
        class_budget="equal",
        encoder="auto",
        memory=None,
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
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.calibration_perturbation = calibration_perturbation
        self.calibration_scale = calibration_scale
        self.cluster_ratio = cluster_ratio
        self.hard_fraction = hard_fraction
        self.normalize = normalize
        self.error_weighting = error_weighting
        self.selfmax = selfmax
        self.drop_contradictory = drop_contradictory
        self.fpc = fpc
        self.checkpoints = checkpoints
        self.validation_fraction = validation_fraction
        self.n_inits = n_inits
        self.device = device
        self.class_budget = class_budget
        self.encoder = encoder
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_graph_options(self.graph, self.keep, self.selfmax, self.drop_contradictory)
        check_n_jobs(self.n_jobs)
        if self.prune_ratio == "auto" and (
            self.keep != "representative" or self.normalize != "cosine"
        ):
            raise ValueError(
                "prune_ratio='auto' walks every class in its representative order and "
                "compares lpNTK cosines; it needs keep='representative' and "
                f"normalize='cosine', got keep={self.keep!r}, normalize={self.normalize!r}. "
                "Use those, or a numeric prune_ratio."
            )

    @classmethod
    def paper(cls, prune_ratio=0.3, **params):
        """The paper's setting: raw lpNTK, sign error term, farthest-first centres.

        ``LpNTKPruner.paper(0.3)`` is ``LpNTKPruner(0.3, normalize=None,
        error_weighting="sign", keep="centres", fpc="canonical")``; other
        parameters may be given as keywords. See ``docs/reproduction.md`` for
        how it compares with the library's default.
        """
        setting = {
            "normalize": None,
            "error_weighting": "sign",
            "keep": "centres",
            "fpc": "canonical",
        }
        return cls(prune_ratio, **{**setting, **params})

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        params = self.get_params(deep=False)
        matrix_rule = self.keep in MATRIX_RULES
        # the kernel itself serves the traversal rules and drop_contradictory
        graph = self.graph if matrix_rule and self.drop_contradictory is None else None
        plan = {"need_full": matrix_rule, "graph": graph, "n_neighbors": self.n_neighbors}
        source = train_for_kernels(X, y, classes, rng, watch, params, **plan)
        options = {k: params[k] for k in _RULE_OPTIONS}
        auto = self.prune_ratio == "auto"
        cuts, self_kernel, near = class_cuts(
            source,
            rows,
            X,
            y,
            n_keep,
            options,
            watch,
            self.verbose,
            near=self.n_neighbors if auto else 0,
        )
        attributes = {**source.attributes, "self_kernel_": self_kernel}
        if not auto:
            return cuts, attributes
        with watch.phase("redundancy"):
            redundancy = find_near_duplicates(
                source,
                X,
                y,
                rows,
                cuts,
                near,
                n_neighbors=self.n_neighbors,
                perturbation=self.calibration_perturbation,
                scale=self.calibration_scale,
                seed=int(rng.randint(np.iinfo(np.int32).max)),
            )
        return cuts, attributes, redundancy
