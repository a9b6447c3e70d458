"""Kernel herding: keep rows whose kernel mean matches the class's (NumPy only).

A kept set ``S`` trains like its whole class when, for every row ``x``, the mean
interaction of ``x`` with the kept rows equals its mean interaction with the
class: ``(1/|S|) sum_{j in S} k(x, x_j) = (1/n) sum_j k(x, x_j)``. The gap is the
maximum mean discrepancy (MMD) between the kept rows and the class in the
kernel's feature space,

    MMD^2(S) = mean_{a, b in S} k_ab - 2 mean_{a in S} mu_a + mean_{a, b} k_ab,

with ``mu_a`` row a's mean similarity to the class (its own included). Kernel
herding (Chen, Welling and Smola, UAI 2010) adds, one at a time, the row that
lowers it most: after ``t`` rows with running sums ``s_i = sum_{j in S} k_ij``,
the next row maximises ``mu_i - (s_i + k_ii / 2) / (t + 1)`` (each row at most
once; ties go to the lowest index). The choices never depend on how many rows
are kept in the end, so the order is nested: the first ``k`` rows are the
selection for ``k``.

* :func:`kernel_herding` is that greedy order on a class's whole matrix.
* :func:`block_herding` serves classes too large for their matrix: the rows are
  split at random into blocks of at most ``block_rows``; in every block the rows
  are herded towards the *class's* mean (not the block's), and the blocks'
  orders are interleaved so that any prefix takes the same share of every block.
  It reads only the blocks' matrices, ``n * block_rows`` entries in all, and the
  class means, which a kernel kept as factors gives in ``O(n)`` inner products.
* :func:`mean_discrepancy` is the squared MMD of a subset to its class.

:class:`Herding` is the rule (``keep="herding"``).
"""

import numpy as np

from .._options import check_positive_int
from ._checks import check_count, check_finite
from ._cuts import PrefixCut, matrix_assignment_log
from ._rule import ContradictionOption, KeepRule, as_view, contradictory_mask, register_rule

#: Rows per block of :func:`block_herding` when no block size is given.
BLOCK_ROWS = 4096


@register_rule("herding")
class Herding(ContradictionOption, KeepRule):
    """Keep the rows whose kernel mean matches their class's: greedy kernel herding.

    A kept set trains like its class when every row's mean lpNTK interaction with
    the kept rows equals its mean interaction with the class; the gap is the
    maximum mean discrepancy (MMD) in the lpNTK's feature space. Herding adds
    the row that lowers it most, one at a time
    (:func:`~sklearn_lpntk.selection.kernel_herding`), so the
    kept rows follow the class's distribution, dense regions and boundary rows
    alike, rather than covering it. The order is nested: one fit serves every
    prune ratio. The default rule since 0.8 (``keep="herding"``).

    Parameters
    ----------
    block_rows : int or None, default=4096
        A class past the dense limit (10,000 rows), or whose matrix does not
        fit the memory limit, is herded in random blocks of at most this many
        rows towards the class's own mean
        (:func:`~sklearn_lpntk.selection.block_herding`), reading
        ``n * block_rows`` kernel entries and no neighbour graph. None: always
        the whole matrix.
    drop_contradictory : float in [-1, 1] or None, default=None
        Rows with a same-class partner of lpNTK cosine below this value are
        never kept (the class is then read as a matrix).
    """

    nested = True

    def __init__(self, block_rows=BLOCK_ROWS, drop_contradictory=None):
        self.block_rows = block_rows
        self.drop_contradictory = drop_contradictory

    def check(self):
        self._check_contradictory()
        if self.block_rows is not None:
            check_positive_int("Herding", "block_rows", self.block_rows)

    def plan(self):
        blocks = self.block_rows is not None and self.drop_contradictory is None
        return {
            "need_full": True,
            "graph": "blocks" if blocks else None,
            "n_neighbors": 0,
            "block_rows": self.block_rows if blocks else None,
        }

    def cut(self, kernel, n_keep=None, *, random_state=None):
        view = as_view(kernel)
        in_blocks = self.block_rows is not None and hasattr(view.kernel, "submatrix")
        if view.matrix is None and in_blocks:
            if self.drop_contradictory is not None:
                raise ValueError(
                    "Herding(drop_contradictory=...) reads every pair of a class; a class "
                    "read in blocks does not give them."
                )
            return PrefixCut(
                block_herding(view.kernel, block_rows=self.block_rows, random_state=random_state)
            )
        if view.matrix is None and view.kernel is None:
            raise ValueError(
                "Herding reads a class's kernel (its matrix, or blocks of it), not a "
                "neighbour graph."
            )
        S = view.full()
        rows = np.arange(S.shape[0])
        masks = {}
        if self.drop_contradictory is not None:
            masks["contradictory"] = contradictory_mask(view, self.drop_contradictory)
            if (~masks["contradictory"]).any():
                rows = np.flatnonzero(~masks["contradictory"])
        sub = S if len(rows) == S.shape[0] else S[np.ix_(rows, rows)]
        order = rows[kernel_herding(sub)]
        return PrefixCut(order, matrix_assignment_log(S, order), "order", masks)


def kernel_herding(similarity, n_keep=None, *, target=None):
    """The greedy order that matches the kept rows' kernel mean to the class's.

    Step ``t`` (0-based) adds the row ``i`` not yet kept that maximises
    ``target_i - (s_i + k_ii / 2) / (t + 1)``, where ``s_i`` is the sum of row
    i's similarities to the rows kept so far; this is the row that makes the
    squared MMD (:func:`mean_discrepancy`) of the kept rows smallest. Ties go to
    the lowest index.

    Parameters
    ----------
    similarity : ndarray of shape (n, n)
        A class's kernel (float32 is read as it is, sums in float64).
    n_keep : int or None, default=None
        Rows to order; None orders all of them.
    target : ndarray of shape (n,) or None, default=None
        Every row's mean similarity to the distribution to match; None uses the
        rows' own means ``similarity.mean(axis=1)`` (the class itself).

    Returns
    -------
    order : ndarray of int
        The rows in the order they are kept.
    """
    S = np.asarray(similarity)
    if S.dtype not in (np.float32, np.float64):
        S = S.astype(np.float64)
    n = S.shape[0]
    n_keep = n if n_keep is None else int(n_keep)
    check_count("n_keep", n_keep, n)
    check_finite(S)
    # column j is read as row j of S.T (S itself when symmetric, as kernels are)
    columns = S if np.array_equal(S, S.T) else np.ascontiguousarray(S.T)
    if target is None:
        target = S.mean(axis=1, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != (n,):
        raise ValueError(f"target must have one value per row, shape ({n},); got {target.shape}.")
    half_diagonal = np.diagonal(S).astype(np.float64) / 2
    sums = np.zeros(n)
    score = np.empty(n)
    taken = np.zeros(n, dtype=bool)
    order = np.empty(n_keep, dtype=np.intp)
    for t in range(n_keep):
        np.add(sums, half_diagonal, out=score)
        score /= -(t + 1.0)
        score += target
        score[taken] = -np.inf
        j = int(np.argmax(score))
        order[t] = j
        taken[j] = True
        sums += columns[j]
    return order


def class_means(kernel):
    """Every row's mean similarity to its class, itself included, as float64.

    From a dense matrix directly; from a kernel kept as factors (an object with
    ``typicality()`` and ``diagonal()``, such as a
    :class:`~sklearn_lpntk.kernels.ClassKernel`) without forming the matrix.
    """
    if isinstance(kernel, np.ndarray):
        return kernel.mean(axis=1, dtype=np.float64)
    n = kernel.shape[0]
    diagonal = np.asarray(kernel.diagonal(), dtype=np.float64)
    if n < 2:
        return diagonal
    return (np.asarray(kernel.typicality(), dtype=np.float64) * (n - 1) + diagonal) / n


def block_herding(kernel, *, block_rows=None, random_state=None):
    """The herding order of a class read in random blocks of rows.

    Parameters
    ----------
    kernel : ndarray of shape (n, n) or block-readable kernel
        The class's kernel: a matrix, or an object with ``shape``,
        ``diagonal()``, ``typicality()`` (mean similarity to the other rows)
        and ``submatrix(rows)`` (the kernel among the given rows), such as a
        :class:`~sklearn_lpntk.kernels.ClassKernel`.
    block_rows : int or None, default=None
        Largest block; None uses 4,096 rows (``BLOCK_ROWS``). A class of at most this
        many rows is one block, which is exactly :func:`kernel_herding`.
    random_state : int, Generator or None, default=None
        Which rows share a block.

    Returns
    -------
    order : ndarray of int, shape (n,)
        Every row, in keep order: the first ``k`` take about ``k / n_blocks``
        rows of every block, each block's in its own herding order.
    """
    n = kernel.shape[0]
    block_rows = BLOCK_ROWS if block_rows is None else int(block_rows)
    if block_rows < 1:
        raise ValueError(f"block_rows must be a positive integer, got {block_rows}.")
    target = class_means(kernel)
    n_blocks = -(-n // block_rows)
    if n_blocks <= 1:
        rows = np.arange(n)
        blocks = [rows]
    else:
        blocks = np.array_split(np.random.default_rng(random_state).permutation(n), n_blocks)
    ordered, keys = [], []
    for rows in blocks:
        rows = np.sort(rows)
        S = kernel[np.ix_(rows, rows)] if isinstance(kernel, np.ndarray) else kernel.submatrix(rows)
        ordered.append(rows[kernel_herding(S, target=target[rows])])
        keys.append((np.arange(len(rows)) + 0.5) / len(rows))
    if len(blocks) == 1:
        return ordered[0]
    # interleave: position p of a block of m rows sorts at (p + 0.5) / m, ties by block
    return np.concatenate(ordered)[np.argsort(np.concatenate(keys), kind="stable")]


def mean_discrepancy(similarity, rows):
    """The squared MMD between the rows ``rows`` and their whole class.

    ``mean_{a, b in rows} k_ab - 2 mean_{a in rows, j} k_aj + mean_{i, j} k_ij``
    for a class's kernel ``k``: 0 when the kept rows' kernel mean equals the
    class's, and what :func:`kernel_herding` makes small greedily.

    Parameters
    ----------
    similarity : ndarray of shape (n, n)
        A class's kernel (positive semi-definite).
    rows : array-like of int
        The kept rows (at least one).

    Returns
    -------
    mmd2 : float
        At least 0 up to rounding.
    """
    S = np.asarray(similarity, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.intp)
    if rows.size == 0:
        raise ValueError("rows must hold at least one row.")
    means = S.mean(axis=1)
    return float(S[np.ix_(rows, rows)].mean() - 2 * means[rows].mean() + means.mean())
