"""Labelled gradients of a chunk from one batched forward and backward pass.

Layers with a rule in :mod:`._layers` (Linear, Conv1d, Conv2d) have their
inputs captured by forward hooks and the gradients of ``sum_i w_i^T z(x_i)``
with respect to their outputs captured by tensor hooks. In eval mode the
samples of a batch do not interact, so the gradient at sample i's output is
exactly that sample's own. Each rule turns its (A, D) into ghost factors or
dense per-sample gradients. Trainable parameters of any other module are
differentiated per sample with ``torch.func`` (the features path), so every
model is covered exactly.
"""

import torch
from torch.func import functional_call

from ._features import LabelledGradientFeatures
from ._layers import GhostPiece, rule_for
from ._model import (
    GradientProducer,
    contract_logits,
    eval_mode,
    label_weights,
)


class FactorizedGradients(GradientProducer):
    """Produce the pieces of phi for chunks of samples, layer by layer.

    Layers with a rule (``sklearn_lpntk.layers``) contribute from one batched
    backward pass; every other trainable parameter is differentiated per sample.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to logits.
    error_weighting : {"sign", "full"}, default="sign"
        The labelled gradient's logit weights (as in :func:`~sklearn_lpntk.lpntk_kernel`).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
    dtype : torch.dtype or None, default=None
        None keeps the model's parameter dtype.

    Attributes
    ----------
    n_features : int
        Number of trainable scalars (the length of phi).
    n_covered : int
        How many of them layer rules cover (the rest go through autograd).
    """

    def __init__(self, model, *, error_weighting="sign", device="auto", dtype=None):
        super().__init__(model, error_weighting=error_weighting, device=device, dtype=dtype)
        trainable = self.trainable
        names_of = {id(p): n for n, p in trainable.items()}
        self.rules = []
        covered = set()
        for module in model.modules():
            rule = rule_for(module)
            if rule is None or not rule.parameters():
                continue
            names = [names_of[id(p)] for p in rule.parameters() if id(p) in names_of]
            if not names or covered.intersection(names):
                continue  # a parameter shared with another layer: leave it to autograd
            covered.update(names)
            self.rules.append((module, rule))
        self.covered = [n for n in trainable if n in covered]
        self.fallback_names = [n for n in trainable if n not in covered]
        self.n_features = sum(p.numel() for p in trainable.values())
        self.n_covered = sum(trainable[n].numel() for n in self.covered)
        self._fallback = None
        self._copy_outputs = False  # set once an in-place operation is seen
        if self.fallback_names:
            self._fallback = LabelledGradientFeatures(
                model,
                error_weighting=error_weighting,
                device=self.device,
                dtype=self.dtype,
                names=self.fallback_names,
            )

    def params_at(self, state=None):
        """The parameters to differentiate at: the model's own, or those of ``state``."""
        params, constants = super().params_at(state)
        fallback = None if self._fallback is None else self._fallback.params_at(state)
        return params, constants, fallback

    def _record(self, X, y, n_classes, params, constants, *, copy):
        """One forward and backward pass with hooks; None for the gradients when a
        recorded tensor was modified in place (only possible without ``copy``)."""
        calls = {id(m): [] for m, _ in self.rules}

        def forward_hook(module, args, output):
            calls[id(module)].append((args[0].detach(), output, args[0]._version, output._version))
            return output.clone() if copy else None

        handles = [m.register_forward_hook(forward_hook) for m, _ in self.rules]
        params = {n: p.detach().requires_grad_(n in self.covered) for n, p in params.items()}
        try:
            with eval_mode(self.model), torch.enable_grad():
                z = functional_call(self.model, (params, constants), (X,))
                if not copy and any(
                    a._version != va or o._version != vo
                    for pairs in calls.values()
                    for a, o, va, vo in pairs
                ):
                    return None, None
                w = label_weights(y, n_classes, self.error_weighting, self.dtype)
                objective = contract_logits(z, w, self.error_weighting)
                outputs = [c[1] for m, _ in self.rules for c in calls[id(m)]]
                grads = torch.autograd.grad(objective, outputs, allow_unused=True)
        finally:
            for h in handles:
                h.remove()
        return grads, {k: [(a, o) for a, o, _, _ in v] for k, v in calls.items()}

    def _capture(self, X, y, n_classes, params, constants):
        """Inputs and output gradients of every ruled layer, one pair per call.

        A forward hook records each call's input and output. The backward pass
        asks only for the gradients at the recorded outputs, so no parameter
        gradient is ever computed. If an in-place operation downstream (e.g.
        ``ReLU(inplace=True)``) changed a recorded tensor (its version counter
        moved), the pass is repeated with every output copied before the next
        layer sees it.
        """
        grads = None
        if not self._copy_outputs:
            grads, calls = self._record(X, y, n_classes, params, constants, copy=False)
        if grads is None:  # remembered: later chunks copy from the start
            self._copy_outputs = True
            grads, calls = self._record(X, y, n_classes, params, constants, copy=True)
        grads = iter(grads)
        captured = {}
        for m, _ in self.rules:
            pairs = []
            for inp, out in calls[id(m)]:
                g = next(grads)
                pairs.append((inp, torch.zeros_like(out) if g is None else g))
            captured[id(m)] = pairs
        return captured

    def pieces(self, X, y, n_classes, at):
        """phi of one chunk: ``(pieces, work_numbers)``.

        ``pieces`` is a list of dense tensors and ghost factors; ``work_numbers``
        counts the numbers alive while the chunk was processed (captured
        activations, output gradients, per-sample gradients), from which the
        planner sizes chunks.
        """
        params, constants, fallback = at
        out = []
        work = 0
        if self.rules:
            captured = self._capture(X, y, n_classes, params, constants)
            for module, rule in self.rules:
                pairs = captured[id(module)]
                if not pairs:  # the layer was not used: its gradient is zero
                    size = sum(p.numel() for p in rule.parameters())
                    out.append(X.new_zeros(len(X), size, dtype=self.dtype))
                    continue
                work += sum(a.numel() + g.numel() for a, g in pairs)
                if len(pairs) == 1:
                    pieces = rule.pieces(*pairs[0])
                    work += sum(
                        p.A.numel() + p.D.numel() if isinstance(p, GhostPiece) else p.numel()
                        for p in pieces
                    )
                    out.extend(pieces)
                    continue
                # a layer used several times: its calls are extra positions
                positions = [rule.positions(a, g) for a, g in pairs]
                A = torch.cat([p[0] for p in positions], dim=1)
                D = torch.cat([p[1] for p in positions], dim=1)
                work += A.numel() + D.numel()
                out.extend(rule.pieces_from_positions(A, D))
        if self._fallback is not None:
            dense, _ = self._fallback.pieces(X, y, n_classes, fallback)
            out.extend(dense)
            work += 3 * dense[0].numel()  # vmap's per-sample gradients and copies
        return out, work


def rule_coverage(model):
    """The share of a model's trainable scalars that layer rules cover.

    The factorised strategy differentiates these from one batched backward
    pass; the rest go through per-sample autograd. ``strategy="auto"`` takes
    the factorised strategy from a share of one half.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    share : float
        In [0, 1]. A model without trainable parameters raises a ValueError.
    """
    producer = FactorizedGradients(model, device="cpu")
    return producer.n_covered / producer.n_features
