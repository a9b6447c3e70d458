"""lpNTK Gram matrices from labelled gradient features."""

import numpy as np
import torch

from ._device import resolve_device
from ._features import LabelledGradientFeatures, _check_error_weighting, check_logits

NORMALIZATIONS = (None, "K", "cosine")


def _check_normalize(normalize):
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize={normalize!r} is not supported; use None (no scaling, as in "
            "the official code), 'K' (divide by the number of classes) or 'cosine'."
        )


def gram(phi, block_size=4096):
    """Symmetric Gram matrix ``phi @ phi.T``, built block row by block row.

    Only the upper triangle is multiplied out block row by block row; the lower
    triangle is its mirror image, so the result is exactly symmetric.
    """
    n = phi.shape[0]
    out = torch.empty(n, n, dtype=phi.dtype, device=phi.device)
    for i in range(0, n, block_size):
        rows = phi[i : i + block_size]
        b = len(rows)
        block = rows @ phi[i:].T
        diag = torch.triu(block[:, :b])
        block[:, :b] = diag + torch.triu(diag, 1).T
        out[i : i + b, i:] = block
        out[i + b :, i : i + b] = block[:, b:].T
    return out


def normalize_kernel(kernel, normalize, n_classes):
    """Apply one of the normalisations in place and return the kernel.

    ``None`` leaves it as is, ``"K"`` divides by ``n_classes`` (the pNTK
    convention), ``"cosine"`` divides entry (i, j) by sqrt(k_ii k_jj); rows of
    zero norm stay zero.
    """
    _check_normalize(normalize)
    if normalize == "K":
        kernel /= n_classes
    elif normalize == "cosine":
        norms = torch.sqrt(torch.clamp(torch.diagonal(kernel).clone(), min=0))
        inv = torch.where(norms > 0, 1.0 / norms, torch.zeros_like(norms))
        kernel *= inv[:, None]
        kernel *= inv[None, :]
    return kernel


def lpntk_kernel(
    model,
    X,
    y,
    *,
    normalize=None,
    error_weighting="sign",
    batch_size=64,
    device="auto",
):
    """The n x n lpNTK matrix of labelled samples under a logit model.

    ``K[i, j] = m_{y_i}^T J(x_i) J(x_j)^T m_{y_j}`` with ``m_y = 2 e_y - 1``
    (Guo et al., ICLR 2024), computed as the Gram matrix of one labelled
    gradient per sample (never the K x K eNTK blocks).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits of shape (batch, n_classes). It is
        evaluated in eval mode; its parameters and mode are left unchanged.
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs in the shape the model expects. Cast to the dtype of the model's
        parameters (use ``model.double()`` and float64 inputs for float64).
    y : array-like or torch.Tensor of shape (n_samples,)
        Integer class indices in ``[0, n_classes)``.
    normalize : {None, "K", "cosine"}, default=None
        None: no scaling, as in the official code; "K": divide by the number of
        classes; "cosine": unit diagonal.
    error_weighting : {"sign", "full"}, default="sign"
        "sign": the paper's sign vector m_y. "full": the exact first-order error
        e_y - softmax(z), giving the inner product of log-likelihood gradients.
    batch_size : int, default=64
        Samples per chunk of per-sample gradients (memory ~ 3 x batch_size x P
        numbers).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        "auto" uses CUDA when present.

    Returns
    -------
    kernel : ndarray or torch.Tensor of shape (n_samples, n_samples)
        A torch tensor (on the CPU) when ``X`` is a tensor, else a NumPy array,
        in the model's dtype. Symmetric positive semi-definite.
    """
    _check_normalize(normalize)
    _check_error_weighting(error_weighting)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    device = resolve_device(device)
    return_tensor = isinstance(X, torch.Tensor)
    n_classes = check_logits(model, X, y, device=device)
    features = LabelledGradientFeatures(model, error_weighting=error_weighting, device=device)
    phi = features.transform(X, y, n_classes, batch_size=int(batch_size))
    kernel = normalize_kernel(gram(phi), normalize, n_classes)
    del phi
    kernel = kernel.cpu()
    return kernel if return_tensor else kernel.numpy()


def iter_class_kernels(
    model,
    X,
    y,
    *,
    normalize=None,
    error_weighting="sign",
    batch_size=64,
    device="auto",
    progress=None,
):
    """Yield ``(label, indices, kernel)`` for each class present in ``y``.

    The kernel of each class is computed and handed over before the next
    class's features are built, so only one class's features are in memory at
    a time. ``kernel`` is a NumPy array (n_c, n_c). ``progress``, if given, is
    called with the number of rows just processed.
    """
    _check_normalize(normalize)
    device = resolve_device(device)
    y_np = np.asarray(y)
    n_classes = check_logits(model, X, y_np, device=device)
    features = LabelledGradientFeatures(model, error_weighting=error_weighting, device=device)
    for label in np.unique(y_np):
        indices = np.flatnonzero(y_np == label)
        phi = features.transform(
            X[indices], y_np[indices], n_classes, batch_size=batch_size, progress=progress
        )
        kernel = normalize_kernel(gram(phi), normalize, n_classes)
        del phi
        yield label, indices, kernel.cpu().numpy()
