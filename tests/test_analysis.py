"""The analyses on constructed cases whose answer is known, and the plots."""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_lpntk import lpntk_kernel
from sklearn_lpntk.analysis import (
    RELATIONS,
    correlation,
    cosine_matrix,
    learning_difficulty,
    precision_recall_f1,
    predict_forgetting,
    relation_counts,
    relation_types,
    sgd_step_forgetting,
)


def _linear(n_in=4, n_classes=3, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_classes, bias=False).double()


def test_relation_types_of_constructed_pairs():
    """For z = W x, Theta(x, x') = (x . x') I, so kappa = (x . x') m_y . m_y'."""
    model = _linear()
    x = torch.tensor([1.0, 2.0, 0.0, 0.0], dtype=torch.float64)
    ortho = torch.tensor([0.0, 0.0, 3.0, 1.0], dtype=torch.float64)
    X = torch.stack([x, x, x, ortho])
    y = torch.tensor([0, 0, 1, 0])  # a duplicate, a label-flipped copy, an orthogonal input
    K = lpntk_kernel(model, X, y)
    types = relation_types(K)
    assert RELATIONS[types[0, 1]] == "interchangeable"  # duplicate: cos = 1
    assert RELATIONS[types[0, 2]] == "contradictory"  # m_0 . m_1 / 3 = -1/3
    assert RELATIONS[types[0, 3]] == "unrelated"  # orthogonal inputs: cos = 0
    np.testing.assert_allclose(cosine_matrix(K)[0, 2], -1 / 3, rtol=1e-12)
    assert (np.diagonal(types) == -1).all()
    counts = relation_counts(K)
    np.testing.assert_array_equal(counts.sum(axis=1), [3, 3, 3, 3])
    np.testing.assert_array_equal(counts[0], [1, 1, 1])


def test_relation_thresholds_are_parameters():
    K = np.array([[1.0, 0.3], [0.3, 1.0]])
    assert RELATIONS[relation_types(K)[0, 1]] == "unrelated"
    assert RELATIONS[relation_types(K, interchangeable=0.2)[0, 1]] == "interchangeable"
    assert (
        RELATIONS[relation_types(K, contradictory=0.4, interchangeable=0.5)[0, 1]]
        == "contradictory"
    )
    with pytest.raises(ValueError, match="contradictory <= interchangeable"):
        relation_types(K, interchangeable=0.1, contradictory=0.2)


def test_learning_difficulty_sums_error_norms_over_epochs():
    probs = np.array(
        [
            [[0.5, 0.5], [1.0, 0.0]],
            [[1.0, 0.0], [0.0, 1.0]],
        ]
    )
    y = np.array([0, 1])
    expected = [np.sqrt(0.5) + 0.0, np.sqrt(2) + 0.0]
    np.testing.assert_allclose(learning_difficulty(probs, y), expected)
    r, _ = correlation([1, 2, 3, 4], [10, 20, 25, 100])
    assert r == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pearson"):
        correlation([1, 2], [1, 2], method="kendall")


def test_precision_recall_f1_known_values():
    p, r, f = precision_recall_f1([1, 1, 0, 0], [1, 0, 1, 0])
    assert (p, r, f) == (0.5, 0.5, 0.5)
    assert precision_recall_f1([0, 0], [1, 0]) == (0.0, 0.0, 0.0)


def test_first_order_prediction_converges_to_the_true_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    X = torch.randn(30, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (30,))
    errors = []
    for lr in (0.1, 0.01):
        pred = predict_forgetting(model, X, y, X[:8], y[:8], lr)
        true = sgd_step_forgetting(model, X, y, X[:8], y[:8], lr)
        np.testing.assert_allclose(pred["before"], true["before"], rtol=1e-12)
        errors.append(np.abs(pred["predicted"] - true["after"]).max())
    assert errors[1] < errors[0] / 30  # second-order remainder: ~100x per 10x in lr


def test_forgetting_prediction_on_a_constructed_step():
    """A step on the label-flipped copy of a barely-correct sample makes it forgotten;
    a far-away sample of another direction is untouched."""
    model = _linear(n_in=2, n_classes=2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.1, 0.0], [0.0, 0.0]], dtype=torch.float64))
    X_obs = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    y_obs = torch.tensor([0, 0])  # row 0 barely correct; row 1 a tie (argmax: class 0)
    X_batch, y_batch = X_obs[:1], torch.tensor([1])
    pred = predict_forgetting(model, X_obs, y_obs, X_batch, y_batch, lr=1.0)
    true = sgd_step_forgetting(model, X_obs, y_obs, X_batch, y_batch, lr=1.0)
    np.testing.assert_array_equal(pred["forgotten"], [True, False])
    np.testing.assert_array_equal(true["forgotten"], [True, False])
    assert precision_recall_f1(pred["forgotten"], true["forgotten"]) == (1.0, 1.0, 1.0)
    before = {n: p.clone() for n, p in model.state_dict().items()}
    assert all(torch.equal(before[n], p) for n, p in model.state_dict().items())


def test_plots_draw_what_they_are_given():
    matplotlib = pytest.importorskip("matplotlib", reason="plots need the 'plot' extra")
    matplotlib.use("Agg")
    from sklearn_lpntk import plotting

    ax = plotting.plot_accuracy_vs_ratio(
        {"a": {0.0: [0.9, 0.92], 0.5: [0.8]}, "b": {0.0: [0.9], 0.5: [0.85, 0.86]}}
    )
    assert len(ax.containers) == 2 and ax.get_legend() is not None
    images = np.random.default_rng(0).random((20, 8, 8))
    mask = np.arange(20) % 2 == 0
    fig = plotting.plot_image_grid(images, mask, n_per_row=5, n_rows=1)
    assert sum(len(a.images) for a in fig.axes) == 10
    K = np.cov(np.random.default_rng(1).normal(size=(6, 30)))
    assert len(plotting.plot_kernel_spectrum(K).lines) == 1
    ax = plotting.plot_cluster_sizes(np.array([0, 0, 0, 3, 3, 5]))
    assert [p.get_height() for p in ax.patches] == [3, 2, 1]
    ax = plotting.plot_relation_histogram(K)
    assert sum(p.get_height() for p in ax.patches) == 15  # 6 * 5 / 2 pairs
