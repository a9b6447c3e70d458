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
(with a warning) only when the exact kernel cannot fit in ``max_memory``.
"""

import math
import warnings

import numpy as np
import torch

from .._options import hide_moved, refuse_moved
from ._device import resolve_device
from ._factorized import FactorizedGradients
from ._features import LabelledGradientFeatures
from ._model import (
    as_inputs,
    as_tensor,
    check_error_weighting,
    check_logits,
    parameter_dtype,
)
from ._normalize import (
    NORMALIZATIONS,
    ClassKernel,
    check_normalize,
    normalize_kernel,
    row_scale,
)
from ._plan import (
    BLOCKS,
    GRAPH_MODES,
    KernelPlan,
    MemoryLimitError,
    Probe,
    fitting_jobs,
    format_bytes,
    graph_plans,
    minimum_bytes,
    parse_max_memory,
    plan_class,
)
from ._store import CountSketch, FactorStore

STRATEGIES = ("auto", "features", "factorized", "projection")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: Keywords renamed in 0.8 (one meaning per word): their new spelling.
MOVED_ENGINE_KEYWORDS = {"batch_size": "chunk_size", "memory_budget": "max_memory"}
#: Largest chunk when ``chunk_size`` is None: vmap holds ~3 P numbers per sample,
#: the factorised path only activations, so it takes bigger chunks.
DEFAULT_CHUNK = {"features": 64, "factorized": 256}
#: Without a batch size from the user, factorised chunks hold at most this many
#: working numbers (32 MB in float32): larger chunks of a big network leave the
#: cache and run slower, smaller ones only add overhead (LeNet on 2 CPU cores:
#: 0.9 ms per image at 256 rows, 0.63-0.74 ms at 64-128 rows).
CHUNK_WORK_NUMBERS = 2**23


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


class LpNTKEngine:
    """The lpNTK computation for one model, planned against a memory limit.

    The engine is configured once and holds no state that later calls change.
    Its lifecycle is explicit::

        probe = engine.probe(X, y)              # check the model, measure the work
        plan = engine.plan(probe, class_sizes)  # memory plan (before training)
        kernel = engine.kernel(X_c, y_c, plan, c, states=[...])  # per class

    ``kernel`` reads the model's parameters when it is called (so a model
    trained after planning gives its trained kernel), or the given parameter
    ``states`` (e.g. checkpoints), whose kernels are averaged.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits (batch, n_classes); read, never
        modified; evaluated in eval mode.
    strategy : {"auto", "features", "factorized", "projection"}
    normalize : {None, "K", "cosine"}
    error_weighting : {"sign", "full"}
    chunk_size : int or None
        Largest chunk of samples differentiated at once; None picks 64 for
        features and 256 otherwise. Chunks shrink to fit ``max_memory``.
    projection_dim : int
        Sketch size of the projection strategy.
    max_memory : None, "auto", int or str
        Bytes the kernel computation may hold on ``device`` at once.
    device : {"auto", "cpu", "cuda"} or torch.device
    dtype : None, "float32" or "float64"
        Of the computation; None keeps the model's parameter dtype.

    Attributes
    ----------
    strategy : str
        The strategy before any budget fallback: "projection" when asked for,
        otherwise the exact one the model gets ("features" or "factorized").
    """

    @hide_moved
    def __init__(
        self,
        model,
        *,
        strategy="auto",
        normalize=None,
        error_weighting="sign",
        chunk_size=None,
        projection_dim=4096,
        max_memory=None,
        device="auto",
        dtype=None,
        **moved,
    ):
        refuse_moved("LpNTKEngine", moved, MOVED_ENGINE_KEYWORDS)
        _check_choice("strategy", strategy, STRATEGIES)
        check_normalize(normalize)
        check_error_weighting(error_weighting)
        if chunk_size is not None and (
            not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
        if not isinstance(projection_dim, (int, np.integer)) or projection_dim < 1:
            raise ValueError(f"projection_dim must be a positive integer, got {projection_dim!r}.")
        self.model = model
        self.device = resolve_device(device)
        self.dtype = _resolve_dtype(dtype, model)
        self.itemsize = torch.empty((), dtype=self.dtype).element_size()
        self.requested = strategy
        self.normalize = normalize
        self.error_weighting = error_weighting
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.projection_dim = int(projection_dim)
        self.budget = parse_max_memory(max_memory, self.device)
        self.producer = self._producer()
        exact = "features" if isinstance(self.producer, LabelledGradientFeatures) else "factorized"
        self.strategy = "projection" if strategy == "projection" else exact

    def _producer(self):
        kwargs = {
            "error_weighting": self.error_weighting,
            "device": self.device,
            "dtype": self.dtype,
        }
        if self.requested == "features":
            return LabelledGradientFeatures(self.model, **kwargs)
        factorized = FactorizedGradients(self.model, **kwargs)
        if self.requested == "factorized" or factorized.n_covered >= factorized.n_features / 2:
            return factorized
        return LabelledGradientFeatures(self.model, **kwargs)

    # ----------------------------------------------------------------- probe
    def probe(self, X, y, n_classes=None):
        """Check the model on two rows and measure the pieces of phi per sample.

        Raises a ValueError when the model does not return 2-D logits, when it
        returns other than ``n_classes`` logits (if given), or when a label is
        not an output index. Returns a :class:`Probe`.
        """
        n_out = check_logits(self.model, X, y, device=self.device, n_classes=n_classes)
        n = min(2, len(X))
        xb = as_inputs(X[:n], dtype=self.dtype, device=self.device)
        yb = as_tensor(np.asarray(y[:n]), dtype=torch.long, device=self.device)
        pieces, work = self.producer.pieces(xb, yb, n_out, self.producer.params_at())
        stored = FactorStore.numbers_per_sample(pieces)
        return Probe(
            n_classes=n_out,
            template=tuple(pieces),
            stored_numbers=stored,
            work_numbers=work / n + stored,
        )

    # ------------------------------------------------------------------ plan
    def _numbers(self, probe, strategy, copies):
        copies = copies if copies == 1 else 2 * copies  # the stores, then their average
        if strategy == "projection":
            return copies * self.projection_dim, probe.work_numbers + self.projection_dim
        return copies * probe.stored_numbers, probe.work_numbers

    @staticmethod
    def _gram_matrices(probe, strategy, n):
        return 0 if strategy == "projection" else FactorStore.gram_temporaries(probe.template, n)

    def _class_plans(self, probe, strategy, class_sizes, budget, copies):
        store, work = self._numbers(probe, strategy, copies)
        max_chunk = (
            self.chunk_size or DEFAULT_CHUNK["features" if strategy == "features" else "factorized"]
        )
        if self.chunk_size is None and strategy == "factorized":
            max_chunk = int(min(max_chunk, max(16, CHUNK_WORK_NUMBERS // max(work, 1))))
        return tuple(
            plan_class(
                n,
                store_numbers=store,
                work_numbers=work,
                gram_matrices=self._gram_matrices(probe, strategy, n),
                itemsize=self.itemsize,
                budget=budget,
                max_chunk=max_chunk,
            )
            for n in class_sizes
        )

    def need_bytes(self, probe, strategy, n, *, need_full=False, copies=1):
        """The smallest budget for a class of ``n`` samples (with its Gram if ``need_full``)."""
        store, work = self._numbers(probe, strategy, copies)
        need = minimum_bytes(n, store_numbers=store, work_numbers=work, itemsize=self.itemsize)
        if need_full:
            need += math.ceil(n * n * self.itemsize * (1 + self._gram_matrices(probe, strategy, n)))
        return need

    def _graph_plans(
        self, probe, strategy, class_sizes, budget, copies, plans, graph, k, block_rows
    ):
        """Class plans with the classes that ``graph`` sends to a neighbour graph (or to
        blocks) replaced."""
        store, work = self._numbers(probe, strategy, copies)
        return graph_plans(
            class_sizes,
            plans,
            graph,
            int(k),
            store_numbers=store,
            work_numbers=work,
            itemsize=self.itemsize,
            budget=budget,
            device_type=self.device.type,
            block_rows=block_rows,
        )

    def plan(
        self,
        probe,
        class_sizes,
        *,
        n_jobs=1,
        need_full=False,
        copies=1,
        graph=None,
        n_neighbors=10,
        block_rows=None,
    ):
        """A :class:`KernelPlan` for classes of the given sizes, before any expensive work.

        Every class is planned against the whole memory limit, so the plan (and
        the kernel) never depends on ``n_jobs``; the plan's ``jobs`` is how many
        classes can then run at once (at most ``n_jobs``). With ``need_full``
        the full Gram matrix is required (no lazy rows).
        ``copies`` parameter states (checkpoints) are averaged, multiplying
        what is stored. ``graph`` (one of ``GRAPH_MODES``, or "blocks" with
        ``block_rows``) says how a class past the dense limit, or one whose matrix
        does not fit, is read. Raises :class:`~sklearn_lpntk.MemoryLimitError` when
        the work cannot fit.
        """
        budget = self.budget
        strategy = self.strategy
        if graph is not None and graph not in (*GRAPH_MODES, BLOCKS):
            raise ValueError(f"graph={graph!r} is not supported; use one of {GRAPH_MODES}.")

        def fits(plans):
            return all(
                p is not None and not (need_full and p.lazy and p.graph is None) for p in plans
            )

        def class_plans(strategy):
            plans = self._class_plans(probe, strategy, class_sizes, budget, copies)
            if graph is None:
                return plans
            return self._graph_plans(
                probe, strategy, class_sizes, budget, copies, plans, graph, n_neighbors, block_rows
            )

        plans = class_plans(strategy)
        if not fits(plans) and self.requested == "auto":
            fallback = class_plans("projection")
            if fits(fallback):
                need = self.need_bytes(
                    probe, strategy, max(class_sizes), need_full=need_full, copies=copies
                )
                warnings.warn(
                    f"The exact lpNTK ({strategy}) of the largest class needs "
                    f"{format_bytes(need)}, more than max_memory allows "
                    f"({format_bytes(budget)}); using a projection to "
                    f"{self.projection_dim} dimensions instead (typical relative error "
                    f"{CountSketch.relative_error(self.projection_dim):.1%}). Raise "
                    "max_memory for the exact kernel.",
                    UserWarning,
                    stacklevel=3,
                )
                strategy, plans = "projection", fallback
        if not fits(plans):
            largest = max(class_sizes)
            need = self.need_bytes(probe, strategy, largest, need_full=need_full, copies=copies)
            raise MemoryLimitError(
                f"The lpNTK ({strategy} strategy) of a class of {largest} samples "
                f"needs at least {format_bytes(need)}"
                f" but max_memory allows {format_bytes(budget)}" + ". Raise max_memory, or choose "
                "kernel=LpNTK(strategy='projection', projection_dim=...) with a smaller "
                "projection_dim."
            )
        jobs = fitting_jobs([p.bytes_needed for p in plans], budget, n_jobs)
        return KernelPlan(
            strategy=strategy, classes=plans, copies=int(copies), probe=probe, jobs=jobs
        )

    # --------------------------------------------------------------- compute
    def _store(self, X, y, plan, chunk_size, at, random_state, progress):
        """phi of all rows of ``X`` (exact factors or a sketch) as a FactorStore."""
        n = len(X)
        template = plan.probe.template
        if plan.strategy == "projection":
            generator = torch.Generator().manual_seed(int(random_state or 0))
            sketch = CountSketch(
                template,
                self.projection_dim,
                generator=generator,
                dtype=self.dtype,
                device=self.device,
            )
            store = FactorStore(
                torch.empty(n, self.projection_dim, dtype=self.dtype, device=self.device)
            )
        else:
            sketch = None
            store = FactorStore.allocate(n, template, dtype=self.dtype, device=self.device)
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            xb = as_inputs(X[start:stop], dtype=self.dtype, device=self.device)
            yb = as_tensor(y[start:stop], dtype=torch.long, device=self.device)
            pieces, _ = self.producer.pieces(xb, yb, plan.probe.n_classes, at)
            if sketch is not None:
                store.dense[start:stop] = sketch(pieces)
            else:
                store.write(start, pieces)
            del pieces
            if progress is not None:
                progress(stop - start)
        return store

    def kernel(self, X, y, plan, class_index=0, *, states=None, random_state=None, progress=None):
        """The :class:`ClassKernel` of rows ``X`` (one class) under ``plan``.

        Parameters
        ----------
        X, y : arrays or tensors
            The rows of one class and their encoded labels.
        plan : KernelPlan
            From :meth:`plan`.
        class_index : int, default=0
            Which of the plan's classes these rows are (sets the chunk size and
            whether rows are computed lazily).
        states : sequence of state dicts or None, default=None
            Parameter states whose kernels are averaged (there must be
            ``plan.copies`` of them); None uses the model's current parameters.
        random_state : int or None
            Seed of the projection's hash functions.
        progress : callable or None
            Called with the number of rows done, for every state.
        """
        class_plan = plan.classes[class_index]
        states = [None] if states is None else list(states)
        if len(states) != plan.copies:
            raise ValueError(
                f"the plan was made for {plan.copies} parameter states, got {len(states)}."
            )
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
        stores = [
            self._store(
                X,
                y,
                plan,
                class_plan.chunk_size,
                self.producer.params_at(state),
                random_state,
                progress,
            )
            for state in states
        ]
        return ClassKernel(
            FactorStore.average(stores),
            normalize=self.normalize,
            n_classes=plan.probe.n_classes,
            lazy=class_plan.lazy,
        )


__all__ = [
    "DTYPES",
    "NORMALIZATIONS",
    "STRATEGIES",
    "ClassKernel",
    "LpNTKEngine",
    "MemoryLimitError",
    "normalize_kernel",
    "row_scale",
]
