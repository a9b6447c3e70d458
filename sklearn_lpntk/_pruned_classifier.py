"""PrunedClassifier: prune the training set, then fit a classifier on it."""

from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._pruner import LpNTKPruner
from ._validation import params_of_kept_rows


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


class PrunedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier trained on the rows a pruner keeps.

    ``fit(X, y)`` runs ``pruner.fit_resample(X, y)`` and fits a clone of
    ``estimator`` on the kept rows; prediction methods delegate to that fitted
    estimator and see every row they are given. Use it to prune inside a plain
    :class:`sklearn.pipeline.Pipeline`, which cannot hold a step that removes
    rows: ``Pipeline([("scale", StandardScaler()), ("clf",
    PrunedClassifier(LogisticRegression(), LpNTKPruner()))])`` with the grid key
    ``"clf__pruner__prune_ratio"``.

    Parameters
    ----------
    estimator : classifier
        Fitted on the kept rows (cloned; the argument is not modified).
    pruner : sampler with ``fit_resample``, default=None
        None means ``LpNTKPruner()``. Cloned before fitting.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    pruner_ : sampler
        The fitted clone of ``pruner``.
    classes_ : ndarray of shape (n_classes,)
        Class labels (every class survives pruning).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names, when ``X`` was a DataFrame with string column names.
    sample_indices_ : ndarray
        Rows of the training data the estimator was fitted on.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "pruner": [None, HasMethods(["fit_resample"])],
    }

    def __init__(self, estimator, pruner=None):
        self.estimator = estimator
        self.pruner = pruner

    def fit(self, X, y, **fit_params):
        """Prune ``(X, y)`` and fit the estimator on the kept rows.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to the estimator's ``fit``; with scikit-learn's metadata
            routing enabled, those the estimator requests
            (``estimator.set_fit_request(sample_weight=True)``). A parameter
            with one entry per training row (``sample_weight``) is cut to the
            kept rows first. The pruner takes none: its brief network is
            trained unweighted.

        Returns
        -------
        self : PrunedClassifier
        """
        self._validate_params()
        if get_config()["enable_metadata_routing"]:
            fit_params = process_routing(self, "fit", **fit_params).estimator.fit
        self.pruner_ = clone(self._pruner())
        n_rows = _num_samples(X)
        X_kept, y_kept = self.pruner_.fit_resample(X, y)
        fit_params = params_of_kept_rows(fit_params, self.pruner_.sample_indices_, n_rows)
        self.estimator_ = clone(self.estimator).fit(X_kept, y_kept, **fit_params)
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = self.pruner_.n_features_in_
        if hasattr(self.pruner_, "feature_names_in_"):
            self.feature_names_in_ = self.pruner_.feature_names_in_
        self.sample_indices_ = self.pruner_.sample_indices_
        return self

    def get_metadata_routing(self):
        """How fit parameters reach the estimator (scikit-learn's metadata routing).

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
            ``fit`` routes to the estimator's ``fit``.
        """
        return MetadataRouter(owner=self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit")
        )

    def _pruner(self):
        return LpNTKPruner() if self.pruner is None else self.pruner

    def _fitted_estimator(self):
        check_is_fitted(self, "estimator_")
        return self.estimator_

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict class labels with the estimator fitted on the kept rows."""
        return self._fitted_estimator().predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the estimator fitted on the kept rows."""
        return self._fitted_estimator().predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the estimator fitted on the kept rows."""
        return self._fitted_estimator().predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the estimator fitted on the kept rows."""
        return self._fitted_estimator().decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._pruner().__sklearn_tags__().input_tags.sparse
        tags.input_tags.allow_nan = False  # the estimator sees the user's rows as they are
        return tags
