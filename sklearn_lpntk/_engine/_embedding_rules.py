"""The rule for ``nn.Embedding``: one weight row per token.

The layer's output at position t is row ``idx_t`` of the weight, so sample i's
weight gradient is ``sum_t e_{idx_t} d_t^T`` (d_t the output gradient at t)
and ``<G_i, G_j> = sum_{t,s} [idx_it == idx_js] (d_it . d_js)``: shared tokens,
weighted by the products of their output gradients. This is the ghost form
with A the one-hot encoding of the tokens; the dense form is the gradient
itself, accumulated with ``index_add``. The cheaper of the two is chosen from
the shapes (vocabulary size, positions, embedding width). Rows at
``padding_idx`` get no gradient, as in the layer.
"""

import torch.nn.functional as F
from torch import nn

from ._layers import GhostPiece, PositionalRule, register_rule


@register_rule(nn.Embedding)
class EmbeddingRule(PositionalRule):
    """``nn.Embedding`` without ``max_norm`` (which rewrites the weight) or frequency scaling."""

    @classmethod
    def supports(cls, module):
        return module.max_norm is None and not module.scale_grad_by_freq

    def positions(self, activation, grad_output):
        n = activation.shape[0]
        idx = activation.reshape(n, -1)
        D = grad_output.reshape(n, idx.shape[1], -1)
        if self.module.padding_idx is not None:
            D = D * (idx != self.module.padding_idx).unsqueeze(2).to(D.dtype)
        return idx, D

    def pieces_from_positions(self, A, D):
        if not self.weight:
            return []
        idx = A
        n, T, width = D.shape
        vocab = self.module.num_embeddings
        if self.use_ghost(T, vocab, width):
            return [GhostPiece(F.one_hot(idx, vocab).to(D.dtype), D)]
        grad = D.new_zeros(n, vocab, width)
        grad.scatter_add_(1, idx.unsqueeze(2).expand(n, T, width), D)
        return [grad.reshape(n, vocab * width)]


__all__ = ["EmbeddingRule"]
