"""Really running pipelines, grid search and cross-validation on digits."""

import numpy as np
import pytest
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, cross_validate
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lpntk import LpNTKPruner, Pipeline, PrunedClassifier, make_pipeline

from ._counts import expected_counts, kept_count
from .conftest import fast_pruner

CALLS = []


class SpyClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that records every fit and predict it receives."""

    def fit(self, X, y):
        self.X_fit_ = np.asarray(X).copy()
        self.y_fit_ = np.asarray(y).copy()
        self.model_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        CALLS.append(("fit", len(X)))
        return self

    def predict(self, X):
        CALLS.append(("predict", len(X)))
        return self.model_.predict(X)


def balanced_count(y_train, prune_ratio):
    counts = list(expected_counts(y_train, prune_ratio).values())
    return min(counts) * len(counts)


def test_grid_search_over_prune_ratio_with_second_sampler(digits):
    X, y = digits
    CALLS.clear()
    pipe = make_pipeline(
        fast_pruner(max_epochs=1), RandomUnderSampler(random_state=0), SpyClassifier()
    )
    assert list(pipe.named_steps) == ["lpntkpruner", "randomundersampler", "spyclassifier"]
    ratios = [0.1, 0.3, 0.5]
    cv = StratifiedKFold(3)
    search = GridSearchCV(pipe, {"lpntkpruner__prune_ratio": ratios}, cv=cv, refit=True)
    search.fit(X, y)
    folds = list(cv.split(X, y))
    expected_fit, expected_predict = [], []
    for r in ratios:
        for train, test in folds:
            expected_fit.append(balanced_count(y[train], r))
            expected_predict.append(len(test))
    fits = [n for kind, n in CALLS if kind == "fit"]
    predicts = [n for kind, n in CALLS if kind == "predict"]
    # downstream fit saw the pruned then undersampled training fold; refit last
    assert fits[:-1] == expected_fit
    assert fits[-1] == balanced_count(y, search.best_params_["lpntkpruner__prune_ratio"])
    # every test row was scored, none pruned
    assert predicts == expected_predict
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.score(X, y) > 0.8


def test_cross_validate_downstream_sees_exactly_the_kept_rows(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(),
        fast_pruner(max_epochs=1, prune_ratio=0.3),
        RandomUnderSampler(random_state=0),
        SpyClassifier(),
    )
    res = cross_validate(pipe, X, y, cv=3, return_estimator=True, return_indices=True)
    for fitted, train, test in zip(
        res["estimator"], res["indices"]["train"], res["indices"]["test"]
    ):
        scaler = fitted.named_steps["standardscaler"]
        pruner = fitted.named_steps["lpntkpruner"]
        rus = fitted.named_steps["randomundersampler"]
        spy = fitted.named_steps["spyclassifier"]
        Xs = scaler.transform(X[train])
        expected_rows = pruner.sample_indices_[rus.sample_indices_]
        np.testing.assert_allclose(spy.X_fit_, Xs[expected_rows])
        np.testing.assert_array_equal(spy.y_fit_, y[train][expected_rows])
        # the pruner itself saw only the training fold
        assert len(pruner.cluster_labels_) == len(train)
        assert len(fitted.predict(X[test])) == len(test)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.7)


def test_pruned_classifier_in_plain_sklearn_pipeline(digits):
    X, y = digits
    CALLS.clear()
    pipe = SkPipeline(
        [
            ("scale", StandardScaler()),
            ("clf", PrunedClassifier(SpyClassifier(), fast_pruner(max_epochs=1))),
        ]
    )
    search = GridSearchCV(pipe, {"clf__pruner__prune_ratio": [0.1, 0.5]}, cv=StratifiedKFold(3))
    search.fit(X, y)
    folds = list(StratifiedKFold(3).split(X, y))
    fits = [n for kind, n in CALLS if kind == "fit"]
    expected = [kept_count(y[tr], r) for r in (0.1, 0.5) for tr, _ in folds]
    assert fits[:-1] == expected
    assert [n for kind, n in CALLS if kind == "predict"] == [
        len(te) for _ in (0, 1) for _, te in folds
    ]
    best = search.best_estimator_.named_steps["clf"]
    np.testing.assert_array_equal(best.classes_, np.unique(y))
    assert not hasattr(best, "predict_proba")  # the spy has none, so neither has the wrapper
    scores = cross_val_score(pipe, X, y, cv=3)
    assert np.all(scores > 0.7)


def test_pruned_classifier_delegates():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = PrunedClassifier(LogisticRegression(max_iter=500), fast_pruner(prune_ratio=0.5))
    clf.fit(X, y)
    assert len(clf.sample_indices_) == 75
    assert clf.predict_proba(X).shape == (150, 3)
    assert clf.decision_function(X).shape == (150, 3)
    assert clf.score(X, y) > 0.8
    assert clf.n_features_in_ == 4


def test_sklearn_pipeline_rejects_a_bare_pruner(digits):
    X, y = digits
    pipe = SkPipeline([("prune", LpNTKPruner()), ("clf", LogisticRegression())])
    with pytest.raises(TypeError, match="transform"):
        pipe.fit(X, y)


def test_plain_imblearn_pipeline_would_misroute_fit_transform(digits):
    """Why sklearn_lpntk ships its own Pipeline: imblearn sends fit_transform first."""
    from imblearn.pipeline import make_pipeline as imb_make_pipeline

    X, y = digits
    with pytest.raises(ValueError):
        imb_make_pipeline(fast_pruner(max_epochs=1), LogisticRegression()).fit(X, y)
    # ours resamples it
    ours = make_pipeline(fast_pruner(max_epochs=1), LogisticRegression(max_iter=300)).fit(X, y)
    assert ours.score(X, y) > 0.8


def test_pipeline_transform_and_fit_resample_never_prune_new_data(digits):
    X, y = digits
    X_res, y_res = make_pipeline(StandardScaler(), fast_pruner(max_epochs=1)).fit_resample(X, y)
    assert len(X_res) == len(y_res) == kept_count(y, 0.3)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("prune", fast_pruner(max_epochs=1)), ("out", "passthrough")]
    ).fit(X, y)
    assert pipe.transform(X).shape == X.shape  # transform skips the pruner
    transformers = Pipeline(
        [
            ("scale", StandardScaler()),
            ("prune", fast_pruner(max_epochs=1)),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    transformers.fit(X, y)
    assert transformers.predict(X).shape == (len(y),)


def test_pipeline_set_output_pandas():
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    pipe = make_pipeline(StandardScaler(), fast_pruner(prune_ratio=0.5)).set_output(
        transform="pandas"
    )
    X_res, y_res = pipe.fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(X.columns)
    assert isinstance(y_res, pd.Series) and len(X_res) == len(y_res) == 75


def test_pipeline_validation_messages():
    with pytest.raises(TypeError, match="fit_resample"):
        make_pipeline(object(), LogisticRegression()).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_parallel_grid_search_gives_the_same_scores(small_digits):
    X, y = small_digits
    pipe = make_pipeline(
        StandardScaler(), fast_pruner(max_epochs=1), LogisticRegression(max_iter=300)
    )
    grid = {"lpntkpruner__prune_ratio": [0.2, 0.6]}
    serial = GridSearchCV(pipe, grid, cv=2, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)  # pickled into workers
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )


def test_pipeline_with_metadata_routing_enabled(small_digits):
    import sklearn

    X, y = small_digits
    pipe = make_pipeline(fast_pruner(max_epochs=1), LogisticRegression(max_iter=300))
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, y)
        assert len(pipe.named_steps["lpntkpruner"].sample_indices_) == kept_count(y, 0.3)
        assert cross_val_score(pipe, X, y, cv=2).shape == (2,)


class WeightSpy(ClassifierMixin, BaseEstimator):
    """A classifier (or, with ``transform``, a transformer) that records the
    ``sample_weight`` and the rows its ``fit`` receives."""

    def fit(self, X, y, sample_weight=None):
        self.n_rows_ = len(X)
        self.weights_ = None if sample_weight is None else np.asarray(sample_weight).copy()
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class WeightSpyTransformer(WeightSpy):
    def transform(self, X):
        return X


def _weights_data(n=90):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = np.arange(n) % 3
    return X, y, np.arange(1.0, n + 1)  # weight = row number + 1: says which rows arrived


def test_sample_weight_follows_the_kept_rows_without_routing():
    from sklearn_lpntk import RandomPruner

    X, y, w = _weights_data()
    pipe = Pipeline(
        [
            ("before", WeightSpyTransformer()),
            ("prune", RandomPruner(0.4, random_state=0)),
            ("after", WeightSpyTransformer()),
            ("clf", WeightSpy()),
        ]
    )
    pipe.fit(X, y, before__sample_weight=w, after__sample_weight=w, clf__sample_weight=w)
    kept = pipe.named_steps["prune"].sample_indices_
    assert len(kept) == kept_count(y, 0.4)
    np.testing.assert_array_equal(pipe.named_steps["before"].weights_, w)  # every row's
    np.testing.assert_array_equal(pipe.named_steps["after"].weights_, w[kept])
    np.testing.assert_array_equal(pipe.named_steps["clf"].weights_, w[kept])
    assert pipe.named_steps["clf"].n_rows_ == len(kept)
    # the pruner itself takes no weights: a clear error, not silence
    with pytest.raises(TypeError, match=r"\['sample_weight'\]"):
        pipe.fit(X, y, prune__sample_weight=w)


def test_sample_weight_follows_the_kept_rows_with_metadata_routing():
    import sklearn

    X, y, w = _weights_data()
    with sklearn.config_context(enable_metadata_routing=True):
        middle = WeightSpyTransformer().set_fit_request(sample_weight=True)
        last = WeightSpy().set_fit_request(sample_weight=True)
        pipe = make_pipeline(fast_pruner(prune_ratio=0.3, max_epochs=1), middle, last)
        pipe.fit(X, y, sample_weight=w)
    kept = pipe.named_steps["lpntkpruner"].sample_indices_
    assert len(kept) == kept_count(y, 0.3)
    np.testing.assert_array_equal(pipe.steps[1][1].weights_, w[kept])
    np.testing.assert_array_equal(pipe.steps[2][1].weights_, w[kept])


def test_sample_weight_in_cross_validation_and_pruned_classifier():
    import sklearn

    from sklearn_lpntk import RandomPruner

    X, y, w = _weights_data()
    pipe = make_pipeline(RandomPruner(0.5, random_state=0), WeightSpy())
    cv = StratifiedKFold(3)
    result = cross_validate(
        pipe, X, y, cv=cv, params={"weightspy__sample_weight": w}, return_estimator=True
    )
    for (train, _), fitted in zip(cv.split(X, y), result["estimator"]):
        kept = fitted.named_steps["randompruner"].sample_indices_
        np.testing.assert_array_equal(fitted.named_steps["weightspy"].weights_, w[train][kept])
    model = PrunedClassifier(WeightSpy(), RandomPruner(0.5, random_state=0)).fit(
        X, y, sample_weight=w
    )
    np.testing.assert_array_equal(model.estimator_.weights_, w[model.sample_indices_])
    with sklearn.config_context(enable_metadata_routing=True):
        inner = PrunedClassifier(
            WeightSpy().set_fit_request(sample_weight=True), RandomPruner(0.5, random_state=0)
        )
        outer = SkPipeline([("model", inner)]).fit(X, y, sample_weight=w)
    fitted = outer.named_steps["model"]
    np.testing.assert_array_equal(fitted.estimator_.weights_, w[fitted.sample_indices_])


def test_a_sampler_that_makes_rows_cannot_carry_weights():
    from imblearn import FunctionSampler

    X, y, w = _weights_data()
    twice = FunctionSampler(func=lambda X, y: (np.r_[X, X], np.r_[y, y]), validate=False)
    pipe = make_pipeline(twice, WeightSpy())
    with pytest.raises(ValueError, match=r"90 training rows into 180.*\['sample_weight'\]"):
        pipe.fit(X, y, weightspy__sample_weight=w)
    pipe.fit(X, y)  # without per-row parameters it is fine
    assert pipe.named_steps["weightspy"].n_rows_ == 180
