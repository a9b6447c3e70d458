"""Keep-rules and the kernel as parameter objects (0.8): grid search over their options,
clone, pickling, the HTML repr, the Options protocol, the registry, every rule's checks,
the keywords of 0.7 refused with their new spelling, and LpNTKPruner's short signature
in which every parameter reaches the fit."""

import inspect
import pickle
import re
from html import escape
from unittest import mock

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.utils import estimator_html_repr
from skorch import NeuralNetClassifier

import sklearn_lpntk._baselines._scores as scores_module
import sklearn_lpntk._cleaner as cleaner_module
import sklearn_lpntk._pruner as pruner_module
from sklearn_lpntk import (
    GraNdPruner,
    LpNTK,
    LpNTKCleaner,
    LpNTKPruner,
    lpntk_kernel,
    make_pipeline,
)
from sklearn_lpntk.kernels import LpNTKEngine
from sklearn_lpntk.rules import (
    D2,
    Adaptive,
    Centres,
    Coverage,
    FacilityLocation,
    Herding,
    KeepRule,
    NearDuplicates,
    RandomMember,
    Redundancy,
    ThinLargest,
    register_rule,
    rule_from,
    rule_names,
)
from sklearn_lpntk.selection import Cut, Selection

FAST = dict(max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(2).permutation(len(y))[:240]
    return (X[idx] / 16.0).astype(np.float32), y[idx]


@pytest.fixture
def no_training():
    """Fail the test if a network starts training."""
    with mock.patch.object(
        NeuralNetClassifier, "partial_fit", side_effect=AssertionError("training started")
    ) as m:
        yield m


# ------------------------------------------------------------------ grid search
def _search_equals_cross_validation(pipe, grid, X, y):
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
    ((key, values),) = grid.items()
    assert [p[key] for p in search.cv_results_["params"]] == list(values)
    scores = []
    for value, mean in zip(values, search.cv_results_["mean_test_score"]):
        alone = clone(pipe).set_params(**{key: value})
        expected = cross_val_score(alone, X, y, cv=cv).mean()
        assert mean == pytest.approx(expected), value  # the option reached every fold's fit
        scores.append(mean)
    best = search.best_estimator_.steps[0][1]
    assert best.get_params()[key.split("__", 1)[1]] == search.best_params_[key]
    return search


def test_grid_search_over_a_rule_option(data):
    X, y = data
    rule = Coverage()
    pipe = make_pipeline(LpNTKPruner(0.5, keep=rule, **FAST), LogisticRegression(max_iter=300))
    grid = {"lpntkpruner__keep__hard_fraction": [0.0, 0.3]}
    search = _search_equals_cross_validation(pipe, grid, X, y)
    assert rule == Coverage() and pipe.steps[0][1].keep is rule  # the search cloned it
    kept = [
        LpNTKPruner(0.5, keep=Coverage(hard_fraction=h), **FAST).fit(X, y).sample_indices_
        for h in (0.0, 0.3)
    ]
    assert not np.array_equal(*kept)  # the option changes what is kept
    fitted = search.best_estimator_.steps[0][1]
    assert fitted.keep_rule_ == Coverage(hard_fraction=search.best_params_[next(iter(grid))])


def test_grid_search_over_a_kernel_option(data):
    X, y = data
    pipe = make_pipeline(LpNTKPruner(0.5, kernel=LpNTK(), **FAST), LogisticRegression(max_iter=300))
    grid = {"lpntkpruner__kernel__normalize": ["cosine", None]}
    search = _search_equals_cross_validation(pipe, grid, X, y)
    fitted = {
        n: LpNTKPruner(0.5, kernel=LpNTK(normalize=n), **FAST).fit(X, y) for n in ("cosine", None)
    }
    np.testing.assert_allclose(fitted["cosine"].self_kernel_, 1.0, rtol=1e-5)
    assert not np.allclose(fitted[None].self_kernel_, 1.0)
    best = search.best_estimator_.steps[0][1]
    assert best.kernel == LpNTK(normalize=search.best_params_["lpntkpruner__kernel__normalize"])


def test_deep_params_reach_the_rule_and_the_kernel():
    pruner = LpNTKPruner(keep=Coverage(hard_fraction=0.2), kernel=LpNTK(dtype="float64"))
    params = pruner.get_params(deep=True)
    assert params["keep__hard_fraction"] == 0.2 and params["keep__n_bins"] == 50
    assert params["kernel__dtype"] == "float64" and params["kernel__normalize"] == "cosine"
    assert "keep__hard_fraction" not in pruner.get_params(deep=False)
    pruner.set_params(keep__n_bins=10, kernel__normalize=None)
    assert pruner.keep == Coverage(hard_fraction=0.2, n_bins=10)
    assert pruner.kernel == LpNTK(normalize=None, dtype="float64")
    with pytest.raises(ValueError, match="Coverage has no option 'bins'; its options are"):
        pruner.set_params(keep__bins=3)
    # with a name, the rule has its defaults and no options to reach
    assert not any(k.startswith("keep__") for k in LpNTKPruner().get_params(deep=True))


# ------------------------------------------------------------ clone and pickle
def test_clone_gives_independent_rule_and_kernel_objects_with_equal_options():
    keep = NearDuplicates(rule=Coverage(hard_fraction=0.1), threshold=0.2)
    kernel = LpNTK(normalize="K", chunk_size=32)
    pruner = LpNTKPruner(0.4, keep=keep, kernel=kernel)
    copy = clone(pruner)
    assert copy.keep == keep and copy.keep is not keep
    assert copy.keep.rule == keep.rule and copy.keep.rule is not keep.rule
    assert copy.kernel == kernel and copy.kernel is not kernel
    copy.set_params(keep__rule__hard_fraction=0.3, kernel__chunk_size=8)
    assert keep.rule.hard_fraction == 0.1 and kernel.chunk_size == 32  # the originals
    assert copy.get_params(deep=True)["keep__rule__hard_fraction"] == 0.3
    assert clone(Coverage(hard_fraction=0.1)) == Coverage(hard_fraction=0.1)


def test_pickling_unfitted_and_fitted_pruners_with_objects(data):
    X, y = data
    pruner = LpNTKPruner(0.5, keep=Redundancy(n_neighbors=4), kernel=LpNTK(normalize="K"), **FAST)
    restored = pickle.loads(pickle.dumps(pruner))
    assert restored.get_params(deep=True) == pruner.get_params(deep=True)
    assert restored.keep is not pruner.keep
    pruner.fit(X, y)
    restored = pickle.loads(pickle.dumps(pruner))
    assert restored.keep_rule_ == Redundancy(n_neighbors=4) and restored.keep == pruner.keep
    np.testing.assert_array_equal(restored.sample_indices_, pruner.sample_indices_)
    np.testing.assert_array_equal(
        restored.get_support(indices=True, prune_ratio=0.8),
        pruner.get_support(indices=True, prune_ratio=0.8),
    )
    auto = LpNTKPruner("auto", **FAST).fit(X, y)
    again = pickle.loads(pickle.dumps(auto))
    assert again.keep_rule_ == auto.keep_rule_ == NearDuplicates(rule=Herding())
    assert again.duplicate_threshold_ == auto.duplicate_threshold_


def test_the_html_repr_shows_the_rule_and_the_kernel_with_their_options():
    pipe = make_pipeline(
        LpNTKPruner(
            0.5,
            keep=D2(hard_fraction=0.1, n_strata=10),
            kernel=LpNTK(normalize=None, error_weighting="full"),
        ),
        LogisticRegression(),
    )
    html = estimator_html_repr(pipe)
    head = html.split('class="sk-item', 1)[1]
    pruner_part = head.split("LogisticRegression", 1)[0]
    cells = {
        re.sub(r"<[^>]+>|\s+", "", name): value
        for name, value in re.findall(
            r'<td class="param">(.*?)</td>\s*<td class="value">([^<]*)</td>', pruner_part, re.S
        )
    }
    # every option of the rule and of the kernel has a row of the parameter table
    for option, value in D2(hard_fraction=0.1, n_strata=10).get_params().items():
        assert cells[f"keep__{option}"] == escape(repr(value)), option
    for option, value in LpNTK(normalize=None, error_weighting="full").get_params().items():
        assert cells[f"kernel__{option}"] == escape(repr(value)), option
    # the objects' own rows (scikit-learn's table shortens a long repr to 30 characters)
    assert cells["keep"].startswith("D2(") and cells["kernel"].startswith("LpNTK(")
    short = make_pipeline(LpNTKPruner(keep=Coverage(hard_fraction=0.2)), LogisticRegression())
    assert '<td class="value">Coverage(hard_fraction=0.2)</td>' in estimator_html_repr(short)
    # and the text fallback holds the whole repr
    assert escape("keep=D2(hard_fraction=0.1, n_strata=10)") in html


# ------------------------------------------------------------ Options protocol
def test_get_params_deep_and_shallow():
    rule = NearDuplicates(rule=Coverage(n_bins=7), scale=0.1)
    shallow = rule.get_params(deep=False)
    assert shallow == {
        "n_neighbors": 10,
        "perturbation": "noise",
        "rule": Coverage(n_bins=7),
        "scale": 0.1,
        "threshold": None,
    }
    deep = rule.get_params()
    assert deep["rule__n_bins"] == 7 and deep["rule__hard_fraction"] == "auto"
    assert set(shallow) <= set(deep)
    assert LpNTK().get_params() == {
        "normalize": "cosine",
        "error_weighting": "sign",
        "strategy": "auto",
        "projection_dim": 4096,
        "chunk_size": None,
        "dtype": "float32",
    }


def test_nested_set_params_and_unknown_options():
    rule = NearDuplicates(rule=Coverage())
    assert rule.set_params(rule__hard_fraction=0.2, threshold=0.1) is rule
    assert rule == NearDuplicates(rule=Coverage(hard_fraction=0.2), threshold=0.1)
    with pytest.raises(ValueError, match="NearDuplicates has no option 'rules'; its options are"):
        rule.set_params(rules="coverage")
    with pytest.raises(ValueError, match="LpNTK has no option 'batch_size'.*chunk_size"):
        LpNTK().set_params(batch_size=4)


def test_repr_shows_only_the_options_that_differ_from_their_defaults():
    assert repr(Coverage()) == "Coverage()"
    assert repr(Coverage(hard_fraction=0.1, graph="exact")) == (
        "Coverage(graph='exact', hard_fraction=0.1)"
    )
    assert repr(LpNTK(normalize=None)) == "LpNTK(normalize=None)"
    assert repr(NearDuplicates(rule=Centres(fpc="repo"))) == (
        "NearDuplicates(rule=Centres(fpc='repo'))"
    )
    assert repr(ThinLargest(cluster_ratio=0.5)) == "ThinLargest()"


def test_equality_is_type_and_options():
    assert Coverage() == Coverage() and hash(Coverage()) == hash(Coverage())
    assert Coverage(hard_fraction=0.1) != Coverage()
    assert FacilityLocation() != Redundancy()  # the same options, another rule
    assert Centres() != RandomMember()
    assert LpNTK(normalize=None) == LpNTK(normalize=None) != LpNTK()
    assert Coverage(n_bins=50) == Coverage()
    perturb = lambda R, rng: R  # noqa: E731
    assert NearDuplicates(perturbation=perturb) == NearDuplicates(perturbation=perturb)
    assert NearDuplicates(perturbation=perturb) != NearDuplicates(perturbation=lambda R, g: R)
    assert len({Coverage(), Coverage(), D2()}) == 2


# ------------------------------------------------------------ the registry
def test_rule_from_reads_a_name_with_options_or_an_object():
    assert rule_from("thin_largest", cluster_ratio=0.3) == ThinLargest(cluster_ratio=0.3)
    assert rule_from("adaptive") == Adaptive()
    rule = D2(gamma=0.5)
    assert rule_from(rule) is rule
    with pytest.raises(TypeError, match=r"ThinLargest \(keep='thin_largest'\) has no option "):
        rule_from("thin_largest", hard_fraction=0.1)
    with pytest.raises(
        TypeError,
        match="has no option hard_fraction; its options are cluster_ratio, "
        "drop_contradictory, fpc, selfmax",
    ):
        rule_from("thin_largest", hard_fraction=0.1)
    with pytest.raises(ValueError, match=r"keep='budget' is not a rule; use one of"):
        rule_from("budget")  # renamed "adaptive" in 0.8
    with pytest.raises(TypeError, match="already a rule object"):
        rule_from(rule, gamma=0.2)
    with pytest.raises(TypeError, match="rule name"):
        rule_from(3)
    names = rule_names()
    for name in names:
        assert rule_from(name).name == name
    assert set(names) == {
        "herding",
        "representative",
        "redundancy",
        "adaptive",
        "coverage",
        "d2",
        "near_duplicates",
        "centres",
        "random_member",
        "thin_largest",
    }


class _Order(Cut):
    def __init__(self, order):
        self.order = np.asarray(order)

    def covers(self, k):
        return True

    def select(self, k, prune_ratio=None):
        return Selection(np.sort(self.order[:k]))


class MostTypical(KeepRule):
    """Keep the rows of highest mean similarity to their class (a test rule)."""

    nested = True

    def __init__(self, least=False):
        self.least = least

    def check(self):
        if not isinstance(self.least, bool):
            raise ValueError(f"MostTypical(least={self.least!r}): True or False.")

    def cut(self, kernel, n_keep=None, *, random_state=None):
        mean = kernel.full().mean(axis=1)
        return _Order(np.argsort(mean if self.least else -mean, kind="stable"))


@pytest.fixture
def registered():
    from sklearn_lpntk._selection._rule import _RULES

    register_rule("most_typical")(MostTypical)
    yield MostTypical
    del _RULES["most_typical"]


def test_a_custom_rule_registered_by_name_is_accepted_by_keep(data, registered):
    X, y = data
    assert "most_typical" in rule_names()
    by_name = LpNTKPruner(0.5, keep="most_typical", **FAST).fit(X, y)
    by_object = LpNTKPruner(0.5, keep=MostTypical(), **FAST).fit(X, y)
    np.testing.assert_array_equal(by_name.sample_indices_, by_object.sample_indices_)
    assert by_name.keep_rule_ == MostTypical() and by_name.keep_order_ is not None
    module = by_name.net_.module_
    for c in (0, 5):
        rows = np.flatnonzero(y == c)
        K = lpntk_kernel(module, X[rows], y[rows], normalize="cosine")
        k = max(1, int(np.floor(len(rows) * 0.5 + 1e-9)))
        expected = np.sort(rows[np.argsort(-K.mean(axis=1), kind="stable")[:k]])
        np.testing.assert_array_equal(np.intersect1d(by_name.sample_indices_, rows), expected)
    least = LpNTKPruner(0.5, keep=MostTypical(least=True), **FAST).fit(X, y)
    assert not np.array_equal(least.sample_indices_, by_name.sample_indices_)
    search = GridSearchCV(
        make_pipeline(LpNTKPruner(0.5, keep=MostTypical(), **FAST), LogisticRegression()),
        {"lpntkpruner__keep__least": [False, True]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2


# ------------------------------------------------------- every rule's checks
BAD_OPTIONS = [
    (Herding, "block_rows", 0),
    (Herding, "drop_contradictory", 2.0),
    (FacilityLocation, "graph", "sparse"),
    (FacilityLocation, "n_neighbors", 0),
    (FacilityLocation, "drop_contradictory", "no"),
    (Redundancy, "graph", "dense-ish"),
    (Redundancy, "n_neighbors", 2.5),
    (Redundancy, "drop_contradictory", -1.5),
    (Adaptive, "switch", 0),
    (Adaptive, "switch", 1.5),
    (Adaptive, "graph", "exact "),
    (Adaptive, "n_neighbors", -1),
    (Adaptive, "drop_contradictory", True),
    (Coverage, "hard_fraction", 1.0),
    (Coverage, "hard_fraction", "most"),
    (Coverage, "n_bins", 0),
    (Coverage, "graph", None),
    (Coverage, "n_neighbors", "10"),
    (Coverage, "drop_contradictory", 3),
    (D2, "hard_fraction", -0.1),
    (D2, "n_neighbors", 0),
    (D2, "gamma", -1.0),
    (D2, "n_strata", 0),
    (D2, "graph", "auto-ish"),
    (D2, "drop_contradictory", "0"),
    (Centres, "selfmax", "all"),
    (Centres, "fpc", "fast"),
    (Centres, "drop_contradictory", -2.0),
    (RandomMember, "selfmax", True),
    (RandomMember, "fpc", None),
    (RandomMember, "drop_contradictory", 1.01),
    (ThinLargest, "cluster_ratio", 0),
    (ThinLargest, "cluster_ratio", 1.5),
    (ThinLargest, "selfmax", "filters"),
    (ThinLargest, "fpc", "Repo"),
    (ThinLargest, "drop_contradictory", [0.0]),
    (NearDuplicates, "rule", "coverage"),
    (NearDuplicates, "rule", "nonsense"),
    (NearDuplicates, "rule", 3),
    (NearDuplicates, "perturbation", "blur"),
    (NearDuplicates, "scale", 0.0),
    (NearDuplicates, "n_neighbors", 0),
    (NearDuplicates, "threshold", -1.0),
]


def test_every_option_of_every_rule_has_a_bad_value_here():
    covered = {(cls, option) for cls, option, _ in BAD_OPTIONS}
    for name in rule_names():
        cls = type(rule_from(name))
        for option in cls._option_names():
            assert (cls, option) in covered, (cls.__name__, option)


@pytest.mark.parametrize(
    "cls, option, value", BAD_OPTIONS, ids=[f"{c.__name__}-{o}={v!r}" for c, o, v in BAD_OPTIONS]
)
def test_every_rule_refuses_a_bad_option_naming_it_before_any_training(
    data, no_training, cls, option, value
):
    X, y = data
    rule = cls(**{option: value})  # the constructor only stores (scikit-learn's contract)
    assert getattr(rule, option) is value
    named = rf"{cls.__name__}\({option}="
    with pytest.raises(ValueError, match=named):
        rule.check()
    with pytest.raises(ValueError, match=named):
        LpNTKPruner(0.5, keep=rule, max_epochs=1000).fit(X, y)
    assert no_training.call_count == 0


def test_good_default_options_pass_every_check():
    for name in rule_names():
        rule_from(name).check()
    LpNTK().check()


# ------------------------------------------------ the keywords of 0.7, refused
def _moved(table):
    return sorted(table.items())


@pytest.mark.parametrize("old, new", _moved(pruner_module.MOVED))
def test_every_moved_pruner_keyword_names_its_new_spelling(old, new):
    assert old not in inspect.signature(LpNTKPruner).parameters
    with pytest.raises(TypeError, match=re.escape(new)) as error:
        LpNTKPruner(0.3, **{old: 1})
    assert f"'{old}' is now" in str(error.value)
    pruner = LpNTKPruner(0.3)
    with pytest.raises(TypeError, match=re.escape(new)):
        pruner.set_params(**{old: 1})
    assert pruner.get_params() == LpNTKPruner(0.3).get_params()  # nothing was set
    pipe = make_pipeline(LpNTKPruner(0.3), LogisticRegression())
    with pytest.raises(TypeError, match=re.escape(new)):
        pipe.set_params(**{f"lpntkpruner__{old}": 1})


@pytest.mark.parametrize("old, new", _moved(cleaner_module.MOVED))
def test_every_moved_cleaner_keyword_names_its_new_spelling(old, new):
    assert old not in inspect.signature(LpNTKCleaner).parameters
    with pytest.raises(TypeError, match=re.escape(new)):
        LpNTKCleaner(**{old: 1})
    with pytest.raises(TypeError, match=re.escape(new)):
        LpNTKCleaner().set_params(**{old: 1})


@pytest.mark.parametrize("old, new", _moved(scores_module._MOVED))
def test_every_moved_grand_keyword_names_its_new_spelling(old, new):
    assert old not in inspect.signature(GraNdPruner).parameters
    with pytest.raises(TypeError, match=re.escape(new)):
        GraNdPruner(**{old: 1})
    with pytest.raises(TypeError, match=re.escape(new)):
        GraNdPruner().set_params(**{old: 1})


@pytest.mark.parametrize(
    "old, new", [("batch_size", "chunk_size"), ("memory_budget", "max_memory")]
)
def test_the_engine_and_lpntk_kernel_name_their_renamed_keywords(old, new):
    import torch

    model = torch.nn.Linear(3, 2)
    X, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    with pytest.raises(TypeError, match=f"'{old}' is now {new}"):
        LpNTKEngine(model, **{old: 1})
    with pytest.raises(TypeError, match=f"'{old}' is now {new}"):
        lpntk_kernel(model, X, y, **{old: 1})
    assert old not in inspect.signature(lpntk_kernel).parameters


def test_an_unknown_keyword_is_still_a_type_error():
    with pytest.raises(TypeError, match="'colour' is not a parameter"):
        LpNTKPruner(colour="red")
    with pytest.raises(ValueError, match="Invalid parameter 'colour'"):
        LpNTKPruner().set_params(colour="red")


def test_the_renamed_names_are_gone():
    import sklearn_lpntk
    import sklearn_lpntk.kernels as kernels
    import sklearn_lpntk.selection as selection

    for module, name in (
        (sklearn_lpntk, "MemoryBudgetError"),
        (kernels, "MemoryBudgetError"),
        (selection, "MATRIX_RULES"),
        (selection, "TRAVERSAL_RULES"),
    ):
        assert not hasattr(module, name), name
    from sklearn_lpntk import MemoryLimitError

    assert issubclass(MemoryLimitError, ValueError)


def test_the_paper_setting_is_the_paper_rule_on_the_raw_kernel():
    paper = LpNTKPruner.paper(0.4)
    assert (
        paper.get_params()
        == LpNTKPruner(0.4, keep=Centres(), kernel=LpNTK(normalize=None)).get_params()
    )
    assert paper.kernel.error_weighting == "sign"
    repo = LpNTKPruner.paper(0.4, keep=Centres(selfmax="repo"), max_epochs=2)
    assert repo.keep == Centres(selfmax="repo") and repo.kernel == LpNTK(normalize=None)
    assert repo.max_epochs == 2
    assert LpNTKPruner.paper().keep is not LpNTKPruner.paper().keep  # fresh objects


# ------------------------------------------- the cleaner's and GraNd's kernels
def test_the_cleaner_keeps_the_cosine_kernel_and_its_default(data, no_training):
    X, y = data
    for normalize in (None, "K"):
        with pytest.raises(ValueError, match="use LpNTK\\(normalize='cosine'\\)"):
            LpNTKCleaner(kernel=LpNTK(normalize=normalize, error_weighting="full")).fit(X, y)
    assert no_training.call_count == 0
    assert LpNTKCleaner()._kernel() == LpNTK(error_weighting="full")


def test_the_cleaner_with_its_default_kernel_spelled_out_is_the_default(data):
    X, y = data
    X, y = X[:160], y[:160]
    default = LpNTKCleaner(max_epochs=1, random_state=0).fit(X, y)
    spelled = LpNTKCleaner(max_epochs=1, random_state=0, kernel=LpNTK(error_weighting="full"))
    spelled.fit(X, y)
    np.testing.assert_array_equal(spelled.typicality_, default.typicality_)
    np.testing.assert_array_equal(spelled.sample_indices_, default.sample_indices_)
    sign = LpNTKCleaner(max_epochs=1, random_state=0, kernel=LpNTK()).fit(X, y)
    assert not np.allclose(sign.typicality_, default.typicality_)


# --------------------------------------- LpNTKPruner's parameters, all read
def test_the_pruner_has_at_most_twenty_parameters_and_none_of_the_moved_ones():
    params = list(inspect.signature(LpNTKPruner).parameters)
    assert len(params) <= 20, params
    assert set(params) == set(LpNTKPruner().get_params(deep=False))
    assert not set(params) & set(pruner_module.MOVED)
    assert len(params) == 18  # 31 in 0.7; 17 after the reorganisation, and the encoder


@pytest.fixture(scope="module")
def reference_fit(data):
    X, y = data
    return LpNTKPruner(0.3, **FAST).fit(X, y)


def _spy(monkeypatch):
    """Record what the fit hands to the training and to the kernel's engine."""
    import sklearn_lpntk._training as training_module

    seen = {"train": [], "engine": [], "plan": []}
    train = training_module.train_network

    def train_network(*args, **kwargs):
        seen["train"].append(kwargs)
        return train(*args, **kwargs)

    engine = LpNTK.engine

    def make_engine(self, model, **kwargs):
        seen["engine"].append(kwargs)
        return engine(self, model, **kwargs)

    plan = LpNTKEngine.plan

    def planning(self, probe, sizes, **kwargs):
        seen["plan"].append(kwargs)
        return plan(self, probe, sizes, **kwargs)

    monkeypatch.setattr(training_module, "train_network", train_network)
    monkeypatch.setattr(LpNTK, "engine", make_engine)
    monkeypatch.setattr(LpNTKEngine, "plan", planning)
    return seen


def _differs(a, b):
    return a.shape != b.shape or not np.array_equal(a, b)


#: every parameter of LpNTKPruner, a value other than its default, and what the fit
#: shows of it (the fitted pruner, the reference fit, what the fit handed on)
READ_BY_THE_FIT = {
    "prune_ratio": (0.6, lambda p, r, s: len(p.sample_indices_) < len(r.sample_indices_)),
    "keep": ("representative", lambda p, r, s: _differs(p.sample_indices_, r.sample_indices_)),
    "kernel": (
        LpNTK(normalize=None),
        lambda p, r, s: _differs(p.self_kernel_, r.self_kernel_),
    ),
    "net": (
        NeuralNetClassifier(
            __import__("sklearn_lpntk").LogitMLP,
            module__hidden_units=(16,),
            criterion=__import__("torch").nn.CrossEntropyLoss,
            train_split=None,
        ),
        lambda p, r, s: p.net_.module_.layers[1].out_features == 16,
    ),
    "max_epochs": (2, lambda p, r, s: len(p.net_.history) == 2 and len(r.net_.history) == 1),
    "lr": (0.05, lambda p, r, s: p.net_.lr == 0.05 and r.net_.lr != 0.05),
    "batch_size": (32, lambda p, r, s: p.net_.batch_size == 32 != r.net_.batch_size),
    "device": ("cpu", lambda p, r, s: s["train"][0]["device"] == "cpu"),
    "max_memory": ("2GB", lambda p, r, s: s["engine"][0]["max_memory"] == "2GB"),
    "n_jobs": (2, lambda p, r, s: s["plan"][0]["n_jobs"] == 2),
    "checkpoints": ([0, 1], lambda p, r, s: p.checkpoints_ == [0, 1] and r.checkpoints_ == [1]),
    "validation_fraction": (0.25, lambda p, r, s: sorted(p.validation_scores_) == [0, 1]),
    "n_inits": (2, lambda p, r, s: len(s["train"]) == 2 and s["plan"][0]["copies"] == 2),
    "class_budget": (
        {c: 1.0 + (c == 0) for c in range(10)},
        lambda p, r, s: p.class_weights_ is not None and r.class_weights_ is None,
    ),
    "encoder": (
        __import__("sklearn.preprocessing").preprocessing.StandardScaler(),
        lambda p, r, s: p.encoder_ is not None and r.encoder_ is None,
    ),
    "memory": ("<tmp>", lambda p, r, s: "cache" in p.timings_ and "cache" not in r.timings_),
    "random_state": (1, lambda p, r, s: _differs(p.sample_indices_, r.sample_indices_)),
    "verbose": (1, lambda p, r, s: "LpNTKPruner kept" in s["out"]),
}


def test_every_parameter_is_in_the_table():
    assert set(READ_BY_THE_FIT) == set(inspect.signature(LpNTKPruner).parameters)


@pytest.mark.parametrize("name", sorted(READ_BY_THE_FIT))
def test_every_parameter_is_read_by_the_fit(
    data, reference_fit, monkeypatch, tmp_path, capsys, name
):
    X, y = data
    value, shows = READ_BY_THE_FIT[name]
    value = str(tmp_path) if value == "<tmp>" else value
    seen = _spy(monkeypatch)
    capsys.readouterr()
    pruner = LpNTKPruner(**{"prune_ratio": 0.3, **FAST, name: value}).fit(X, y)
    seen["out"] = capsys.readouterr().out
    assert shows(pruner, reference_fit, seen), name
