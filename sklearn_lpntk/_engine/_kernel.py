"""lpNTK matrices of labelled samples: strategies, memory plans, class kernels.

Three strategies compute the same kernel (the third approximately):

* ``"features"``: phi by ``torch.func.vmap(grad)`` in chunks, Gram by matmul;
* ``"factorized"``: one batched forward and backward per chunk; Linear and
  convolution layers contribute ghost factors or dense per-sample gradients,
  whichever is cheaper (:mod:`._layers`), other layers per-sample autograd;
* ``"projection"``: the pieces of phi count-/tensor-sketched to
  ``projection_dim`` numbers chunk by chunk, phi never being formed.

``"auto"`` takes the factorised strategy when layer rules cover at least half
of the parameters, otherwise the features one, and falls back to a projection
(with a warning) only when the exact kernel cannot fit in ``memory_budget``.
"""

import warnings

import numpy as np
import torch

from ._device import resolve_device
from ._factorized import FactorizedGradients
from ._features import (
    LabelledGradientFeatures,
    _as_tensor,
    _check_error_weighting,
    check_logits,
    parameter_dtype,
)
from ._plan import MemoryBudgetError, format_bytes, minimum_bytes, parse_memory_budget, plan_class
from ._store import CountSketch, FactorStore, gram

NORMALIZATIONS = (None, "K", "cosine")
STRATEGIES = ("auto", "features", "factorized", "projection")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: Largest chunk when ``batch_size`` is None: vmap holds ~3 P numbers per sample,
#: the factorised path only activations, so it takes bigger chunks.
DEFAULT_CHUNK = {"features": 64, "factorized": 256}


def _check_normalize(normalize):
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize={normalize!r} is not supported; use None (no scaling, as in "
            "the official code), 'K' (divide by the number of classes) or 'cosine'."
        )


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; use one of {choices}.")


def _resolve_dtype(dtype, model):
    if dtype is None:
        return parameter_dtype(model)
    if isinstance(dtype, str):
        _check_choice("dtype", dtype, tuple(DTYPES))
        return DTYPES[dtype]
    if dtype not in DTYPES.values():
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return dtype


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
        inv = _inverse_norms(torch.diagonal(kernel).clone())
        kernel *= inv[:, None]
        kernel *= inv[None, :]
    return kernel


def _inverse_norms(diag):
    norms = torch.sqrt(torch.clamp(diag, min=0))
    return torch.where(norms > 0, 1.0 / norms, torch.zeros_like(norms))


class ClassKernel:
    """The lpNTK of one class, as a full matrix or row by row.

    Offers what the farthest-first traversal reads: :meth:`diagonal` and
    :meth:`row`, both NumPy; :meth:`matrix` forms the whole (n, n) array.
    ``lazy`` is True when the plan did not leave room for the full matrix.
    """

    def __init__(self, store, *, normalize, n_classes, lazy):
        self.store = store
        self.normalize = normalize
        self.n_classes = n_classes
        self.lazy = lazy
        self.rows_computed = 0
        self._diag = store.diagonal()
        self._inv = _inverse_norms(self._diag) if normalize == "cosine" else None
        n = len(store)
        self.shape = (n, n)

    def __len__(self):
        return self.shape[0]

    def _scale_rows(self, block, rows):
        if self.normalize == "K":
            block /= self.n_classes
        elif self.normalize == "cosine":
            block *= self._inv[rows][:, None]
            block *= self._inv[None, :]
        return block

    def diagonal(self):
        """kappa(i, i) after normalisation, as a float64 NumPy vector."""
        diag = self._diag.clone()
        if self.normalize == "K":
            diag /= self.n_classes
        elif self.normalize == "cosine":
            diag = (diag > 0).to(diag.dtype)
        return diag.cpu().numpy().astype(np.float64)

    def row(self, i):
        """kappa(i, j) for all j, as a NumPy vector."""
        self.rows_computed += 1
        block = self._scale_rows(self.store.rows([i]), [i])
        return block[0].cpu().numpy()

    def rows(self, start, stop):
        """kappa(i, j) for start <= i < stop and all j, as a NumPy array."""
        block = self._scale_rows(self.store.rows(slice(start, stop)), slice(start, stop))
        return block.cpu().numpy()

    def matrix(self):
        """The normalised (n, n) kernel as a NumPy array."""
        kernel = normalize_kernel(self.store.gram(), self.normalize, self.n_classes)
        return kernel.cpu().numpy()


class LpNTKEngine:
    """The lpNTK computation for one model, planned against a memory budget.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits (batch, n_classes); read, never
        modified; evaluated in eval mode.
    strategy : {"auto", "features", "factorized", "projection"}
    normalize : {None, "K", "cosine"}
    error_weighting : {"sign", "full"}
    batch_size : int or None
        Largest chunk of samples differentiated at once; None picks 64 for
        features and 256 otherwise. Chunks shrink to fit ``memory_budget``.
    projection_dim : int
        Sketch size of the projection strategy.
    memory_budget : None, "auto", int or str
        Bytes the kernel computation may hold on ``device`` at once.
    device : {"auto", "cpu", "cuda"} or torch.device
    dtype : None, "float32" or "float64"
        Of the computation; None keeps the model's parameter dtype.
    """

    def __init__(self, model, *, strategy="auto", normalize=None, error_weighting="sign",
                 batch_size=None, projection_dim=4096, memory_budget=None, device="auto",
                 dtype=None):
        _check_choice("strategy", strategy, STRATEGIES)
        _check_normalize(normalize)
        _check_error_weighting(error_weighting)
        if batch_size is not None and (
            not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if not isinstance(projection_dim, (int, np.integer)) or projection_dim < 1:
            raise ValueError(
                f"projection_dim must be a positive integer, got {projection_dim!r}."
            )
        self.model = model
        self.device = resolve_device(device)
        self.dtype = _resolve_dtype(dtype, model)
        self.itemsize = torch.empty((), dtype=self.dtype).element_size()
        self.requested = strategy
        self.normalize = normalize
        self.error_weighting = error_weighting
        self.batch_size = batch_size
        self.projection_dim = int(projection_dim)
        self.budget = parse_memory_budget(memory_budget, self.device)
        self.reload()
        self.exact = (
            "features" if isinstance(self.producer, LabelledGradientFeatures) else "factorized"
        )
        self.strategy = "projection" if strategy == "projection" else self.exact
        self.n_classes = None
        self.template = None

    def reload(self):
        """Read the model's parameters again (after it was trained further)."""
        kwargs = {"error_weighting": self.error_weighting, "device": self.device,
                  "dtype": self.dtype}
        if self.requested == "features":
            self.producer = LabelledGradientFeatures(self.model, **kwargs)
            return self
        factorized = FactorizedGradients(self.model, **kwargs)
        if self.requested == "factorized" or factorized.n_covered >= factorized.n_features / 2:
            self.producer = factorized
        else:
            self.producer = LabelledGradientFeatures(self.model, **kwargs)
        return self

    # ----------------------------------------------------------------- probe
    def probe(self, X, y):
        """Check the model on two rows and measure the pieces of phi per sample."""
        self.n_classes = check_logits(self.model, X, y, device=self.device)
        n = min(2, len(X))
        xb = _as_tensor(X[:n], dtype=self.dtype, device=self.device)
        yb = _as_tensor(np.asarray(y[:n]), dtype=torch.long, device=self.device)
        self.template = self.producer.pieces(xb, yb, self.n_classes)
        stored = FactorStore.numbers_per_sample(self.template)
        if isinstance(self.producer, LabelledGradientFeatures):
            work = stored  # vmap keeps about 3 P per sample; WORK_FACTOR covers it
        else:
            work = self.producer.work_numbers / n + stored
        self._exact_numbers = stored
        self._work_numbers = work
        return self

    def _numbers(self, strategy):
        copies = getattr(self, "_copies", 1)
        copies = copies if copies == 1 else 2 * copies  # the stores, then their average
        if strategy == "projection":
            return copies * self.projection_dim, self._work_numbers + self.projection_dim
        return copies * self._exact_numbers, self._work_numbers

    def _gram_matrices(self, strategy):
        if strategy == "projection":
            return 1
        return FactorStore.gram_temporaries(self.template)

    def _plan_for(self, strategy, class_sizes, budget):
        store, work = self._numbers(strategy)
        max_chunk = self.batch_size or DEFAULT_CHUNK["features" if strategy == "features"
                                                     else "factorized"]
        plans = [
            plan_class(n, store_numbers=store, work_numbers=work,
                       gram_matrices=self._gram_matrices(strategy), itemsize=self.itemsize,
                       budget=budget, max_chunk=max_chunk)
            for n in class_sizes
        ]
        return plans

    def plan(self, class_sizes, *, n_jobs=1, need_full=False, copies=1):
        """Plans for classes of the given sizes, before any expensive work.

        ``n_jobs`` classes run at once, each with ``budget / n_jobs``. With
        ``need_full`` the full Gram matrix is required (no lazy rows).
        ``copies`` kernels (checkpoints) are averaged, multiplying what is
        stored. Raises :class:`MemoryBudgetError` when the work cannot fit.
        """
        self._copies = copies
        if self.template is None:
            raise RuntimeError("call probe(X, y) before plan()")
        budget = None if self.budget is None else self.budget // max(1, n_jobs)
        plans = self._plan_for(self.strategy, class_sizes, budget)
        fits = all(p is not None and not (need_full and p.lazy) for p in plans)
        if not fits and self.requested == "auto":
            fallback = self._plan_for("projection", class_sizes, budget)
            if all(p is not None and not (need_full and p.lazy) for p in fallback):
                warnings.warn(
                    f"The exact lpNTK ({self.strategy}) of the largest class needs "
                    f"{format_bytes(self._need(self.strategy, max(class_sizes), need_full))}"
                    f", more than memory_budget allows ({format_bytes(budget)} per job); "
                    f"using a projection to {self.projection_dim} dimensions instead "
                    f"(typical relative error {CountSketch.relative_error(self.projection_dim):.1%}"
                    "). Raise memory_budget for the exact kernel.",
                    UserWarning, stacklevel=3,
                )
                self.strategy, plans, fits = "projection", fallback, True
        if not fits:
            largest = max(class_sizes)
            raise MemoryBudgetError(
                f"The lpNTK ({self.strategy} strategy) of a class of {largest} samples "
                f"needs at least {format_bytes(self._need(self.strategy, largest, need_full))}"
                f" but memory_budget allows {format_bytes(budget)}"
                + (f" per job with n_jobs={n_jobs}" if n_jobs > 1 else "")
                + ". Raise memory_budget, use fewer n_jobs, or choose "
                "strategy='projection' with a smaller projection_dim."
            )
        return plans

    def _need(self, strategy, n, need_full):
        store, work = self._numbers(strategy)
        need = minimum_bytes(n, store_numbers=store, work_numbers=work, itemsize=self.itemsize)
        if need_full:
            need += n * n * self.itemsize * (1 + self._gram_matrices(strategy))
        return need

    # --------------------------------------------------------------- compute
    def store(self, X, y, *, chunk_size, random_state=None, progress=None):
        """phi of all rows of ``X`` (exact factors or a sketch) as a FactorStore."""
        if self.template is None:
            self.probe(X, y)
        n = len(X)
        if self.strategy == "projection":
            generator = torch.Generator().manual_seed(int(random_state or 0))
            sketch = CountSketch(self.template, self.projection_dim, generator=generator,
                                 dtype=self.dtype, device=self.device)
            store = FactorStore(
                torch.empty(n, self.projection_dim, dtype=self.dtype, device=self.device)
            )
        else:
            sketch = None
            store = FactorStore.allocate(n, self.template, dtype=self.dtype,
                                         device=self.device)
        y = np.asarray(y)
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            xb = _as_tensor(X[start:stop], dtype=self.dtype, device=self.device)
            yb = _as_tensor(y[start:stop], dtype=torch.long, device=self.device)
            pieces = self.producer.pieces(xb, yb, self.n_classes)
            if sketch is not None:
                store.dense[start:stop] = sketch(pieces)
            else:
                store.write(start, pieces)
            del pieces
            if progress is not None:
                progress(stop - start)
        return store

    def class_kernel(self, X, y, plan, *, random_state=None, progress=None):
        """The :class:`ClassKernel` of one class's rows under ``plan``."""
        store = self.store(X, y, chunk_size=plan.chunk_size, random_state=random_state,
                           progress=progress)
        return ClassKernel(store, normalize=self.normalize, n_classes=self.n_classes,
                           lazy=plan.lazy)


def class_kernel(engines, X, y, plan, *, random_state=None, progress=None):
    """The :class:`ClassKernel` of rows ``X`` averaged over one engine per checkpoint.

    The engines must share strategy, normalisation and dtype (they differ in
    the model's parameters). ``progress`` counts rows of every engine.
    """
    first = engines[0]
    stores = [
        engine.store(X, y, chunk_size=plan.chunk_size, random_state=random_state,
                     progress=progress)
        for engine in engines
    ]
    return ClassKernel(FactorStore.average(stores), normalize=first.normalize,
                       n_classes=first.n_classes, lazy=plan.lazy)


def lpntk_kernel(
    model,
    X,
    y,
    *,
    normalize=None,
    error_weighting="sign",
    strategy="auto",
    batch_size=None,
    projection_dim=4096,
    memory_budget=None,
    device="auto",
    dtype=None,
    random_state=None,
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
    batch_size : int or None, default=None
        Largest chunk of samples differentiated at once (None: 64 for
        features, 256 otherwise), shrunk to fit ``memory_budget``.
    projection_dim : int, default=4096
        Sketch dimension for ``strategy="projection"``.
    memory_budget : None, "auto", int or str, default=None
        Bytes the computation may hold at once ("4GB", "512MiB", ...); None
        means no limit. The full matrix must fit, otherwise a
        ``MemoryBudgetError`` (a ValueError) says how much is needed.
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
    engine = LpNTKEngine(
        model, strategy=strategy, normalize=normalize, error_weighting=error_weighting,
        batch_size=batch_size, projection_dim=projection_dim, memory_budget=memory_budget,
        device=device, dtype=dtype,
    )
    return_tensor = isinstance(X, torch.Tensor)
    y_np = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    engine.probe(X, y_np)
    (plan,) = engine.plan([len(X)], need_full=True)
    store = engine.store(X, y_np, chunk_size=plan.chunk_size, random_state=random_state)
    kernel = normalize_kernel(store.gram(), normalize, engine.n_classes).cpu()
    del store
    return kernel if return_tensor else kernel.numpy()


__all__ = [
    "DTYPES",
    "NORMALIZATIONS",
    "STRATEGIES",
    "ClassKernel",
    "LpNTKEngine",
    "class_kernel",
    "MemoryBudgetError",
    "gram",
    "lpntk_kernel",
    "normalize_kernel",
]
