"""The layer rules of BatchNorm, LayerNorm, GroupNorm, Embedding and general convolutions.

Each network below is covered by rules alone (no parameter falls back to
per-sample autograd), and its factorised kernel must equal the features
strategy (per-sample gradients by torch.func) in float64.
"""

import pytest
import torch
from torch import nn

from sklearn_lpntk import lpntk_kernel
from sklearn_lpntk._engine import FactorizedGradients
from sklearn_lpntk._engine._layers import GhostPiece, rule_for

RTOL = 1e-5


class NormConvNet(nn.Module):
    """BatchNorm2d, GroupNorm, a depthwise dilated conv with reflect 'same' padding,
    a grouped conv (ghost groups), a Conv1d with an even kernel and circular 'same'
    padding (asymmetric), BatchNorm1d on a sequence and on a vector."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.stem = nn.Conv2d(2, 8, 3, padding="same", bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(
            8, 8, 3, groups=8, dilation=2, padding="same", padding_mode="reflect"
        )
        self.gn = nn.GroupNorm(4, 8)
        self.grouped = nn.Conv2d(8, 64, 1, groups=2, stride=2)  # one position per patch
        self.seq = nn.Conv1d(64, 6, 4, groups=2, padding="same", padding_mode="circular")
        self.bn1d = nn.BatchNorm1d(6)
        self.valid = nn.Conv1d(6, 5, 2, padding="valid", dilation=2)
        self.bn_vec = nn.BatchNorm1d(5)
        self.head = nn.Linear(5, n_classes)

    def forward(self, x):
        h = torch.relu(self.bn(self.stem(x)))
        h = torch.relu(self.gn(self.depthwise(h)))
        h = torch.tanh(self.grouped(h)).flatten(2)  # (n, 64, 9)
        h = torch.relu(self.bn1d(self.seq(h)))
        h = self.valid(h).mean(dim=2)  # (n, 5)
        return self.head(torch.tanh(self.bn_vec(h)))


class TinyEncoder(nn.Module):
    """Token and position embeddings, LayerNorm, single-head attention built from
    Linear layers, a feed-forward block; a padding index and a bias-free LayerNorm."""

    def __init__(self, vocab=13, width=8, length=5, n_classes=3):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width, padding_idx=0)
        self.positions = nn.Embedding(length, width)
        self.ln1 = nn.LayerNorm(width)
        self.q, self.k, self.v = (nn.Linear(width, width) for _ in range(3))
        self.out = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width, bias=False)
        self.ff = nn.Sequential(nn.Linear(width, 16), nn.GELU(), nn.Linear(16, width))
        self.head = nn.Linear(width, n_classes)
        self.width = width

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device).expand_as(idx)
        h = self.tokens(idx) + self.positions(pos)
        a = self.ln1(h)
        scores = self.q(a) @ self.k(a).transpose(1, 2) / self.width**0.5
        h = h + self.out(torch.softmax(scores, dim=-1) @ self.v(a))
        h = h + self.ff(self.ln2(h))
        return self.head(h.mean(dim=1))


class WideEmbedding(nn.Module):
    """One token per sample and a wide embedding: the one-hot ghost form is cheaper."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.emb = nn.Embedding(40, 60)
        self.head = nn.Linear(60, n_classes)

    def forward(self, idx):
        return self.head(torch.tanh(self.emb(idx)))


def _randomise_statistics(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)):
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
    return model


def _case(name, n=9):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (n,), generator=g)
    if name == "normconv":
        model = _randomise_statistics(NormConvNet()).double()
        X = torch.randn(n, 2, 6, 6, generator=g, dtype=torch.float64)
    elif name == "encoder":
        model = _randomise_statistics(TinyEncoder()).double()
        X = torch.randint(0, 13, (n, 5), generator=g)
        X[0, :2] = 0  # padding tokens
        X[1] = X[2]  # two samples with the same tokens
    else:
        model = WideEmbedding().double()
        X = torch.randint(0, 40, (n,), generator=g)
        X[3] = X[4]
    return model, X, y


@pytest.mark.parametrize("name", ["normconv", "encoder", "wide_embedding"])
@pytest.mark.parametrize("error_weighting", ["sign", "full"])
def test_rules_equal_the_features_strategy(name, error_weighting):
    model, X, y = _case(name)
    ref = lpntk_kernel(model, X, y, strategy="features", error_weighting=error_weighting)
    got = lpntk_kernel(
        model, X, y, strategy="factorized", chunk_size=4, error_weighting=error_weighting
    )
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=RTOL * ref.abs().max().item())
    assert torch.equal(got, got.T)


@pytest.mark.parametrize("name", ["normconv", "encoder", "wide_embedding"])
def test_rules_cover_every_parameter(name):
    model, X, y = _case(name)
    producer = FactorizedGradients(model, dtype=torch.float64)
    assert producer.fallback_names == []
    assert producer.n_covered == producer.n_features


def test_forms_chosen_from_shapes():
    model, X, y = _case("wide_embedding")
    producer = FactorizedGradients(model, dtype=torch.float64)
    pieces, _ = producer.pieces(X, y, 3, producer.params_at())
    # the wide embedding is a one-hot ghost piece: 40 + 60 numbers instead of 2,400
    assert isinstance(pieces[0], GhostPiece) and pieces[0].A.shape[1:] == (1, 40)
    model, X, y = _case("encoder")
    producer = FactorizedGradients(model, dtype=torch.float64)
    pieces, _ = producer.pieces(X, y, 3, producer.params_at())
    # a 13 x 8 embedding over 5 positions: the dense 104-number gradient is cheaper
    assert pieces[0].shape == (len(X), 13 * 8)
    grouped = rule_for(nn.Conv2d(8, 64, 1, groups=2))
    A, D = torch.randn(2, 1, 8), torch.randn(2, 1, 64)
    assert sum(isinstance(p, GhostPiece) for p in grouped.pieces_from_positions(A, D)) == 2


def test_norm_rules_give_zero_for_a_padding_token_only_sample():
    """A sample made only of padding tokens has no token-embedding gradient."""
    model, X, y = _case("encoder")
    X = X.clone()
    X[5] = 0
    producer = FactorizedGradients(model, dtype=torch.float64)
    pieces, _ = producer.pieces(X, y, 3, producer.params_at())
    assert torch.count_nonzero(pieces[0][5]) == 0
    assert torch.count_nonzero(pieces[0][4]) > 0


def test_batchnorm_in_training_mode_model_is_still_computed_in_eval_mode():
    model, X, y = _case("normconv")
    model.train()
    before = model.bn.running_mean.clone()
    got = lpntk_kernel(model, X, y, strategy="factorized")
    ref = lpntk_kernel(model.eval(), X, y, strategy="features")
    torch.testing.assert_close(got, ref, rtol=RTOL, atol=RTOL * ref.abs().max().item())
    assert torch.equal(model.bn.running_mean, before)
