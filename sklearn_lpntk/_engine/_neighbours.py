"""Each row's most similar rows of its class, without the class's whole Gram matrix.

Two ways, both reading a :class:`~._normalize.ClassKernel` (the stored factors
of phi, normalised as the kernel is):

* :func:`exact_neighbours` computes the kernel one block of rows at a time and
  keeps every row's ``k`` largest entries (``torch.topk``), so the memory is a
  block of ``rows x n`` numbers and the result ``n x k``; its time grows as
  ``n^2`` times the factor width.
* :func:`approximate_neighbours` count-sketches the normalised phi to ``dim``
  numbers, asks a similarity-search library for every row's ``candidates``
  nearest sketches, and ranks those candidates by their exact kernel values.
  Its time grows nearly linearly in ``n``; what it can miss is measured as
  recall in the tests and in ``bench/neighbours.py``.

Both return plain arrays ``(indices, similarities)`` of shape ``(n, k)``, most
similar first, never the row itself; the selection layer wraps them.
"""

import math

import numpy as np
import torch

from ._store import CountSketch

#: Similarity-search libraries :func:`approximate_neighbours` can use, in the
#: order ``backend="auto"`` tries them.
BACKENDS = ("faiss", "pynndescent")
#: The optional extra that installs the default backend.
INSTALL_HINT = "pip install 'sklearn-lpntk[large]' (faiss-cpu)"


def block_neighbours(kernel, start, stop, k):
    """The ``k`` most similar other rows of rows ``start:stop`` (one block's task).

    Ties go to the lower index. Returns int64 indices and float64 similarities
    as NumPy arrays of shape ``(stop - start, k)``.
    """
    n = kernel.shape[0]
    block = kernel.block(start, stop)
    local = torch.arange(block.shape[0], device=block.device)
    block[local, local + start] = -math.inf  # never a row's own neighbour
    k_eff = min(k, n - 1)
    if k_eff <= 0:
        m = stop - start
        return np.full((m, k), -1, np.int64), np.full((m, k), -np.inf)
    # stable ties: sort by value, then by index (topk alone leaves ties unordered)
    values, indices = torch.topk(block, k_eff, dim=1, sorted=True)
    indices, values = _stable_ties(block, values, indices)
    return _pad(indices.cpu().numpy(), values.cpu().numpy().astype(np.float64), k)


def _stable_ties(block, values, indices):
    """Among entries equal to the k-th value, prefer the lowest indices (as a sort would)."""
    kth = values[:, -1:]
    ties = (block == kth).sum(dim=1)
    listed = (values == kth).sum(dim=1)
    rows = torch.nonzero(ties > listed).flatten()
    for r in rows.tolist():  # rare: a tie that topk may have broken by another rule
        row = block[r]
        order = torch.argsort(-row, stable=True)[: values.shape[1]]
        indices[r], values[r] = order, row[order]
    order = torch.argsort(indices, dim=1, stable=True)  # equal values: ascending index
    indices, values = torch.gather(indices, 1, order), torch.gather(values, 1, order)
    order = torch.argsort(-values, dim=1, stable=True)
    return torch.gather(indices, 1, order), torch.gather(values, 1, order)


def _pad(indices, values, k):
    if indices.shape[1] == k:
        return indices.astype(np.int64), values
    m = indices.shape[0]
    pad = k - indices.shape[1]
    return (
        np.concatenate([indices, np.full((m, pad), -1)], axis=1).astype(np.int64),
        np.concatenate([values, np.full((m, pad), -np.inf)], axis=1),
    )


def exact_neighbours(kernel, k, *, block_rows=1024, progress=None):
    """Every row's ``k`` most similar other rows, exactly, block by block.

    Parameters
    ----------
    kernel : ClassKernel
        One class's kernel (factors held, never the whole matrix).
    k : int
        Neighbours per row (rows of a class smaller than ``k + 1`` are padded
        with index -1 and similarity -inf).
    block_rows : int
        Rows of the kernel computed at once (memory ``block_rows x n``).
    progress : callable or None
        Called with the number of rows done.

    Returns
    -------
    indices, similarities : ndarray of shape (n, k)
        Most similar first (ties to the lower index), never the row itself;
        padded with -1 / -inf.
    """
    n = kernel.shape[0]
    indices = np.empty((n, k), np.int64)
    values = np.empty((n, k), np.float64)
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        indices[start:stop], values[start:stop] = block_neighbours(kernel, start, stop, k)
        if progress is not None:
            progress(stop - start)
    return indices, values


def sketch(kernel, dim, *, random_state=0, chunk_rows=4096):
    """Unit-length ``dim``-number sketches of the normalised phi (float32, NumPy).

    Inner products of the sketches estimate the kernel's cosine; zero rows stay
    zero.

    Parameters
    ----------
    kernel : ClassKernel
        One class's kernel.
    dim : int
        Numbers per sketch.
    random_state : int or None, default=0
        Seed of the count-sketch hash functions (None is seed 0: the sketch is
        always reproducible).
    chunk_rows : int, default=4096
        Rows sketched at once.

    Returns
    -------
    vectors : ndarray of shape (n, dim), float32
        One unit-length sketch per row.
    """
    n = kernel.shape[0]
    generator = torch.Generator().manual_seed(int(random_state or 0))
    template = kernel.scaled_pieces(0, min(1, n))
    sketcher = CountSketch(
        template, dim, generator=generator, dtype=kernel.store.dtype, device=kernel.store.device
    )
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        block = sketcher(kernel.scaled_pieces(start, stop))
        norms = torch.linalg.vector_norm(block, dim=1, keepdim=True)
        block = torch.where(norms > 0, block / norms.clamp_min(1e-30), block)
        out[start:stop] = block.cpu().numpy()
    return out


def has_backend():
    """Whether one of :data:`BACKENDS` can be imported (without importing it)."""
    from importlib.util import find_spec

    return any(find_spec(name) is not None for name in BACKENDS)


def available_backend(backend="auto"):
    """The similarity-search library to use, or an ImportError saying what to install.

    Parameters
    ----------
    backend : {"auto", "faiss", "pynndescent"}, default="auto"
        "auto" tries ``BACKENDS`` in order.

    Returns
    -------
    name : str
        The first one asked for that imports.
    """
    names = BACKENDS if backend == "auto" else (backend,)
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not supported; use 'auto' or one of {BACKENDS}.")
    for name in names:
        try:
            __import__(name)
        except ImportError:
            continue
        return name
    raise ImportError(
        "The approximate neighbour graph needs a similarity-search library: "
        f"{INSTALL_HINT}, or pynndescent. Install one, or use graph='exact'."
    )


def _search_faiss(vectors, m, random_state):
    import faiss

    n, dim = vectors.shape
    index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.hnsw.efSearch = max(64, 2 * m)
    index.add(vectors)
    _, found = index.search(vectors, m + 1)
    return found


def _search_pynndescent(vectors, m, random_state):
    from pynndescent import NNDescent

    index = NNDescent(vectors, metric="dot", n_neighbors=m + 1, random_state=int(random_state or 0))
    found, _ = index.neighbor_graph
    return found


def candidate_neighbours(vectors, m, *, backend="auto", random_state=0):
    """Each row's ``m`` nearest other rows by inner product of ``vectors`` (approximate).

    Parameters
    ----------
    vectors : ndarray of shape (n, dim), float32
        For instance :func:`sketch`'s output.
    m : int
        Candidates per row (at most ``n - 1`` are returned).
    backend : {"auto", "faiss", "pynndescent"}, default="auto"
        The similarity-search library: "faiss" builds an HNSW graph on inner
        products, "pynndescent" a nearest-neighbour descent graph; "auto" takes
        the first of ``BACKENDS`` that is installed.
    random_state : int or None, default=0
        Seed of the search, where the library takes one.

    Returns
    -------
    candidates : ndarray of shape (n, min(m, n - 1) + 1), int64
        Row indices. One more than ``m`` is asked for because the search lists
        the row itself, which is replaced by ``-1`` (as are places the search
        left empty); a row may be listed twice (:func:`rerank` allows it).
    """
    name = available_backend(backend)
    n = len(vectors)
    m_eff = min(m, n - 1)
    search = _search_faiss if name == "faiss" else _search_pynndescent
    found = np.asarray(search(np.ascontiguousarray(vectors), m_eff, random_state), np.int64)
    found[found == np.arange(n)[:, None]] = -1  # the row itself
    found[found >= n] = -1
    return found


def rerank(kernel, candidates, k, *, block_rows=4096):
    """The ``k`` candidates of every row with the largest exact kernel value.

    Parameters
    ----------
    kernel : ClassKernel
        One class's kernel.
    candidates : ndarray of shape (n, m), int
        Candidate rows per row, ``-1`` for missing entries (as
        :func:`candidate_neighbours` returns them).
    k : int
        Neighbours kept per row.
    block_rows : int, default=4096
        Rows whose candidates are evaluated at once.

    Returns
    -------
    indices : ndarray of shape (n, k), int
        Most similar first, ties to the lower index, padded with -1.
    similarities : ndarray of shape (n, k), float
        The exact kernel values, padded with -inf.
    """
    n, m = candidates.shape
    valid = candidates >= 0
    values = np.empty((n, m))
    device = kernel.store.device
    safe = np.where(valid, candidates, 0)
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        rows = torch.arange(start, stop, device=device)
        cols = torch.as_tensor(safe[start:stop], device=device)
        values[start:stop] = kernel.row_pairs(rows, cols).cpu().numpy()
    values[~valid] = -np.inf
    big = np.iinfo(np.int64).max
    cols = np.where(valid, candidates, big)
    order = _row_order(values, cols)
    cols, values = np.take_along_axis(cols, order, 1), np.take_along_axis(values, order, 1)
    # a search may list a row twice: equal (value, index) pairs are now adjacent
    duplicate = np.zeros(cols.shape, dtype=bool)
    duplicate[:, 1:] = cols[:, 1:] == cols[:, :-1]
    values[duplicate], cols[duplicate] = -np.inf, big
    order = _row_order(values, cols)
    cols = np.take_along_axis(cols, order, 1)[:, :k]
    values = np.take_along_axis(values, order, 1)[:, :k]
    missing = (cols == big) | ~np.isfinite(values)
    cols[missing], values[missing] = -1, -np.inf
    return _pad(cols, values, k)


def _row_order(values, cols):
    """Per row: descending value, then ascending index."""
    by_index = np.argsort(cols, axis=1, kind="stable")
    v = np.take_along_axis(values, by_index, 1)
    by_value = np.argsort(-v, axis=1, kind="stable")
    return np.take_along_axis(by_index, by_value, 1)


def approximate_neighbours(
    kernel, k, *, dim=256, candidates=None, backend="auto", random_state=0, progress=None
):
    """Every row's ``k`` most similar other rows, found approximately.

    The normalised phi is count-sketched to ``dim`` numbers (unit length), a
    similarity-search library (``backend``: "faiss", an HNSW graph on inner
    products, or "pynndescent") lists each row's ``candidates`` (default
    ``3 k``) nearest sketches, and those are ranked by their exact kernel
    values. The similarities returned are exact; a true neighbour that the
    search did not list is missed.

    Parameters
    ----------
    kernel : ClassKernel
        One class's kernel.
    k : int
        Neighbours per row.
    dim : int, default=256
        Numbers per sketch (:func:`sketch`).
    candidates : int or None, default=None
        Candidates per row from the search (at least ``k``); None means ``3 k``.
    backend : {"auto", "faiss", "pynndescent"}, default="auto"
        As in :func:`candidate_neighbours`.
    random_state : int or None, default=0
        Seed of the sketch and of the search.
    progress : callable or None, default=None
        Called with the number of rows once they are done.

    Returns
    -------
    indices, similarities : ndarray of shape (n, k)
        As :func:`rerank` returns them.
    """
    m = 3 * k if candidates is None else max(int(candidates), k)
    vectors = sketch(kernel, dim, random_state=random_state)
    found = candidate_neighbours(vectors, m, backend=backend, random_state=random_state)
    del vectors
    result = rerank(kernel, found, k)
    if progress is not None:
        progress(kernel.shape[0])
    return result
