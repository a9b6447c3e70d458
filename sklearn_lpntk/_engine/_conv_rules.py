"""Rules for ``nn.Conv1d`` and ``nn.Conv2d``: any stride, dilation, padding and groups.

The input is padded as the layer pads it (numbers or "same"/"valid", with any
padding mode) and unfolded into patches, one per output position, so the
weight gradient of sample i is ``D_i^T A_i``. With ``groups > 1`` the weight
is block-diagonal over the groups: each group's patches (its input channels)
meet only its own output channels, and its share of phi is a ghost piece or a
dense gradient of its own, chosen from the group's shapes.

When the dense form is the cheaper one (the usual case for convolutions), the
per-sample weight gradients are computed without unfolding: the chunk is seen
as one sample with ``n * groups`` groups, and one weight-gradient pass of that
grouped convolution gives every sample's gradient at once (measured 2.4x faster
than unfold and batched matmul for LeNet's second layer on a CPU).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._layers import GhostPiece, PositionalRule, register_rule


def _pads(module, n_dims):
    """(left, right) padding per spatial dimension, as the layer applies it."""
    padding = module.padding
    if padding == "valid":
        return [(0, 0)] * n_dims
    if padding == "same":
        out = []
        for k, d in zip(module.kernel_size, module.dilation):
            total = d * (k - 1)
            out.append((total // 2, total - total // 2))
        return out
    return [(p, p) for p in padding]


def _padded(module, activation, *, symmetric_ok):
    """The input padded as the layer pads it, and the padding left for the caller.

    With ``symmetric_ok`` symmetric zero padding is left to the caller (returned
    as the per-dimension amount); anything else (asymmetric "same", other
    padding modes) is applied here with ``F.pad`` and the caller pads nothing.
    """
    pads = _pads(module, len(module.kernel_size))
    zeros = module.padding_mode == "zeros"
    if symmetric_ok and zeros and all(left == right for left, right in pads):
        return activation, [left for left, _ in pads]
    flat = [p for pair in reversed(pads) for p in pair]  # F.pad wants the last dim first
    if any(flat):
        activation = F.pad(activation, flat, mode="constant" if zeros else module.padding_mode)
    return activation, [0] * len(pads)


@register_rule(nn.Conv1d, nn.Conv2d)
class ConvRule(PositionalRule):
    """``nn.Conv1d`` / ``nn.Conv2d`` as ``W a_t + b`` over unfolded patches."""

    def positions(self, activation, grad_output):
        m = self.module
        n = activation.shape[0]
        one_d = isinstance(m, nn.Conv1d)
        activation, _ = _padded(m, activation, symmetric_ok=False)
        if one_d:
            activation = activation.unsqueeze(2)
            geometry = {
                "kernel_size": (1, m.kernel_size[0]),
                "dilation": (1, m.dilation[0]),
                "stride": (1, m.stride[0]),
            }
        else:
            geometry = {"kernel_size": m.kernel_size, "dilation": m.dilation, "stride": m.stride}
        A = F.unfold(activation, **geometry).transpose(1, 2)  # (n, T, C_in * k)
        D = grad_output.reshape(n, grad_output.shape[1], -1).transpose(1, 2)
        return A, D

    def pieces(self, activation, grad_output):
        """The layer's share of phi for a chunk, from its input and output gradient."""
        m = self.module
        n, c_in = activation.shape[:2]
        c_out = grad_output.shape[1]
        positions = grad_output[0, 0].numel()
        d_in = c_in // m.groups * math.prod(m.kernel_size)
        if self.use_ghost(positions, d_in + self.bias, c_out // m.groups):
            return self.pieces_from_positions(*self.positions(activation, grad_output))
        out = []
        if self.weight:
            out.append(self._dense_weight_gradients(activation, grad_output))
        if self.bias:
            out.append(grad_output.reshape(n, c_out, -1).sum(dim=2))
        return out

    def _dense_weight_gradients(self, activation, grad_output):
        """Per-sample weight gradients, (n, weight.numel()), by one grouped pass."""
        m = self.module
        n = activation.shape[0]
        spatial = len(m.kernel_size)
        activation, padding = _padded(m, activation, symmetric_ok=True)
        x = activation.reshape(1, -1, *activation.shape[2:])
        g = grad_output.reshape(1, -1, *grad_output.shape[2:])
        shape = (n * m.weight.shape[0], *m.weight.shape[1:])
        _, grad_weight, _ = torch.ops.aten.convolution_backward(
            g,
            x,
            x.new_empty(shape),
            None,
            list(m.stride),
            padding,
            list(m.dilation),
            False,
            [0] * spatial,
            n * m.groups,
            [False, True, False],
        )
        return grad_weight.reshape(n, -1)

    def pieces_from_positions(self, A, D):
        groups = self.module.groups
        if groups == 1:
            return super().pieces_from_positions(A, D)
        n, T, _ = A.shape
        A = A.reshape(n, T, groups, -1)
        D = D.reshape(n, T, groups, -1)
        d_in, d_out = A.shape[3], D.shape[3]
        out = []
        if self.weight:
            if self.use_ghost(T, d_in, d_out):
                out.extend(GhostPiece(A[:, :, g], D[:, :, g]) for g in range(groups))
            else:
                out.append(torch.einsum("ntgo,ntgi->ngoi", D, A).reshape(n, -1))
        if self.bias:
            out.append(D.sum(dim=1).reshape(n, -1))
        return out
