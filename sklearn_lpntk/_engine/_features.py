"""The features strategy: per-sample labelled gradients phi(x, y) by ``torch.func``.

The lpNTK between two labelled samples is an inner product of one vector per
sample (see ``docs/algorithm.md``)::

    kappa((x, y), (x', y')) = m_y^T J(x) J(x')^T m_y' = <phi(x, y), phi(x', y')>
    phi(x, y) = J(x)^T w(x, y) = grad_theta( w^T z(x; theta) ),  w held constant

with ``w = m_y = 2 e_y - 1`` for ``error_weighting="sign"`` (the paper) and
``w = e_y - softmax(z(x))`` for ``error_weighting="full"``, in which case
``phi`` is the gradient of ``log softmax(z(x))_y`` and the kernel is the
loss-gradient inner product of the first-order update formula.

One vector-Jacobian product per sample suffices; the K x K eNTK blocks are
never formed. Chunks of samples are processed with ``torch.func.vmap`` over
``torch.func.grad`` of a ``functional_call`` of the model in eval mode.
"""

import torch
from torch.func import functional_call, grad, vmap

from ._model import GradientProducer, contract_logits, eval_mode, label_weights


class LabelledGradientFeatures(GradientProducer):
    """Compute phi(x, y) for chunks of samples of one model by ``vmap(grad)``.

    Parameters are those of :class:`GradientProducer`.
    """

    def __init__(self, model, *, error_weighting="sign", device="auto", dtype=None, names=None):
        super().__init__(
            model, error_weighting=error_weighting, device=device, dtype=dtype, names=names
        )
        self.sizes = [p.numel() for p in self.trainable.values()]
        self.n_features = sum(self.sizes)

        def objective(params, constants, x, w):
            z = functional_call(model, (params, constants), (x.unsqueeze(0),))
            return contract_logits(z, w, error_weighting)

        self._per_sample_grad = vmap(grad(objective), in_dims=(None, None, 0, 0))

    def pieces(self, X, y, n_classes, at):
        """phi of one chunk as ``([dense (len(X), n_features) tensor], work_numbers)``.

        ``work_numbers`` is 0: vmap's temporaries (about 3 P per sample) are
        covered by the planner's safety factor on the stored size.
        """
        params, constants = at
        w = label_weights(y, n_classes, self.error_weighting, self.dtype)
        with eval_mode(self.model):
            grads = self._per_sample_grad(params, constants, X, w)
        out = torch.empty(len(X), self.n_features, dtype=self.dtype, device=self.device)
        offset = 0
        for g, size in zip(grads.values(), self.sizes):
            out[:, offset : offset + size] = g.reshape(len(X), size)
            offset += size
        return [out], 0
