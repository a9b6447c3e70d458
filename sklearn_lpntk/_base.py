"""The contract every pruner shares: validation, one compute function, resampling.

A pruner is an imbalanced-learn sampler (``_sampling_type = "bypass"``) whose
``fit`` keeps :func:`~sklearn_lpntk.selection.keep_counts` rows of every class
and whose ``fit_resample`` / ``fit_transform`` return those rows. The fit reads
top to bottom: validation (:meth:`BasePruner._fit`), then
:meth:`BasePruner._compute`, which returns the complete
:class:`~sklearn_lpntk._prepared.PreparedFit` (cached with ``memory=``), then
its cut at ``prune_ratio``. Subclasses implement only
:meth:`BasePruner._class_cuts`, the part that does not depend on the ratio;
:class:`ScorePruner` goes one step further for methods that score every row and
drop the lowest scores.
"""

import os
import warnings
from abc import abstractmethod
from functools import partial
from numbers import Real

import numpy as np
from imblearn.base import BaseSampler
from sklearn import get_config
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._cache import check_pruner_memory, load_or_compute
from ._class_budget import CLASS_BUDGETS, TRAINING_PARAMS, check_class_budget, out_of_fold_error
from ._encoding import as_container
from ._options import refuse_moved
from ._prepared import PreparedFit
from ._progress import Stopwatch
from ._selection import NON_FINITE_HINT, PrefixCut, keep_counts
from ._validation import refuse_fit_params, take_rows, validate_training_data

_NO_TRANSFORM = (
    "A pruner has no {name}: pruning removes training rows, which only makes "
    "sense while fitting, and unseen data must never be pruned. Use "
    "fit_resample(X, y) (or fit_transform(X, y)) to get the kept (X, y), "
    "sklearn_lpntk.make_pipeline(...) to prune inside a pipeline, or "
    "sklearn_lpntk.PrunedClassifier(estimator, pruner) inside a scikit-learn Pipeline."
)


_INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")
#: Fitted attributes renamed in 0.8 (one meaning per word).
_RENAMED_ATTRIBUTES = {
    "redundancy_": "duplicate_share_",
    "redundancy_threshold_": "duplicate_threshold_",
}
_SEED_MAX = np.iinfo(np.int32).max


class BasePruner(BaseSampler):
    """Base class of all pruners: keeps a number of rows of every class.

    Subclasses set their own parameters and implement ``_class_cuts``.
    """

    _sampling_type = "bypass"

    _parameter_constraints = {
        "prune_ratio": [Interval(Real, 0, 1, closed="left")],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "class_budget": [StrOptions(set(CLASS_BUDGETS)), dict],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: Parameters that never change the prepared fit: the cache key leaves them out
    #: (``n_jobs`` never changes a result: only as many classes as the memory limit
    #: holds run at once).
    _not_in_cache_key = ("prune_ratio", "verbose", "n_jobs", "memory")

    #: Constructor keywords of 0.7 that moved in 0.8, ``{old: new spelling}``: the
    #: constructor and :meth:`set_params` refuse them with a TypeError naming it.
    _moved_params = {}

    def set_params(self, **params):
        """Set the parameters; a keyword of 0.7 that moved raises a TypeError naming its
        new spelling.

        Parameters
        ----------
        **params : dict
            Parameter names and values (``<param>__<option>`` reaches the options
            of a parameter object, such as ``keep__hard_fraction`` or
            ``kernel__normalize``).

        Returns
        -------
        self : object
            The pruner.
        """
        moved = {k: v for k, v in params.items() if k in self._moved_params}
        refuse_moved(f"{type(self).__name__}.set_params", moved, self._moved_params)
        return super().set_params(**params)

    # ------------------------------------------------------------------ input
    def _check_params(self):
        """Checks of parameter values that ``_parameter_constraints`` cannot express."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, **params):
        """Choose the rows to keep in every class.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, ...)
            Training inputs: numbers (sparse input is densified for the
            network), or a table with text, categories or missing values,
            which the network reads encoded (see ``encoder``).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.
        **params : dict
            Refused with a TypeError: pruners take no fit parameters (no
            ``sample_weight``, by choice; see :meth:`fit_resample`).

        Returns
        -------
        self : object
            The fitted pruner.
        """
        # validate_data sets n_features_in_ / feature_names_in_ at once; put the
        # previous values back if the fit fails, so a failed refit leaves the
        # earlier fit whole (every other fitted attribute is set at the end)
        refuse_fit_params(self, "fit", params)
        saved = {k: self.__dict__[k] for k in _INPUT_ATTRIBUTES if k in self.__dict__}
        try:
            return self._fit(X, y)
        except BaseException:
            for k in _INPUT_ATTRIBUTES:
                self.__dict__.pop(k, None)
            self.__dict__.update(saved)
            raise

    def _fit(self, X, y):
        watch = Stopwatch()
        with watch.phase("setup"):  # everything refused before any work
            self._check_params()
            X_net, classes, y_enc, encoder = validate_training_data(self, X, y)
            memory = check_pruner_memory(self.memory)
            budget = self._checked_budget(classes)
        if memory is not None and not isinstance(self.random_state, (int, np.integer)):
            warnings.warn(
                f"{type(self).__name__}(memory=...) caches only fits with an integer "
                f"random_state; with random_state={self.random_state!r} every fit draws "
                "anew, so nothing is cached. Set random_state=0 (or any integer).",
                UserWarning,
                stacklevel=4,
            )
            memory = None
        compute = partial(self._compute, X_net, y_enc, classes, self.prune_ratio, budget)
        cls = type(self)
        key_fields = {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": {
                k: v
                for k, v in self.get_params(deep=False).items()
                if k not in self._not_in_cache_key
            },
            **self._cache_key_fields(),
            "X": X_net,
            "y": y_enc,
            "classes": classes,
        }
        prepared, from_cache = load_or_compute(compute, memory, key_fields, self.prune_ratio, watch)
        with watch.phase("selection"):
            fitted = prepared.cut(self.prune_ratio)
        kept = fitted.pop("kept")

        # the fitted state is assigned only once everything has succeeded, and it
        # replaces the previous fit's whole (no attribute of an earlier fit survives)
        for name in [
            k
            for k in vars(self)
            if k.endswith("_") and not k.startswith("_") and k not in _INPUT_ATTRIBUTES
        ]:
            delattr(self, name)
        self.classes_ = classes
        self.encoder_ = encoder
        self.sample_indices_ = kept
        self._n_samples_fit = len(y_enc)
        self._prepared = prepared
        for name, value in fitted.items():
            setattr(self, name, value)
        self.keep_order_ = prepared.keep_order(classes)
        self.class_weights_ = (
            None
            if prepared.class_weights is None
            else dict(zip(classes.tolist(), prepared.class_weights.tolist()))
        )
        self.from_cache_ = from_cache
        kept_per_class = np.bincount(y_enc[kept], minlength=len(classes))
        self.sampling_strategy_ = dict(zip(classes.tolist(), kept_per_class.tolist()))
        self.timings_ = dict(watch.seconds)
        self._warn_after_fit(y_enc, classes)
        if self.verbose:
            source = " (read from the cache)" if from_cache else ""
            print(
                watch.summary(
                    f"{type(self).__name__} kept {len(kept)} of {len(y_enc)} "
                    f"rows{prepared.summary}{source}"
                )
            )
        return self

    def _warn_after_fit(self, y, classes):
        """Warnings about the fitted selection, given on every fit (also one read from
        the ``memory`` cache and cut at another ratio); none by default."""

    def _cache_key_fields(self):
        """What the cache key needs besides the parameters (e.g. the rule a fit runs,
        which ``prune_ratio="auto"`` changes)."""
        return {}

    def _checked_budget(self, classes):
        """``class_budget`` as :meth:`_compute` takes it, checked before any work:
        the weights of a dict, "error" (measured in the fit), or None for "equal"."""
        if isinstance(self.class_budget, dict):
            return check_class_budget(self.class_budget, classes)
        return "error" if self.class_budget == "error" else None

    def _compute(self, X, y, classes, prune_ratio, budget):
        """The part of the fit that does not depend on ``prune_ratio`` (what is cached).

        The class budget's weights (``budget`` "error" measures them with the
        first seed drawn from ``random_state``), then :meth:`_class_cuts`; the
        ratio only bounds how far a lazy class's order is computed. Returns the
        complete :class:`~sklearn_lpntk._prepared.PreparedFit`, with the
        seconds of every phase.
        """
        watch = Stopwatch()
        rng = check_random_state(self.random_state)
        weights = budget
        if isinstance(budget, str):
            params = self.get_params(deep=False)
            training = {k: v for k, v in params.items() if k in TRAINING_PARAMS}
            seed = int(rng.randint(_SEED_MAX))
            weights = out_of_fold_error(X, y, len(classes), seed, watch, **training)
        rows = class_rows(y, len(classes))
        bound = 0.0 if prune_ratio == "auto" else prune_ratio  # "auto" may keep every row
        n_keep = keep_counts([len(r) for r in rows], bound, weights)
        cuts, attributes = self._class_cuts(X, y, classes, rows, n_keep, rng, watch)
        summary = f" ({attributes['strategy_']} strategy)" if "strategy_" in attributes else ""
        return PreparedFit(
            tuple(rows), tuple(cuts), attributes, weights, dict(watch.seconds), summary
        )

    @abstractmethod
    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        """Every class's cut and the fitted attributes that do not depend on the ratio.

        Parameters
        ----------
        X : ndarray of float32, shape (n_samples, ...)
            Validated inputs (sparse input densified).
        y : ndarray of int64, shape (n_samples,)
            Labels encoded as 0 .. n_classes - 1.
        classes : ndarray
            The original class labels.
        rows : list of ndarray
            Row indices of every encoded class.
        n_keep : ndarray of int, shape (n_classes,)
            Rows this fit keeps per encoded class (after the class budget). Only
            a bound: the result must not depend on it, except that a cut may
            cover no more rows (a traversal on a lazy kernel reads only the rows
            it needs).
        rng : numpy.random.RandomState
            Seeded from ``random_state``; every draw happens here, none in the
            cuts (they carry their own seeds).
        watch : Stopwatch
            Accumulates the seconds of named phases.

        Returns
        -------
        cuts : list
            One :class:`~sklearn_lpntk.selection.Cut` per class, on its rows.
        attributes : dict
            The fitted attributes that do not depend on the ratio.
        """

    # -------------------------------------------------------------- resample
    def fit_resample(self, X, y, **params):
        """Fit, then return the kept rows of ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, ...)
            Training inputs, as for :meth:`fit` (pandas and polars tables
            with text, categories and missing values included).
        y : array-like of shape (n_samples,)
            Class labels.
        **params : dict
            Refused with a TypeError naming them. Pruners use no fit
            parameters, ``sample_weight`` included, by choice: the brief
            network is trained unweighted and the kernels and scores are
            computed from the rows and labels alone, so that the kept rows do
            not depend on the weights a later model uses (the same selection
            for any weighting, and no row hidden from the kernel by a small
            weight). A weight given here would be silently ignored, so it is
            an error. The classifier after the pruner gets its weights cut to
            the kept rows in :class:`~sklearn_lpntk.Pipeline` and
            :class:`~sklearn_lpntk.PrunedClassifier` (with and without
            metadata routing), or by hand: ``w[pruner.sample_indices_]``.

        Returns
        -------
        X_kept : same container as X, of shape (n_kept, ...)
            ``X[sample_indices_]``, the user's own rows even when the network
            read an encoding of them (``encoder_``): a pandas DataFrame keeps
            its index, columns and dtypes, a polars DataFrame stays one,
            arrays keep their dtype, a list stays a list (``set_output``
            chooses another container).
        y_kept : same container as y, of shape (n_kept,)
            ``y[sample_indices_]``.
        """
        refuse_fit_params(self, "fit_resample", params)
        return self._fit_resample(X, y)

    def _fit_resample(self, X, y):
        self.fit(X, y)
        kept = self.sample_indices_
        X_kept = take_rows(X, kept)
        container = getattr(self, "_sklearn_output_config", {}).get("transform")
        container = container or get_config()["transform_output"]
        if container != "default":
            X_kept = as_container(X_kept, container, self.get_feature_names_out, kept)
        return X_kept, take_rows(y, kept)

    def set_output(self, *, transform=None):
        """Choose the container of the kept ``X`` that ``fit_resample`` returns.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            "default": X's own container (scikit-learn's global
            ``transform_output`` applies while this is not set). "pandas" or
            "polars": a DataFrame of that library; NumPy rows get the columns
            of ``get_feature_names_out()`` (and, for pandas, the kept row
            positions as index), a DataFrame of the other library is
            converted. None leaves the setting as it is. ``y_kept`` always
            keeps y's container.

        Returns
        -------
        self : object
            The pruner.
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas", "polars"):
            raise ValueError(
                f"set_output(transform={transform!r}): choose 'default', 'pandas' or 'polars'."
            )
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
        return self

    def fit_transform(self, X, y=None, **params):
        """Same as :meth:`fit_resample`: returns the kept ``(X, y)``.

        Offered so that ``pruner.fit_transform(X, y)`` works on arrays. Inside
        a pipeline use :func:`sklearn_lpntk.make_pipeline`, which calls
        ``fit_resample``.
        """
        refuse_fit_params(self, "fit_transform", params)
        return self.fit_resample(X, y)

    def get_support(self, indices=False, prune_ratio=None):
        """Mask (or indices) of the kept training rows, at this or another ratio.

        Parameters
        ----------
        indices : bool, default=False
            Return indices instead of a boolean mask.
        prune_ratio : float in [0, 1), default=None
            Cut the fitted keep order at this ratio instead of ``prune_ratio``,
            without refitting: the rows a fit with ``prune_ratio`` set to this
            value would keep (on the same data, with the same parameters).
            ``None`` gives ``sample_indices_``.

        Returns
        -------
        support : ndarray
            A boolean mask of shape (n_samples,), or ascending row indices.
        """
        check_is_fitted(self, "sample_indices_")
        kept = self.sample_indices_
        if prune_ratio is not None:
            kept = self._cut_at(prune_ratio)
        if indices:
            return kept.copy()
        mask = np.zeros(self._n_samples_fit, dtype=bool)
        mask[kept] = True
        return mask

    #: Whether ``prune_ratio="auto"`` (near-duplicates found in the data) is supported.
    _accepts_auto = False

    def _check_ratio(self, prune_ratio):
        if prune_ratio == "auto" and self._accepts_auto:
            return
        if not (
            isinstance(prune_ratio, Real)
            and not isinstance(prune_ratio, bool)
            and 0 <= prune_ratio < 1
        ):
            raise ValueError(f"prune_ratio must be a number in [0, 1); got {prune_ratio!r}.")

    def _covers(self, prune_ratio):
        """Whether the fitted keep order can be cut at ``prune_ratio``."""
        self._check_ratio(prune_ratio)
        return self._prepared.covers(prune_ratio)

    def _cut_at(self, prune_ratio):
        if prune_ratio == "auto" and not self._covers(prune_ratio):
            raise ValueError(
                f"{type(self).__name__} was fitted with prune_ratio={self.prune_ratio} and a "
                "rule that does not look for near-duplicates; get_support(prune_ratio='auto') "
                "needs a fit with prune_ratio='auto' or keep=NearDuplicates(...) (either "
                "also serves every numeric ratio, near-duplicates first)."
            )
        if not self._covers(prune_ratio):
            raise ValueError(
                f"{type(self).__name__} was fitted with prune_ratio={self.prune_ratio}, and "
                "the matrix of some class did not fit max_memory, so its keep order "
                f"was computed only that far; prune_ratio={prune_ratio} needs more of it. "
                "Refit with the smaller prune_ratio (or a larger max_memory)."
            )
        return self._prepared.cut(prune_ratio)["kept"]

    def __getattr__(self, name):
        if name in ("transform", "inverse_transform"):
            raise AttributeError(_NO_TRANSFORM.format(name=name))
        if name in _RENAMED_ATTRIBUTES:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}': since 0.8 it is "
                f"'{_RENAMED_ATTRIBUTES[name]}'."
            )
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        # the encoding imputes missing values (and reads categories) unless encoder=None
        encodes = getattr(self, "encoder", "auto") is not None
        tags.input_tags.allow_nan = encodes
        tags.input_tags.categorical = encodes
        tags.input_tags.string = encodes
        tags.non_deterministic = False
        return tags


class ScorePruner(BasePruner):
    """A pruner that scores every row and keeps the highest scores of each class.

    Subclasses implement ``_score_rows``, returning a dict with ``"scores_"``
    (one float per row; +inf is allowed and ranks first) and any other fitted
    attributes. Rows with equal scores are ordered at random (``random_state``).
    The rule is nested: ``keep_order_`` is every class in decreasing score.
    """

    @abstractmethod
    def _score_rows(self, X, y, classes, rng, watch):
        """Score every row: a dict with ``"scores_"`` and other fitted attributes."""

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        fitted = self._score_rows(X, y, classes, rng, watch)
        check_scores(fitted["scores_"], type(self).__name__)
        return [PrefixCut(o) for o in highest_first(fitted["scores_"], rows, rng)], fitted


def check_scores(scores, who):
    """Raise a clear error for NaN (or -inf) scores: a diverged network or overflowing X."""
    scores = np.asarray(scores, dtype=np.float64)
    bad = np.isnan(scores) | (scores == -np.inf)
    if bad.any():
        raise ValueError(f"{who} computed {int(bad.sum())} non-finite scores. {NON_FINITE_HINT}")


def class_rows(y, n_classes):
    """Row indices of every encoded class."""
    return [np.flatnonzero(y == c) for c in range(n_classes)]


def highest_first(scores, rows, rng):
    """Every class's rows (local indices) by decreasing score, ties in random order.

    Keeping the first ``k`` of each is keeping the ``k`` highest scores.
    """
    orders = []
    for idx in rows:
        shuffled = rng.permutation(len(idx))
        orders.append(shuffled[np.argsort(-scores[idx[shuffled]], kind="stable")])
    return orders
