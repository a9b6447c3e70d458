"""How much can be pruned: cross-validated scores against the prune ratio.

:func:`pruning_curve` fits the estimator on what a pruner and a baseline keep
of every training fold at several prune ratios (each pruner fitted once per
fold, its keep order cut at every ratio), and the estimator alone, on the
same cross-validation folds; only training folds are ever pruned.
:func:`max_prune_ratio` reads the answer off a curve, and
:func:`most_pruning_within` is a ``refit`` rule for :class:`~sklearn.model_selection.GridSearchCV`
that picks the most pruning whose score stays within a tolerance of the best.
"""

import numbers
import time
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, check_random_state, indexable
from sklearn.utils._param_validation import Interval, validate_params

from ._base import BasePruner
from ._baselines import RandomPruner
from ._pruner import LpNTKPruner

__all__ = ["PruningCurve", "pruning_curve", "max_prune_ratio", "most_pruning_within"]

DEFAULT_RATIOS = (0.1, 0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class PruningCurve:
    """Cross-validated scores of one pruner, a baseline and the full data.

    Attributes
    ----------
    prune_ratios : ndarray of shape (n_ratios,)
        The prune ratios, in increasing order.
    kept_fraction : ndarray of shape (n_ratios,)
        Mean over folds of the fraction of training rows the pruner kept.
    scores : ndarray of shape (n_ratios, n_splits)
        Test score of "pruner -> estimator" per ratio and fold.
    baseline_kept_fraction : ndarray of shape (n_ratios,)
        Mean over folds of the fraction of training rows the baseline kept.
    baseline_scores : ndarray of shape (n_ratios, n_splits)
        Test score of "baseline -> estimator" on the same folds.
    full_scores : ndarray of shape (n_splits,)
        Test score of the estimator fitted on every training row.
    fit_times : ndarray of shape (n_ratios, n_splits)
        Seconds spent fitting the estimator on the pruned training fold.
    prune_times : ndarray of shape (n_splits,)
        Seconds spent pruning each training fold: the pruner is fitted once per
        fold and its keep order cut at every ratio (0.6; before, the pruning
        was part of ``fit_times`` and repeated for every ratio).
    name, baseline_name : str
        Class names of the pruner and the baseline (for legends).
    """

    prune_ratios: np.ndarray
    kept_fraction: np.ndarray
    scores: np.ndarray
    baseline_kept_fraction: np.ndarray
    baseline_scores: np.ndarray
    full_scores: np.ndarray
    fit_times: np.ndarray
    name: str
    baseline_name: str
    prune_times: np.ndarray = None

    def summary(self):
        """One row per ratio: ratio, kept fraction, mean and sd of both scores.

        Returns
        -------
        rows : list of dict
            Keys ``prune_ratio``, ``kept_fraction``, ``score_mean``,
            ``score_std``, ``baseline_mean``, ``baseline_std``, ``full_mean``.
        """
        return [
            {
                "prune_ratio": float(r),
                "kept_fraction": float(k),
                "score_mean": float(s.mean()),
                "score_std": float(s.std()),
                "baseline_mean": float(b.mean()),
                "baseline_std": float(b.std()),
                "full_mean": float(self.full_scores.mean()),
            }
            for r, k, s, b in zip(
                self.prune_ratios, self.kept_fraction, self.scores, self.baseline_scores
            )
        ]


def _check_ratios(prune_ratios):
    ratios = np.asarray(prune_ratios, dtype=float).ravel()
    if (
        ratios.size == 0
        or not np.all(np.isfinite(ratios))
        or np.any(ratios < 0)
        or np.any(ratios >= 1)
    ):
        raise ValueError(
            f"prune_ratios must be a non-empty list of numbers in [0, 1); got {prune_ratios!r}. "
            "Pass for example prune_ratios=[0.1, 0.3, 0.5]."
        )
    if len(np.unique(ratios)) != len(ratios):
        raise ValueError(f"prune_ratios has repeated values: {prune_ratios!r}; give each once.")
    return np.sort(ratios)


def _as_sampler(obj, what):
    if isinstance(obj, type):
        obj = obj()
    if not (hasattr(obj, "fit_resample") and hasattr(obj, "get_params")):
        raise TypeError(
            f"{what} must be a pruner (an estimator with fit_resample and a prune_ratio "
            f"parameter, such as LpNTKPruner() or RandomPruner); got {obj!r}."
        )
    if "prune_ratio" not in obj.get_params(deep=False):
        raise ValueError(
            f"{what} {type(obj).__name__} has no prune_ratio parameter, so a curve over "
            "prune ratios cannot be drawn for it."
        )
    return obj


def check_pruners(pruner):
    """The pruner argument as a list of unfitted pruners (LpNTKPruner() when None)."""
    if pruner is None:
        return [LpNTKPruner()]
    pruners = list(pruner) if isinstance(pruner, (list, tuple)) else [pruner]
    if not pruners:
        raise ValueError("pruner is an empty list; pass at least one pruner, or None.")
    return [_as_sampler(p, "pruner") for p in pruners]


def _seeded(sampler, ratio, seed):
    sampler = clone(sampler).set_params(prune_ratio=ratio)
    if seed is not None and "random_state" in sampler.get_params(deep=False):
        sampler.set_params(random_state=seed)
    return sampler


def _fit_and_score(estimator, sampler, ratios, X, y, train, test, scorer):
    """Prune the training fold once, then fit and score the estimator at every ratio.

    ``sampler`` is None for the full-data fit. A pruner of this package is
    fitted at the smallest ratio and its keep order cut at the others (the same
    rows a fit at each ratio keeps); any other sampler is fitted per ratio.
    Returns ``(scores, kept_fractions, fit_seconds, prune_seconds)``.
    """
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    if sampler is None:
        start = time.perf_counter()
        model = clone(estimator).fit(X_train, y_train)
        return [scorer(model, X_test, y_test)], [1.0], [time.perf_counter() - start], 0.0
    start = time.perf_counter()
    fitted = None
    if isinstance(sampler, BasePruner):
        fitted = clone(sampler).set_params(prune_ratio=min(ratios)).fit(X_train, y_train)
    prune_seconds = time.perf_counter() - start
    scores, kept, fit_seconds = [], [], []
    for ratio in ratios:
        start = time.perf_counter()
        if fitted is not None and fitted._covers(ratio):
            rows = fitted.get_support(indices=True, prune_ratio=ratio)
        else:  # another sampler, or a lazy keep order that does not reach this ratio
            rows = (
                clone(sampler).set_params(prune_ratio=ratio).fit(X_train, y_train).sample_indices_
            )
        prune_seconds += time.perf_counter() - start
        start = time.perf_counter()
        model = clone(estimator).fit(_safe_indexing(X_train, rows), _safe_indexing(y_train, rows))
        fit_seconds.append(time.perf_counter() - start)
        scores.append(scorer(model, X_test, y_test))
        kept.append(len(rows) / len(train))
    return scores, kept, fit_seconds, prune_seconds


def compute_curves(
    estimator,
    X,
    y,
    pruners,
    *,
    prune_ratios=DEFAULT_RATIOS,
    baseline=RandomPruner,
    cv=5,
    scoring=None,
    n_jobs=None,
    random_state=None,
    verbose=0,
):
    """Curves for several pruners that share the folds, the baseline and the full fit.

    Every pruner (and the baseline) is fitted once per fold; its keep order is
    cut at every ratio. Returns a list of :class:`PruningCurve`, one per
    pruner, in order.
    """
    ratios = _check_ratios(prune_ratios)
    pruners = check_pruners(pruners)
    baseline = _as_sampler(baseline, "baseline")
    if not is_classifier(estimator):
        raise TypeError(
            f"estimator must be a classifier (pruners keep rows of every class); got "
            f"{type(estimator).__name__}."
        )
    X, y = indexable(X, y)
    cv = check_cv(cv, y, classifier=True)
    folds = list(cv.split(X, y))
    scorer = check_scoring(estimator, scoring=scoring)
    seeds = [None] * len(folds)
    if random_state is not None:
        rng = check_random_state(random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(folds)).tolist()
    # job order: full fit per fold, then the baseline and each pruner per fold
    jobs = [(None, train, test) for train, test in folds]
    samplers = [baseline] + pruners
    for sampler in samplers:
        jobs += [
            (_seeded(sampler, ratios[0], seed), train, test)
            for seed, (train, test) in zip(seeds, folds)
        ]
    results = Parallel(n_jobs=n_jobs, verbose=verbose)(
        delayed(_fit_and_score)(estimator, sampler, ratios, X, y, train, test, scorer)
        for sampler, train, test in jobs
    )
    n_f = len(folds)
    full = np.array([r[0][0] for r in results[:n_f]], dtype=float)
    blocks = []
    for i in range(len(samplers)):
        block = results[n_f + i * n_f : n_f + (i + 1) * n_f]  # one per fold
        scores = np.array([r[0] for r in block], dtype=float).T  # (n_ratios, n_splits)
        kept = np.array([r[1] for r in block], dtype=float).T.mean(axis=1)
        times = np.array([r[2] for r in block], dtype=float).T
        prune = np.array([r[3] for r in block], dtype=float)
        blocks.append((scores, kept, times, prune))
    (b_scores, b_kept, _, _), rest = blocks[0], blocks[1:]
    return [
        PruningCurve(
            prune_ratios=ratios,
            kept_fraction=kept,
            scores=scores,
            baseline_kept_fraction=b_kept,
            baseline_scores=b_scores,
            full_scores=full,
            fit_times=times,
            prune_times=prune,
            name=type(p).__name__,
            baseline_name=type(baseline).__name__,
        )
        for p, (scores, kept, times, prune) in zip(pruners, rest)
    ]


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "pruner": [None, object],
        "prune_ratios": ["array-like"],
        "baseline": [object],
        "cv": ["cv_object"],
        "scoring": [None, str, callable],
        "n_jobs": [None, numbers.Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=False,
)
def pruning_curve(
    estimator,
    X,
    y,
    *,
    pruner=None,
    prune_ratios=DEFAULT_RATIOS,
    baseline=RandomPruner,
    cv=5,
    scoring=None,
    n_jobs=None,
    random_state=None,
    verbose=0,
):
    """Cross-validated score of a classifier trained on pruned data, per prune ratio.

    For every fold of ``cv`` and every ratio, ``estimator`` is fitted on the
    rows of the training fold that the pruner (and the baseline) keeps at that
    ratio, and scored on the whole test fold; only the training fold is ever
    pruned. ``estimator`` alone is fitted once per fold for the full-data
    score. Like :func:`sklearn.model_selection.learning_curve`, with the prune
    ratio in place of the training-set size.

    The pruner is fitted **once per fold**, at the smallest ratio, and its
    keep order is cut at every ratio: the rows are those that
    ``make_pipeline(pruner, estimator)`` with each ``prune_ratio`` would keep
    (the pruner's training and kernel do not depend on the ratio), so a curve
    costs about one pruning per fold plus the estimator's fits. Samplers
    from elsewhere are fitted at every ratio.

    Parameters
    ----------
    estimator : classifier
        The downstream model (any scikit-learn classifier or pipeline); cloned.
    X : array-like or sparse matrix of shape (n_samples, ...)
        Training data, as the pruner accepts it (images included).
    y : array-like of shape (n_samples,)
        Class labels.
    pruner : pruner, default=None
        The pruner to assess, e.g. ``LpNTKPruner()``; ``None`` means
        ``LpNTKPruner()``. Its ``prune_ratio`` is set to each ratio in turn.
    prune_ratios : array-like of float, default=(0.1, 0.3, 0.5, 0.7, 0.9)
        Fractions of every class to remove, each in [0, 1).
    baseline : pruner or pruner class, default=RandomPruner
        The reference at the same ratios, on the same folds.
    cv : int, cross-validation generator or iterable, default=5
        As in scikit-learn; an integer means ``StratifiedKFold(cv)``.
    scoring : str or callable, default=None
        A scorer name or callable; ``None`` uses the estimator's ``score``.
    n_jobs : int, default=None
        Fits run in parallel with joblib over (pruner, fold) pairs.
    random_state : int, RandomState instance or None, default=None
        When given, every pruner's (and the baseline's) ``random_state`` is
        set to a seed drawn from it, one per fold, so the curve is
        reproducible; ``None`` leaves the pruners' own ``random_state``.
    verbose : int, default=0
        joblib's verbosity.

    Returns
    -------
    curve : PruningCurve
        Ratios, kept fractions, and per-fold scores of the pruner, the
        baseline and the full data.

    See Also
    --------
    max_prune_ratio : the largest ratio within a tolerance of the full data.
    PruningCurveDisplay : plot the curve.
    most_pruning_within : the same question as a ``GridSearchCV`` refit rule.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_lpntk import EL2NPruner, pruning_curve, max_prune_ratio
    >>> X, y = load_iris(return_X_y=True)
    >>> curve = pruning_curve(LogisticRegression(max_iter=500), X, y,
    ...                       pruner=EL2NPruner(max_epochs=3), prune_ratios=[0.2, 0.5],
    ...                       cv=3, random_state=0)
    >>> curve.scores.shape
    (2, 3)
    >>> 0 <= max_prune_ratio(curve, tol=0.05) < 1
    True
    """
    return compute_curves(
        estimator,
        X,
        y,
        pruner,
        prune_ratios=prune_ratios,
        baseline=baseline,
        cv=cv,
        scoring=scoring,
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=verbose,
    )[0]


def max_prune_ratio(curve, tol=0.005, *, of="pruner"):
    """The largest prune ratio whose mean score stays within ``tol`` of the full data's.

    Ratios are read in increasing order and the answer is the last one before
    the first ratio whose mean score falls more than ``tol`` below the mean
    full-data score: a ratio that scores well only after a worse one is not
    trusted. Returns 0.0 when even the smallest ratio falls short.

    Parameters
    ----------
    curve : PruningCurve
        From :func:`pruning_curve` (or a display's ``curves``).
    tol : float, default=0.005
        Allowed drop in score (in the scorer's units: 0.005 is half a point of
        accuracy).
    of : {"pruner", "baseline"}, default="pruner"
        Which of the curve's two pipelines to read.

    Returns
    -------
    ratio : float

    See Also
    --------
    pruning_curve : computes the curve.
    """
    if not isinstance(curve, PruningCurve):
        raise TypeError(f"curve must be a PruningCurve from pruning_curve; got {type(curve)}.")
    if not (isinstance(tol, numbers.Real) and np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0; got {tol!r}.")
    if of not in ("pruner", "baseline"):
        raise ValueError(f"of must be 'pruner' or 'baseline'; got {of!r}.")
    scores = curve.scores if of == "pruner" else curve.baseline_scores
    floor = curve.full_scores.mean() - tol
    best = 0.0
    for ratio, row in zip(curve.prune_ratios, scores):
        if row.mean() < floor:
            break
        best = float(ratio)
    return best


@validate_params(
    {"tol": [Interval(numbers.Real, 0, None, closed="left")], "param": [None, str]},
    prefer_skip_nested_validation=True,
)
def most_pruning_within(tol=0.005, *, param=None):
    """A ``refit`` rule for GridSearchCV: the most pruning within ``tol`` of the best score.

    ``GridSearchCV(pipe, grid, refit=most_pruning_within(0.01))`` refits the
    candidate with the largest prune ratio among those whose mean test score
    is at most ``tol`` below the best candidate's; ties go to the higher score.

    Parameters
    ----------
    tol : float, default=0.005
        Allowed drop in mean test score from the best candidate.
    param : str, default=None
        The grid key of the prune ratio, e.g. ``"lpntkpruner__prune_ratio"``.
        ``None`` finds the one key that ends in ``prune_ratio``.

    Returns
    -------
    refit : callable
        Takes ``cv_results_`` and returns the index of the chosen candidate.

    See Also
    --------
    pruning_curve : the same question answered with a baseline.
    """

    def refit(cv_results):
        if "mean_test_score" not in cv_results:
            raise ValueError(
                "most_pruning_within needs a single scoring metric (cv_results_ has no "
                "'mean_test_score'); with several metrics write the rule for the one you want."
            )
        keys = [k[6:] for k in cv_results if k.startswith("param_")]
        key = param
        if key is None:
            found = [k for k in keys if k.endswith("prune_ratio")]
            if len(found) != 1:
                raise ValueError(
                    f"most_pruning_within could not tell the prune-ratio key among {keys}; "
                    "pass param='<step>__prune_ratio'."
                )
            key = found[0]
        if key not in keys:
            raise ValueError(f"param {key!r} is not in the grid; the grid has {keys}.")
        scores = np.asarray(cv_results["mean_test_score"], dtype=float)
        ratios = np.asarray(cv_results["param_" + key], dtype=float)
        ok = np.flatnonzero(scores >= np.nanmax(scores) - tol)
        order = np.lexsort((-scores[ok], -ratios[ok]))  # largest ratio, then best score
        return int(ok[order[0]])

    refit.__name__ = f"most_pruning_within_{tol}"
    return refit
