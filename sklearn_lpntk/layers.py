"""Per-layer rules of the factorised strategy: the public protocol and registry.

A layer type with a rule contributes to the lpNTK from one batched backward
pass (its inputs and output gradients) instead of per-sample autograd. The
package registers four families:

* ``nn.Linear`` (the engine's registry, ``_engine/_layers``);
* ``nn.Conv1d`` and ``nn.Conv2d`` (``_engine/_conv_rules``, as unfolded patches);
* the affine parameters of ``nn.BatchNorm1d/2d/3d``, ``nn.GroupNorm`` and
  ``nn.LayerNorm`` (``_engine/_norm_rules``);
* ``nn.Embedding``, one weight row per token (``_engine/_embedding_rules``).

Register your own for a custom layer::

    from sklearn_lpntk.layers import PositionalRule, register_rule

    @register_rule(MyLayer)
    class MyLayerRule(PositionalRule):
        def positions(self, activation, grad_output):
            ...  # (A, D) with the sample i's weight gradient equal to D_i^T A_i
            return A, D

See :class:`PositionalRule` for the protocol and ``docs/performance.md`` for an
example; a rule can be checked against ``lpntk_kernel(..., strategy="features")``,
and :func:`rule_coverage` says how much of a model the rules cover.
"""

from ._engine import rule_coverage
from ._engine._layers import GhostPiece, PositionalRule, register_rule, rule_for

__all__ = ["GhostPiece", "PositionalRule", "register_rule", "rule_coverage", "rule_for"]
