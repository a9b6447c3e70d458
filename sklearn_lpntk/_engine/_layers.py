"""Per-layer rules for the labelled gradient of one layer, without autograd per sample.

For a layer whose output at position t is ``W a_t + b`` (a Linear layer, or a
convolution once its input is unfolded into patches a_t), the gradient of the
scalar ``w^T z(x)`` with respect to ``W`` is ``sum_t d_t a_t^T``, where d_t is
the gradient with respect to the layer's output at t. One batched forward and
backward pass therefore gives every sample's (A, D) = ({a_t}, {d_t}), from which
the layer's share of the lpNTK follows in one of two forms:

* **ghost** (factorised): ``<G_i, G_j> = sum_{t,s} (a_it . a_js)(d_it . d_js)``,
  costing T^2 (d_in + d_out) per pair and storing T (d_in + d_out) per sample;
* **dense**: the per-sample gradient ``G_i = D_i^T A_i`` itself, costing
  d_in * d_out per pair and per sample.

A rule picks the cheaper form from the shapes alone. A trainable bias joins
the ghost form as a constant 1 appended to every a_t (and the dense form as
``sum_t d_t``).

Rules are registered per module type (:func:`register_rule`); parameters of
modules without a rule are handled by the per-sample autograd path. This
module holds the protocol, the registry and the Linear rule; the other rules
live one family per module (``_conv_rules``, ``_norm_rules``,
``_embedding_rules``), which import this registry and register themselves. The
registry never imports them: the engine package (``_engine/__init__.py``) does,
so that importing any part of the engine registers every family.
"""

import math
from abc import ABC, abstractmethod

import torch
from torch import nn

_RULES = {}


def register_rule(*module_types):
    """Class decorator registering a :class:`PositionalRule` for the given module types.

    Registering a rule for a type replaces the rule it had. Exact types are
    matched (a subclass of ``nn.Linear`` needs its own registration).

    Parameters
    ----------
    *module_types : type
        ``torch.nn.Module`` subclasses the rule handles.

    Returns
    -------
    decorate : callable
        Registers the decorated rule class and returns it unchanged.
    """

    def decorate(rule):
        for t in module_types:
            _RULES[t] = rule
        return rule

    return decorate


def rule_for(module):
    """The rule instance for ``module``.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    rule : PositionalRule or None
        None when the module's type has no rule or the rule does not support
        this instance (``rule.supports(module)`` is False).
    """
    rule = _RULES.get(type(module))
    if rule is None or not rule.supports(module):
        return None
    return rule(module)


class GhostPiece:
    """A layer's factors: A of shape (n, T, d_in [+1]) and D of shape (n, T, d_out)."""

    __slots__ = ("A", "D")

    def __init__(self, A, D):
        self.A, self.D = A, D


class PositionalRule(ABC):
    """The rule protocol: how one layer type contributes to phi without autograd per sample.

    A rule is made with its module (``rule = RuleClass(module)``) for every
    module of a registered type whose ``supports(module)`` is True. The engine then
    calls, for every chunk of samples:

    1. :meth:`positions` with the layer's input and the gradient of
       ``sum_i w_i^T z(x_i)`` with respect to its output (both batched, the
       first axis being the sample), which returns ``(A, D)`` of shapes
       (n, T, d_in) and (n, T, d_out) such that the layer's weight gradient of
       sample i is ``D_i^T A_i``;
    2. :meth:`pieces_from_positions`, which turns (A, D) into the layer's share
       of phi: dense per-sample gradients (tensors of shape (n, size)) and/or a
       :class:`GhostPiece` (factorised form). The default picks the cheaper
       form from the shapes and appends the bias.

    For a layer called once per forward pass the engine calls :meth:`pieces`
    with the layer's input and output gradient instead, which by default is
    step 2 applied to step 1; a rule may override it with a faster route to the
    same pieces (the convolution rule does, for dense gradients). A layer called
    several times goes through steps 1 and 2, its calls being extra positions.

    :meth:`parameters` must list exactly the trainable parameters the pieces
    account for; any other trainable parameter is differentiated per sample by
    autograd. A subclass implements :meth:`positions`, and overrides
    :meth:`pieces_from_positions` for layers that are not ``W a_t + b``.
    """

    def __init__(self, module):
        self.module = module
        weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
        self.weight = weight is not None and weight.requires_grad
        self.bias = bias is not None and bias.requires_grad

    @classmethod
    def supports(cls, module):
        return True

    def parameters(self):
        """The trainable parameters this rule accounts for."""
        out = []
        if self.weight:
            out.append(self.module.weight)
        if self.bias:
            out.append(self.module.bias)
        return out

    @abstractmethod
    def positions(self, activation, grad_output):
        """(A, D) as (n, T, d_in) and (n, T, d_out)."""

    def pieces(self, activation, grad_output):
        """The layer's share of phi for a chunk of a layer called once.

        The default is :meth:`pieces_from_positions` of :meth:`positions`; a rule
        may override it with a faster route to the same pieces.
        """
        return self.pieces_from_positions(*self.positions(activation, grad_output))

    def use_ghost(self, n_positions, d_in, d_out):
        """Ghost form when its cost per pair is below the dense form's."""
        return self.weight and n_positions**2 * (d_in + d_out) < d_in * d_out

    def pieces_from_positions(self, A, D):
        """The layer's share of phi for a chunk: dense tensors and/or a GhostPiece."""
        n, T, d_in = A.shape
        d_out = D.shape[2]
        out = []
        if self.use_ghost(T, d_in + self.bias, d_out):
            if self.bias:
                A = torch.cat([A, A.new_ones(n, T, 1)], dim=2)
            out.append(GhostPiece(A, D))
            return out
        if self.weight:
            out.append(torch.bmm(D.transpose(1, 2), A).reshape(n, d_out * d_in))
        if self.bias:
            out.append(D.sum(dim=1))
        return out


@register_rule(nn.Linear)
class LinearRule(PositionalRule):
    """``nn.Linear`` on inputs of shape (n, ..., d_in): every leading index is a position."""

    def positions(self, activation, grad_output):
        n = activation.shape[0]
        A = activation.reshape(n, -1, activation.shape[-1])
        D = grad_output.reshape(n, -1, grad_output.shape[-1])
        return A, D


def piece_size(piece):
    """Numbers stored per sample for one piece."""
    if isinstance(piece, GhostPiece):
        return math.prod(piece.A.shape[1:]) + math.prod(piece.D.shape[1:])
    return piece.shape[1]
