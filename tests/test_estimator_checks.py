"""scikit-learn's and imbalanced-learn's own estimator checks."""

from imblearn.utils.estimator_checks import parametrize_with_checks as imblearn_checks
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks as sklearn_checks

from sklearn_lpntk import LpNTKPruner, PrunedClassifier


def _pruner():
    return LpNTKPruner(max_epochs=1, random_state=0)


EXPECTED_FAILURES = {
    "check_pipeline_consistency": (
        "fit_transform returns the pair (X_kept, y_kept), as the design card asks; the "
        "check compares it with a Pipeline's output as if it were one array."
    ),
}


@sklearn_checks(
    [_pruner(), PrunedClassifier(LogisticRegression(), _pruner())],
    expected_failed_checks=lambda est: EXPECTED_FAILURES if isinstance(est, LpNTKPruner) else {},
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@imblearn_checks([_pruner()])
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)
