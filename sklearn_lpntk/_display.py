"""PruningCurveDisplay: score against the fraction of data kept, in scikit-learn's Display style."""

import numpy as np

from ._baselines import RandomPruner
from ._curve import DEFAULT_RATIOS, PruningCurve, compute_curves

__all__ = ["PruningCurveDisplay"]

_STYLES = ("fill_between", "errorbar", None)


class PruningCurveDisplay:
    """Pruning curve visualisation: score against fraction of training data kept.

    Build it with :meth:`from_estimator` (which runs :func:`pruning_curve`)
    or from curves you already have, then call :meth:`plot`. One line per
    pruner and one for the baseline show the mean over folds, with a band of
    ± one standard deviation; a horizontal line marks the full-data score.

    Parameters
    ----------
    curves : PruningCurve or list of PruningCurve
        Curves sharing a baseline and full-data fits (as
        :meth:`from_estimator` makes them).
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    lines_ : list of matplotlib Line2D
        Mean score lines: one per pruner, then the baseline.
    fill_between_ : list of matplotlib PolyCollection
        The ± sd bands, in the order of ``lines_`` (``std_display_style="fill_between"``).
    errorbar_ : list of matplotlib ErrorbarContainer
        The error bars, in the order of ``lines_`` (``std_display_style="errorbar"``).
    full_line_ : matplotlib Line2D
        The full-data mean score.

    See Also
    --------
    pruning_curve : compute the curve without plotting.
    max_prune_ratio : the largest ratio within a tolerance of the full data.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_lpntk import EL2NPruner, PruningCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> display = PruningCurveDisplay.from_estimator(
    ...     LogisticRegression(max_iter=500), X, y, pruner=EL2NPruner(max_epochs=3),
    ...     prune_ratios=[0.2, 0.5], cv=3, random_state=0)
    >>> len(display.lines_)
    2
    """

    def __init__(self, *, curves, estimator_name=None):
        curves = [curves] if isinstance(curves, PruningCurve) else list(curves)
        if not curves or not all(isinstance(c, PruningCurve) for c in curves):
            raise TypeError("curves must be a PruningCurve or a non-empty list of them.")
        self.curves = curves
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
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
        ax=None,
        std_display_style="fill_between",
        line_kw=None,
        fill_between_kw=None,
        errorbar_kw=None,
    ):
        """Compute pruning curves and plot them.

        Parameters
        ----------
        estimator : classifier
            The downstream model; cloned.
        X : array-like or sparse matrix of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        pruner : pruner or list of pruners, default=None
            One curve per pruner (``None``: ``LpNTKPruner()``); the baseline
            and the full-data fits are computed once and shared.
        prune_ratios : array-like of float, default=(0.1, 0.3, 0.5, 0.7, 0.9)
            Fractions of every class to remove.
        baseline : pruner or pruner class, default=RandomPruner
            The reference pruner.
        cv : int, cross-validation generator or iterable, default=5
            Cross-validation folds.
        scoring : str or callable, default=None
            Scorer; ``None`` uses the estimator's ``score``.
        n_jobs : int, default=None
            Parallel fits with joblib.
        random_state : int, RandomState instance or None, default=None
            Seeds the pruners per fold (see :func:`pruning_curve`).
        verbose : int, default=0
            joblib's verbosity.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        std_display_style : {"fill_between", "errorbar"} or None, default="fill_between"
            How the standard deviation over folds is drawn.
        line_kw, fill_between_kw, errorbar_kw : dict, default=None
            Extra keyword arguments for ``ax.plot``, ``ax.fill_between`` and
            ``ax.errorbar``.

        Returns
        -------
        display : PruningCurveDisplay
        """
        _check_style(std_display_style)
        curves = compute_curves(
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
        )
        name = type(estimator).__name__
        if hasattr(estimator, "steps"):
            name = type(estimator.steps[-1][1]).__name__
        return cls(curves=curves, estimator_name=name).plot(
            ax=ax,
            std_display_style=std_display_style,
            line_kw=line_kw,
            fill_between_kw=fill_between_kw,
            errorbar_kw=errorbar_kw,
        )

    def plot(
        self,
        ax=None,
        *,
        std_display_style="fill_between",
        line_kw=None,
        fill_between_kw=None,
        errorbar_kw=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        std_display_style : {"fill_between", "errorbar"} or None, default="fill_between"
            How the standard deviation over folds is drawn.
        line_kw, fill_between_kw, errorbar_kw : dict, default=None
            Extra keyword arguments for ``ax.plot``, ``ax.fill_between`` and
            ``ax.errorbar``.

        Returns
        -------
        display : PruningCurveDisplay
            ``self``, with ``ax_``, ``figure_`` and the artists set.
        """
        _check_style(std_display_style)
        if ax is None:
            try:
                import matplotlib.pyplot as plt
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "PruningCurveDisplay needs matplotlib: pip install 'sklearn-lpntk[plot]'."
                ) from exc
            _, ax = plt.subplots(figsize=(6.4, 4.2))
        first = self.curves[0]
        series = [(c.name, c.kept_fraction, c.scores) for c in self.curves]
        series.append(
            (
                f"{first.baseline_name} (baseline)",
                first.baseline_kept_fraction,
                first.baseline_scores,
            )
        )
        self.lines_, self.fill_between_, self.errorbar_ = [], [], []
        for i, (label, kept, scores) in enumerate(series):
            mean, std = scores.mean(axis=1), scores.std(axis=1)
            style = {"marker": "o", "label": label}
            if i == len(series) - 1:
                style.update(color="0.35", linestyle="--")
            style.update(line_kw or {})
            if std_display_style == "errorbar":
                bars = ax.errorbar(
                    kept, mean, yerr=std, capsize=3, **{**style, **(errorbar_kw or {})}
                )
                self.errorbar_.append(bars)
                self.lines_.append(bars.lines[0])
                continue
            (line,) = ax.plot(kept, mean, **style)
            self.lines_.append(line)
            if std_display_style == "fill_between":
                band = {"alpha": 0.2, "color": line.get_color(), **(fill_between_kw or {})}
                self.fill_between_.append(ax.fill_between(kept, mean - std, mean + std, **band))
        full = first.full_scores
        self.full_line_ = ax.axhline(
            full.mean(),
            color="black",
            linewidth=1,
            label=f"full data ({full.mean():.3f} ± {full.std():.3f})",
        )
        ax.set_xlabel("fraction of training rows kept")
        ax.set_ylabel("cross-validated score")
        ax.set_xlim(min(0.0, float(np.min([c.kept_fraction.min() for c in self.curves]))), 1.02)
        title = "Pruning curve"
        if self.estimator_name:
            title += f" ({self.estimator_name})"
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _check_style(style):
    if style not in _STYLES:
        raise ValueError(
            f"std_display_style must be 'fill_between', 'errorbar' or None; got {style!r}."
        )
