"""Near-duplicate copies of rows: the perturbations and the planting (NumPy only).

A near-duplicate is a row that carries (almost) no information its original
does not: the same image shifted by a pixel, with a little noise, mirrored, or
whatever augmentation a user applied offline. Planting such copies of known
rows gives data whose redundancy is known, which is how the kernels are
screened (``bench/redundancy.py``) and how ``prune_ratio="auto"`` calibrates
its threshold.

Perturbations (``kind``):

* ``"noise"``: Gaussian noise of ``scale`` (default 0.05) times every feature's
  standard deviation over the rows given;
* ``"shift"``: every row moved by up to ``scale`` (default 1) positions along
  each of its last two axes longer than one (height and width of images of
  shape ``(n, 1, H, W)`` or ``(n, H, W)``, the time axis of signals of shape
  ``(n, 1, L)``), zero filled, never by zero on all axes;
* ``"flip"``: mirrored along the last axis;
* a callable ``f(X, rng) -> X'`` returning perturbed rows of the same shape.
"""

import numpy as np

#: The named perturbations.
PERTURBATIONS = ("noise", "shift", "flip")

_DEFAULT_SCALE = {"noise": 0.05, "shift": 1, "flip": None}


def check_perturbation(perturbation, name="perturbation"):
    """Refuse anything but a named perturbation or a callable, naming ``name``."""
    if callable(perturbation) or perturbation in PERTURBATIONS:
        return perturbation
    raise ValueError(
        f"{name} must be one of {', '.join(map(repr, PERTURBATIONS))} or a callable "
        f"f(X, rng) returning perturbed rows of the same shape; got {perturbation!r}."
    )


def _shift(X, scale, rng):
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"a shift needs scale >= 1 positions, got {scale}.")
    if X.ndim < 2:
        raise ValueError("a shift needs rows with at least one axis of positions.")
    axes = [a for a in range(1, X.ndim) if X.shape[a] > 1][-2:]
    n_axes = len(axes)
    if n_axes == 0:
        raise ValueError("a shift needs rows with an axis longer than one position.")
    out = np.zeros_like(X)
    for i in range(len(X)):
        while True:
            offsets = rng.integers(-scale, scale + 1, size=n_axes)
            if np.any(offsets):
                break
        src, dst = [slice(None)] * (X.ndim - 1), [slice(None)] * (X.ndim - 1)
        for axis, off in zip(axes, offsets):
            size = X.shape[axis]
            a = axis - 1
            src[a] = slice(max(0, -off), size - max(0, off))
            dst[a] = slice(max(0, off), size - max(0, -off))
        out[i][tuple(dst)] = X[i][tuple(src)]
    return out


def perturb(X, kind="noise", *, scale=None, random_state=None):
    """Perturbed copies of the rows of ``X`` (a new array; ``X`` is not changed).

    Parameters
    ----------
    X : ndarray of shape (n, ...)
        Rows to copy, numeric.
    kind : {"noise", "shift", "flip"} or callable, default="noise"
        "noise": Gaussian noise of ``scale`` times every feature's standard
        deviation over the rows given; "shift": every row moved by up to
        ``scale`` positions along each of its last two axes longer than one
        (height and width of images, the time axis of signals of shape
        ``(n, 1, L)``), zero filled, never by zero on all axes; "flip":
        mirrored along the last axis; a callable ``f(X, rng)`` returns
        perturbed rows of the same shape.
    scale : float or None, default=None
        Noise in feature standard deviations, or the largest shift in positions;
        None: 0.05 and 1. A feature of zero spread gets noise on the scale of
        ``mean |X|`` (1 if that is 0); a single row's spread is ``|X|``. Noise on
        integer rows (uint8 images) is rounded and clipped to the dtype's range.
    random_state : int, Generator or None, default=None
        Draws of the noise and the shifts.

    Returns
    -------
    X_perturbed : ndarray of the shape and dtype of ``X``
    """
    check_perturbation(kind, "kind")
    rng = np.random.default_rng(random_state)
    X = np.asarray(X)
    if len(X) == 0:
        return X.copy()
    if callable(kind):
        out = np.asarray(kind(X.copy(), rng))
        if out.shape != X.shape:
            raise ValueError(
                f"the perturbation callable returned shape {out.shape} for rows of shape "
                f"{X.shape}; it must return perturbed rows of the same shape."
            )
        return out.astype(X.dtype, copy=False)
    scale = _DEFAULT_SCALE[kind] if scale is None else scale
    if kind == "noise":
        spread = X.std(axis=0) if len(X) > 1 else np.abs(X)
        spread = np.where(spread > 0, spread, np.abs(X).mean() or 1.0)
        noisy = X + scale * spread * rng.standard_normal(X.shape)
        if np.issubdtype(X.dtype, np.integer):  # pixels stay in range: no wrap-around
            info = np.iinfo(X.dtype)
            noisy = np.clip(np.rint(noisy), info.min, info.max)
        return noisy.astype(X.dtype)
    if kind == "shift":
        return _shift(X, scale, rng)
    return X[..., ::-1].copy()


def plant_copies(X, y, *, share=0.3, n_copies=3, kind="noise", scale=None, random_state=None):
    """Append ``n_copies`` perturbed copies of a random ``share`` of each class's rows.

    Returns ``(X_planted, y_planted, groups)``: the original rows first, in
    their order, then the copies; ``groups[i]`` is the index (into ``X``) of the
    original row ``i`` is, or is a copy of.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}.")
    if int(n_copies) != n_copies or n_copies < 1:
        raise ValueError(f"n_copies must be a positive integer, got {n_copies}.")
    rng = np.random.default_rng(random_state)
    X, y = np.asarray(X), np.asarray(y)
    chosen = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        chosen.append(rng.choice(rows, int(round(share * len(rows))), replace=False))
    chosen = np.sort(np.concatenate(chosen)).astype(np.int64)
    copies = [perturb(X[chosen], kind, scale=scale, random_state=rng) for _ in range(n_copies)]
    X_planted = np.concatenate([X, *copies])
    y_planted = np.concatenate([y, *[y[chosen]] * n_copies])
    groups = np.concatenate([np.arange(len(X)), *[chosen] * n_copies])
    return X_planted, y_planted, groups
