"""Independent references for the kernel tests: explicit Jacobians and loops.

Nothing here uses torch.func or the engine: the eNTK blocks come from
torch.autograd.functional.jacobian over the whole batch, and the full-error
kernel from one plain autograd call per sample.
"""

import torch


def explicit_jacobian(model, X):
    """J of shape (n, K, P): d logits / d parameters, from autograd.functional."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]

    def logits(*flat):
        saved = [p.data for p in params]
        # substitute the parameters by the differentiable copies
        for name, value in zip(names, flat):
            _set(model, name, value)
        out = model(X)
        for name, value in zip(names, saved):
            _set(model, name, torch.nn.Parameter(value))
        return out

    was_training = model.training
    model.eval()
    jac = torch.autograd.functional.jacobian(logits, tuple(p.detach().clone() for p in params))
    model.train(was_training)
    n, k = len(X), jac[0].shape[1]
    return torch.cat([j.reshape(n, k, -1) for j in jac], dim=2)


def _set(model, dotted, value):
    *path, leaf = dotted.split(".")
    mod = model
    for part in path:
        mod = getattr(mod, part)
    if isinstance(value, torch.nn.Parameter):
        setattr(mod, leaf, value)
    else:
        delattr(mod, leaf)
        setattr(mod, leaf, value)


def entk_blocks(model, X):
    """Theta[i, j] = J(x_i) J(x_j)^T, shape (n, n, K, K)."""
    J = explicit_jacobian(model, X)
    return torch.einsum("iap,jbp->ijab", J, J)


def mask_sum_kernel(model, X, y):
    """The official code's MaskSum: sum_ab Theta_ab m_yi[a] m_yj[b]."""
    theta = entk_blocks(model, X)
    k = theta.shape[-1]
    m = 2.0 * torch.nn.functional.one_hot(torch.as_tensor(y), k).to(theta.dtype) - 1.0
    return torch.einsum("ia,ijab,jb->ij", m, theta, m)


def loglik_gradient_kernel(model, X, y):
    """<grad log q_yi(x_i), grad log q_yj(x_j)> with one autograd call per sample."""
    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    grads = []
    for xi, yi in zip(X, y):
        logp = torch.log_softmax(model(xi[None]), dim=1)[0, int(yi)]
        g = torch.autograd.grad(logp, params)
        grads.append(torch.cat([t.reshape(-1) for t in g]))
    model.train(was_training)
    G = torch.stack(grads)
    return G @ G.T
