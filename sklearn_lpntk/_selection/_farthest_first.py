"""Gonzalez farthest-first traversal on a similarity matrix."""

import numpy as np


class _MatrixRows:
    """A square NumPy matrix seen through the lazy-kernel interface."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.shape = matrix.shape

    def diagonal(self):
        return np.diagonal(self.matrix)

    def row(self, i):
        return self.matrix[i]


def as_lazy_kernel(kernel):
    """``kernel`` itself if it is lazy (has ``diagonal`` and ``row``), else a matrix view."""
    if hasattr(kernel, "row") and hasattr(kernel, "diagonal") and hasattr(kernel, "shape"):
        if len(kernel.shape) == 2 and kernel.shape[0] == kernel.shape[1]:
            return kernel
    kernel = np.asarray(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must be a square matrix, got shape {kernel.shape}.")
    return _MatrixRows(kernel)


def farthest_first_traversal(kernel, n_centres):
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

    Returns
    -------
    centres : ndarray of shape (n_centres,)
        Row indices of the centres, in the order they were chosen.
    assignment : ndarray of shape (n,)
        For every row, the row index of the centre of its cluster.
    """
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    if not 1 <= n_centres <= n:
        raise ValueError(f"n_centres must be in [1, {n}] for {n} samples, got {n_centres}.")
    centres = np.empty(n_centres, dtype=np.intp)
    centres[0] = int(np.argmax(kernel.diagonal()))
    # best[s]: largest similarity of s to a centre; +inf marks the centres.
    best = np.array(kernel.row(centres[0]), dtype=np.float64)
    assignment = np.full(n, centres[0], dtype=np.intp)
    best[centres[0]] = np.inf
    for t in range(1, n_centres):
        new = int(np.argmin(best))  # first minimum: lowest index wins ties
        centres[t] = new
        row = np.asarray(kernel.row(new), dtype=np.float64)
        closer = row > best  # strict: ties stay with the earlier centre
        assignment[closer] = new
        best = np.where(closer, row, best)
        best[new] = np.inf
        assignment[new] = new
    return centres, assignment
