"""scikit-learn's and imbalanced-learn's own estimator checks."""

import pytest
from imblearn.utils.estimator_checks import _get_check_estimator_ids, estimator_checks_generator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks as sklearn_checks

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTK,
    LpNTKCleaner,
    LpNTKPruner,
    ModeratePruner,
    PrunedClassifier,
    RandomPruner,
)
from sklearn_lpntk._base import BasePruner
from sklearn_lpntk.rules import Adaptive, Centres, Coverage, FacilityLocation


def _pruner():
    return LpNTKPruner(max_epochs=1, random_state=0)


BASELINES = [
    RandomPruner(random_state=0),
    EL2NPruner(max_epochs=1, n_inits=1, random_state=0),
    GraNdPruner(n_inits=1, random_state=0),
    ForgettingPruner(max_epochs=2, random_state=0),
    CCSPruner(scorer=EL2NPruner(max_epochs=1, n_inits=1), random_state=0),
    ModeratePruner(max_epochs=1, random_state=0),
    LpNTKPruner(max_epochs=1, keep="coverage", kernel=LpNTK(normalize="cosine"), random_state=0),
    LpNTKPruner(max_epochs=1, keep=Coverage(hard_fraction=0.1), random_state=0),
    LpNTKPruner(max_epochs=1, keep=FacilityLocation(graph="exact", n_neighbors=3), random_state=0),
    LpNTKPruner(
        max_epochs=1, keep=FacilityLocation(graph="approximate", n_neighbors=3), random_state=0
    ),
    LpNTKPruner(max_epochs=1, keep=Adaptive(graph="exact", n_neighbors=3), random_state=0),
    LpNTKPruner.paper(max_epochs=1, keep=Centres(selfmax="filter"), random_state=0),
    LpNTKPruner(max_epochs=1, keep="d2", random_state=0),
    LpNTKPruner(max_epochs=1, keep="herding", random_state=0),
    LpNTKPruner("auto", max_epochs=1, random_state=0),
    LpNTKCleaner(max_epochs=1, random_state=0),
    RandomPruner(class_budget="error", random_state=0),
    LpNTKPruner(max_epochs=1, class_budget="error", random_state=0),
]


EXPECTED_FAILURES = {
    "check_pipeline_consistency": (
        "fit_transform returns the pair (X_kept, y_kept), as the design card asks; the "
        "check compares it with a Pipeline's output as if it were one array."
    ),
}


#: PrunedClassifier's pruner encodes tables for its network (strings, categories), so a
#: dict in X is refused by the encoding with a ValueError that names the column and the
#: fix, before the estimator would raise NumPy's TypeError that the check expects.
CLASSIFIER_EXPECTED_FAILURES = {
    "check_dtype_object": (
        "the pruner's encoding refuses a dict in X with a ValueError naming the column "
        "and the fix (encoder=), not NumPy's TypeError"
    ),
}


def _expected_failures(estimator):
    if isinstance(estimator, BasePruner):
        return EXPECTED_FAILURES
    return CLASSIFIER_EXPECTED_FAILURES if isinstance(estimator, PrunedClassifier) else {}


@sklearn_checks(
    [_pruner(), PrunedClassifier(LogisticRegression(), _pruner()), *BASELINES],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# imbalanced-learn's parametrize_with_checks hands pytest a generator; a list is the
# same checks without pytest's deprecation warning.
IMBLEARN_CHECKS = [
    check for est in (_pruner(), *BASELINES) for check in estimator_checks_generator(est)
]


@pytest.mark.parametrize("estimator, check", IMBLEARN_CHECKS, ids=_get_check_estimator_ids)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)
