"""Memory budgets: parsing them and planning each class's work to fit one.

The work on a class of n samples needs, in bytes (``b`` bytes per number):

* the stored phi: ``n * s * b``, with ``s`` numbers per sample (P for the
  features strategy, the factor sizes for the factorised one, ``projection_dim``
  for a projection);
* one chunk of ``c`` samples being differentiated: ``c * w * b``, with ``w``
  measured on a probe chunk (every captured activation, output gradient and
  per-sample gradient, times a safety factor);
* the Gram matrix ``n^2 * b`` and its temporaries, unless the rows are computed
  lazily, in which case only a few vectors of length n are needed.

:func:`plan_class` chooses the chunk size and whether the Gram matrix is formed
so that the sum stays within the budget, and says so when nothing fits.
"""

import math
import os
import re
from dataclasses import dataclass

import torch

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
#: Share of the free memory that ``max_memory="auto"`` allows.
AUTO_SHARE = 0.5
#: Safety factor on the measured per-sample working memory of a chunk.
WORK_FACTOR = 3
#: Vectors of length n kept by the lazy traversal (diagonal, best, assignment...).
LAZY_VECTORS = 8


class MemoryLimitError(ValueError):
    """The requested work cannot fit in ``max_memory``."""


def format_bytes(n):
    """Human-readable size, e.g. ``'1.5 GB'``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def available_memory(device):
    """Free memory in bytes on ``device`` (host RAM for the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 10**9  # unknown platform: assume a modest machine


def parse_max_memory(budget, device="cpu"):
    """Bytes allowed by ``budget``: None (no limit), "auto", an int, or a string.

    Strings are a number and a unit: "512MB", "4GB", "1.5 GiB" (decimal kB/MB/GB
    and binary KiB/MiB/GiB). "auto" is half of the memory free on ``device``.
    """
    if budget is None:
        return None
    if isinstance(budget, str):
        if budget.strip().lower() == "auto":
            return int(AUTO_SHARE * available_memory(device))
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", budget)
        if match is None or match.group(2).lower() not in _UNITS:
            raise ValueError(
                f"max_memory={budget!r} is not a size; write e.g. '512MB', '4GB' or "
                "'1.5GiB', give a number of bytes, 'auto' (half the free memory) or None."
            )
        return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
        raise ValueError(
            f"max_memory must be a positive number of bytes, a string such as "
            f"'4GB', 'auto' or None; got {budget!r}."
        )
    return int(budget)


#: Bytes per edge of a neighbour graph while it is built and read (indices and
#: similarities, the candidates of an approximate search, the covering lists).
GRAPH_EDGE_BYTES = 96
#: Values of the ``graph`` option: how the matrix rules read a class.
GRAPH_MODES = ("auto", "dense", "exact", "approximate")
#: What a plan may also be asked for: like "auto", but a class past the dense
#: limit is read in blocks of rows (kernel herding) instead of through a graph.
BLOCKS = "blocks"
#: ``graph="auto"`` reads a class's whole Gram matrix up to this many rows (a
#: 10,000-row class is 400 MB in float32 and seconds of greedy selection)...
DENSE_MAX_ROWS = 10_000
#: ...then an exact neighbour graph while ``n^2`` times the factor width stays
#: under this many multiply-adds (a few seconds on 2 CPU cores; 50 times more on
#: a GPU), and an approximate one beyond: past that, the exact graph costs many
#: times the brief training (bench/rows.py).
EXACT_MAX_WORK = 2.5e11
#: Numbers per row of the sketch the approximate search runs on.
SKETCH_DIM = 256
#: Most kernel rows an exact graph computes at once.
MAX_BLOCK_ROWS = 1024


@dataclass(frozen=True)
class ClassPlan:
    """How one class's kernel is computed.

    ``graph`` is None when the selection reads the kernel itself (the whole
    matrix, or rows on demand when ``lazy``), "exact" or "approximate" when
    the class is read through a neighbour graph of ``n_neighbors`` per row,
    built ``block_rows`` kernel rows at a time (``block_jobs`` blocks fit the
    memory limit at once; None: no limit), and "blocks" when it is read as the
    matrices of random blocks of at most ``block_rows`` rows.
    """

    n_samples: int
    chunk_size: int
    lazy: bool
    bytes_needed: int
    graph: str = None
    n_neighbors: int = 0
    block_rows: int = 0
    block_jobs: int = None


def graph_mode(n, requested, *, width, device_type="cpu", backend_available=True):
    """ "dense", "exact" or "approximate" for a class of ``n`` rows (``requested``
    one of :data:`GRAPH_MODES`; "auto" decides from the sizes)."""
    if requested == BLOCKS:
        return "dense" if n <= DENSE_MAX_ROWS else BLOCKS
    if requested != "auto":
        return requested
    if n <= DENSE_MAX_ROWS:
        return "dense"
    limit = EXACT_MAX_WORK * (50 if device_type == "cuda" else 1)
    if float(n) * n * max(width, 1) <= limit or not backend_available:
        return "exact"
    return "approximate"


def plan_block_class(n, *, store_numbers, work_numbers, itemsize, budget, max_chunk, block_rows):
    """The plan of a class read in blocks of rows, or None when it cannot fit.

    Memory: the stored phi, one block's copy of it and its matrix (with the
    temporaries of its product), a few vectors of length n, and one chunk of
    samples being differentiated. The block shrinks to fit the budget.
    """
    store = n * store_numbers * itemsize
    work = work_numbers * itemsize * WORK_FACTOR
    fixed = store + n * LAZY_VECTORS * 8

    def block_bytes(m):
        return m * store_numbers * itemsize + 3 * m * m * itemsize

    m = min(int(block_rows), n)
    if budget is None:
        return ClassPlan(
            n, max_chunk, True, fixed + block_bytes(m) + max_chunk * work, BLOCKS, 0, m
        )
    while m > 1 and fixed + block_bytes(m) + work > budget:
        m //= 2
    room = budget - fixed - block_bytes(m)
    if room < work:
        return None
    chunk = int(min(max_chunk, room // work))
    return ClassPlan(n, chunk, True, fixed + block_bytes(m) + chunk * work, BLOCKS, 0, m)


def plan_graph_class(
    n, mode, *, store_numbers, work_numbers, itemsize, budget, max_chunk, n_neighbors
):
    """The plan of a class read through a neighbour graph, or None when it cannot fit.

    Memory: the stored phi, the graph's edges, then a block of kernel rows
    (exact) or the sketches and their search index (approximate), and one
    chunk of samples being differentiated.
    """
    store = n * store_numbers * itemsize
    edges = n * n_neighbors * GRAPH_EDGE_BYTES
    work = work_numbers * itemsize * WORK_FACTOR
    search = n * (SKETCH_DIM * 4 * 2 + 64 * 8) if mode == "approximate" else 0  # sketches, HNSW
    fixed = store + edges + search
    row_bytes = max(1, 3 * n * itemsize)  # one kernel row and top-k's temporaries
    block_jobs = None
    if budget is None:
        block_rows = MAX_BLOCK_ROWS if mode == "exact" else 0
        chunk = max_chunk
    else:
        room = budget - fixed - work
        block_rows = int(min(MAX_BLOCK_ROWS, room // row_bytes)) if mode == "exact" else 0
        if room < 0 or (mode == "exact" and block_rows < 1):
            return None
        chunk = int(min(max_chunk, 1 + (room - block_rows * row_bytes) // work))
        if block_rows:  # the blocks come after the gradients: they share the room
            block_jobs = max(1, int(room // (block_rows * row_bytes)))
    needed = fixed + block_rows * row_bytes + chunk * work
    return ClassPlan(n, chunk, True, needed, mode, n_neighbors, block_rows, block_jobs)


def plan_class(n, *, store_numbers, work_numbers, gram_matrices, itemsize, budget, max_chunk):
    """Chunk size and lazy flag for a class of ``n`` samples.

    Prefers forming the Gram matrix with the largest chunk (up to ``max_chunk``);
    then the Gram with smaller chunks; then lazy rows. Returns None when even
    lazy rows with a chunk of one sample do not fit.
    """
    store = n * store_numbers * itemsize
    gram = math.ceil(n * n * itemsize * (1 + gram_matrices))
    lazy = n * LAZY_VECTORS * 8
    work = work_numbers * itemsize * WORK_FACTOR
    if budget is None:
        return ClassPlan(n, max_chunk, False, store + gram + max_chunk * work)
    for extra, is_lazy in ((gram, False), (lazy, True)):
        room = budget - store - extra
        if room >= work:
            chunk = int(min(max_chunk, room // work))
            return ClassPlan(n, chunk, is_lazy, store + extra + chunk * work)
    return None


def minimum_bytes(n, *, store_numbers, work_numbers, itemsize):
    """The smallest budget in which a class of ``n`` samples fits (lazy, chunk 1)."""
    return (
        n * store_numbers * itemsize
        + n * LAZY_VECTORS * 8
        + math.ceil(work_numbers * itemsize * WORK_FACTOR)
    )


@dataclass(frozen=True)
class Probe:
    """What two probe rows of a model tell about the work per sample.

    Attributes
    ----------
    n_classes : int
        Number of logits the model returns.
    template : tuple
        The pieces of phi of the probe rows (their shapes lay out storage and
        sketches).
    stored_numbers : int
        Numbers stored per sample by the exact strategy.
    work_numbers : float
        Numbers alive per sample while a chunk is differentiated.
    """

    n_classes: int
    template: tuple
    stored_numbers: int
    work_numbers: float


@dataclass(frozen=True)
class KernelPlan:
    """How the kernels of all classes are computed; made by ``LpNTKEngine.plan``.

    Attributes
    ----------
    strategy : {"features", "factorized", "projection"}
        The strategy actually used (a projection when the exact kernel did not
        fit and the engine was asked for "auto").
    classes : tuple of ClassPlan
        One plan per class, in the order of the class sizes given.
    copies : int
        Number of parameter states (checkpoints) whose kernels are averaged.
    probe : Probe
        The measurements the plan was made from.
    jobs : int
        Classes computed at once: at most the jobs asked for, and only as many
        as the memory limit holds together (the plan itself never depends on
        the jobs, so neither does the result).
    """

    strategy: str
    classes: tuple
    copies: int
    probe: Probe
    jobs: int = 1

    @property
    def lazy(self):
        """Indices of the classes clustered from rows computed on demand."""
        return [c for c, p in enumerate(self.classes) if p.lazy]


def graph_plans(
    class_sizes,
    plans,
    graph,
    k,
    *,
    store_numbers,
    work_numbers,
    itemsize,
    budget,
    device_type,
    block_rows=None,
):
    """``plans`` with the classes that ``graph`` sends to a neighbour graph (or, for
    :data:`BLOCKS`, to blocks of ``block_rows`` rows) re-planned.

    Under "auto", a class at or below the dense limit whose matrix does not fit
    (its plan is None or lazy) is read through an exact graph instead (in
    blocks, under :data:`BLOCKS`).
    """
    from ._neighbours import available_backend, has_backend

    if graph == BLOCKS:
        if block_rows is None:
            raise ValueError("a plan in blocks needs block_rows.")
        max_chunk = max((p.chunk_size for p in plans if p is not None), default=1)
        out = []
        for n, p in zip(class_sizes, plans):
            dense = graph_mode(n, BLOCKS, width=store_numbers) == "dense"
            if dense and p is not None and not p.lazy:
                out.append(p)
                continue
            out.append(
                plan_block_class(
                    n,
                    store_numbers=store_numbers,
                    work_numbers=work_numbers,
                    itemsize=itemsize,
                    budget=budget,
                    max_chunk=max_chunk,
                    block_rows=block_rows,
                )
            )
        return tuple(out)
    found = has_backend()
    if graph == "approximate" and not found:
        available_backend()  # raises the ImportError that says what to install
    max_chunk = max((p.chunk_size for p in plans if p is not None), default=1)
    out = []
    for n, p in zip(class_sizes, plans):
        mode = graph_mode(
            n, graph, width=store_numbers, device_type=device_type, backend_available=found
        )
        if mode == "dense" and graph == "auto" and (p is None or p.lazy):
            mode = "exact"
        out.append(
            p
            if mode == "dense"
            else plan_graph_class(
                n,
                mode,
                store_numbers=store_numbers,
                work_numbers=work_numbers,
                itemsize=itemsize,
                budget=budget,
                max_chunk=max_chunk,
                n_neighbors=k,
            )
        )
    return tuple(out)


def fitting_jobs(class_bytes, budget, n_jobs):
    """How many classes can run at once: at most ``n_jobs``, and only as many of the
    largest classes' plans as ``budget`` holds together (all with no budget)."""
    n_jobs = max(1, int(n_jobs))
    if budget is None:
        return n_jobs
    largest = sorted((int(b) for b in class_bytes), reverse=True)
    jobs = 1
    while jobs < min(n_jobs, len(largest)) and sum(largest[: jobs + 1]) <= budget:
        jobs += 1
    return jobs
