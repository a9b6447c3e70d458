"""lpntk_kernel against independent eNTK references (float64)."""

import numpy as np
import pytest
import torch

from sklearn_lpntk import lpntk_kernel

from ._reference import entk_blocks, loglik_gradient_kernel, mask_sum_kernel

RTOL = 1e-5


def _mlp(n_in=6, n_classes=4, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, n_classes),
    ).double()


class SmallCNN(torch.nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, kernel_size=3)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(3 * 2 * 2, n_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def _cnn(seed=0):
    torch.manual_seed(seed)
    return SmallCNN().double()


def _data(kind, n=11, seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind == "mlp":
        X = torch.randn(n, 6, generator=g, dtype=torch.float64)
        y = torch.randint(0, 4, (n,), generator=g)
        return _mlp(), X, y
    X = torch.randn(n, 1, 6, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=g)
    return _cnn(), X, y


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("chunk_size", [1, 4, 64])
def test_kernel_equals_entk_mask_sum(kind, chunk_size):
    model, X, y = _data(kind)
    expected = mask_sum_kernel(model, X, y)
    got = lpntk_kernel(model, X, y, chunk_size=chunk_size, device="cpu")
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    torch.testing.assert_close(got, expected, rtol=RTOL, atol=1e-10)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_normalize_K_and_cosine(kind):
    model, X, y = _data(kind)
    raw = mask_sum_kernel(model, X, y)
    n_classes = 4 if kind == "mlp" else 3
    got_k = lpntk_kernel(model, X, y, normalize="K", device="cpu")
    torch.testing.assert_close(got_k, raw / n_classes, rtol=RTOL, atol=1e-10)
    d = torch.sqrt(torch.diagonal(raw))
    got_cos = lpntk_kernel(model, X, y, normalize="cosine", device="cpu")
    torch.testing.assert_close(got_cos, raw / d[:, None] / d[None, :], rtol=RTOL, atol=1e-10)
    torch.testing.assert_close(torch.diagonal(got_cos), torch.ones(len(X), dtype=torch.float64))


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_full_error_weighting_is_loglik_gradient_product(kind):
    model, X, y = _data(kind)
    expected = loglik_gradient_kernel(model, X, y)
    got = lpntk_kernel(model, X, y, error_weighting="full", device="cpu")
    torch.testing.assert_close(got, expected, rtol=RTOL, atol=1e-10)
    # and it is the eNTK contracted with the error vectors e_y - q on both sides
    theta = entk_blocks(model, X)
    with torch.no_grad():
        model.eval()
        q = torch.softmax(model(X), dim=1)
    err = torch.nn.functional.one_hot(y, q.shape[1]).double() - q
    torch.testing.assert_close(
        got, torch.einsum("ia,ijab,jb->ij", err, theta, err), rtol=RTOL, atol=1e-10
    )


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_kernel_symmetric_psd(kind):
    model, X, y = _data(kind, n=20)
    K = lpntk_kernel(model, X, y, device="cpu")
    assert torch.equal(K, K.T)  # exactly: the Gram mirrors its upper blocks
    eig = torch.linalg.eigvalsh(K)
    assert eig.min() >= -1e-9 * eig.abs().max()


def test_numpy_in_numpy_out_and_model_untouched():
    model, X, y = _data("mlp")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    K = lpntk_kernel(model, X.numpy(), y.numpy(), device="cpu")
    assert isinstance(K, np.ndarray) and K.shape == (len(X), len(X))
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    np.testing.assert_allclose(K, mask_sum_kernel(model, X, y).numpy(), rtol=RTOL)


def test_eval_mode_is_used_for_dropout_and_batchnorm():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 7),
        torch.nn.BatchNorm1d(7),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(7, 3),
    ).double()
    X = torch.randn(9, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (9,))
    model.train()
    model(X)  # give BatchNorm non-trivial running statistics
    K1 = lpntk_kernel(model, X, y, device="cpu")
    K2 = lpntk_kernel(model, X, y, device="cpu", chunk_size=2)
    torch.testing.assert_close(K1, K2)  # no dropout noise, no batch statistics
    torch.testing.assert_close(K1, mask_sum_kernel(model, X, y), rtol=RTOL, atol=1e-10)


def test_frozen_parameters_are_excluded():
    model, X, y = _data("mlp")
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    torch.testing.assert_close(
        lpntk_kernel(model, X, y, device="cpu"),
        mask_sum_kernel(model, X, y),
        rtol=RTOL,
        atol=1e-10,
    )


def test_sign_kernel_is_label_dependent():
    model, X, y = _data("mlp")
    K = lpntk_kernel(model, X, y, device="cpu")
    y2 = (y + 1) % 4
    K2 = lpntk_kernel(model, X, y2, device="cpu")
    assert not torch.allclose(K, K2)


@pytest.mark.parametrize("n", [1, 5, 23, 64])
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("tile", [1, 3, 7, 100])
def test_gram_exact_and_symmetric(monkeypatch, n, upper, tile):
    from sklearn_lpntk._engine import _store

    monkeypatch.setattr(_store, "_UPPER_BLOCK", 4)  # several block rows at small n
    phi = torch.randn(n, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(n))
    G = _store.mirror_upper_(_store.product(phi, upper=upper), tile=tile)
    assert torch.equal(G, G.T)
    torch.testing.assert_close(G, phi @ phi.T, rtol=1e-12, atol=1e-12)
    # the lower triangle is never read: garbage there does not matter
    P = _store.product(phi, upper=upper)
    P[torch.tril_indices(n, n, -1).unbind()] = float("nan")
    torch.testing.assert_close(
        _store.mirror_upper_(P, tile=tile), phi @ phi.T, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("upper_block", [4, 512])
def test_store_gram_equals_explicit_phi_for_every_piece_kind(monkeypatch, upper_block):
    """dense + single-position ghosts + a multi-position ghost: gram == phi @ phi.T."""
    from sklearn_lpntk._engine import FactorStore, _store
    from sklearn_lpntk.layers import GhostPiece

    monkeypatch.setattr(_store, "_UPPER_BLOCK", upper_block)
    g = torch.Generator().manual_seed(1)
    n = 37

    def r(*shape):
        return torch.randn(*shape, dtype=torch.float64, generator=g)

    dense = r(n, 5)
    ghosts = [
        GhostPiece(r(n, 1, 4), r(n, 1, 3)),
        GhostPiece(r(n, 1, 130), r(n, 1, 2)),
        GhostPiece(r(n, 3, 4), r(n, 3, 2)),
    ]

    def explicit(pieces):
        parts = [
            p
            if not isinstance(p, GhostPiece)
            else torch.einsum("ntd,nta->nda", p.D, p.A).reshape(n, -1)
            for p in pieces
        ]
        phi = torch.cat(parts, dim=1)
        return phi @ phi.T

    for d, gs in [
        (dense, ghosts),
        (None, ghosts),
        (None, ghosts[:1]),
        (None, ghosts[2:]),
        (dense, []),
        (None, ghosts[:2]),
    ]:
        store = FactorStore(d, gs)
        G = store.gram()
        assert torch.equal(G, G.T)
        pieces = ([d] if d is not None else []) + list(gs)
        torch.testing.assert_close(G, explicit(pieces), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(store.rows(slice(None)), G, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(store.diagonal(), torch.diagonal(G), rtol=1e-10, atol=1e-10)
        assert FactorStore.gram_temporaries(pieces, n) <= 2
