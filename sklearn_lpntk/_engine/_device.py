"""Device and dtype resolution for the lpNTK engine."""

import torch

_DEVICE_HINT = "Use device='auto' (CUDA when present, else CPU) or device='cpu'."


def resolve_device(device):
    """Return a :class:`torch.device` for ``device``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str or torch.device
        ``"auto"`` selects CUDA when it is available and the CPU otherwise.

    Raises
    ------
    ValueError
        If a CUDA device is requested but CUDA is not available, or the string
        is not a device torch understands.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device torch understands. {_DEVICE_HINT}"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            f"machine. {_DEVICE_HINT}"
        )
    if dev.type == "mps" and not (
        hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    ):
        raise ValueError(
            f"device={device!r} was requested but MPS is not available on "
            f"this machine. {_DEVICE_HINT}"
        )
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r} cannot train a network or hold gradients here. {_DEVICE_HINT}"
        )
    return dev
