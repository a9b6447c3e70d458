"""Gonzalez farthest-first traversal on a similarity matrix."""

import numpy as np

from ._checks import check_count, check_option
from ._row_scores import inverse_norms


class _MatrixRows:
    """A square NumPy matrix seen through the lazy-kernel interface."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.shape = matrix.shape

    def diagonal(self):
        return np.diagonal(self.matrix)

    def row(self, i):
        return self.matrix[i]

    def rows(self, start, stop):
        return self.matrix[start:stop]


def as_lazy_kernel(kernel):
    """``kernel`` itself if it is lazy (has ``diagonal`` and ``row``), else a matrix view."""
    if hasattr(kernel, "row") and hasattr(kernel, "diagonal") and hasattr(kernel, "shape"):
        if len(kernel.shape) == 2 and kernel.shape[0] == kernel.shape[1]:
            return kernel
    kernel = np.asarray(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must be a square matrix, got shape {kernel.shape}.")
    return _MatrixRows(kernel)


FPC_MODES = ("canonical", "repo")


def farthest_first_traversal(kernel, n_centres, *, candidates=None, initial=(), mode="canonical"):
    """Greedy farthest-first traversal (Gonzalez) in similarity space.

    The first centre is ``argmax_i kernel[i, i]``. Each further centre is the
    non-centre whose largest similarity to the centres chosen so far is the
    smallest, i.e. ``argmin_{s not a centre} max_{h in centres} kernel[h, s]``.
    Ties are broken by the lowest index. Every sample is then assigned to the
    centre it is most similar to (``argmax_h kernel[h, s]``, ties to the centre
    chosen first); a centre is always assigned to itself.

    The traversal reads only the diagonal and the rows of the chosen centres,
    so it costs O(n_centres * n) time beyond the kernel, and the kernel may be
    given lazily: any object with ``shape``, ``diagonal()`` and ``row(i)``
    (returning NumPy vectors) is read through those two methods only.

    Parameters
    ----------
    kernel : ndarray of shape (n, n), or a lazy kernel
        Symmetric similarity matrix (raw lpNTK values; may be negative), or an
        object computing its diagonal and rows on demand.
    n_centres : int
        Number of centres to choose, 1 <= n_centres <= n.
    candidates : array of bool, shape (n,), optional
        Only these rows may become centres (after ``initial``); every row is
        still assigned to a centre. Default: all rows.
    initial : sequence of int, optional
        Centres forced first, in this order (the traversal then continues).
    mode : {"canonical", "repo"}, default="canonical"
        "repo" reproduces the official code's variant: a cluster whose centre is
        strictly less similar to itself than to every other member is skipped
        when the next centre is sought (the next centre is the least similar
        member of the remaining clusters; ties go to the cluster created first,
        then to the lowest index).

    Returns
    -------
    centres : ndarray of shape (n_found,)
        Row indices of the centres, in the order they were chosen. Fewer than
        ``n_centres`` only when no candidate is left (or, in "repo" mode, when
        every cluster is skipped).
    assignment : ndarray of shape (n,)
        For every row, the row index of the centre of its cluster.
    """
    return traverse(kernel, n_centres, candidates=candidates, initial=initial, mode=mode)


def traverse(kernel, n_centres, *, candidates=None, initial=(), mode="canonical", recorder=None):
    """:func:`farthest_first_traversal`, optionally recording every reassignment.

    ``recorder`` (an :meth:`AssignmentLog.recorder <._cuts.AssignmentLog.recorder>`)
    gets ``record(centre, rows)`` for every centre added: the rows whose
    assignment moves to it, the centre included.
    """
    check_option("mode", mode, FPC_MODES)
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    check_count("n_centres", n_centres, n)
    diag = np.asarray(kernel.diagonal(), dtype=np.float64)
    eligible = np.ones(n, dtype=bool) if candidates is None else np.array(candidates, bool)
    if eligible.shape != (n,):
        raise ValueError(f"candidates must be a boolean mask of length {n}.")
    centres = []
    # best[s]: largest similarity of s to a centre; +inf marks the centres.
    best = np.full(n, -np.inf)
    assignment = np.full(n, -1, dtype=np.intp)

    def add(c):
        row = np.asarray(kernel.row(c), dtype=np.float64)
        closer = row > best  # strict: ties stay with the earlier centre
        closer[c] = True  # a centre is its own
        assignment[closer] = c
        np.copyto(best, row, where=closer)
        best[c] = np.inf
        centres.append(c)
        if recorder is not None:
            recorder.record(c, np.flatnonzero(closer))

    for c in initial:
        if len(centres) < n_centres and best[int(c)] != np.inf:
            add(int(c))
    if not centres:
        if not eligible.any():
            raise ValueError("candidates must contain at least one row.")
        add(int(np.argmax(np.where(eligible, diag, -np.inf))))
    while len(centres) < n_centres:
        new = _next_centre(best, eligible, assignment, diag, centres, mode)
        if new is None:
            break
        add(new)
    return np.asarray(centres, dtype=np.intp), assignment


def _next_centre(best, eligible, assignment, diag, centres, mode):
    open_rows = eligible & np.isfinite(best)
    if not open_rows.any():
        return None
    if mode == "canonical":
        return int(np.argmin(np.where(open_rows, best, np.inf)))
    # repo: least similar member of the cluster whose least similar member is
    # least similar overall, skipping clusters whose head is their least similar
    cluster_min = np.full(len(best), np.inf)
    rows = np.flatnonzero(open_rows)
    np.minimum.at(cluster_min, assignment[rows], best[rows])
    heads = np.asarray(centres)
    values = cluster_min[heads]
    usable = np.isfinite(values) & ~(diag[heads] < values)
    if not usable.any():
        return None
    head = heads[int(np.argmin(np.where(usable, values, np.inf)))]
    members = open_rows & (assignment == head)
    return int(np.argmin(np.where(members, best, np.inf)))


def row_extremes(kernel, block_size=512):
    """For every row i: ``max_{j != i} kernel[i, j]`` and ``min_{j != i} cos(i, j)``.

    Reads the kernel block by block (``rows(start, stop)`` when the lazy kernel
    has it, else ``row(i)``), so a lazy kernel is never held whole. With a
    single row both are -inf / +inf.
    """
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    inv = inverse_norms(kernel.diagonal())
    row_max = np.empty(n)
    min_cos = np.empty(n)
    for start in range(0, n, block_size):
        stop = min(n, start + block_size)
        if hasattr(kernel, "rows"):
            block = np.asarray(kernel.rows(start, stop), dtype=np.float64)
        else:
            block = np.stack(
                [np.asarray(kernel.row(i), dtype=np.float64) for i in range(start, stop)]
            )
        local = np.arange(stop - start)
        off = block.copy()
        off[local, start + local] = -np.inf
        row_max[start:stop] = off.max(axis=1)
        cos = block * inv[start:stop, None] * inv[None, :]
        cos[local, start + local] = np.inf
        min_cos[start:stop] = cos.min(axis=1)
    return row_max, min_cos


def self_max_mask(kernel, row_max=None):
    """Rows whose self-similarity is at least their similarity to every other row.

    ``row_max`` (from :func:`row_extremes`) saves reading the kernel again.
    """
    kernel = as_lazy_kernel(kernel)
    if row_max is None:
        row_max, _ = row_extremes(kernel)
    return np.asarray(kernel.diagonal(), dtype=np.float64) >= row_max
