"""The neighbour-graph path: exact and approximate graphs, rules on them, the switch."""

import importlib.util

import joblib
import numpy as np
import pytest
import torch

from sklearn_lpntk import LpNTKCleaner, LpNTKPruner, MemoryLimitError, lpntk_kernel
from sklearn_lpntk._engine import LpNTKEngine, _plan, approximate_neighbours, exact_neighbours
from sklearn_lpntk._selection import (
    NeighbourGraph,
    facility_location,
    facility_objective,
    graph_facility_location,
    graph_redundancy_order,
    redundancy_order,
    rule_cut,
    typicality,
)
from sklearn_lpntk.rules import Centres, FacilityLocation, rule_from

DENSE = FacilityLocation(graph="dense")
EXACT = FacilityLocation(graph="exact")

RATIOS = (0.3, 0.5, 0.7, 0.9)


def _brute_force_neighbours(S, k):
    """Every row's k most similar other rows by a full stable sort (ties: lower index)."""
    S = np.array(S, dtype=np.float64)
    np.fill_diagonal(S, -np.inf)
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(S, order, 1)


def _graph_of(S, k):
    indices, values = _brute_force_neighbours(S, k)
    return NeighbourGraph(indices, values, np.diag(S).astype(np.float64).copy())


@pytest.fixture(scope="module")
def class_kernels(digits):
    """Cosine lpNTK kernels (as ClassKernel objects and dense matrices) of three
    digits classes under a briefly trained network."""
    X, y = digits
    pruner = LpNTKPruner(0.5, keep=DENSE, max_epochs=3, random_state=0).fit(X, y)
    model = pruner.net_.module_
    engine = LpNTKEngine(model, normalize="cosine", dtype="float64")
    out = []
    for c in (0, 3, 8):
        idx = np.flatnonzero(y == c)
        Xc = X[idx].astype(np.float64)
        plan = engine.plan(engine.probe(Xc, y[idx]), [len(idx)])
        kernel = engine.kernel(Xc, y[idx], plan)
        out.append((kernel, kernel.matrix()))
    return out


def _random_kernel(rng, n, d=6):
    F = rng.normal(size=(n, d))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    S = F @ F.T
    np.fill_diagonal(S, 1.0)
    return S


# ------------------------------------------------------------------ the graph
def test_exact_neighbours_equal_a_brute_force_sort(class_kernels):
    for kernel, S in class_kernels:
        for k, block in ((1, 7), (10, 50), (25, 1024)):
            indices, values = exact_neighbours(kernel, k, block_rows=block)
            ref_i, ref_v = _brute_force_neighbours(S, k)
            np.testing.assert_array_equal(indices, ref_i)
            np.testing.assert_allclose(values, ref_v, rtol=1e-10, atol=1e-12)


def test_exact_neighbours_break_ties_by_the_lower_index():
    # a kernel with many exact ties: rows in four identical groups
    model = torch.nn.Linear(3, 2, dtype=torch.float64)
    X = np.repeat(np.eye(3)[[0, 1, 2, 0]], 5, axis=0) + 0.0
    y = np.zeros(len(X), dtype=int)
    engine = LpNTKEngine(model, normalize="cosine", dtype="float64")
    kernel = engine.kernel(X, y, engine.plan(engine.probe(X, y), [len(X)]))
    indices, _ = exact_neighbours(kernel, 6, block_rows=3)
    ref, _ = _brute_force_neighbours(kernel.matrix(), 6)
    np.testing.assert_array_equal(indices, ref)


def test_small_classes_are_padded():
    model = torch.nn.Linear(4, 2)
    X = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    y = np.zeros(3, dtype=int)
    engine = LpNTKEngine(model, normalize="cosine")
    kernel = engine.kernel(X, y, engine.plan(engine.probe(X, y), [3]))
    indices, values = exact_neighbours(kernel, 5)
    assert indices.shape == (3, 5)
    assert (indices[:, 2:] == -1).all() and np.isneginf(values[:, 2:]).all()
    assert (indices[:, :2] >= 0).all() and (indices[:, :2] != np.arange(3)[:, None]).all()


def test_exact_typicality_equals_the_dense_mean(class_kernels):
    for kernel, S in class_kernels:
        np.testing.assert_allclose(kernel.typicality(), typicality(S), rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss-cpu not installed")
def test_approximate_graph_recall_is_bounded(class_kernels):
    # measured: recall 0.99-1.00 on these classes (k = 10, 30 candidates, 256-number sketch)
    for kernel, S in class_kernels:
        k = 10
        indices, values = approximate_neighbours(kernel, k, backend="faiss", random_state=0)
        ref_i, _ = _brute_force_neighbours(S, k)
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(indices, ref_i)])
        assert recall >= 0.95, recall
        # the similarities are the exact kernel values of the pairs found
        rows = np.repeat(np.arange(len(S)), k)
        np.testing.assert_allclose(values.ravel(), S[rows, indices.ravel()], rtol=1e-9)
        assert (indices != np.arange(len(S))[:, None]).all()


@pytest.mark.skipif(
    importlib.util.find_spec("pynndescent") is None, reason="pynndescent not installed"
)
def test_pynndescent_backend_finds_the_neighbours(class_kernels):
    kernel, S = class_kernels[0]
    indices, _ = approximate_neighbours(kernel, 5, backend="pynndescent", random_state=0)
    ref_i, _ = _brute_force_neighbours(S, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(indices, ref_i)])
    assert recall >= 0.9, recall


# -------------------------------------------------------------- rules on graphs
def test_complete_graph_gives_the_dense_rules():
    rng = np.random.default_rng(0)
    for n in (2, 17, 60):
        S = _random_kernel(rng, n)
        graph = _graph_of(S, n - 1)
        np.testing.assert_array_equal(graph_facility_location(graph), facility_location(S, n))
        np.testing.assert_array_equal(graph_redundancy_order(graph), redundancy_order(S))


def test_graph_facility_location_is_the_greedy_of_its_definition():
    """Brute force: every step adds the row of largest gain under the sparsified
    matrix (entries listed by either row, plus the diagonal), ties to the lowest."""
    rng = np.random.default_rng(1)
    S = _random_kernel(rng, 40)
    graph = _graph_of(S, 4)
    listed = np.zeros_like(S, dtype=bool)
    listed[np.repeat(np.arange(40), 4), graph.indices.ravel()] = True
    listed |= listed.T
    np.fill_diagonal(listed, True)
    sparse = np.where(listed, S, 0.0)
    chosen, cover = [], np.zeros(40)
    for _ in range(40):
        gains = np.maximum(sparse - cover[:, None], 0).sum(axis=0)
        gains[chosen] = -1
        j = int(np.argmax(gains))
        chosen.append(j)
        cover = np.maximum(cover, sparse[:, j])
    np.testing.assert_array_equal(graph_facility_location(graph), chosen)


def test_sparse_objective_within_one_percent_of_dense(class_kernels):
    """The kept sets of facility location on a 10-neighbour graph score within 1 %
    of the dense greedy's on the dense objective (measured: >= 99.9 % at every
    ratio on these classes)."""
    for _, S in class_kernels:
        n = len(S)
        dense = facility_location(S, n)
        sparse = graph_facility_location(_graph_of(S, 10))
        for r in RATIOS:
            k = max(1, int(n * (1 - r)))
            ratio = facility_objective(S, sparse[:k]) / facility_objective(S, dense[:k])
            assert ratio >= 0.99, (r, ratio)


def test_pruner_graph_overlaps_the_dense_selection(digits):
    """Measured on digits (3 epochs, k = 10): the exact graph keeps 92 / 86 / 76 / 45 %
    of the dense path's rows at 30 / 50 / 70 / 90 % pruning; asserted with margin."""
    X, y = digits
    dense = LpNTKPruner(0.5, keep=DENSE, max_epochs=3, random_state=0).fit(X, y)
    sparse = LpNTKPruner(0.5, keep=EXACT, max_epochs=3, random_state=0).fit(X, y)
    for r, floor in zip(RATIOS, (0.85, 0.75, 0.65, 0.3)):
        a = set(dense.get_support(indices=True, prune_ratio=r))
        b = set(sparse.get_support(indices=True, prune_ratio=r))
        assert len(a) == len(b)
        assert len(a & b) / len(a) >= floor, r
    # the graph path's own fitted attributes are consistent
    assert "neighbours" in sparse.timings_
    assert sparse.keep_order_ is not None
    labels = sparse.cluster_labels_
    np.testing.assert_array_equal(y[labels], y)
    np.testing.assert_array_equal(labels[sparse.sample_indices_], sparse.sample_indices_)
    assert set(np.unique(labels)) == set(sparse.centres_)
    for r in (0.2, 0.6):  # a cut equals a fresh fit
        fresh = LpNTKPruner(r, keep=EXACT, max_epochs=3, random_state=0).fit(X, y)
        np.testing.assert_array_equal(
            fresh.sample_indices_, sparse.get_support(indices=True, prune_ratio=r)
        )


@pytest.mark.parametrize("keep", ["redundancy", "coverage", "adaptive", "d2"])
def test_every_matrix_rule_runs_on_the_graph(small_digits, keep):
    X, y = small_digits
    rule = rule_from(keep, graph="exact")
    pruner = LpNTKPruner(0.5, keep=rule, max_epochs=1, random_state=0).fit(X, y)
    counts = np.bincount(y[pruner.sample_indices_])
    expected = np.maximum(1, np.floor(np.bincount(y) * 0.5 + 1e-9)).astype(int)
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(y[pruner.cluster_labels_], y)


def test_coverage_on_the_graph_reads_the_exact_typicality(class_kernels):
    kernel, S = class_kernels[1]
    indices, values = exact_neighbours(kernel, 10)
    graph = NeighbourGraph(indices, values, kernel.diagonal(), typical=kernel.typicality())
    dense = rule_cut(S, keep="coverage", random_state=0)
    sparse = rule_cut(graph, keep="coverage", random_state=0)
    for k in (10, 50, 150):
        np.testing.assert_array_equal(dense.select(k).kept, sparse.select(k).kept)


# ---------------------------------------------------------------- the switch
def test_auto_switches_to_a_graph_past_the_dense_limit(small_digits, monkeypatch):
    X, y = small_digits
    facility = dict(keep="representative", max_epochs=1, random_state=0)
    dense = LpNTKPruner(0.5, **facility).fit(X, y)
    assert "neighbours" not in dense.timings_
    monkeypatch.setattr(_plan, "DENSE_MAX_ROWS", 40)
    auto = LpNTKPruner(0.5, **facility).fit(X, y)
    exact = LpNTKPruner(0.5, keep=EXACT, max_epochs=1, random_state=0).fit(X, y)
    assert "neighbours" in auto.timings_
    np.testing.assert_array_equal(auto.sample_indices_, exact.sample_indices_)


def test_graph_modes_follow_the_sizes():
    assert _plan.graph_mode(500, "auto", width=100) == "dense"
    assert _plan.graph_mode(20_000, "auto", width=500) == "exact"
    assert _plan.graph_mode(50_000, "auto", width=500) == "approximate"
    assert _plan.graph_mode(500_000, "auto", width=500) == "approximate"
    assert _plan.graph_mode(100_000, "auto", width=500, device_type="cuda") == "exact"
    assert _plan.graph_mode(500_000, "auto", width=500, backend_available=False) == "exact"
    assert _plan.graph_mode(500, "approximate", width=100) == "approximate"


def _mlp_engine(X, y, limit):
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    engine = LpNTKEngine(model, normalize="cosine", max_memory=limit)
    return engine, engine.probe(X.astype(np.float32), y)


def test_plans_follow_the_class_sizes_and_the_limit(small_digits):
    """Planning needs no kernel: big classes are planned from their sizes alone."""
    X, y = small_digits
    engine, probe = _mlp_engine(X, y, "3GB")
    width = probe.stored_numbers
    plan = engine.plan(probe, [500, 20_000, 400_000], need_full=True, graph="auto")
    assert [p.graph for p in plan.classes][:2] == [None, "exact"]
    assert 20_000**2 * width <= _plan.EXACT_MAX_WORK  # this MLP's width makes it exact
    expected = "approximate" if engine_backend() else "exact"
    assert plan.classes[2].graph == expected
    # 6,000 rows fit densely in 3 GB, but not in 100 MB: then the class takes a graph
    assert engine.plan(probe, [6000], need_full=True, graph="auto").classes[0].graph is None
    small, _ = _mlp_engine(X, y, "100MB")
    assert small.plan(probe, [6000], need_full=True, graph="auto").classes[0].graph == "exact"
    with pytest.raises(MemoryLimitError, match="max_memory"):
        small.plan(probe, [6000], need_full=True, graph="dense")


def engine_backend():
    return importlib.util.find_spec("faiss") or importlib.util.find_spec("pynndescent")


def test_limit_error_before_training_when_even_the_graph_cannot_fit(small_digits, monkeypatch):
    import skorch

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the work could not fit max_memory")

    monkeypatch.setattr(skorch.NeuralNetClassifier, "partial_fit", no_training)
    X, y = small_digits
    with pytest.raises(MemoryLimitError, match="max_memory"):
        LpNTKPruner(0.5, keep=EXACT, max_epochs=1, max_memory="20kB").fit(X, y)


def test_graph_options_that_need_the_kernel_are_refused_before_work(small_digits):
    X, y = small_digits
    for graph in ("exact", "approximate"):
        rule = FacilityLocation(graph=graph, drop_contradictory=0.0)
        with pytest.raises(ValueError, match=f"graph='{graph}'"):
            LpNTKPruner(0.5, keep=rule, max_epochs=1).fit(X, y)
    # with graph="auto" the same option reads the kernel itself
    LpNTKPruner(0.5, keep=FacilityLocation(drop_contradictory=0.0), max_epochs=1).fit(X, y)


@pytest.mark.parametrize("keep", ["centres", "random_member", "thin_largest", "herding"])
def test_rules_that_read_the_kernel_itself_have_no_graph_to_force(keep):
    """0.7 refused a forced graph with the traversal rules (and their self-max filter) at
    fit time; since 0.8 only the rules that read a graph have the option."""
    with pytest.raises(TypeError, match="has no option graph; its options are"):
        rule_from(keep, graph="exact")
    with pytest.raises(TypeError, match="graph"):
        type(rule_from(keep))(graph="exact")
    if keep == "centres":
        with pytest.raises(TypeError, match="unexpected keyword argument 'graph'"):
            Centres(selfmax="filter", graph="exact")


def test_missing_search_library_is_named(small_digits, monkeypatch):
    X, y = small_digits
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    monkeypatch.setattr("sklearn_lpntk._engine._neighbours.BACKENDS", ("no_such_library",))
    with pytest.raises(ImportError, match=r"sklearn-lpntk\[large\]"):
        LpNTKPruner(0.5, keep=FacilityLocation(graph="approximate"), max_epochs=1).fit(X, y)


def test_cleaner_typicality_is_the_same_through_the_factors(small_digits, monkeypatch):
    X, y = small_digits
    dense = LpNTKCleaner(max_epochs=2, random_state=0).fit(X, y)
    monkeypatch.setattr(_plan, "DENSE_MAX_ROWS", 10)
    graph = LpNTKCleaner(max_epochs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(graph.typicality_, dense.typicality_, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(graph.sample_indices_, dense.sample_indices_)


def test_dask_cluster_gives_the_serial_graph_selection(small_digits):
    distributed = pytest.importorskip("distributed", reason="the test extra installs it")
    X, y = small_digits
    serial = LpNTKPruner(0.5, keep=EXACT, max_epochs=1, random_state=0).fit(X, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster), joblib.parallel_config("dask"):
            spread = LpNTKPruner(0.5, keep=EXACT, max_epochs=1, random_state=0, n_jobs=2)
            spread.fit(X, y)
    np.testing.assert_array_equal(spread.sample_indices_, serial.sample_indices_)


def test_lpntk_kernel_still_returns_the_dense_matrix(small_digits):
    X, y = small_digits
    model = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    K = lpntk_kernel(model, X[:30].astype(np.float32), y[:30], normalize="cosine")
    assert K.shape == (30, 30)
