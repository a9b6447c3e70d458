"""pruning_curve, max_prune_ratio, most_pruning_within and PruningCurveDisplay."""

import matplotlib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_lpntk import (
    EL2NPruner,
    LpNTKPruner,
    PruningCurve,
    PruningCurveDisplay,
    RandomPruner,
    make_pipeline,
    max_prune_ratio,
    most_pruning_within,
    pruning_curve,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(y))[:450]
    return X[idx] / 16.0, y[idx]


def _clf():
    return LogisticRegression(max_iter=300)


def _hand_loop(pruner, X, y, ratios, folds, score):
    """The curve written out: prune the training fold, fit, score the test fold."""
    out = np.empty((len(ratios), len(folds)))
    for i, ratio in enumerate(ratios):
        for j, (train, test) in enumerate(folds):
            p = clone(pruner).set_params(prune_ratio=ratio)
            X_kept, y_kept = p.fit_resample(X[train], y[train])
            model = _clf().fit(X_kept, y_kept)
            out[i, j] = score(y[test], model.predict(X[test]))
    return out


@pytest.mark.parametrize(
    "pruner", [EL2NPruner(max_epochs=2, random_state=3), LpNTKPruner(max_epochs=2, random_state=3)]
)
def test_curve_equals_a_hand_written_loop_over_the_same_folds(digits, pruner):
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    folds = list(cv.split(X, y))
    ratios = [0.2, 0.6]
    curve = pruning_curve(
        _clf(),
        X,
        y,
        pruner=pruner,
        prune_ratios=ratios,
        cv=cv,
        baseline=RandomPruner(random_state=5),
        scoring="balanced_accuracy",
    )
    assert np.array_equal(curve.prune_ratios, ratios)
    expected = _hand_loop(pruner, X, y, ratios, folds, balanced_accuracy_score)
    np.testing.assert_allclose(curve.scores, expected, rtol=0, atol=1e-12)
    baseline = _hand_loop(
        RandomPruner(random_state=5), X, y, ratios, folds, balanced_accuracy_score
    )
    np.testing.assert_allclose(curve.baseline_scores, baseline, rtol=0, atol=1e-12)
    full = [
        balanced_accuracy_score(y[te], _clf().fit(X[tr], y[tr]).predict(X[te])) for tr, te in folds
    ]
    np.testing.assert_allclose(curve.full_scores, full, rtol=0, atol=1e-12)
    # kept fraction: what the pruner keeps of each training fold, averaged
    for i, ratio in enumerate(ratios):
        kept = [
            len(clone(pruner).set_params(prune_ratio=ratio).fit_resample(X[tr], y[tr])[1]) / len(tr)
            for tr, _ in folds
        ]
        assert curve.kept_fraction[i] == pytest.approx(np.mean(kept))
    assert curve.kept_fraction[0] > curve.kept_fraction[1]
    assert curve.fit_times.shape == (2, 3) and np.all(curve.fit_times > 0)
    assert (curve.name, curve.baseline_name) == (type(pruner).__name__, "RandomPruner")


def test_random_state_seeds_every_pruner_reproducibly(digits):
    X, y = digits
    kwargs = dict(pruner=RandomPruner(), prune_ratios=[0.5], cv=3)
    a = pruning_curve(_clf(), X, y, random_state=0, **kwargs)
    b = pruning_curve(_clf(), X, y, random_state=0, **kwargs)
    c = pruning_curve(_clf(), X, y, random_state=1, **kwargs)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.baseline_scores, b.baseline_scores)
    assert not np.array_equal(a.scores, c.scores)
    # with a random_state, the pruner and a same-class baseline get the same seeds
    np.testing.assert_array_equal(a.scores, a.baseline_scores)


def test_pipeline_estimator_and_n_jobs_give_the_same_curve(digits):
    X, y = digits
    est = make_pipeline(StandardScaler(), _clf())
    kwargs = dict(pruner=RandomPruner(random_state=0), prune_ratios=[0.3], cv=3, random_state=0)
    one = pruning_curve(est, X, y, **kwargs)
    two = pruning_curve(est, X, y, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.scores, two.scores)


def _curve(scores, full, baseline=None):
    scores = np.asarray(scores, dtype=float)
    ratios = np.linspace(0.1, 0.9, len(scores))
    return PruningCurve(
        prune_ratios=ratios,
        kept_fraction=1 - ratios,
        scores=scores,
        baseline_kept_fraction=1 - ratios,
        baseline_scores=scores if baseline is None else np.asarray(baseline, dtype=float),
        full_scores=np.asarray(full, dtype=float),
        fit_times=np.ones_like(scores),
        name="P",
        baseline_name="B",
    )


def test_max_prune_ratio_reads_the_first_drop():
    ratios = np.linspace(0.1, 0.9, 5)
    full = [0.90, 0.92]  # mean 0.91
    curve = _curve([[0.91, 0.91], [0.906, 0.906], [0.90, 0.90], [0.91, 0.91], [0.5, 0.5]], full)
    assert max_prune_ratio(curve, tol=0.005) == pytest.approx(ratios[1])
    # the good score at ratios[3] is not trusted after the drop at ratios[2]
    assert max_prune_ratio(curve, tol=0.01) == pytest.approx(ratios[3])
    assert max_prune_ratio(curve, tol=1.0) == pytest.approx(ratios[4])
    worse = _curve([[0.8, 0.8]] * 5, full)
    assert max_prune_ratio(worse, tol=0.005) == 0.0
    mixed = _curve([[0.91, 0.91]] * 5, full, baseline=[[0.5, 0.5]] * 5)
    assert max_prune_ratio(mixed, of="baseline") == 0.0
    assert max_prune_ratio(mixed, of="pruner") == pytest.approx(0.9)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"tol": -0.1}, "tol"), ({"tol": float("nan")}, "tol"), ({"of": "random"}, "of")],
)
def test_max_prune_ratio_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        max_prune_ratio(_curve([[0.9]], [0.9]), **kwargs)
    with pytest.raises(TypeError, match="PruningCurve"):
        max_prune_ratio({"scores": []})


def test_most_pruning_within_picks_the_largest_ratio_within_tol():
    results = {
        "param_p__prune_ratio": np.ma.array([0.1, 0.3, 0.5, 0.7]),
        "param_p__keep": np.ma.array(["a", "a", "a", "a"], dtype=object),
        "mean_test_score": np.array([0.95, 0.951, 0.946, 0.93]),
    }
    assert most_pruning_within(0.005)(results) == 2
    assert most_pruning_within(0.0)(results) == 1
    assert most_pruning_within(0.1)(results) == 3
    assert most_pruning_within(0.1, param="p__prune_ratio")(results) == 3
    with pytest.raises(ValueError, match="not in the grid"):
        most_pruning_within(0.1, param="q__prune_ratio")(results)
    with pytest.raises(ValueError, match="single scoring metric"):
        most_pruning_within(0.1)({"param_p__prune_ratio": [0.1], "mean_test_acc": [1.0]})


def test_most_pruning_within_as_grid_search_refit(digits):
    X, y = digits
    pipe = make_pipeline(RandomPruner(random_state=0), _clf())
    grid = {"randompruner__prune_ratio": [0.0, 0.2, 0.5, 0.8]}
    search = GridSearchCV(pipe, grid, cv=3, refit=most_pruning_within(0.02)).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    chosen = search.best_params_["randompruner__prune_ratio"]
    ok = [r for r, s in zip(grid["randompruner__prune_ratio"], scores) if s >= scores.max() - 0.02]
    assert chosen == max(ok)
    assert len(search.best_estimator_.steps[0][1].sample_indices_) < len(y)


def test_display_draws_lines_bands_and_the_full_line(digits):
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D

    X, y = digits
    fig, ax = plt.subplots()
    display = PruningCurveDisplay.from_estimator(
        _clf(),
        X,
        y,
        pruner=[RandomPruner(), EL2NPruner(max_epochs=2)],
        prune_ratios=[0.3, 0.6],
        cv=3,
        random_state=0,
        ax=ax,
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert len(display.lines_) == 3 and all(isinstance(x, Line2D) for x in display.lines_)
    assert len(display.fill_between_) == 3
    assert all(isinstance(b, PolyCollection) for b in display.fill_between_)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["RandomPruner", "EL2NPruner", "RandomPruner (baseline)"]
    assert labels[3].startswith("full data")
    curve = display.curves[1]
    np.testing.assert_allclose(display.lines_[1].get_xdata(), curve.kept_fraction)
    np.testing.assert_allclose(display.lines_[1].get_ydata(), curve.scores.mean(axis=1))
    assert display.full_line_.get_ydata()[0] == pytest.approx(curve.full_scores.mean())
    assert ax.get_xlabel() == "fraction of training rows kept"
    # the shared baseline and full fits are the same for both pruners
    assert display.curves[0].baseline_scores is display.curves[1].baseline_scores
    # re-plot with error bars on new axes
    fig2, ax2 = plt.subplots()
    display.plot(ax=ax2, std_display_style="errorbar")
    assert display.ax_ is ax2 and len(display.errorbar_) == 3 and not display.fill_between_
    display.plot(std_display_style=None)
    assert not display.errorbar_ and not display.fill_between_ and len(display.lines_) == 3
    plt.close("all")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"prune_ratios": [0.1, 1.0]}, ValueError, "prune_ratios"),
        ({"prune_ratios": []}, ValueError, "prune_ratios"),
        ({"prune_ratios": [0.2, 0.2]}, ValueError, "repeated"),
        ({"pruner": "lpntk"}, TypeError, "pruner must be a pruner"),
        ({"pruner": []}, ValueError, "empty list"),
        ({"baseline": StandardScaler()}, TypeError, "baseline must be a pruner"),
    ],
)
def test_pruning_curve_errors_before_any_fit(kwargs, error, match):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(error, match=match):
        pruning_curve(_clf(), X, y, **kwargs)


def test_pruning_curve_needs_a_classifier():
    from sklearn.linear_model import Ridge

    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match="classifier"):
        pruning_curve(Ridge(), X, y, pruner=RandomPruner())
    with pytest.raises(ValueError, match="std_display_style"):
        PruningCurveDisplay(curves=_curve([[0.9]], [0.9])).plot(std_display_style="bars")
