"""Every kernel strategy against the features strategy and the eNTK reference."""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_lpntk import LpNTK, lpntk_kernel
from sklearn_lpntk._engine import FactorizedGradients, LpNTKEngine
from sklearn_lpntk._engine._layers import GhostPiece, LinearRule, rule_for

from ._reference import explicit_jacobian, loglik_gradient_kernel

RTOL = 1e-5


class MixedCNN(nn.Module):
    """Conv2d (dense and ghost cases), Conv1d, BatchNorm, a parameter outside any layer
    (per-sample autograd), a Linear on a sequence (T > 1 positions), a layer used twice,
    a frozen weight, a bias-free layer."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 6, kernel_size=3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv1d = nn.Conv1d(6, 3, kernel_size=2, bias=False)
        self.seq = nn.Linear(12, 40)  # applied to (n, 2, 12): 2 positions
        self.shared = nn.Linear(80, 80)  # applied twice
        self.head = nn.Linear(80, n_classes)
        self.shared.weight.requires_grad_(False)  # frozen weight, trainable bias
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, 6))  # no rule: autograd

    def forward(self, x):
        h = torch.relu(self.conv1(x))
        h = torch.relu(self.bn(self.conv2(h)) * self.gain[:, None, None])  # (n, 6, 3, 3)
        h = self.conv1d(h.flatten(2))  # (n, 3, 8)
        h = torch.tanh(self.seq(h.reshape(len(x), 2, 12))).flatten(1)  # (n, 80)
        h = torch.tanh(self.shared(torch.tanh(self.shared(h))))
        return self.head(h)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 9),
        nn.ReLU(inplace=True),
        nn.Linear(9, 1, bias=False),
        nn.Tanh(),
        nn.Linear(1, 7),
        nn.ReLU(),
        nn.Linear(7, 4),
    ).double()


def _model(kind, seed=0):
    if kind == "mlp":
        return _mlp(seed)
    torch.manual_seed(seed)
    model = MixedCNN().double()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model


def _data(kind, n=13, seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind == "mlp":
        return torch.randn(n, 6, generator=g, dtype=torch.float64), torch.randint(0, 4, (n,))
    X = torch.randn(n, 1, 8, 8, generator=g, dtype=torch.float64)
    return X, torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("normalize", [None, "K", "cosine"])
@pytest.mark.parametrize("error_weighting", ["sign", "full"])
def test_factorized_equals_features(kind, normalize, error_weighting):
    model = _model(kind)
    X, y = _data(kind)
    opts = {"normalize": normalize, "error_weighting": error_weighting}
    ref = lpntk_kernel(model, X, y, strategy="features", **opts)
    got = lpntk_kernel(model, X, y, strategy="factorized", chunk_size=5, **opts)
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=RTOL * ref.abs().max().item())


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_factorized_equals_explicit_jacobian_reference(kind):
    model = _model(kind)
    X, y = _data(kind, n=7)
    J = explicit_jacobian(model, X)  # (n, K, P), from autograd.functional
    m = 2.0 * nn.functional.one_hot(y, J.shape[1]).double() - 1.0
    phi = torch.einsum("nk,nkp->np", m, J)
    got = lpntk_kernel(model, X, y, strategy="factorized")
    torch.testing.assert_close(got, phi @ phi.T, rtol=RTOL, atol=1e-10)
    full = lpntk_kernel(model, X, y, strategy="factorized", error_weighting="full")
    torch.testing.assert_close(full, loglik_gradient_kernel(model, X, y), rtol=RTOL, atol=1e-10)


def test_cnn_exercises_every_piece_kind():
    """The mixed CNN really goes through ghost, dense and per-sample autograd paths."""
    model = _model("cnn")
    X, y = _data("cnn", n=4)
    producer = FactorizedGradients(model, dtype=torch.float64)
    pieces, _ = producer.pieces(X, y, 3, producer.params_at())
    ghosts = [p for p in pieces if isinstance(p, GhostPiece)]
    assert any(p.A.shape[1] > 1 for p in ghosts), "a ghost layer with several positions"
    assert any(p.A.shape[1] == 1 for p in ghosts), "a ghost layer with one position"
    assert any(not isinstance(p, GhostPiece) for p in pieces)
    assert producer.fallback_names == ["gain"]  # BatchNorm has a rule since 0.5
    assert "shared.weight" not in producer.covered and "shared.bias" in producer.covered


def test_rule_chooses_the_cheaper_form_from_shapes():
    rule = rule_for(nn.Linear(9216, 128))
    assert rule.use_ghost(1, 9217, 128)  # LeNet fc1: 9345 per pair instead of 1.2M
    conv = rule_for(nn.Conv2d(32, 64, 3))
    assert not conv.use_ghost(24 * 24, 32 * 9 + 1, 64)  # LeNet conv2: dense is cheaper
    assert isinstance(rule, LinearRule)
    assert rule_for(nn.Conv2d(4, 4, 3, groups=2)) is not None
    assert rule_for(nn.Conv2d(4, 4, 3, padding="same", padding_mode="reflect")) is not None
    # layers whose gradient couples samples or rewrites weights: per-sample autograd
    assert rule_for(nn.Embedding(5, 2, max_norm=1.0)) is None
    assert rule_for(nn.Embedding(5, 2, scale_grad_by_freq=True)) is None
    assert rule_for(nn.BatchNorm2d(3, track_running_stats=False)) is None
    assert rule_for(nn.LayerNorm(3, elementwise_affine=False)) is None


def test_model_and_modes_untouched_by_factorized():
    model = _model("cnn").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = _data("cnn")
    lpntk_kernel(model, X, y, strategy="factorized")
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in model.parameters())
    assert not model._forward_hooks and not model.conv1._forward_hooks


def _relative_error(approx, exact):
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_projection_error_shrinks_with_dimension(kind):
    model = _model(kind)
    X, y = _data(kind, n=30)
    exact = lpntk_kernel(model, X.numpy(), y.numpy(), strategy="features")
    errors = []
    for dim in (64, 1024, 16384):
        errs = [
            _relative_error(
                lpntk_kernel(
                    model,
                    X.numpy(),
                    y.numpy(),
                    strategy="projection",
                    projection_dim=dim,
                    random_state=seed,
                ),
                exact,
            )
            for seed in range(4)
        ]
        errors.append(np.mean(errs))
    assert errors[0] > errors[1] > errors[2]
    # about 1 / sqrt(dim): 16x the dimension, about a quarter of the error
    assert errors[2] < 0.5 * errors[1] and errors[1] < 0.5 * errors[0]


def test_projection_is_unbiased():
    model = _model("mlp")
    X, y = _data("mlp", n=10)
    exact = lpntk_kernel(model, X, y, strategy="features").numpy()
    single = lpntk_kernel(
        model, X, y, strategy="projection", projection_dim=32, random_state=0
    ).numpy()
    mean = np.mean(
        [
            lpntk_kernel(
                model, X, y, strategy="projection", projection_dim=32, random_state=s
            ).numpy()
            for s in range(200)
        ],
        axis=0,
    )
    assert _relative_error(mean, exact) < 0.4 * _relative_error(single, exact)


def test_projection_seed_gives_the_same_sketch():
    model = _model("mlp")
    X, y = _data("mlp")
    a = lpntk_kernel(model, X, y, strategy="projection", projection_dim=128, random_state=3)
    b = lpntk_kernel(model, X, y, strategy="projection", projection_dim=128, random_state=3)
    c = lpntk_kernel(model, X, y, strategy="projection", projection_dim=128, random_state=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_auto_prefers_factorized_and_falls_back_to_features():
    assert LpNTKEngine(_model("mlp")).strategy == "factorized"

    class Embedded(nn.Module):  # most parameters in a layer without a rule
        def __init__(self):
            super().__init__()
            self.mix = nn.Parameter(torch.eye(50))
            self.out = nn.Linear(50, 2)

        def forward(self, x):
            return self.out(x @ self.mix)

    assert LpNTKEngine(Embedded()).strategy == "features"
    assert LpNTKEngine(Embedded(), strategy="factorized").strategy == "factorized"


def test_dtype_float64_on_request_from_a_float32_model():
    model = _model("mlp").float()
    X, y = _data("mlp")
    k64 = lpntk_kernel(model, X.float(), y, dtype="float64")
    assert k64.dtype == torch.float64
    ref = lpntk_kernel(model.double(), X, y, strategy="features")
    torch.testing.assert_close(k64, ref, rtol=RTOL, atol=1e-12)


def test_projection_selection_overlaps_the_exact_one(small_digits):
    """At projection_dim=4096 the kept rows mostly agree with the exact kernel's
    (docs/performance.md reports the overlap; a random subset would overlap 0.5)."""
    from .conftest import fast_pruner

    X, y = small_digits
    exact = fast_pruner(prune_ratio=0.5).fit(X, y)
    projection = LpNTK(normalize=None, strategy="projection", projection_dim=4096)
    proj = fast_pruner(prune_ratio=0.5, kernel=projection).fit(X, y)
    assert proj.strategy_ == "projection" and exact.strategy_ == "factorized"
    overlap = len(np.intersect1d(exact.sample_indices_, proj.sample_indices_))
    assert overlap / len(exact.sample_indices_) >= 0.8


def test_in_place_operations_after_a_ruled_layer_are_detected():
    """Outputs are recorded without copies; an in-place op downstream (ReLU(inplace=True)
    in the MLP) is seen through the version counter and the chunk is redone with copies."""
    X, y = _data("mlp")
    inplace = FactorizedGradients(_model("mlp"), dtype=torch.float64)
    got, _ = inplace.pieces(X, y, 4, inplace.params_at())
    assert inplace._copy_outputs
    plain_model = _model("mlp")
    plain_model[1] = nn.ReLU()  # same network, no in-place operation
    plain = FactorizedGradients(plain_model, dtype=torch.float64)
    ref, _ = plain.pieces(X, y, 4, plain.params_at())
    assert not plain._copy_outputs
    for a, b in zip(got, ref):
        if isinstance(a, GhostPiece):
            torch.testing.assert_close(a.A, b.A)
            torch.testing.assert_close(a.D, b.D)
        else:
            torch.testing.assert_close(a, b)
