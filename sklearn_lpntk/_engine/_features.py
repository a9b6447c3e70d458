"""Per-sample labelled gradient features phi(x, y), computed in chunks.

The lpNTK between two labelled samples is an inner product of one vector per
sample (see ``docs/algorithm.md``)::

    kappa((x, y), (x', y')) = m_y^T J(x) J(x')^T m_y' = <phi(x, y), phi(x', y')>
    phi(x, y) = J(x)^T w(x, y) = grad_theta( w^T z(x; theta) ),  w held constant

with ``w = m_y = 2 e_y - 1`` for ``error_weighting="sign"`` (the paper) and
``w = e_y - softmax(z(x))`` for ``error_weighting="full"``, in which case
``phi`` is the gradient of ``log softmax(z(x))_y`` and the kernel is the
loss-gradient inner product of the first-order update formula.

One vector-Jacobian product per sample suffices; the K x K eNTK blocks are
never formed. Chunks of samples are processed with ``torch.func.vmap`` over
``torch.func.grad`` of a ``functional_call`` of the model in eval mode.
"""

from contextlib import contextmanager

import torch
from torch.func import functional_call, grad, vmap

from ._device import resolve_device

ERROR_WEIGHTINGS = ("sign", "full")


def _check_error_weighting(error_weighting):
    if error_weighting not in ERROR_WEIGHTINGS:
        raise ValueError(
            f"error_weighting={error_weighting!r} is not supported; use one of "
            f"{ERROR_WEIGHTINGS} ('sign' is the paper's m_y = 2 e_y - 1, 'full' "
            "the exact error term e_y - softmax(z))."
        )


@contextmanager
def eval_mode(model):
    """Put ``model`` in eval mode and restore every submodule's flag after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def _as_tensor(a, *, dtype=None, device=None):
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype if dtype is not None else a.dtype)
    return torch.as_tensor(a, dtype=dtype, device=device)


def _cast(t, dtype, device):
    """Detached copy of ``t`` on ``device``; floating tensors also cast to ``dtype``."""
    t = t.detach()
    return t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device)


def label_weights(y, n_classes, error_weighting, dtype):
    """The constant vector w contracted with the logits, one row per label.

    ``2 e_y - 1`` for "sign"; ``e_y`` for "full", where it selects
    ``log softmax(z)_y`` (see :func:`contract_logits`).
    """
    onehot = torch.nn.functional.one_hot(y, n_classes).to(dtype)
    return 2.0 * onehot - 1.0 if error_weighting == "sign" else onehot


def contract_logits(z, w, error_weighting):
    """The scalar whose parameter gradient is phi, summed over the rows of ``z``."""
    if error_weighting == "full":
        z = torch.log_softmax(z, dim=-1)
    return (w * z).sum()


def split_state(model, differentiated, dtype, device):
    """Detached, cast copies of the model's state: the ``differentiated``
    parameters (a name -> tensor dict), and every other parameter and buffer as
    constants (for ``functional_call``)."""
    params = {n: _cast(p, dtype, device) for n, p in differentiated.items()}
    constants = {n: _cast(b, dtype, device) for n, b in model.named_buffers()}
    constants.update({
        n: _cast(p, dtype, device) for n, p in model.named_parameters() if n not in params
    })
    return params, constants


def trainable_parameters(model):
    """Names and tensors of the parameters the kernel differentiates."""
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def parameter_dtype(model):
    """The floating dtype of the model's trainable parameters."""
    params = trainable_parameters(model)
    if not params:
        raise ValueError(
            "model has no trainable parameters (requires_grad=True); the lpNTK is a "
            "gradient kernel and needs at least one."
        )
    return next(iter(params.values())).dtype


def check_logits(model, X, y=None, *, device="auto", n_probe=2):
    """Run a forward pass on a few rows and check the output is 2-D logits.

    Returns the number of outputs K. Raises ``ValueError`` when the model does
    not return an array of shape (n_samples, n_classes), or when a label in
    ``y`` is not a valid output index.
    """
    device = resolve_device(device)
    dtype = parameter_dtype(model)
    params = {n: p.detach().to(device) for n, p in model.named_parameters()}
    buffers = {n: b.to(device) for n, b in model.named_buffers()}
    xb = _as_tensor(X[:n_probe], dtype=dtype, device=device)
    try:
        with torch.no_grad(), eval_mode(model):
            out = functional_call(model, (params, buffers), (xb,))
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            f"The model could not be applied to inputs of shape {tuple(xb.shape[1:])} "
            f"per sample ({type(exc).__name__}: {exc}). Make its input layer match "
            "the data, or reshape X (e.g. images as (n, channels, height, width))."
        ) from exc
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != len(xb):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"The model must return logits of shape (n_samples, n_classes); on "
            f"{len(xb)} samples of shape {tuple(xb.shape[1:])} it returned {shape}. "
            "End the module with a Linear layer of n_classes outputs and no softmax."
        )
    n_out = out.shape[1]
    if y is not None:
        y_t = _as_tensor(y)
        if len(y_t) and (int(y_t.min()) < 0 or int(y_t.max()) >= n_out):
            raise ValueError(
                f"y must hold class indices in [0, {n_out}) for a model with {n_out} "
                f"outputs; got values in [{int(y_t.min())}, {int(y_t.max())}]."
            )
    return n_out


class LabelledGradientFeatures:
    """Compute phi(x, y) for chunks of samples of one model.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits of shape (batch, n_classes). Its
        parameters are read, never modified; it is evaluated in eval mode.
    error_weighting : {"sign", "full"}
        The vector w contracted with the logits (module docstring).
    device : str or torch.device
        Where the gradients are computed.
    dtype : torch.dtype or None
        Floating dtype of the computation; None keeps the parameters' dtype.
    names : collection of str or None
        Differentiate only these trainable parameters (the others are held
        constant); None means all of them.
    """

    def __init__(self, model, *, error_weighting="sign", device="auto", dtype=None,
                 names=None):
        _check_error_weighting(error_weighting)
        self.model = model
        self.error_weighting = error_weighting
        self.device = resolve_device(device)
        self.dtype = parameter_dtype(model) if dtype is None else dtype
        trainable = trainable_parameters(model)
        if names is not None:
            wanted = set(names)
            trainable = {n: p for n, p in trainable.items() if n in wanted}
        self._params, self._buffers = split_state(model, trainable, self.dtype, self.device)
        self.sizes = [p.numel() for p in self._params.values()]
        self.n_features = sum(self.sizes)

        def objective(params, x, w):
            z = functional_call(model, (params, self._buffers), (x.unsqueeze(0),))
            return contract_logits(z, w, error_weighting)

        self._per_sample_grad = vmap(grad(objective), in_dims=(None, 0, 0))

    def weights(self, y, n_classes):
        """The constant vector contracted with the logits, one row per sample."""
        return label_weights(y, n_classes, self.error_weighting, self.dtype)

    def pieces(self, X, y, n_classes):
        """phi of one chunk as a list holding one dense (len(X), n_features) tensor."""
        return [self.chunk(X, y, n_classes)]

    def chunk(self, X, y, n_classes, out=None):
        """phi for one chunk: a tensor of shape (len(X), n_features).

        ``X`` and ``y`` are tensors already on ``self.device``. When ``out`` is
        given the result is written into it (no concatenated copy is made).
        """
        w = self.weights(y, n_classes)
        with eval_mode(self.model):
            grads = self._per_sample_grad(self._params, X, w)
        if out is None:
            out = torch.empty(len(X), self.n_features, dtype=self.dtype, device=self.device)
        offset = 0
        for g, size in zip(grads.values(), self.sizes):
            out[:, offset : offset + size] = g.reshape(len(X), size)
            offset += size
        return out

    def transform(self, X, y, n_classes, *, batch_size=64, progress=None):
        """phi for all rows of ``X``: a tensor (n_samples, n_features).

        Rows are computed ``batch_size`` at a time straight into one
        preallocated matrix, so at most one chunk of per-sample gradients
        exists beside it.
        """
        X = _as_tensor(X, dtype=self.dtype)
        y = _as_tensor(y, dtype=torch.long)
        n = len(X)
        phi = torch.empty(n, self.n_features, dtype=self.dtype, device=self.device)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            xb = X[start:stop].to(self.device)
            yb = y[start:stop].to(self.device)
            self.chunk(xb, yb, n_classes, out=phi[start:stop])
            if progress is not None:
                progress(stop - start)
        return phi
