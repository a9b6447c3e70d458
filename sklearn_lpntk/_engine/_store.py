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


def gram(phi, block_size=4096):
    """Symmetric Gram matrix ``phi @ phi.T``, built block row by block row.

    Only the upper triangle is multiplied out; the lower triangle is its mirror
    image, so the result is exactly symmetric.
    """
    n = phi.shape[0]
    out = torch.empty(n, n, dtype=phi.dtype, device=phi.device)
    for i in range(0, n, block_size):
        rows = phi[i : i + block_size]
        b = len(rows)
        block = rows @ phi[i:].T
        diag = torch.triu(block[:, :b])
        block[:, :b] = diag + torch.triu(diag, 1).T
        out[i : i + b, i:] = block
        out[i + b :, i : i + b] = block[:, b:].T
    return out


def _ghost_rows(piece, rows, out):
    """Add ``<G_i, G_j>`` of one ghost piece for i in ``rows``, all j, into ``out``."""
    A, D = piece.A, piece.D
    n, T, a = A.shape
    if T == 1:
        out += (A[rows, 0] @ A[:, 0].T) * (D[rows, 0] @ D[:, 0].T)
        return out
    A_rows, D_rows = A[rows], D[rows]
    step = max(1, _BLOCK_NUMBERS // (n * T * T))
    A_all, D_all = A.reshape(n * T, -1), D.reshape(n * T, -1)
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
        """The full symmetric (n, n) Gram matrix."""
        if self.dense is not None:
            out = gram(self.dense)
        else:
            out = torch.zeros(len(self), len(self), dtype=self.dtype, device=self.device)
        for p in self.ghosts:
            if p.A.shape[1] == 1:
                share = gram(p.A[:, 0])
                share *= gram(p.D[:, 0])
                out += share
                del share
            else:
                block = _ghost_rows(p, slice(None), torch.zeros_like(out))
                out += (block + block.T) / 2  # symmetric to rounding
        return out

    @staticmethod
    def numbers_per_sample(template):
        """Numbers stored per sample for pieces laid out like ``template``."""
        return sum(piece_size(p) for p in template)

    @staticmethod
    def gram_temporaries(template):
        """Extra (n, n) matrices alive while :meth:`gram` runs, beyond the result."""
        ghosts = [p for p in template if isinstance(p, GhostPiece)]
        if not ghosts:
            return 1  # the block being mirrored
        return 2 if all(p.A.shape[1] == 1 for p in ghosts) else 3


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
