"""The public building blocks (``sklearn_lpntk.kernels``, ``sklearn_lpntk.selection``)
do what their module docstrings promise, against independent computations."""

import numpy as np
import pytest
import torch

from sklearn_lpntk import kernels, lpntk_kernel, selection
from sklearn_lpntk.datasets import perturb


def _model_and_data(seed=0, n=40, d=6, classes=3):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(d, 8), torch.nn.Tanh(), torch.nn.Linear(8, classes)
    ).double()
    rng = np.random.default_rng(seed)
    return model, rng.normal(size=(n, d)), rng.integers(0, classes, size=n)


def _reference_cosine(model, X, y):
    """phi(x, y) = grad_theta (2 z_y - sum_k z_k) per sample by autograd, then cosines."""
    rows = []
    for x, label in zip(torch.as_tensor(X), y):
        model.zero_grad()
        z = model(x[None])[0]
        (2 * z[label] - z.sum()).backward()
        rows.append(torch.cat([p.grad.flatten() for p in model.parameters()]).clone())
    phi = torch.stack(rows).numpy()
    K = phi @ phi.T
    d = np.sqrt(np.diagonal(K))
    return K / np.outer(d, d)


def test_engine_lifecycle_of_the_module_docstring_gives_the_cosine_lpntk():
    model, X, y = _model_and_data()
    engine = kernels.LpNTKEngine(model, normalize="cosine")
    plan = engine.plan(engine.probe(X, y), [len(X)])
    K = engine.kernel(X, y, plan).matrix()
    np.testing.assert_allclose(K, _reference_cosine(model, X, y), atol=1e-10)
    np.testing.assert_allclose(K, lpntk_kernel(model, X, y, normalize="cosine"), atol=1e-12)


def test_neighbour_search_finds_the_largest_entries_of_each_row():
    model, X, y = _model_and_data(n=30)
    engine = kernels.LpNTKEngine(model, normalize="cosine")
    plan = engine.plan(engine.probe(X, y), [len(X)])
    kernel = engine.kernel(X, y, plan)
    K = _reference_cosine(model, X, y)
    np.fill_diagonal(K, -np.inf)
    indices, values = kernels.exact_neighbours(kernel, 4)
    np.testing.assert_allclose(values, -np.sort(-K, axis=1)[:, :4], atol=1e-10)
    # rerank of every other row as candidates is the exact search
    everyone = np.array([[j for j in range(len(X)) if j != i] for i in range(len(X))])
    again, again_values = kernels.rerank(kernel, everyone, 4)
    np.testing.assert_array_equal(again, indices)
    np.testing.assert_allclose(again_values, values, atol=1e-12)


def test_gram_is_the_symmetric_product():
    phi = torch.randn(50, 7, dtype=torch.float64)
    G = kernels.gram(phi)
    np.testing.assert_allclose(G.numpy(), (phi @ phi.T).numpy(), atol=1e-12)
    assert torch.equal(G, G.T)


def test_selection_rules_on_a_matrix_of_ones_own():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(60, 5))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    S = F @ F.T
    counts = selection.keep_counts([60, 7], 0.5)
    assert counts.tolist() == [30, 3]
    kept = np.sort(selection.facility_location(S, 30))
    assert np.array_equal(selection.choose_rows(S, 30, keep="representative").kept, kept)
    cut = selection.rule_cut(S, keep="representative")
    assert isinstance(cut, selection.Cut)
    assert np.array_equal(cut.select(30).kept, kept)
    graph = selection.top_neighbours(S, 5)
    assert isinstance(graph, selection.NeighbourGraph)
    assert graph.indices.shape == (60, 5)


def test_duplicate_threshold_sees_exact_copies_as_duplicates():
    """The copies' cosines are computed here (public names only), as bench/redundancy.py
    does; duplicate_threshold reads them against the rows' local scales."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    scale = np.full(len(X), 0.5)

    def cosines(A, B):
        return np.sum(A * B, axis=1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1)

    threshold, ratios = selection.duplicate_threshold(cosines(X, X.copy()), scale)
    assert threshold == pytest.approx(0.0, abs=1e-12)
    assert len(ratios) == len(X) and np.all(ratios < 1e-12)
    noisy = perturb(X, "noise", scale=0.05, random_state=0)
    assert noisy.shape == X.shape and not np.array_equal(noisy, X)
    close, ratios = selection.duplicate_threshold(cosines(X, noisy), scale)
    np.testing.assert_allclose(ratios, (1 - cosines(X, noisy)) / 0.5)
    assert close == pytest.approx(np.median(ratios))
    assert 0 < close < 0.25  # below the documented cap


def test_noise_on_integer_pixels_is_clipped_to_their_range():
    X = np.array([[0, 255, 128, 3]] * 50, dtype=np.uint8)
    X[::2, 0] = 1  # some spread in every feature
    X[1::2, 1] = 250
    X[::3, 2] = 100
    X[::2, 3] = 0
    noisy = perturb(X, "noise", scale=3.0, random_state=0)
    assert noisy.dtype == np.uint8
    wide = X.astype(float) + 3.0 * X.std(axis=0) * np.random.default_rng(0).standard_normal(X.shape)
    np.testing.assert_array_equal(noisy, np.clip(np.rint(wide), 0, 255).astype(np.uint8))
    assert noisy[:, 0].max() < 128  # near 0: clipped up from below, never wrapped to 255


def test_rule_coverage_counts_the_scalars_of_layers_with_rules():
    from sklearn_lpntk.layers import rule_coverage

    linear = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    assert rule_coverage(linear) == 1.0
    # PReLU has no rule: its one weight goes through autograd; 16 + 10 covered of 27
    mixed = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.PReLU(), torch.nn.Linear(4, 2))
    assert rule_coverage(mixed) == pytest.approx(26 / 27)
    with pytest.raises(ValueError, match="no trainable parameters"):
        rule_coverage(torch.nn.Tanh())


def test_a_cut_must_implement_the_protocol():
    class Half(selection.Cut):
        order = None

        def covers(self, k):
            return True

    with pytest.raises(TypeError, match="abstract"):
        Half()

    class Whole(Half):
        def select(self, k, prune_ratio=None):
            return selection.Selection(np.arange(k))

    assert Whole().select(3).kept.tolist() == [0, 1, 2]
