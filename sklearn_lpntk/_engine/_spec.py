"""The lpNTK as a parameter object: what the kernel is and how it is computed."""

from numbers import Integral

from .._options import Options, check_choice
from ._kernel import DTYPES, STRATEGIES, LpNTKEngine
from ._model import ERROR_WEIGHTINGS
from ._normalize import NORMALIZATIONS


class LpNTK(Options):
    """The labelled pseudo NTK a pruner reads: its definition and its computation.

    ``kappa((x, y), (x', y')) = m_y^T J(x) J(x')^T m_y'`` with ``m_y = 2 e_y - 1``
    (Guo et al., ICLR 2024), computed from one labelled gradient per sample and
    read class by class. Pass it as a pruner's ``kernel``; its options are
    grid-searchable as ``kernel__<option>``.

    Parameters
    ----------
    normalize : {None, "K", "cosine"}, default="cosine"
        Kernel scaling: none (the official code), divide by the number of
        classes, or cosine (unit self-similarity; the default since 0.4).
    error_weighting : {"sign", "full"}, default="sign"
        "sign": the paper's label-sign vector ``2 e_y - 1``. "full": the exact
        first-order error ``e_y - softmax(z)`` (the gradient inner product of
        the log-likelihood).
    strategy : {"auto", "features", "factorized", "projection"}, default="auto"
        How per-sample gradients and their inner products are computed.
        "features": per-sample gradients with ``torch.func`` and a matrix
        product. "factorized": one batched backward pass per chunk; Linear and
        convolution layers contribute factorised ("ghost") inner products or
        their small per-sample gradients, other layers per-sample autograd.
        "projection": a count sketch of the gradients to ``projection_dim``
        numbers (approximate). "auto": factorized when layer rules cover at
        least half of the parameters, else features; a projection (with a
        warning) only when the exact kernel cannot fit in the pruner's
        ``max_memory``. See ``docs/performance.md``.
    projection_dim : int, default=4096
        Sketch dimension of the projection strategy. The typical error of a
        kernel entry is about ``sqrt(2 / projection_dim)`` of
        ``sqrt(k_ii k_jj)``.
    chunk_size : int or None, default=None
        Largest chunk of samples differentiated at once (None: 64 for the
        features strategy, 256 otherwise); made smaller when ``max_memory``
        requires it. Does not change the result.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the gradient computation.

    Examples
    --------
    >>> from sklearn_lpntk import LpNTK, LpNTKPruner
    >>> pruner = LpNTKPruner(0.3, kernel=LpNTK(normalize=None, error_weighting="full"))
    >>> pruner.get_params()["kernel__error_weighting"]
    'full'
    """

    def __init__(
        self,
        normalize="cosine",
        error_weighting="sign",
        strategy="auto",
        projection_dim=4096,
        chunk_size=None,
        dtype="float32",
    ):
        self.normalize = normalize
        self.error_weighting = error_weighting
        self.strategy = strategy
        self.projection_dim = projection_dim
        self.chunk_size = chunk_size
        self.dtype = dtype

    def check(self):
        check_choice("LpNTK", "normalize", self.normalize, NORMALIZATIONS)
        check_choice("LpNTK", "error_weighting", self.error_weighting, ERROR_WEIGHTINGS)
        check_choice("LpNTK", "strategy", self.strategy, STRATEGIES)
        check_choice("LpNTK", "dtype", self.dtype, tuple(DTYPES))
        for name, value, none in (
            ("projection_dim", self.projection_dim, False),
            ("chunk_size", self.chunk_size, True),
        ):
            if none and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise ValueError(
                    f"LpNTK({name}={value!r}): a positive integer" + (" or None." if none else ".")
                )

    def engine(self, model, *, max_memory=None, device="auto"):
        """The :class:`~sklearn_lpntk.kernels.LpNTKEngine` of ``model`` with these options.

        Parameters
        ----------
        model : torch.nn.Module
            Returns logits.
        max_memory : None, "auto", int or str, default=None
            Memory the computation may hold at once.
        device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
            Where it runs.

        Returns
        -------
        engine : LpNTKEngine
        """
        return LpNTKEngine(
            model,
            strategy=self.strategy,
            normalize=self.normalize,
            error_weighting=self.error_weighting,
            chunk_size=self.chunk_size,
            projection_dim=self.projection_dim,
            max_memory=max_memory,
            device=device,
            dtype=self.dtype,
        )
