"""LpNTKPruner: a scikit-learn / imbalanced-learn sampler that prunes with lpNTK."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BasePruner
from ._class_cuts import class_cuts
from ._duplicates import near_duplicate_cuts
from ._engine import LpNTK
from ._options import hide_moved, refuse_moved
from ._params import LPNTK_CONSTRAINTS, check_n_jobs, fill_doc
from ._selection import Centres, KeepRule, NearDuplicates, rule_from, rule_names
from ._training import kernel_settings, train_for_kernels

#: The default rule (``keep``); chosen in 0.8 from docs/reproduction.md.
DEFAULT_RULE = "herding"

#: Constructor keywords of 0.7 that moved in 0.8, with their new spelling.
MOVED = {
    "cluster_ratio": "keep=ThinLargest(cluster_ratio=...)",
    "selfmax": "an option of the paper's rules: keep=Centres(selfmax=...)",
    "drop_contradictory": "an option of the rule: keep=<Rule>(drop_contradictory=...)",
    "fpc": "an option of the paper's rules: keep=Centres(fpc=...)",
    "hard_fraction": "keep=Coverage(hard_fraction=...) or keep=D2(hard_fraction=...)",
    "graph": "an option of the rules that read a neighbour graph: "
    "keep=FacilityLocation(graph=...) (also Redundancy, Adaptive, Coverage, D2)",
    "n_neighbors": "keep=FacilityLocation(n_neighbors=...) (the rule's neighbour graph) or "
    "keep=NearDuplicates(n_neighbors=...) (prune_ratio='auto')",
    "calibration_perturbation": "keep=NearDuplicates(perturbation=...)",
    "calibration_scale": "keep=NearDuplicates(scale=...)",
    "normalize": "kernel=LpNTK(normalize=...)",
    "error_weighting": "kernel=LpNTK(error_weighting=...)",
    "strategy": "kernel=LpNTK(strategy=...)",
    "projection_dim": "kernel=LpNTK(projection_dim=...)",
    "feature_batch_size": "kernel=LpNTK(chunk_size=...)",
    "dtype": "kernel=LpNTK(dtype=...)",
    "memory_budget": "max_memory",
}


class _RuleNames(StrOptions):
    """``keep``'s names: those registered when a fit validates its parameters, so that a
    rule registered after import (:func:`~sklearn_lpntk.rules.register_rule`) counts."""

    def __init__(self):
        super().__init__(set(rule_names()))

    def is_satisfied_by(self, val):
        self.options = set(rule_names())
        return super().is_satisfied_by(val)

    def __str__(self):
        self.options = set(rule_names())
        return super().__str__()


@fill_doc
class LpNTKPruner(BasePruner):
    """Prune a classification training set with the labelled pseudo NTK.

    A small network is trained briefly on ``(X, y)``; the lpNTK (Guo et al.,
    ICLR 2024) between every two samples of the same class is computed from
    one labelled gradient per sample, and ``k_c`` rows of every class c are
    kept (see ``prune_ratio``) by a keep-rule (``keep``). The rules and the
    kernel are small parameter objects (``sklearn_lpntk.rules``,
    :class:`~sklearn_lpntk.LpNTK`); their options are grid-searchable as
    ``keep__<option>`` and ``kernel__<option>``. The paper's setting,
    farthest-first centres on the raw kernel, is ``LpNTKPruner.paper()``.

    Read more in ``docs/algorithm.md`` and ``docs/parameters.md``.

    Parameters
    ----------
    prune_ratio : float in [0, 1) or "auto", default=0.3
        Fraction of each class that is removed: class c keeps ``k_c`` rows, at
        least one (``docs/algorithm.md``, "How many rows each class keeps").
        "auto": the data decide; only near-duplicates are removed
        (:class:`~sklearn_lpntk.rules.NearDuplicates`; with another rule, its
        order is the one walked). ``duplicate_share_`` is the share removed.
    keep : str or KeepRule, default="herding"
        Which rows of each class survive: a rule from ``sklearn_lpntk.rules``
        with its options, or its name for the rule with its defaults:
        "herding" (:class:`~sklearn_lpntk.rules.Herding`, the rows whose kernel
        mean matches the class's), "representative"
        (:class:`~sklearn_lpntk.rules.FacilityLocation`), "redundancy",
        "adaptive", "coverage", "d2", "near_duplicates", and the paper's
        "centres", "random_member", "thin_largest". See ``docs/parameters.md``.
    kernel : LpNTK or None, default=None
        The kernel's definition and computation (normalisation, error
        weighting, strategy, ...); None is ``LpNTK()``: the cosine lpNTK with
        the paper's sign error term.
    max_epochs : int, default=None
        Training epochs. None: 10 for a net built here, the skorch net's own
        value otherwise. 0 computes the kernel at initialisation.
    n_jobs : int or None, default=None
        Classes processed in parallel through joblib (so any joblib backend,
        e.g. Dask or Ray, can run them), as many as ``max_memory`` holds at
        once; never changes the result. None means 1 unless in a
        ``joblib.parallel_config`` context; -1 means all processors.
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
    {max_memory_param}
    {encoder_param}
    {memory_param}
    {network_params}

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Kept row indices into the training data, ascending.
    keep_rule_ : KeepRule
        The rule the fit used (``keep`` as an object; with
        ``prune_ratio="auto"``, the near-duplicate rule around it).
    keep_order_ : dict or None
        For the nested rules (``keep_rule_.nested``): every class's rows (by
        class label) in the order they are kept, so that a prune ratio keeps
        the first ``k_c`` of each. A class read row by row has its order only
        as far as this fit needed. None for the other rules;
        ``get_support(prune_ratio=...)`` cuts every rule at any ratio without
        refitting.
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
        For every training row, the row index of its cluster centre (its most
        similar kept row, for the rules on a class's matrix or graph).
    centres_ : ndarray
        Row indices of all cluster centres, ascending.
    sampling_strategy_ : dict
        Number of rows kept per class label (imbalanced-learn's attribute).
    self_kernel_ : ndarray of shape (n_samples,)
        lpNTK self-similarity ``kappa(i, i)`` of every row (after normalisation).
    strategy_ : str
        The strategy used: "features", "factorized" or "projection".
    checkpoints_ : list of int
        Epochs whose networks gave the kernel.
    validation_scores_ : dict
        Validation accuracy per candidate epoch (with ``validation_fraction``).
    selfmax_ : ndarray of bool, shape (n_samples,)
        Self-max rows (with a rule's ``selfmax``).
    contradictory_ : ndarray of bool, shape (n_samples,)
        Rows excluded by a rule's ``drop_contradictory``.
    lazy_classes_ : list
        Class labels whose matrix was not formed (read row by row, through a
        neighbour graph or in blocks).
    duplicate_share_ : float
        With ``prune_ratio="auto"``: the share of the rows removed as
        near-duplicates.
    duplicate_threshold_ : float
        With near-duplicates: the threshold used, a distance ``1 - cosine``
        relative to the pair's neighbourhood scale.
    timings_ : dict
        Wall-clock seconds per phase: "setup" (input validation, building and
        initialising the network, planning memory; the first fit in a process
        also pays torch's one-time warm-up here), "training", "kernel"
        (per-sample gradients and Gram matrices, summed over classes),
        "neighbours" (with a neighbour graph: building it, summed over classes),
        "selection" (the rule's work, including rows or blocks computed on
        demand; summed over classes), "duplicates" (the near-duplicates'
        calibration) and, with ``memory``, "cache" (hashing the data, reading or
        writing the cache). A fit read from the cache has only "setup", "cache"
        and "selection".
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
    new data) is never pruned. Keywords of 0.7 that moved into the rule and
    kernel objects raise a TypeError naming their new spelling.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lpntk import LpNTKPruner
    >>> from sklearn_lpntk.rules import Coverage
    >>> X, y = load_digits(return_X_y=True)
    >>> X_kept, y_kept = LpNTKPruner(prune_ratio=0.3, max_epochs=2,
    ...                              random_state=0).fit_resample(X, y)
    >>> X_kept.shape
    (1253, 64)
    >>> LpNTKPruner(0.5, keep=Coverage(hard_fraction=0.1)).get_params()["keep__hard_fraction"]
    0.1
    """

    _accepts_auto = True
    _moved_params = MOVED

    _parameter_constraints = {
        **BasePruner._parameter_constraints,
        "prune_ratio": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        **LPNTK_CONSTRAINTS,
        "keep": [_RuleNames(), KeepRule],
        "checkpoints": [None, "array-like"],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
    }

    @hide_moved
    def __init__(
        self,
        prune_ratio=0.3,
        *,
        keep=DEFAULT_RULE,
        kernel=None,
        net=None,
        max_epochs=None,
        lr=None,
        batch_size=None,
        device="auto",
        max_memory="auto",
        n_jobs=None,
        checkpoints=None,
        validation_fraction=None,
        n_inits=1,
        class_budget="equal",
        encoder="auto",
        memory=None,
        random_state=None,
        verbose=0,
        **moved,
    ):
        refuse_moved("LpNTKPruner", moved, MOVED)
        self.prune_ratio = prune_ratio
        self.keep = keep
        self.kernel = kernel
        self.net = net
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.max_memory = max_memory
        self.n_jobs = n_jobs
        self.checkpoints = checkpoints
        self.validation_fraction = validation_fraction
        self.n_inits = n_inits
        self.class_budget = class_budget
        self.encoder = encoder
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _rule(self):
        """The rule this fit runs: ``keep`` as an object, wrapped in a near-duplicate rule
        for ``prune_ratio="auto"`` (unless it is one already)."""
        rule = rule_from(self.keep)
        if self.prune_ratio == "auto" and not isinstance(rule, NearDuplicates):
            rule = NearDuplicates(rule=rule)
        return rule

    def _kernel(self):
        return LpNTK() if self.kernel is None else self.kernel

    def _check_params(self):
        check_n_jobs(self.n_jobs)
        kernel, rule = self._kernel(), self._rule()
        kernel.check()
        rule.check()
        if isinstance(rule, NearDuplicates) and kernel.normalize != "cosine":
            raise ValueError(
                f"{rule!r} (prune_ratio='auto' or keep=NearDuplicates(...)) compares lpNTK "
                "cosines to every row's neighbourhood; it needs the cosine kernel, "
                "kernel=LpNTK(normalize='cosine') (the default), got normalize="
                f"{kernel.normalize!r}."
            )

    def _cache_key_fields(self):
        return {"rule": self._rule(), "kernel": self._kernel()}

    @classmethod
    def paper(cls, prune_ratio=0.3, **params):
        """The paper's setting: raw lpNTK, sign error term, farthest-first centres.

        ``LpNTKPruner.paper(0.3)`` is ``LpNTKPruner(0.3, keep=Centres(),
        kernel=LpNTK(normalize=None, error_weighting="sign"))``; other
        parameters may be given as keywords (``keep=Centres(selfmax="repo")``
        for the official code's self-max filter). See ``docs/reproduction.md``
        for how it compares with the library's default.
        """
        setting = {
            "keep": Centres(),
            "kernel": LpNTK(normalize=None, error_weighting="sign"),
        }
        return cls(prune_ratio, **{**setting, **params})

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        rule = self._rule()
        settings = kernel_settings(self)
        source = train_for_kernels(X, y, classes, rng, watch, settings, rule.plan())
        cuts, self_kernel, graphs = class_cuts(
            source, rows, X, y, n_keep, rule, watch, self.verbose
        )
        attributes = {**source.attributes, "self_kernel_": self_kernel, "keep_rule_": rule}
        if not isinstance(rule, NearDuplicates):
            return cuts, attributes
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with watch.phase("duplicates"):
            cuts, threshold = near_duplicate_cuts(rule, source, X, y, rows, cuts, graphs, seed)
        return cuts, {**attributes, "duplicate_threshold_": threshold}
