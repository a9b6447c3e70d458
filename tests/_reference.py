"""Independent references for the kernel tests: explicit Jacobians and loops.

Nothing here uses torch.func or the engine: the eNTK blocks come from
torch.autograd.functional.jacobian over the whole batch, and the full-error
kernel from one plain autograd call per sample. The selection of version 0.5,
made directly for one number of kept rows, is the reference for the keep
orders' cuts.
"""

from collections import namedtuple

import numpy as np
import torch

from sklearn_lpntk._selection import (
    as_lazy_kernel,
    default_hard_fraction,
    drop_redundant,
    facility_location,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
    stratified_coverage,
    typicality,
)
from sklearn_lpntk._selection._checks import check_count, check_option
from sklearn_lpntk._selection._cuts import _keep_random_member, _thin_largest

# The rule names and constants of 0.5, written out here so that the reference does
# not follow the library's registry ("budget" is called "adaptive" since 0.8).
TRAVERSAL_RULES = ("centres", "random_member", "thin_largest")
MATRIX_RULES = ("representative", "redundancy", "coverage", "budget")
KEEP_RULES = TRAVERSAL_RULES + MATRIX_RULES
SELFMAX_MODES = ("filter", "repo")
#: "budget" removes redundant pairs while at least this share of a class is kept
BUDGET_SWITCH = 0.5


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


# --------------------------------------------------------------------------
# The 0.5 selection, computed directly for one number of kept rows (before
# keep orders existed): the reference the cuts of every keep order must equal.
_Sel05 = namedtuple(
    "_Sel05", "kept centres assignment selfmax contradictory", defaults=(None, None)
)


def select_from_kernel_05(
    kernel,
    n_keep,
    *,
    keep="centres",
    cluster_ratio=0.5,
    thin_fraction=0.5,
    random_state=None,
    candidates=None,
    initial=(),
    mode="canonical",
):
    check_option("keep", keep, TRAVERSAL_RULES)
    kernel = as_lazy_kernel(kernel)
    n = kernel.shape[0]
    check_count("n_keep", n_keep, n)
    rng = np.random.default_rng(random_state)
    if keep == "thin_largest":
        n_clusters = max(1, int(np.floor(cluster_ratio * n_keep)))
    else:
        n_clusters = n_keep
    centres, assignment = farthest_first_traversal(
        kernel, n_clusters, candidates=candidates, initial=initial, mode=mode
    )
    allowed = np.ones(n, dtype=bool) if candidates is None else np.array(candidates, bool)
    if keep == "centres":
        kept = centres
    elif keep == "random_member":
        kept = _keep_random_member(centres, assignment, allowed, rng)
    else:
        kept = _thin_largest(centres, assignment, allowed, n_keep, thin_fraction, rng)
    return np.sort(kept), centres, assignment


def choose_rows_05(
    kernel,
    n_keep,
    *,
    keep="centres",
    cluster_ratio=0.5,
    random_state=None,
    selfmax=None,
    drop_contradictory=None,
    fpc="canonical",
    hard_fraction="auto",
):
    check_option("selfmax", selfmax, (None, *SELFMAX_MODES))
    check_option("keep", keep, KEEP_RULES)
    kernel = as_lazy_kernel(kernel)
    if keep in MATRIX_RULES:
        if selfmax is not None:
            raise ValueError(
                f"selfmax={selfmax!r} works with the traversal keep-rules "
                f"only; keep={keep!r} reads the whole matrix. Use selfmax=None."
            )
        return _matrix_rule_05(
            kernel, n_keep, keep, random_state, drop_contradictory, hard_fraction
        )
    n = kernel.shape[0]
    masks = {}
    candidates, initial = None, ()
    if selfmax is not None or drop_contradictory is not None:
        row_max, min_cos = row_extremes(kernel)
    if drop_contradictory is not None:
        masks["contradictory"] = min_cos < drop_contradictory
        candidates = ~masks["contradictory"]
    if selfmax is not None:
        diag = np.asarray(kernel.diagonal(), dtype=np.float64)
        masks["selfmax"] = self_max = self_max_mask(kernel, row_max=row_max)
        allowed = self_max if candidates is None else self_max & candidates
        if selfmax == "repo" and self_max.sum() <= n_keep:
            # the official code returns the self-max rows alone (fewer than asked)
            kept = np.flatnonzero(self_max)
            centres, assignment = farthest_first_traversal(
                kernel, len(kept), initial=kept[np.argsort(-diag[kept], kind="stable")], mode=fpc
            )
            return _Sel05(kept, centres, assignment, **masks)
        if selfmax == "filter":
            if allowed.sum() >= n_keep:
                candidates = allowed
            else:  # keep every allowed self-max row, then top up by traversal
                rows = np.flatnonzero(allowed)
                initial = rows[np.argsort(-diag[rows], kind="stable")]
    if candidates is not None and not candidates.any() and not len(initial):
        candidates = None  # nothing left to filter by: fall back to all rows
    kept, centres, assignment = select_from_kernel_05(
        kernel,
        min(n_keep, n),
        keep=keep,
        cluster_ratio=cluster_ratio,
        random_state=random_state,
        candidates=candidates,
        initial=initial,
        mode=fpc,
    )
    return _Sel05(kept, centres, assignment, **masks)


def _matrix_rule_05(kernel, n_keep, keep, random_state, drop_contradictory, hard_fraction):
    S = np.asarray(
        kernel.rows(0, kernel.shape[0])
        if hasattr(kernel, "rows")
        else [kernel.row(i) for i in range(kernel.shape[0])]
    )
    if keep not in ("representative", "budget") or S.dtype not in (np.float32, np.float64):
        S = S.astype(np.float64)  # facility location reads float32 exactly; others copy
    n = S.shape[0]
    masks, rows = {}, np.arange(n)
    if drop_contradictory is not None:
        _, min_cos = row_extremes(kernel)
        masks["contradictory"] = min_cos < drop_contradictory
        if (~masks["contradictory"]).any():
            rows = np.flatnonzero(~masks["contradictory"])
    sub = S if len(rows) == n else S[np.ix_(rows, rows)]
    k = min(n_keep, len(rows))
    if keep == "budget":
        keep = "redundancy" if n_keep >= BUDGET_SWITCH * n else "representative"
    if keep == "representative":
        local = facility_location(sub, k)
    elif keep == "redundancy":
        local = drop_redundant(sub, k)
    else:
        fraction = (
            default_hard_fraction(1 - n_keep / n) if hard_fraction == "auto" else hard_fraction
        )
        local = stratified_coverage(
            -typicality(sub), k, hard_fraction=fraction, random_state=random_state
        )
    kept = np.sort(rows[local])
    assignment = np.empty(n, dtype=kept.dtype)
    for start in range(0, n, 512):  # most similar kept row, without an (n, k) copy
        block = S[start : start + 512][:, kept]
        assignment[start : start + 512] = kept[np.argmax(block, axis=1)]
    assignment[kept] = kept
    return _Sel05(kept, rows[local], assignment, **masks)
