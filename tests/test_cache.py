"""memory=: the prepared fit is cached on the data and every parameter but the ratio."""

import glob
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

import sklearn_lpntk._training as training_module
from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    LogitMLP,
    LpNTK,
    LpNTKPruner,
    RandomPruner,
    make_pipeline,
    pruning_curve,
)
from sklearn_lpntk.rules import Coverage, FacilityLocation


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(1).permutation(len(y))[:200]
    return X[idx] / 16.0, y[idx]


@pytest.fixture
def trainings(monkeypatch):
    """Counts the brief trainings of LpNTKPruner."""
    calls = []
    real = training_module.train_network

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(training_module, "train_network", counting)
    return calls


def _lpntk(**params):
    params = {"max_epochs": 1, "random_state": 0, **params}
    return LpNTKPruner(**params)


def test_another_ratio_verbose_or_n_jobs_reads_the_cache(data, tmp_path, trainings):
    X, y = data
    first = _lpntk(prune_ratio=0.2, memory=tmp_path).fit(X, y)
    assert not first.from_cache_ and "cache" in first.timings_ and len(trainings) == 1
    for params in ({"prune_ratio": 0.6}, {"prune_ratio": 0.0}, {"verbose": 1}, {"n_jobs": 2}):
        again = _lpntk(memory=str(tmp_path), **{"prune_ratio": 0.2, **params}).fit(X, y)
        assert again.from_cache_, params
        assert "training" not in again.timings_ and "kernel" not in again.timings_
        fresh = _lpntk(**{"prune_ratio": 0.2, **params}).fit(X, y)
        np.testing.assert_array_equal(again.sample_indices_, fresh.sample_indices_)
    assert len(trainings) == 1 + 4  # the four fresh fits only


@pytest.mark.parametrize(
    "change",
    [
        {"random_state": 1},
        {"max_epochs": 2},
        {"net": LogitMLP},
        {"keep": "centres"},
        {"keep": Coverage(hard_fraction=0.2)},
        {"kernel": LpNTK(normalize=None)},
        {"lr": 0.01},
        {"kernel": LpNTK(error_weighting="full")},
        {"kernel": LpNTK(dtype="float64")},
        {"checkpoints": [0, 1]},
    ],
)
def test_every_parameter_that_matters_misses(data, tmp_path, change):
    X, y = data
    _lpntk(memory=tmp_path).fit(X, y)
    other = _lpntk(memory=tmp_path, **change).fit(X, y)
    assert not other.from_cache_
    fresh = _lpntk(**change).fit(X, y)
    np.testing.assert_array_equal(other.sample_indices_, fresh.sample_indices_)


def test_a_network_change_inside_a_skorch_net_misses(data, tmp_path):
    import torch
    from skorch import NeuralNetClassifier

    X, y = data

    def net(units):
        return NeuralNetClassifier(
            LogitMLP,
            module__hidden_units=(units,),
            max_epochs=1,
            criterion=torch.nn.CrossEntropyLoss,
            train_split=None,
        )

    _lpntk(net=net(16), memory=tmp_path).fit(X, y)
    assert _lpntk(net=net(16), memory=tmp_path).fit(X, y).from_cache_
    assert not _lpntk(net=net(32), memory=tmp_path).fit(X, y).from_cache_


def test_a_data_or_label_change_misses(tmp_path):
    X, y = load_iris(return_X_y=True)
    RandomPruner(0.3, random_state=0, memory=tmp_path).fit(X, y)
    assert RandomPruner(0.5, random_state=0, memory=tmp_path).fit(X.copy(), y.copy()).from_cache_
    X2 = X.copy()
    X2[3, 1] += 0.5
    y2 = y.copy()
    y2[[0, 60]] = y2[[60, 0]]
    names = np.array(["a", "b", "c"])[y]  # the same classes under other labels
    for Xc, yc in ((X2, y), (X, y2), (X, names)):
        pruner = RandomPruner(0.5, random_state=0, memory=tmp_path).fit(Xc, yc)
        assert not pruner.from_cache_
        fresh = RandomPruner(0.5, random_state=0).fit(Xc, yc)
        np.testing.assert_array_equal(pruner.sample_indices_, fresh.sample_indices_)
        assert pruner.classes_.tolist() == fresh.classes_.tolist()


def test_memory_accepts_a_path_a_joblib_memory_and_none(data, tmp_path):
    X, y = data
    memory = joblib.Memory(tmp_path / "joblib", verbose=0)
    EL2NPruner(max_epochs=1, n_inits=1, random_state=0, memory=memory).fit(X, y)
    assert (
        EL2NPruner(0.7, max_epochs=1, n_inits=1, random_state=0, memory=memory)
        .fit(X, y)
        .from_cache_
    )
    assert glob.glob(str(tmp_path / "joblib" / "**" / "output.pkl"), recursive=True)
    for memory in (None, joblib.Memory(None)):
        first = RandomPruner(random_state=0, memory=memory).fit(X, y)
        second = RandomPruner(random_state=0, memory=memory).fit(X, y)
        assert not first.from_cache_ and not second.from_cache_
        assert "cache" not in second.timings_


def test_memory_none_writes_nothing(data, tmp_path, monkeypatch):
    X, y = data
    monkeypatch.chdir(tmp_path)
    RandomPruner(random_state=0).fit(X, y)
    _lpntk().fit(X, y)
    assert os.listdir(tmp_path) == []


def test_without_an_integer_random_state_nothing_is_cached(data, tmp_path):
    X, y = data
    for seed in (None, np.random.RandomState(0)):
        with pytest.warns(UserWarning, match="integer random_state"):
            pruner = RandomPruner(random_state=seed, memory=tmp_path).fit(X, y)
        assert not pruner.from_cache_
    assert not glob.glob(str(tmp_path / "**" / "output.pkl"), recursive=True)


def _outputs(location):
    return sorted(glob.glob(os.path.join(str(location), "**", "output.pkl"), recursive=True))


def test_a_damaged_cache_entry_is_recomputed_not_trusted(data, tmp_path):
    X, y = data
    _lpntk(memory=tmp_path).fit(X, y)
    (entry,) = _outputs(tmp_path)
    with open(entry, "wb") as f:
        f.write(b"not a pickle at all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib warns about the unreadable entry
        pruner = _lpntk(prune_ratio=0.5, memory=tmp_path).fit(X, y)
    assert not pruner.from_cache_
    np.testing.assert_array_equal(
        pruner.sample_indices_, _lpntk(prune_ratio=0.5).fit(X, y).sample_indices_
    )
    assert _lpntk(prune_ratio=0.4, memory=tmp_path).fit(X, y).from_cache_  # repaired


def test_a_foreign_cache_entry_is_detected_and_replaced(data, tmp_path):
    X, y = data
    _lpntk(memory=tmp_path).fit(X, y)
    _lpntk(memory=tmp_path).fit(X[::-1], y[::-1])
    first, second = _outputs(tmp_path)
    with open(first, "rb") as f:
        a = f.read()
    with open(second, "rb") as f:
        b = f.read()
    with open(first, "wb") as f:  # each entry now holds the other data's fit
        f.write(b)
    with open(second, "wb") as f:
        f.write(a)
    with pytest.warns(UserWarning, match="foreign or damaged"):
        pruner = _lpntk(prune_ratio=0.5, memory=tmp_path).fit(X, y)
    assert not pruner.from_cache_
    np.testing.assert_array_equal(
        pruner.sample_indices_, _lpntk(prune_ratio=0.5).fit(X, y).sample_indices_
    )


def test_an_unrelated_directory_and_other_joblib_caches_are_left_alone(data, tmp_path):
    X, y = data
    (tmp_path / "notes.txt").write_text("someone else's file")
    other = joblib.Memory(tmp_path, verbose=0).cache(np.square)
    other(np.arange(3))
    first = RandomPruner(random_state=0, memory=tmp_path).fit(X, y)
    second = RandomPruner(0.6, random_state=0, memory=tmp_path).fit(X, y)
    assert not first.from_cache_ and second.from_cache_
    assert (tmp_path / "notes.txt").read_text() == "someone else's file"


def test_a_memory_that_is_a_file_is_refused_before_training(data, tmp_path, trainings):
    X, y = data
    path = tmp_path / "a_file"
    path.write_text("x")
    with pytest.raises(ValueError, match="memory=.*cannot be used as a cache directory"):
        _lpntk(memory=str(path)).fit(X, y)
    assert trainings == []
    with pytest.raises(ValueError, match="memory"):
        RandomPruner(memory=3).fit(X, y)


def test_a_lazy_order_too_short_for_a_new_ratio_is_recomputed(data, tmp_path):
    from .test_keep_order import _limit_between_lazy_and_full

    X, y = data
    limit = _limit_between_lazy_and_full(X, y)

    def make(ratio):
        return LpNTKPruner.paper(
            ratio, max_epochs=1, random_state=0, max_memory=limit, memory=tmp_path
        )

    make(0.6).fit(X, y)
    assert make(0.8).fit(X, y).from_cache_  # fewer rows: the stored order reaches
    longer = make(0.2).fit(X, y)
    assert not longer.from_cache_
    fresh = LpNTKPruner.paper(0.2, max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(longer.sample_indices_, fresh.sample_indices_)
    assert make(0.3).fit(X, y).from_cache_  # the entry now holds the longer order


def test_cached_grid_search_trains_once_per_fold_with_the_same_scores(data, tmp_path, trainings):
    X, y = data
    grid = {"lpntkpruner__prune_ratio": [0.1, 0.3, 0.5, 0.7, 0.9]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    results = {}
    for memory in (None, tmp_path):
        trainings.clear()
        pipe = make_pipeline(
            _lpntk(memory=memory), StandardScaler(), LogisticRegression(max_iter=300)
        )
        search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
        results[memory is None] = (search.cv_results_, len(trainings), search)
    (cached, n_cached, search), (plain, n_plain, _) = results[False], results[True]
    assert n_plain == 5 * 3 + 1 and n_cached == 3 + 1  # folds, then the refit
    for key in [k for k in plain if "test_score" in k]:
        np.testing.assert_array_equal(cached[key], plain[key], err_msg=key)
    assert search.best_estimator_.steps[0][1].from_cache_ is False  # the refit's own data


def test_pruning_curve_fits_each_pruner_once_per_fold(data, trainings):
    X, y = data
    curve = pruning_curve(
        LogisticRegression(max_iter=300),
        X,
        y,
        pruner=_lpntk(),
        prune_ratios=[0.1, 0.4, 0.7],
        cv=3,
        random_state=0,
    )
    assert len(trainings) == 3
    assert curve.scores.shape == (3, 3) and curve.prune_times.shape == (3,)
    assert np.all(curve.prune_times > 0)
    assert curve.kept_fraction[0] > curve.kept_fraction[1] > curve.kept_fraction[2]


def test_ccs_cuts_at_another_ratio_with_its_own_hard_fraction(data, tmp_path):
    X, y = data
    scorer = EL2NPruner(max_epochs=1, n_inits=1)
    CCSPruner(0.2, scorer=scorer, random_state=0, memory=tmp_path).fit(X, y)
    cached = CCSPruner(0.8, scorer=scorer, random_state=0, memory=tmp_path).fit(X, y)
    fresh = CCSPruner(0.8, scorer=scorer, random_state=0).fit(X, y)
    assert cached.from_cache_
    np.testing.assert_array_equal(cached.sample_indices_, fresh.sample_indices_)


def test_a_fitted_pruner_pickles_with_its_order(data):
    X, y = data
    pruner = _lpntk(prune_ratio=0.3, verbose=1).fit(X, y)
    again = pickle.loads(pickle.dumps(pruner))
    np.testing.assert_array_equal(
        again.get_support(indices=True, prune_ratio=0.6),
        pruner.get_support(indices=True, prune_ratio=0.6),
    )


def test_a_rule_option_that_matters_misses_and_one_equal_rule_object_hits(data, tmp_path):
    X, y = data
    _lpntk(keep=Coverage(hard_fraction=0.1), memory=tmp_path).fit(X, y)
    assert _lpntk(keep=Coverage(hard_fraction=0.1), memory=tmp_path).fit(X, y).from_cache_
    other = _lpntk(keep=Coverage(hard_fraction=0.3), memory=tmp_path).fit(X, y)
    assert not other.from_cache_
    fresh = _lpntk(keep=Coverage(hard_fraction=0.3)).fit(X, y)
    np.testing.assert_array_equal(other.sample_indices_, fresh.sample_indices_)


def _one_class_fits_but_not_two(data, keep, kernel):
    """A max_memory that holds the exact kernel of the largest class (with its matrix) but
    not those of two classes side by side; with half of it the exact kernel fits no class."""
    from sklearn_lpntk._engine import LpNTKEngine

    X, y = data
    first = _lpntk(keep=keep, kernel=kernel).fit(X, y)
    engine = LpNTKEngine(first.net_.module_, projection_dim=kernel.projection_dim)
    y_enc = np.searchsorted(first.classes_, y)
    probe = engine.probe(X.astype(np.float32), y_enc, n_classes=len(first.classes_))
    sizes = np.bincount(y_enc).tolist()
    need = engine.need_bytes(probe, engine.strategy, max(sizes), need_full=True)
    limit = int(1.5 * need)
    # n_jobs=2 under this limit: the classes run one at a time, each planned exactly
    limited = LpNTKEngine(first.net_.module_, max_memory=limit)
    plan = limited.plan(probe, sizes, n_jobs=2, need_full=True, graph="dense")
    assert plan.jobs == 1 and plan.strategy == engine.strategy != "projection"
    unlimited = LpNTKEngine(first.net_.module_, max_memory=None)
    assert unlimited.plan(probe, sizes, n_jobs=2, need_full=True).jobs == 2
    # what 0.7 did with n_jobs=2 (the limit divided between the jobs) no longer fits
    half = LpNTKEngine(first.net_.module_, max_memory=limit // 2, strategy=engine.strategy)
    with pytest.raises(ValueError, match="max_memory"):
        half.plan(probe, sizes, need_full=True, graph="dense")
    return limit


@pytest.mark.parametrize("keep", [FacilityLocation(graph="dense"), "representative"])
def test_n_jobs_never_changes_a_fit_so_the_cache_may_leave_it_out(data, tmp_path, keep):
    """Before 0.8, n_jobs=2 divided the memory limit between two jobs, so under this limit
    strategy="auto" fell back to the projection (with a warning) and kept other rows,
    while a cached n_jobs=1 fit was read back for n_jobs=2 unchanged."""
    X, y = data
    kernel = LpNTK(projection_dim=64)  # a projection that would fit half of the limit
    limit = _one_class_fits_but_not_two(data, keep, kernel)

    def fit(n_jobs, memory=None):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback to the projection
            return _lpntk(
                keep=keep, kernel=kernel, max_memory=limit, n_jobs=n_jobs, memory=memory
            ).fit(X, y)

    serial, parallel = fit(1), fit(2)
    assert serial.strategy_ == parallel.strategy_ != "projection"
    np.testing.assert_array_equal(parallel.sample_indices_, serial.sample_indices_)
    np.testing.assert_array_equal(parallel.self_kernel_, serial.self_kernel_)
    cached = fit(1, memory=tmp_path)
    assert not cached.from_cache_
    read_back = fit(2, memory=tmp_path)
    assert read_back.from_cache_
    assert read_back.strategy_ == parallel.strategy_
    np.testing.assert_array_equal(read_back.sample_indices_, parallel.sample_indices_)
    np.testing.assert_array_equal(read_back.self_kernel_, parallel.self_kernel_)
