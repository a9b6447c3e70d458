"""Rules for the affine parameters of BatchNorm, LayerNorm and GroupNorm.

Each of these layers computes ``y = gamma * xhat + beta`` with ``xhat`` the
normalised input and ``gamma``, ``beta`` one number per channel (BatchNorm,
GroupNorm) or per normalised element (LayerNorm). The per-sample gradients are
sums over positions: ``dgamma = sum_t g_t * xhat_t`` and ``dbeta = sum_t g_t``,
both small and dense. In eval mode, the mode the kernel is computed in,
BatchNorm normalises with its running statistics, so samples do not interact;
LayerNorm and GroupNorm normalise within a sample in any mode. ``xhat`` is
recomputed from the layer's input with torch's own functions, so it matches the
forward pass to the last bit.
"""

import math
from abc import abstractmethod

import torch.nn.functional as F
from torch import nn

from ._layers import PositionalRule, register_rule


class _AffineNormRule(PositionalRule):
    """A = xhat and D = the output gradient, both (n, T, F) with features last."""

    @abstractmethod
    def normalized(self, activation):
        """``xhat``: the input normalised as the layer does, before its affine step."""

    def positions(self, activation, grad_output):
        xhat = self.normalized(activation)
        return self.features_last(xhat), self.features_last(grad_output)

    def features_last(self, x):
        """(n, C, *spatial) to (n, T, C): channels are the features, positions the rest."""
        n, c = x.shape[0], x.shape[1]
        return x.reshape(n, c, -1).transpose(1, 2)

    def use_ghost(self, n_positions, d_in, d_out):
        return False  # an elementwise weight: its gradient is as small as the factors

    def pieces_from_positions(self, A, D):
        out = []
        if self.weight:
            out.append((A * D).sum(dim=1))
        if self.bias:
            out.append(D.sum(dim=1))
        return out


@register_rule(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
class BatchNormRule(_AffineNormRule):
    """BatchNorm with running statistics (eval mode), per-channel affine parameters."""

    @classmethod
    def supports(cls, module):
        return module.affine and module.track_running_stats and module.running_mean is not None

    def normalized(self, activation):
        m = self.module
        return F.batch_norm(
            activation,
            m.running_mean,
            m.running_var,
            None,
            None,
            training=False,
            momentum=0.0,
            eps=m.eps,
        )


@register_rule(nn.GroupNorm)
class GroupNormRule(_AffineNormRule):
    """GroupNorm: statistics per sample and group, per-channel affine parameters."""

    @classmethod
    def supports(cls, module):
        return module.affine

    def normalized(self, activation):
        m = self.module
        return F.group_norm(activation, m.num_groups, None, None, m.eps)


@register_rule(nn.LayerNorm)
class LayerNormRule(_AffineNormRule):
    """LayerNorm over the trailing ``normalized_shape``; every leading index is a position."""

    @classmethod
    def supports(cls, module):
        return module.elementwise_affine

    def normalized(self, activation):
        m = self.module
        return F.layer_norm(activation, m.normalized_shape, None, None, m.eps)

    def features_last(self, x):
        size = math.prod(self.module.normalized_shape)
        return x.reshape(x.shape[0], -1, size)
