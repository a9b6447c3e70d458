"""Holding phi for the samples of one class, and inner products between them.

A :class:`FactorStore` keeps phi as one dense matrix (per-sample gradients of
the layers stored densely, or a sketch) plus the ghost factors of the layers
stored in factorised form. From it come the diagonal of the Gram matrix, any
block of rows, and the whole Gram matrix, without ever forming the full phi.

A :class:`CountSketch` maps the pieces of phi to ``dim`` numbers per sample
chunk by chunk: dense pieces by a count sketch (a random bucket and sign per
coordinate), ghost pieces by a tensor sketch (the count sketch of each outer
product ``d a^T``, computed as a circular convolution of the count sketches of
``d`` and ``a`` with FFTs). Inner products of sketches are unbiased estimates
of the lpNTK with variance at most ``(kappa_ij^2 + kappa_ii kappa_jj) / dim``
for a plain count sketch (a small constant more for the tensor sketch).
"""

import math

import torch

from ._layers import GhostPiece, piece_size

_BLOCK_NUMBERS = 2**24  # temporaries of at most this many numbers for T > 1 ghost blocks
_UPPER_BLOCK = 384  # block rows of the upper-triangle product
_MIRROR_TILE = 128  # column strips copied from the upper to the lower triangle


def use_upper(n, width):
    """Whether to multiply only the upper block triangle of ``phi @ phi.T``.

    It skips up to half of the multiply-adds but runs as several smaller
    products, which pays for long or wide factors only (measured in
    ``bench/kernel.py``, "gram step").
    """
    return n > 2 * _UPPER_BLOCK or (n > _UPPER_BLOCK and width >= 32)


def product(x, out=None, *, upper=None):
    """``x @ x.T`` written into ``out`` (allocated when None), not yet symmetric.

    With ``upper`` (default: :func:`use_upper`) only block rows' entries on or
    right of the block diagonal are computed; the rest of ``out`` is left as it
    was. Either way :func:`mirror_upper_` afterwards makes the result exactly
    symmetric, and Hadamard products and sums of such matrices may be taken
    before it, since it reads only the upper triangle.
    """
    n, width = x.shape
    if out is None:
        out = torch.empty(n, n, dtype=x.dtype, device=x.device)
    if upper is None:
        upper = use_upper(n, width)
    if not upper:
        return torch.mm(x, x.T, out=out)
    for i in range(0, n, _UPPER_BLOCK):
        stop = min(i + _UPPER_BLOCK, n)
        torch.mm(x[i:stop], x[i:].T, out=out[i:stop, i:])
    return out


def mirror_upper_(matrix, tile=_MIRROR_TILE):
    """Copy the upper triangle onto the lower one in place; return ``matrix``.

    Reads only entries on or above the diagonal, in strips of ``tile``
    columns, so the cost is one pass over half of the matrix and the
    temporaries are tile-sized.
    """
    n = matrix.shape[0]
    for i in range(0, n, tile):
        stop = min(i + tile, n)
        block = matrix[i:stop, i:stop]
        block.copy_(torch.triu(block) + torch.triu(block, 1).T)
        if stop < n:
            matrix[stop:, i:stop] = matrix[i:stop, stop:].T
    return matrix


def gram(phi):
    """Exactly symmetric Gram matrix ``phi @ phi.T``: one product, one mirror.

    Parameters
    ----------
    phi : torch.Tensor of shape (n, width)
        One row of features per sample.

    Returns
    -------
    gram : torch.Tensor of shape (n, n)
        ``phi @ phi.T``, its lower triangle a copy of its upper one (large
        products compute only the upper triangle's blocks).
    """
    return mirror_upper_(product(phi))


def _ghost_rows(piece, rows, out, cols=slice(None)):
    """Add ``<G_i, G_j>`` of one ghost piece for i in ``rows``, j in ``cols``, into ``out``."""
    A, D = piece.A, piece.D
    if A.shape[1] == 1:
        out += (A[rows, 0] @ A[cols, 0].T) * (D[rows, 0] @ D[cols, 0].T)
        return out
    A_cols, D_cols = A[cols], D[cols]
    n, T, _ = A_cols.shape
    A_rows, D_rows = A[rows], D[rows]
    step = max(1, _BLOCK_NUMBERS // (n * T * T))
    A_all, D_all = A_cols.reshape(n * T, -1), D_cols.reshape(n * T, -1)
    for s in range(0, len(A_rows), step):
        ar, dr = A_rows[s : s + step], D_rows[s : s + step]
        m = len(ar)
        prod = (ar.reshape(m * T, -1) @ A_all.T) * (dr.reshape(m * T, -1) @ D_all.T)
        out[s : s + m] += prod.reshape(m, T, n, T).sum(dim=(1, 3))
    return out


class FactorStore:
    """phi of ``n`` samples as a dense matrix plus ghost factors.

    Parameters
    ----------
    dense : torch.Tensor of shape (n, p) or None
    ghosts : list of GhostPiece
    """

    def __init__(self, dense=None, ghosts=()):
        self.dense = dense
        self.ghosts = list(ghosts)

    @classmethod
    def average(cls, stores):
        """One store whose Gram matrix is the mean of the given stores' Gram matrices.

        The dense parts are concatenated side by side and every factor is scaled
        by ``1 / sqrt(len(stores))`` (ghost pieces on their A factor only).
        """
        if len(stores) == 1:
            return stores[0]
        w = 1.0 / len(stores) ** 0.5
        dense = [s.dense * w for s in stores if s.dense is not None]
        ghosts = [GhostPiece(g.A * w, g.D) for s in stores for g in s.ghosts]
        return cls(torch.cat(dense, dim=1) if dense else None, ghosts)

    @classmethod
    def allocate(cls, n, template, *, dtype, device):
        """Empty storage for ``n`` samples laid out like the pieces ``template``."""
        dense_size = sum(p.shape[1] for p in template if not isinstance(p, GhostPiece))
        dense = torch.empty(n, dense_size, dtype=dtype, device=device) if dense_size else None
        ghosts = [
            GhostPiece(
                torch.empty(n, *p.A.shape[1:], dtype=dtype, device=device),
                torch.empty(n, *p.D.shape[1:], dtype=dtype, device=device),
            )
            for p in template
            if isinstance(p, GhostPiece)
        ]
        return cls(dense, ghosts)

    def __len__(self):
        if self.dense is not None:
            return self.dense.shape[0]
        return self.ghosts[0].A.shape[0]

    @property
    def dtype(self):
        return self.dense.dtype if self.dense is not None else self.ghosts[0].A.dtype

    @property
    def device(self):
        return self.dense.device if self.dense is not None else self.ghosts[0].A.device

    def write(self, start, pieces):
        """Store the pieces of a chunk of samples at rows ``start:start + len``."""
        offset, g = 0, 0
        for piece in pieces:
            if isinstance(piece, GhostPiece):
                stop = start + piece.A.shape[0]
                self.ghosts[g].A[start:stop] = piece.A
                self.ghosts[g].D[start:stop] = piece.D
                g += 1
            else:
                stop = start + piece.shape[0]
                width = piece.shape[1]
                self.dense[start:stop, offset : offset + width] = piece
                offset += width

    def diagonal(self):
        """``kappa(i, i)`` for every sample: a tensor of shape (n,)."""
        diag = torch.zeros(len(self), dtype=self.dtype, device=self.device)
        if self.dense is not None:
            diag += (self.dense * self.dense).sum(dim=1)
        for p in self.ghosts:
            n, T, _ = p.A.shape
            if T == 1:
                diag += (p.A[:, 0] ** 2).sum(1) * (p.D[:, 0] ** 2).sum(1)
                continue
            step = max(1, _BLOCK_NUMBERS // (T * T))
            for s in range(0, n, step):
                a, d = p.A[s : s + step], p.D[s : s + step]
                diag[s : s + len(a)] += (
                    torch.bmm(a, a.transpose(1, 2)) * torch.bmm(d, d.transpose(1, 2))
                ).sum(dim=(1, 2))
        return diag

    def subset(self, rows):
        """A store of the samples ``rows`` (an index tensor), in that order (a copy)."""
        dense = None if self.dense is None else self.dense[rows]
        return FactorStore(dense, [GhostPiece(g.A[rows], g.D[rows]) for g in self.ghosts])

    def pieces(self, start, stop):
        """The stored pieces of rows ``start:stop``, as a producer returns them."""
        out = [] if self.dense is None else [self.dense[start:stop]]
        return out + [GhostPiece(g.A[start:stop], g.D[start:stop]) for g in self.ghosts]

    def row_pairs(self, rows, cols):
        """``kappa(rows[b], cols[b, t])``: a (B,) index tensor against a (B, m) one."""
        B, m = cols.shape
        out = torch.zeros(B, m, dtype=self.dtype, device=self.device)
        flat = cols.reshape(-1)
        if self.dense is not None:
            out += torch.bmm(self.dense[flat].view(B, m, -1), self.dense[rows][:, :, None])[..., 0]
        for p in self.ghosts:
            if p.A.shape[1] == 1:
                A, D = p.A[:, 0], p.D[:, 0]
                a = torch.bmm(A[flat].view(B, m, -1), A[rows][:, :, None])[..., 0]
                d = torch.bmm(D[flat].view(B, m, -1), D[rows][:, :, None])[..., 0]
                out += a * d
                continue
            i = rows.repeat_interleave(m)
            out += self.pairs(i, flat).view(B, m)
        return out

    def pairs(self, i, j):
        """``kappa(i[t], j[t])`` for every t: index tensors of one length."""
        out = torch.zeros(len(i), dtype=self.dtype, device=self.device)
        if self.dense is not None:
            out += (self.dense[i] * self.dense[j]).sum(dim=1)
        for p in self.ghosts:
            if p.A.shape[1] == 1:
                out += (p.A[i, 0] * p.A[j, 0]).sum(1) * (p.D[i, 0] * p.D[j, 0]).sum(1)
                continue
            a_i, a_j, d_i, d_j = p.A[i], p.A[j], p.D[i], p.D[j]
            out += (torch.bmm(a_i, a_j.transpose(1, 2)) * torch.bmm(d_i, d_j.transpose(1, 2))).sum(
                dim=(1, 2)
            )
        return out

    def weighted_row_sums(self, weights):
        """``sum_j w_j kappa(i, j)`` for every i, in ``O(n P)``: phi's weighted sum once,
        then one inner product per row (no Gram matrix)."""
        out = torch.zeros(len(self), dtype=self.dtype, device=self.device)
        if self.dense is not None:
            out += self.dense @ (weights @ self.dense)
        for p in self.ghosts:
            n, T, _ = p.A.shape
            # sum_j w_j sum_t d_jt a_jt^T, then d_it^T M a_it summed over t
            M = torch.einsum("n,ntd,nta->da", weights, p.D, p.A)
            out += torch.einsum("ntd,da,nta->n", p.D, M, p.A)
        return out

    def rows(self, rows):
        """``kappa(i, j)`` for i in ``rows`` (indices or a slice) and every j."""
        n = len(self)
        if isinstance(rows, slice):
            m = len(range(*rows.indices(n)))
        else:
            rows = torch.as_tensor(rows, device=self.device).reshape(-1)
            m = len(rows)
        out = torch.zeros(m, n, dtype=self.dtype, device=self.device)
        if self.dense is not None:
            out += self.dense[rows] @ self.dense.T
        for p in self.ghosts:
            _ghost_rows(p, rows, out)
        return out

    def gram(self):
        """The full, exactly symmetric (n, n) Gram matrix.

        Built one block of rows at a time, on and right of the block diagonal
        only: every piece's products for the block go into two block-sized
        buffers, their Hadamard product is added straight into the result, and
        the lower triangle is mirrored once at the end. So no (n, n) temporary
        is ever formed and each entry of the result is written once per piece.
        """
        n = len(self)
        out = torch.empty(n, n, dtype=self.dtype, device=self.device)
        single = [(p.A[:, 0], p.D[:, 0]) for p in self.ghosts if p.A.shape[1] == 1]
        several = [p for p in self.ghosts if p.A.shape[1] > 1]
        block = min(_UPPER_BLOCK, n)
        buffers = [
            torch.empty(block * n, dtype=self.dtype, device=self.device)
            for _ in range(2 if single else 0)
        ]
        for i in range(0, n, block):
            rows = slice(i, min(i + block, n))
            dst = out[rows, i:]
            m, k = dst.shape
            a, d = (b[: m * k].view(m, k) for b in buffers) if single else (None, None)
            first = True
            if self.dense is not None:
                torch.mm(self.dense[rows], self.dense[i:].T, out=dst)
                first = False
            for A, D in single:
                torch.mm(A[rows], A[i:].T, out=a)
                torch.mm(D[rows], D[i:].T, out=d)
                if first:
                    torch.mul(a, d, out=dst)
                    first = False
                else:
                    dst.addcmul_(a, d)
            for p in several:
                if first:
                    dst.zero_()
                    first = False
                _ghost_rows(p, rows, dst, slice(i, None))
        return mirror_upper_(out)

    @staticmethod
    def numbers_per_sample(template):
        """Numbers stored per sample for pieces laid out like ``template``."""
        return sum(piece_size(p) for p in template)

    @staticmethod
    def gram_temporaries(template, n):
        """Extra memory of :meth:`gram` for ``n`` samples beyond its result, in (n, n) matrices.

        Two block-row buffers when there are single-position ghost pieces:
        ``2 * min(384, n) / n`` of a matrix.
        """
        if not any(isinstance(p, GhostPiece) and p.A.shape[1] == 1 for p in template):
            return 0
        return 2 * min(_UPPER_BLOCK, n) / max(n, 1)


class CountSketch:
    """A fixed random linear map of phi to ``dim`` numbers, applied chunk by chunk.

    Parameters
    ----------
    template : list
        Pieces of one chunk (their shapes define the hash functions).
    dim : int
        Sketch dimension.
    generator : torch.Generator
        Source of the hash functions (on the CPU).
    dtype, device
        Of the sketch.
    """

    def __init__(self, template, dim, *, generator, dtype, device):
        self.dim = int(dim)
        self.dtype, self.device = dtype, device

        def hashes(size):
            bucket = torch.randint(0, self.dim, (size,), generator=generator)
            sign = torch.randint(0, 2, (size,), generator=generator).to(dtype) * 2 - 1
            return bucket.to(device), sign.to(device)

        self._maps = []
        for p in template:
            if isinstance(p, GhostPiece):
                self._maps.append((hashes(p.A.shape[2]), hashes(p.D.shape[2])))
            else:
                self._maps.append(hashes(p.shape[1]))

    def _count(self, x, bucket, sign):
        out = x.new_zeros(*x.shape[:-1], self.dim)
        return out.index_add_(x.ndim - 1, bucket, x * sign)

    def __call__(self, pieces):
        """Sketch of the pieces of one chunk: a tensor (chunk, dim)."""
        n = pieces[0].A.shape[0] if isinstance(pieces[0], GhostPiece) else pieces[0].shape[0]
        out = torch.zeros(n, self.dim, dtype=self.dtype, device=self.device)
        for piece, maps in zip(pieces, self._maps):
            if isinstance(piece, GhostPiece):
                (ha, sa), (hd, sd) = maps
                ca = torch.fft.rfft(self._count(piece.A, ha, sa), dim=-1)
                cd = torch.fft.rfft(self._count(piece.D, hd, sd), dim=-1)
                out += torch.fft.irfft(ca * cd, n=self.dim, dim=-1).sum(dim=1)
            else:
                out += self._count(piece, *maps)
        return out

    @staticmethod
    def relative_error(dim):
        """Typical error of one sketched entry relative to sqrt(k_ii k_jj): sqrt(2 / dim)."""
        return math.sqrt(2.0 / dim)
