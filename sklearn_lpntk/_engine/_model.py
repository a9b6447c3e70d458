"""Model helpers shared by every gradient producer of the engine.

Reading a model's state as detached tensors (optionally from a saved state
dict, for checkpoints), evaluating it in eval mode, contracting its logits
with the label weights, and checking that it returns logits.
"""

import warnings
from contextlib import contextmanager

import numpy as np
import torch
from torch.func import functional_call

from ._device import resolve_device

ERROR_WEIGHTINGS = ("sign", "full")


def check_error_weighting(error_weighting):
    """Raise a ValueError unless ``error_weighting`` is one of :data:`ERROR_WEIGHTINGS`."""
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


def as_tensor(a, *, dtype=None, device=None):
    """``a`` as a tensor on ``device`` (a tensor is moved / cast, not copied needlessly)."""
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype if dtype is not None else a.dtype)
    return torch.as_tensor(a, dtype=dtype, device=device)


def as_inputs(a, *, dtype=None, device=None):
    """Model inputs as a tensor: floating data cast to ``dtype``, integer data (token ids,
    indices) kept as integers."""
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if t.is_floating_point() or t.is_complex():
        return as_tensor(t, dtype=dtype, device=device)
    return t.to(device=device, dtype=torch.long if t.dtype != torch.bool else t.dtype)


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


def trainable_parameters(model):
    """Names and tensors of the parameters the kernel differentiates."""
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def split_state(model, names, dtype, device, state=None):
    """Detached, cast copies of a model's state for ``functional_call``.

    Returns ``(params, constants)``: the parameters named in ``names`` (to be
    differentiated) and every other parameter and buffer. Values come from
    ``state`` (a ``state_dict``-like mapping, e.g. a saved checkpoint) where it
    has them, otherwise from the model itself.
    """
    state = {} if state is None else state
    names = set(names)

    def value(name, tensor):
        return _cast(state.get(name, tensor), dtype, device)

    params, constants = {}, {}
    for n, p in model.named_parameters():
        (params if n in names else constants)[n] = value(n, p)
    for n, b in model.named_buffers():
        constants[n] = value(n, b)
    return params, constants


def parameter_dtype(model):
    """The floating dtype of the model's trainable parameters."""
    params = trainable_parameters(model)
    if not params:
        raise ValueError(
            "model has no trainable parameters (requires_grad=True); the lpNTK is a "
            "gradient kernel and needs at least one."
        )
    return next(iter(params.values())).dtype


def check_logits(model, X, y=None, *, device="auto", n_probe=8, n_classes=None):
    """Run a forward pass on a few rows and check the output is 2-D logits.

    Returns the number of outputs K. Raises ``ValueError`` when the model does
    not return an array of shape (n_samples, n_classes), when ``n_classes`` is
    given and differs from K, when a label in ``y`` is not an output index, or
    when the outputs are probabilities (every row in [0, 1] and summing to 1: a
    softmax at the end). Warns when they are log-probabilities.
    """
    device = resolve_device(device)
    dtype = parameter_dtype(model)
    params = {n: p.detach().to(device) for n, p in model.named_parameters()}
    buffers = {n: b.to(device) for n, b in model.named_buffers()}
    xb = as_inputs(X[:n_probe], dtype=dtype, device=device)
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
    _check_not_probabilities(out)
    if n_classes is not None and n_out != n_classes:
        raise ValueError(
            f"The network returns {n_out} logits but y has {n_classes} classes; its "
            "last layer must have one output per class."
        )
    if y is not None:
        y_t = as_tensor(y)
        if len(y_t) and (int(y_t.min()) < 0 or int(y_t.max()) >= n_out):
            raise ValueError(
                f"y must hold class indices in [0, {n_out}) for a model with {n_out} "
                f"outputs; got values in [{int(y_t.min())}, {int(y_t.max())}]."
            )
    return n_out


def _check_not_probabilities(out):
    """Refuse softmax outputs and warn about log-softmax ones (the lpNTK needs logits)."""
    if out.shape[1] < 2 or not out.is_floating_point() or not bool(torch.isfinite(out).all()):
        return
    out = out.double()
    if bool(
        (out >= -1e-6).all()
        and (out <= 1 + 1e-6).all()
        and ((out.sum(dim=1) - 1).abs() <= 1e-4).all()
    ):
        raise ValueError(
            "The model returns probabilities, not logits: every output is in [0, 1] and "
            f"every row sums to 1 on {len(out)} samples (a softmax at the end). The lpNTK "
            "differentiates logits: return the last layer's output without the softmax "
            "(torch.nn.CrossEntropyLoss applies the softmax itself)."
        )
    if out.shape[1] > 2 and bool(
        (out <= 1e-6).all() and (torch.logsumexp(out, dim=1).abs() <= 1e-4).all()
    ):
        warnings.warn(
            "The model seems to return log-probabilities (a log_softmax at the end): the "
            "lpNTK differentiates logits, and the log_softmax changes the kernel. Return the "
            "last layer's output instead (torch.nn.CrossEntropyLoss applies the softmax).",
            UserWarning,
            stacklevel=3,
        )


class GradientProducer:
    """Base of the engine's producers of phi: the model, its trainable parameters, dtype.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits of shape (batch, n_classes). Its
        parameters are read, never modified; it is evaluated in eval mode.
    error_weighting : {"sign", "full"}
        The vector w contracted with the logits.
    device : str or torch.device
        Where the gradients are computed.
    dtype : torch.dtype or None
        Floating dtype of the computation; None keeps the parameters' dtype.
    names : collection of str or None
        Differentiate only these trainable parameters (the others are held
        constant); None means all of them.

    A subclass implements ``pieces(X, y, n_classes, at)`` returning
    ``(pieces, work_numbers)``; ``at`` comes from :meth:`params_at`.
    """

    def __init__(self, model, *, error_weighting="sign", device="auto", dtype=None, names=None):
        check_error_weighting(error_weighting)
        self.model = model
        self.error_weighting = error_weighting
        self.device = resolve_device(device)
        self.dtype = parameter_dtype(model) if dtype is None else dtype
        trainable = trainable_parameters(model)
        if names is not None:
            wanted = set(names)
            trainable = {n: p for n, p in trainable.items() if n in wanted}
        self.trainable = trainable
        self.names = list(trainable)

    def params_at(self, state=None):
        """The parameters to differentiate at: the model's own, or those of ``state``."""
        return split_state(self.model, self.names, self.dtype, self.device, state)


def check_labels(X, y):
    """y as int64 class indices matching X, or a ValueError naming the problem."""
    y_np = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if y_np.ndim != 1:
        raise ValueError(
            f"y must be a 1-D array of class indices (not one-hot); got shape "
            f"{y_np.shape}. Use y.argmax(axis=1) for one-hot labels."
        )
    if len(y_np) != len(X):
        raise ValueError(
            f"X and y must have one label per row; got {len(X)} rows and {len(y_np)} labels."
        )
    if y_np.dtype.kind not in "iub":
        try:
            as_float = y_np.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "y must hold integer class indices; got non-numeric labels. "
                "Encode them first, e.g. with sklearn.preprocessing."
                "LabelEncoder."
            ) from None
        if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
            raise ValueError("y must hold integer class indices; got fractional or missing values.")
    X_values = X.detach() if isinstance(X, torch.Tensor) else np.asarray(X, dtype=np.float64)
    finite = (
        torch.isfinite(X_values).all()
        if isinstance(X, torch.Tensor)
        else np.isfinite(X_values).all()
    )
    if not bool(finite):
        raise ValueError("X contains NaN or infinity; drop or impute those values first.")
    return y_np.astype(np.int64)
