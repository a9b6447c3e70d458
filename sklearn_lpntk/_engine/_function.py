"""lpntk_kernel: the whole lpNTK matrix of labelled samples in one call."""

import torch

from .._options import hide_moved, refuse_moved
from ._kernel import MOVED_ENGINE_KEYWORDS, LpNTKEngine
from ._model import check_labels


@hide_moved
def lpntk_kernel(
    model,
    X,
    y,
    *,
    normalize=None,
    error_weighting="sign",
    strategy="auto",
    chunk_size=None,
    projection_dim=4096,
    max_memory=None,
    device="auto",
    dtype=None,
    random_state=None,
    **moved,
):
    """The n x n lpNTK matrix of labelled samples under a logit model.

    ``K[i, j] = m_{y_i}^T J(x_i) J(x_j)^T m_{y_j}`` with ``m_y = 2 e_y - 1``
    (Guo et al., ICLR 2024), computed from one labelled gradient per sample
    (never the K x K eNTK blocks).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits of shape (batch, n_classes). It is
        evaluated in eval mode; its parameters and mode are left unchanged.
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs in the shape the model expects.
    y : array-like or torch.Tensor of shape (n_samples,)
        Integer class indices in ``[0, n_classes)``.
    normalize : {None, "K", "cosine"}, default=None
        None: no scaling, as in the official code; "K": divide by the number of
        classes; "cosine": unit diagonal.
    error_weighting : {"sign", "full"}, default="sign"
        "sign": the paper's sign vector m_y. "full": the exact first-order error
        e_y - softmax(z), giving the inner product of log-likelihood gradients.
    strategy : {"auto", "features", "factorized", "projection"}, default="auto"
        How phi and its inner products are computed (module docstring). All but
        "projection" give the exact kernel.
    chunk_size : int or None, default=None
        Largest chunk of samples differentiated at once (None: 64 for
        features, 256 otherwise), shrunk to fit ``max_memory``.
    projection_dim : int, default=4096
        Sketch dimension for ``strategy="projection"``.
    max_memory : None, "auto", int or str, default=None
        Bytes the computation may hold at once ("4GB", "512MiB", ...); None
        means no limit. The full matrix must fit, otherwise a
        ``MemoryLimitError`` (a ValueError) says how much is needed.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        "auto" uses CUDA when present.
    dtype : None, "float32" or "float64", default=None
        Precision of the computation; None keeps the model's dtype.
    random_state : int or None, default=None
        Seed of the projection's hash functions.

    Returns
    -------
    kernel : ndarray or torch.Tensor of shape (n_samples, n_samples)
        A torch tensor (on the CPU) when ``X`` is a tensor, else a NumPy array.
        Symmetric positive semi-definite (up to rounding).
    """
    refuse_moved("lpntk_kernel", moved, MOVED_ENGINE_KEYWORDS)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module returning logits; got "
            f"{type(model).__name__}. Wrap a function in a Module first."
        )
    y_np = check_labels(X, y)
    engine = LpNTKEngine(
        model,
        strategy=strategy,
        normalize=normalize,
        error_weighting=error_weighting,
        chunk_size=chunk_size,
        projection_dim=projection_dim,
        max_memory=max_memory,
        device=device,
        dtype=dtype,
    )
    return_tensor = isinstance(X, torch.Tensor)
    plan = engine.plan(engine.probe(X, y_np), [len(X)], need_full=True)
    kernel = engine.kernel(X, y_np, plan, random_state=random_state).gram().cpu()
    return kernel if return_tensor else kernel.numpy()
