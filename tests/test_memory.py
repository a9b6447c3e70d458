"""Memory limits (max_memory), lazy-row traversal and parallel per-class jobs."""

import joblib
import numpy as np
import pytest
import torch
from torch import nn

from sklearn_lpntk import LpNTK, MemoryLimitError, farthest_first_traversal, lpntk_kernel
from sklearn_lpntk._engine import LpNTKEngine, parse_max_memory
from sklearn_lpntk._selection import select_from_kernel

from .conftest import fast_pruner

#: the paper's kernel (fast_pruner's) in float64
RAW64 = LpNTK(normalize=None, dtype="float64")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MB", 512 * 10**6),
        ("4GB", 4 * 10**9),
        ("1.5 GiB", int(1.5 * 2**30)),
        ("100kib", 102400),
        (12345, 12345),
        (None, None),
    ],
)
def test_parse_max_memory(text, expected):
    assert parse_max_memory(text) == expected


def test_auto_limit_is_part_of_free_memory():
    assert 0 < parse_max_memory("auto") < 10**15


@pytest.mark.parametrize("bad", ["lots", "4 parsecs", -1, 0, True, [1]])
def test_bad_limit_names_the_parameter(bad):
    with pytest.raises(ValueError, match="max_memory"):
        parse_max_memory(bad)


class CountingKernel:
    """A matrix seen only through diagonal() and row(i), counting the rows read."""

    def __init__(self, matrix):
        self.matrix, self.shape, self.rows = matrix, matrix.shape, []

    def diagonal(self):
        return np.diagonal(self.matrix).copy()

    def row(self, i):
        self.rows.append(i)
        return self.matrix[i].copy()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("keep", ["centres", "random_member", "thin_largest"])
def test_lazy_rows_select_what_the_full_matrix_selects(seed, keep):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(60, 5))
    K = F @ F.T
    lazy = CountingKernel(K)
    full = select_from_kernel(K, 20, keep=keep, random_state=seed)
    got = select_from_kernel(lazy, 20, keep=keep, random_state=seed)
    for a, b in zip(full, got):
        np.testing.assert_array_equal(a, b)
    centres, _ = farthest_first_traversal(K, len(full[1]))
    assert sorted(lazy.rows) == sorted(centres.tolist())  # only the centres' rows


def _limit_between_lazy_and_full(pruner, X, y):
    """A limit that fits the stored gradients but not the largest class's Gram."""
    engine = LpNTKEngine(
        nn.Sequential(
            nn.Flatten(), nn.Linear(X.shape[1], 256), nn.ReLU(), nn.Linear(256, len(np.unique(y)))
        ),
        dtype=pruner.kernel.dtype,
    )
    probe = engine.probe(X.astype(np.float32), y)
    largest = int(np.bincount(y).max())
    low = engine.need_bytes(probe, engine.strategy, largest, need_full=False)
    high = engine.need_bytes(probe, engine.strategy, largest, need_full=True)
    assert high > low
    return (low + high) // 2


def test_pruner_lazy_rows_give_the_same_selection(small_digits):
    X, y = small_digits
    full = fast_pruner(kernel=RAW64, max_memory=None).fit(X, y)
    limit = _limit_between_lazy_and_full(full, X, y)
    lazy = fast_pruner(kernel=RAW64, max_memory=limit).fit(X, y)
    assert len(lazy.lazy_classes_) > 0 and full.lazy_classes_ == []
    np.testing.assert_array_equal(lazy.sample_indices_, full.sample_indices_)
    np.testing.assert_array_equal(lazy.cluster_labels_, full.cluster_labels_)
    np.testing.assert_allclose(lazy.self_kernel_, full.self_kernel_, rtol=1e-10)


def test_limit_too_small_fails_before_training(small_digits, monkeypatch):
    import skorch

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the work could not fit max_memory")

    monkeypatch.setattr(skorch.NeuralNetClassifier, "partial_fit", no_training)
    X, y = small_digits
    factorized = LpNTK(normalize=None, strategy="factorized")
    with pytest.raises(MemoryLimitError, match=r"needs at least [0-9.]+ [kMG]B"):
        fast_pruner(max_memory="10kB", kernel=factorized).fit(X, y)
    with pytest.raises(ValueError, match="max_memory"):
        fast_pruner(max_memory="10kB").fit(X, y)  # also a ValueError


def test_auto_falls_back_to_projection_with_a_warning(small_digits):
    X, y = small_digits
    engine = LpNTKEngine(
        nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)), projection_dim=64
    )
    probe = engine.probe(X.astype(np.float32), y)
    largest = int(np.bincount(y).max())
    projected = engine.need_bytes(probe, "projection", largest, need_full=False)
    exact = engine.need_bytes(probe, "factorized", largest, need_full=False)
    assert projected < exact
    with pytest.warns(UserWarning, match="projection"):
        pruner = fast_pruner(
            max_memory=(projected + exact) // 2, kernel=LpNTK(normalize=None, projection_dim=64)
        ).fit(X, y)
    assert pruner.strategy_ == "projection"
    assert len(pruner.sample_indices_) == sum(pruner.sampling_strategy_.values())


def test_kernel_function_needs_room_for_the_full_matrix():
    model = nn.Linear(5, 2)
    X, y = torch.randn(300, 5), torch.randint(0, 2, (300,))
    with pytest.raises(MemoryLimitError, match="max_memory"):
        lpntk_kernel(model, X, y, max_memory="200kB", strategy="features")
    assert lpntk_kernel(model, X, y, max_memory="50MB").shape == (300, 300)


def test_limit_shrinks_chunks_without_changing_the_result():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3)).double()
    X, y = torch.randn(200, 20, dtype=torch.float64), torch.randint(0, 3, (200,))
    engine = LpNTKEngine(model, max_memory="4MB", strategy="features")
    plan = engine.plan(engine.probe(X, y), [200], need_full=True)
    assert plan.classes[0].chunk_size < 64
    np.testing.assert_allclose(
        lpntk_kernel(model, X, y, max_memory="4MB", strategy="features"),
        lpntk_kernel(model, X, y, strategy="features"),
        rtol=1e-12,
    )


def test_n_jobs_gives_the_serial_result(small_digits):
    X, y = small_digits
    serial = fast_pruner(keep="random_member").fit(X, y)
    parallel = fast_pruner(keep="random_member", n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(parallel.sample_indices_, serial.sample_indices_)
    np.testing.assert_allclose(parallel.self_kernel_, serial.self_kernel_, rtol=1e-5)


def test_dask_local_cluster_runs_the_classes(small_digits):
    distributed = pytest.importorskip(
        "distributed", reason="the Dask backend needs the test extra 'distributed'"
    )
    X, y = small_digits
    serial = fast_pruner().fit(X, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client, joblib.parallel_config("dask"):
            pruner = fast_pruner(n_jobs=-1).fit(X, y)
            assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_array_equal(pruner.sample_indices_, serial.sample_indices_)


def test_float64_kernel_on_request(small_digits):
    X, y = small_digits
    pruner = fast_pruner(kernel=RAW64).fit(X[:200], y[:200])
    module = pruner.net_.module_
    idx = np.flatnonzero(y[:200] == 3)
    K = lpntk_kernel(module, X[:200][idx].astype(np.float32), np.full(len(idx), 3), dtype="float64")
    assert K.dtype == np.float64
    np.testing.assert_allclose(pruner.self_kernel_[idx], np.diagonal(K), rtol=1e-10)
