"""Kernel herding ("herding"): greedy MMD against a brute-force reading of its definition,
the block path against the whole matrix, and the rule inside LpNTKPruner."""

import numpy as np
import pytest
import torch

import sklearn_lpntk._engine._plan as plan_module
from sklearn_lpntk import LpNTKPruner, lpntk_kernel
from sklearn_lpntk.kernels import LpNTKEngine
from sklearn_lpntk.rules import Herding, rule_from
from sklearn_lpntk.selection import (
    block_herding,
    kernel_herding,
    mean_discrepancy,
    rule_cut,
)


def _features(seed, n=30, d=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * rng.gamma(1.0, size=(n, 1))


def _mmd2_brute(K, rows):
    """The squared MMD of ``rows`` to all rows, written out from its definition."""
    n, k = len(K), len(rows)
    within = sum(K[a, b] for a in rows for b in rows) / k**2
    across = sum(K[a, j] for a in rows for j in range(n)) / (k * n)
    whole = K.sum() / n**2
    return within - 2 * across + whole


def _herding_brute(K, k, target=None):
    """Add, k times, the row whose addition gives the smallest squared MMD (ties: lowest)."""
    n = len(K)
    if target is None:
        target = K.mean(axis=1)
    chosen = []
    for _ in range(k):
        best, best_value = None, np.inf
        for i in range(n):
            if i in chosen:
                continue
            rows = chosen + [i]
            # the squared MMD to the distribution whose mean similarities are `target`
            value = K[np.ix_(rows, rows)].mean() - 2 * target[rows].mean()
            if value < best_value - 1e-12:
                best, best_value = i, value
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("seed", range(20))
def test_herding_equals_brute_force_greedy_mmd(seed):
    F = _features(seed)
    K = F @ F.T
    if seed % 2:  # cosine, as the pruner reads it
        d = np.sqrt(np.diag(K))
        K = K / d[:, None] / d[None, :]
    assert kernel_herding(K).tolist() == _herding_brute(K, len(K))


@pytest.mark.parametrize("seed", range(6))
def test_herding_towards_a_given_target_equals_brute_force(seed):
    F = _features(seed, n=20)
    K = F @ F.T
    target = K[:, :8].mean(axis=1)  # the distribution of the first 8 rows
    assert kernel_herding(K, 12, target=target).tolist() == _herding_brute(K, 12, target)


def test_mean_discrepancy_is_its_definition_and_zero_for_the_whole_class():
    F = _features(0, n=12)
    K = F @ F.T
    for rows in ([3], [0, 5, 7], list(range(12))):
        assert mean_discrepancy(K, rows) == pytest.approx(_mmd2_brute(K, rows), abs=1e-12)
    assert mean_discrepancy(K, range(12)) == pytest.approx(0.0, abs=1e-12)


def _clusters(seed, n=400):
    """Cosine kernel of an imbalanced mixture: one dense cluster, two sparse ones."""
    rng = np.random.default_rng(seed)
    sizes = (int(0.7 * n), int(0.2 * n), n - int(0.7 * n) - int(0.2 * n))
    centres = rng.normal(size=(3, 6)) * 3
    F = np.concatenate([c + rng.normal(size=(m, 6)) for c, m in zip(centres, sizes)])
    F = F[rng.permutation(n)]
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    return F @ F.T


@pytest.mark.parametrize("seed", range(3))
def test_herding_matches_the_class_better_than_random_subsets(seed):
    K = _clusters(seed)
    order = kernel_herding(K)
    rng = np.random.default_rng(seed)
    for k in (20, 100, 200, 300):
        random = [mean_discrepancy(K, rng.choice(len(K), k, replace=False)) for _ in range(20)]
        assert mean_discrepancy(K, order[:k]) < min(random)


def test_block_herding_of_one_block_is_herding_and_blocks_share_every_prefix():
    K = _clusters(0, n=300)
    np.testing.assert_array_equal(block_herding(K, block_rows=300), kernel_herding(K))
    order = block_herding(K, block_rows=64, random_state=1)
    assert sorted(order.tolist()) == list(range(300))
    blocks = np.array_split(np.random.default_rng(1).permutation(300), 5)
    which = np.empty(300, int)
    for b, rows in enumerate(blocks):
        which[rows] = b
    for k in (10, 77, 150, 299):  # every block gives its share of any prefix, within one row
        counts = np.bincount(which[order[:k]], minlength=5)
        shares = k * np.array([len(b) for b in blocks]) / 300
        assert np.all(np.abs(counts - shares) <= 1.0)


@pytest.mark.parametrize("seed", range(3))
def test_block_herding_is_near_the_whole_matrix_and_below_random(seed):
    """The large-class path, in blocks of a quarter of the class: its squared MMD exceeds
    that of herding on the whole matrix by at most a quarter of a random subset's (the
    stated tolerance; both are far below random), and is below a fifth of random's."""
    K = _clusters(seed, n=800)
    whole = kernel_herding(K)
    blocks = block_herding(K, block_rows=200, random_state=0)
    rng = np.random.default_rng(0)
    for k in (80, 200, 400, 600):
        random = np.mean(
            [mean_discrepancy(K, rng.choice(len(K), k, replace=False)) for _ in range(20)]
        )
        assert mean_discrepancy(K, blocks[:k]) <= mean_discrepancy(K, whole[:k]) + random / 4
        assert mean_discrepancy(K, blocks[:k]) < random / 5


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
        )

    def forward(self, x):
        return self.body(x)


def test_a_class_kernel_gives_blocks_and_class_means_without_its_matrix():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    y = np.full(50, 1)
    engine = LpNTKEngine(_Net(), normalize="cosine", dtype="float64")
    kernel = engine.kernel(X, y, engine.plan(engine.probe(X, y), [50]))
    K = kernel.matrix()
    rows = np.array([7, 2, 40, 13])
    np.testing.assert_allclose(kernel.submatrix(rows), K[np.ix_(rows, rows)], atol=1e-12)
    # block_herding reads only blocks and class means: the same order as from the matrix
    np.testing.assert_array_equal(
        block_herding(kernel, block_rows=16, random_state=3),
        block_herding(K, block_rows=16, random_state=3),
    )


def test_the_rule_cut_is_the_herding_order_and_assigns_every_row():
    K = _clusters(1, n=60)
    cut = rule_cut(K, keep="herding")
    np.testing.assert_array_equal(cut.order, kernel_herding(K))
    sel = cut.select(15)
    np.testing.assert_array_equal(sel.kept, np.sort(kernel_herding(K)[:15]))
    expected = sel.kept[np.argmax(K[:, sel.kept], axis=1)]
    expected[sel.kept] = sel.kept
    np.testing.assert_array_equal(sel.assignment, expected)


def test_pruner_keeps_the_herding_rows_of_its_own_kernel():
    """The default LpNTKPruner() keeps, per class, the rows a brute-force greedy MMD keeps
    on the cosine lpNTK of the pruner's own network (and keep="herding" is the default)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = (X[:400] / 16.0).astype(np.float32), y[:400]
    pruner = LpNTKPruner(0.5, max_epochs=3, random_state=0).fit(X, y)
    assert pruner.keep == "herding" and pruner.keep_rule_ == Herding()
    module = pruner.net_.module_
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        K = lpntk_kernel(module, X[rows], y[rows], normalize="cosine").astype(np.float64)
        k = max(1, int(np.floor(len(rows) * 0.5)))
        expected = np.sort(rows[_herding_brute(K, k)])
        np.testing.assert_array_equal(np.intersect1d(pruner.sample_indices_, rows), expected)
        np.testing.assert_array_equal(pruner.keep_order_[c][:k], rows[kernel_herding(K)[:k]])


def test_pruner_reads_a_class_past_the_dense_limit_in_blocks(monkeypatch):
    """With the dense limit lowered, every class is read in blocks: the counts are the
    same, the kept set still matches its class far better than a random one, and the
    cut at another ratio is a prefix of the same order."""
    from sklearn.datasets import load_digits

    monkeypatch.setattr(plan_module, "DENSE_MAX_ROWS", 50)
    X, y = load_digits(return_X_y=True)
    X, y = (X[:600] / 16.0).astype(np.float32), y[:600]
    keep = Herding(block_rows=64)
    pruner = LpNTKPruner(0.5, keep=keep, max_epochs=3, random_state=0, verbose=0)
    pruner.fit(X, y)
    assert pruner.lazy_classes_ == list(range(10))
    module = pruner.net_.module_
    rng = np.random.default_rng(0)
    for c in range(10):
        rows = np.flatnonzero(y == c)
        order = pruner.keep_order_[c]
        assert sorted(order.tolist()) == rows.tolist()
        K = lpntk_kernel(module, X[rows], y[rows], normalize="cosine").astype(np.float64)
        local = np.searchsorted(rows, order[: len(rows) // 2])
        random = np.mean(
            [
                mean_discrepancy(K, rng.choice(len(rows), len(local), replace=False))
                for _ in range(20)
            ]
        )
        assert mean_discrepancy(K, local) < random / 2
    at_07 = pruner.get_support(indices=True, prune_ratio=0.7)
    assert set(at_07) <= set(pruner.sample_indices_)


@pytest.mark.parametrize("graph", ["exact", "approximate"])
def test_herding_has_no_neighbour_graph_to_force(graph):
    """0.7 refused keep="herding" with a forced graph at fit time; since 0.8 the graph
    is an option of the rules that read one, so the combination cannot be written."""
    with pytest.raises(TypeError, match="graph"):
        Herding(graph=graph)
    with pytest.raises(TypeError, match="has no option graph; its options are block_rows"):
        rule_from("herding", graph=graph)
    with pytest.raises(TypeError, match=r"'graph' is now .*keep=FacilityLocation\(graph="):
        LpNTKPruner(keep="herding", graph=graph)
    assert Herding().plan()["graph"] == "blocks"  # a large class is read in blocks


@pytest.mark.parametrize("block_rows", [0, -3, 2.5, "many", True])
def test_herding_refuses_a_bad_block_size_before_training(block_rows):
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match=r"Herding\(block_rows="):
        LpNTKPruner(keep=Herding(block_rows=block_rows), max_epochs=1000).fit(X, y)
