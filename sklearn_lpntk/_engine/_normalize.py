"""Normalisation of lpNTK matrices, and the per-class kernel the selection layer reads.

Every normalisation is a per-row scale s applied as ``k_ij s_i s_j``:
``1 / sqrt(n_classes)`` for "K" (the pNTK convention) and ``1 / sqrt(k_ii)`` for
"cosine" (unit self-similarity); None leaves the kernel as it is.
"""

import numpy as np
import torch

from ._layers import GhostPiece

NORMALIZATIONS = (None, "K", "cosine")


def check_normalize(normalize):
    """Raise a ValueError unless ``normalize`` is one of :data:`NORMALIZATIONS`."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize={normalize!r} is not supported; use None (no scaling, as in "
            "the official code), 'K' (divide by the number of classes) or 'cosine'."
        )


def row_scale(diag, normalize, n_classes):
    """The per-row scale s of a normalisation: entry (i, j) becomes ``k_ij s_i s_j``.

    None for no scaling, ``1 / sqrt(n_classes)`` for every row with "K" (the
    pNTK convention), ``1 / sqrt(k_ii)`` with "cosine" (0 for rows of zero norm,
    which stay zero).
    """
    check_normalize(normalize)
    if normalize is None:
        return None
    if normalize == "K":
        return torch.full_like(diag, float(n_classes) ** -0.5)
    norms = torch.sqrt(torch.clamp(diag, min=0))
    return torch.where(norms > 0, 1.0 / norms, torch.zeros_like(norms))


def _apply_scale(block, scale, rows=slice(None)):
    """``block[i, j] *= s[rows][i] s[j]`` in place (nothing when ``scale`` is None)."""
    if scale is not None:
        block *= scale[rows][:, None]
        block *= scale[None, :]
    return block


def normalize_kernel(kernel, normalize, n_classes):
    """Apply one of the normalisations to a full kernel in place and return it.

    With "cosine" the diagonal is set to exactly 1 (0 for rows of zero norm), so
    that ties between self-similarities are real ties, broken by index.

    Parameters
    ----------
    kernel : torch.Tensor of shape (n, n)
        A raw lpNTK matrix (``normalize=None``); overwritten.
    normalize : {None, "K", "cosine"}
        None leaves it as it is; "K" divides by ``n_classes``; "cosine" divides
        entry ``(i, j)`` by ``sqrt(K_ii K_jj)``.
    n_classes : int
        Number of logits of the model (read by "K").

    Returns
    -------
    kernel : torch.Tensor of shape (n, n)
        The same tensor, normalised.
    """
    raw_diag = torch.diagonal(kernel).clone()
    _apply_scale(kernel, row_scale(raw_diag, normalize, n_classes))
    if normalize == "cosine":
        torch.diagonal(kernel).copy_((raw_diag > 0).to(kernel.dtype))
    return kernel


class ClassKernel:
    """The lpNTK of one class, as a full matrix or row by row.

    Made by :meth:`LpNTKEngine.kernel`. Offers what the selection layer reads:
    :meth:`diagonal`, :meth:`row` and :meth:`rows`, all NumPy; :meth:`matrix`
    forms the whole (n, n) array. Rows are computed from the stored labelled
    gradients when asked for, so a class too large for its Gram matrix can
    still be read row by row.

    Parameters
    ----------
    store : object
        The engine's internal store of the class's labelled gradients (or of
        their sketch, with ``strategy="projection"``): a dense part
        ``store.dense`` (a tensor of shape (n, width) or None) and ghost factors
        ``store.ghosts`` (a list of :class:`~sklearn_lpntk.layers.GhostPiece`).
        Build a ClassKernel through :meth:`LpNTKEngine.kernel`, not by hand.
    normalize : {None, "K", "cosine"}
        As in :func:`normalize_kernel`, applied to every entry read.
    n_classes : int
        Number of logits of the model.
    lazy : bool
        True when the plan did not leave room for the full matrix.

    Attributes
    ----------
    store, normalize, n_classes, lazy
        The parameters.
    shape : tuple of int
        ``(n, n)``.
    """

    def __init__(self, store, *, normalize, n_classes, lazy):
        self.store = store
        self.lazy = lazy
        self.normalize = normalize
        self.n_classes = n_classes
        self._raw_diag = store.diagonal()
        self._scale = row_scale(self._raw_diag, normalize, n_classes)
        n = len(store)
        self.shape = (n, n)

    def __len__(self):
        return self.shape[0]

    def diagonal(self):
        """kappa(i, i) after normalisation, as a float64 NumPy vector."""
        diag = self._raw_diag.clone()
        if self.normalize == "cosine":
            diag = (diag > 0).to(diag.dtype)  # exactly 1, as in normalize_kernel
        elif self._scale is not None:
            diag *= self._scale
            diag *= self._scale
        return diag.cpu().numpy().astype(np.float64)

    def raw_diagonal(self):
        """kappa(i, i) before normalisation, as a float64 NumPy vector."""
        return self._raw_diag.cpu().numpy().astype(np.float64)

    def row(self, i):
        """kappa(i, j) for all j, as a NumPy vector."""
        return self.rows(i, i + 1)[0]

    def rows(self, start, stop):
        """kappa(i, j) for start <= i < stop and all j, as a NumPy array."""
        return self.block(start, stop).cpu().numpy()

    def block(self, start, stop):
        """kappa(i, j) for start <= i < stop and all j, as a tensor on the engine's device."""
        rows = slice(start, stop)
        block = _apply_scale(self.store.rows(rows), self._scale, rows)
        if self.normalize == "cosine":
            local = torch.arange(block.shape[0], device=block.device)
            block[local, local + start] = self._unit[rows]
        return block

    def typicality(self):
        """Mean normalised kernel of every row to the other rows of its class, exactly,
        in ``O(n P)`` (0 for a class of one row); a float64 NumPy vector."""
        n = self.shape[0]
        if n < 2:
            return np.zeros(n)
        scale = torch.ones_like(self._raw_diag) if self._scale is None else self._scale
        # the row sums hold each row's own scaled self-similarity, taken out again
        sums = (self.store.weighted_row_sums(scale) - self._raw_diag * scale) * scale
        return sums.cpu().numpy().astype(np.float64) / (n - 1)

    def submatrix(self, rows):
        """The normalised kernel among the rows ``rows`` (indices), as a NumPy array.

        ``K[rows][:, rows]`` from the rows' own factors: ``m^2`` entries for ``m``
        rows, whatever the class's size (how kernel herding reads a large class).
        """
        index = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=self.store.device)
        block = self.store.subset(index).gram()
        if self._scale is not None:
            _apply_scale(block, self._scale[index])
        if self.normalize == "cosine":
            torch.diagonal(block).copy_(self._unit[index])
        return block.cpu().numpy()

    def typicality_to(self, among):
        """Mean normalised kernel of every row to the rows flagged in ``among`` (a boolean
        vector), itself left out, exactly in ``O(n P)``; a float64 NumPy vector (0 where no
        other flagged row exists).

        ``typicality_to(all rows)`` is :meth:`typicality`. With ``among`` the rows a
        network was trained on, the other rows get their typicality against those rows
        alone (out of sample).
        """
        flags = torch.as_tensor(np.asarray(among, dtype=bool), device=self._raw_diag.device)
        flags = flags.to(self._raw_diag.dtype)
        scale = torch.ones_like(self._raw_diag) if self._scale is None else self._scale
        sums = self.store.weighted_row_sums(scale * flags) * scale
        sums -= flags * self._raw_diag * scale * scale  # a flagged row's own term
        others = flags.sum() - flags
        out = torch.where(others > 0, sums / torch.clamp(others, min=1), torch.zeros_like(sums))
        return out.cpu().numpy().astype(np.float64)

    def row_pairs(self, rows, cols):
        """Normalised kappa of every row in ``rows`` (B,) to its ``cols`` (B, m)."""
        values = self.store.row_pairs(rows, cols)
        if self._scale is not None:
            values *= self._scale[rows][:, None] * self._scale[cols]
        return values

    def scaled_pieces(self, start, stop):
        """The pieces of phi of rows ``start:stop`` times the normalisation's row scale.

        Their inner products are the normalised kernel, so that a sketch of them
        approximates it (the projection's input for an approximate neighbour search).
        """
        pieces = self.store.pieces(start, stop)
        if self._scale is None:
            return pieces
        s = self._scale[start:stop]
        return [
            GhostPiece(p.A * s[:, None, None], p.D) if isinstance(p, GhostPiece) else p * s[:, None]
            for p in pieces
        ]

    @property
    def _unit(self):
        return (self._raw_diag > 0).to(self._raw_diag.dtype)

    def gram(self):
        """The normalised (n, n) kernel as a tensor on the engine's device."""
        return normalize_kernel(self.store.gram(), self.normalize, self.n_classes)

    def matrix(self):
        """The normalised (n, n) kernel as a NumPy array."""
        return self.gram().cpu().numpy()
