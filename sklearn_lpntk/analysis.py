"""The paper's analyses as functions: relation types, learning difficulty, forgetting.

* **Relation types** between labelled samples, from the angle of their labelled
  gradients: ``cos = kappa_ij / sqrt(kappa_ii kappa_jj)``. A pair is
  *interchangeable* when ``cos >= interchangeable`` (default 0.5),
  *contradictory* when ``cos < contradictory`` (default 0) and *unrelated*
  otherwise. The paper classifies pairs by angle but gives no thresholds; these
  defaults are this library's choice, not the paper's.
* **Learning difficulty**: the sum over epochs of ``||softmax(z(x)) - e_y||_2``.
* **Forgetting**: counts of correct-to-incorrect transitions, and the
  first-order prediction of the change of every prediction caused by one SGD
  step on a batch (Eq. (1) of the paper, as reconstructed in the notes):
  ``q'(x_o) ~ q(x_o) + (lr / B) A(x_o) J(x_o) sum_u J(x_u)^T (e_{y_u} - q(x_u))``
  with ``A = diag(q) - q q^T``, scored against the true events with
  precision, recall and F1.
* **Redundancy**: :func:`copy_retrieval` measures how well a similarity finds
  planted near-duplicates; :func:`distinct_share` how many distinct originals a
  kept subset holds.
"""

import numpy as np
import torch
from scipy import stats
from torch.func import functional_call, jvp

from ._engine import as_tensor, eval_mode, parameter_dtype, split_state, trainable_parameters
from ._selection import el2n_scores, forgetting_events, inverse_norms

RELATIONS = ("interchangeable", "unrelated", "contradictory")

__all__ = [
    "RELATIONS",
    "copy_retrieval",
    "correlation",
    "cosine_matrix",
    "distinct_share",
    "el2n_scores",
    "forgetting_events",
    "learning_difficulty",
    "precision_recall_f1",
    "predict_forgetting",
    "relation_counts",
    "relation_types",
    "sgd_step_forgetting",
]


def cosine_matrix(kernel):
    """The cosine of a kernel: ``kappa_ij / sqrt(kappa_ii kappa_jj)``.

    Parameters
    ----------
    kernel : array-like of shape (n, n)
        An lpNTK matrix (any normalisation).

    Returns
    -------
    cosine : ndarray of shape (n, n), float64
        Diagonal 1 up to rounding; rows and columns whose diagonal entry is
        zero or negative are zero.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    inv = inverse_norms(np.diagonal(kernel))
    return kernel * inv[:, None] * inv[None, :]


def _check_thresholds(interchangeable, contradictory):
    if not -1 <= contradictory <= interchangeable <= 1:
        raise ValueError(
            "thresholds must satisfy -1 <= contradictory <= interchangeable <= 1; got "
            f"interchangeable={interchangeable}, contradictory={contradictory}."
        )


def relation_types(kernel, *, interchangeable=0.5, contradictory=0.0):
    """Relation type of every pair, as indices into ``RELATIONS``.

    Parameters
    ----------
    kernel : ndarray of shape (n, n)
        lpNTK matrix (any normalisation; only angles are used).
    interchangeable : float, default=0.5
        Cosine at or above which a pair is interchangeable (not from the paper).
    contradictory : float, default=0.0
        Cosine below which a pair is contradictory (not from the paper).

    Returns
    -------
    types : ndarray of int8, shape (n, n)
        0 interchangeable, 1 unrelated, 2 contradictory; -1 on the diagonal.
    """
    _check_thresholds(interchangeable, contradictory)
    cos = cosine_matrix(kernel)
    types = np.ones(cos.shape, dtype=np.int8)
    types[cos >= interchangeable] = 0
    types[cos < contradictory] = 2
    np.fill_diagonal(types, -1)
    return types


def relation_counts(kernel, *, interchangeable=0.5, contradictory=0.0):
    """For every sample, how many partners of each relation type it has.

    Parameters
    ----------
    kernel, interchangeable, contradictory
        As for :func:`relation_types`.

    Returns
    -------
    counts : ndarray of int, shape (n, 3)
        Columns in the order of ``RELATIONS``: interchangeable, unrelated,
        contradictory partners.
    """
    types = relation_types(kernel, interchangeable=interchangeable, contradictory=contradictory)
    return np.stack([(types == k).sum(axis=1) for k in range(3)], axis=1)


def learning_difficulty(probabilities, y):
    """Sum over epochs of ``||softmax(z(x)) - e_y||_2`` for every sample.

    Parameters
    ----------
    probabilities : array of shape (n_epochs, n_samples, n_classes)
        Predicted probabilities after each epoch (e.g. from
        ``sklearn_lpntk.ForgettingPruner().fit(X, y)`` via ``TrainingDynamics``).
    y : array of shape (n_samples,)
        Class indices.

    Returns
    -------
    difficulty : ndarray of shape (n_samples,)
        Higher is harder.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(y)
    return np.sum([el2n_scores(p, y) for p in probabilities], axis=0)


def correlation(a, b, method="spearman"):
    """Correlation of two per-sample statistics.

    Parameters
    ----------
    a, b : array-like of shape (n_samples,)
    method : {"spearman", "pearson"}, default="spearman"

    Returns
    -------
    r : float
        The correlation coefficient.
    p_value : float
        Its two-sided p-value (scipy.stats).
    """
    if method == "pearson":
        r, p = stats.pearsonr(a, b)
    elif method == "spearman":
        r, p = stats.spearmanr(a, b)
    else:
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}.")
    return float(r), float(p)


def precision_recall_f1(predicted, true):
    """Precision, recall and F1 of boolean predictions.

    Parameters
    ----------
    predicted, true : array-like of bool, same shape

    Returns
    -------
    precision, recall, f1 : float
        Precision is 0 when nothing is predicted, recall 0 when ``true`` has no
        positive, F1 0 when both are 0.
    """
    predicted = np.asarray(predicted, dtype=bool)
    true = np.asarray(true, dtype=bool)
    if predicted.shape != true.shape:
        raise ValueError(f"shapes differ: predicted {predicted.shape}, true {true.shape}.")
    hit = np.sum(predicted & true)
    precision = hit / predicted.sum() if predicted.any() else 0.0
    recall = hit / true.sum() if true.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return float(precision), float(recall), float(f1)


def _probabilities(model, params, buffers, X):
    return torch.softmax(functional_call(model, (params, buffers), (X,)), dim=-1)


def _sgd_step(model, X_observed, y_observed, X_batch, y_batch, lr):
    """Parameters, constants, observed tensors, and the SGD update on the batch."""
    dtype = parameter_dtype(model)
    params, buffers = split_state(model, trainable_parameters(model), dtype, None)
    Xo = as_tensor(X_observed, dtype=dtype)
    yo = as_tensor(np.asarray(y_observed), dtype=torch.long)
    Xb = as_tensor(X_batch, dtype=dtype)
    yb = as_tensor(np.asarray(y_batch), dtype=torch.long)
    leaves = {n: p.detach().requires_grad_(True) for n, p in params.items()}
    with eval_mode(model):
        loss = torch.nn.functional.cross_entropy(
            functional_call(model, (leaves, buffers), (Xb,)), yb
        )
        grads = torch.autograd.grad(loss, list(leaves.values()))
    frozen = {n: p.detach() for n, p in params.items()}
    update = {n: -lr * g for n, g in zip(leaves, grads)}
    return frozen, buffers, Xo, yo, update


def _outcome(before, after, yo, name):
    correct = before.argmax(1) == yo
    return {
        "before": before.detach().numpy(),
        name: after.detach().numpy(),
        "forgotten": (correct & (after.argmax(1) != yo)).numpy(),
    }


def predict_forgetting(model, X_observed, y_observed, X_batch, y_batch, lr):
    """First-order prediction of one SGD step's effect on every observed sample.

    The step is plain SGD on the mean cross-entropy of ``(X_batch, y_batch)``
    with learning rate ``lr`` (no momentum or weight decay). The change of the
    probabilities of every observed sample is one Jacobian-vector product along
    the update, so no eNTK block is formed.

    Parameters
    ----------
    model : torch.nn.Module
        Maps inputs to logits; its parameters are not changed.
    X_observed, y_observed : array-like or tensor
        The samples whose predictions are followed, and their class indices.
    X_batch, y_batch : array-like or tensor
        The batch the SGD step is taken on.
    lr : float
        Learning rate of the step.

    Returns
    -------
    result : dict
        ``"before"`` and ``"predicted"`` probabilities (n_observed, K), and the
        boolean ``"forgotten"``: correct before and predicted wrong after.
    """
    params, buffers, Xo, yo, update = _sgd_step(model, X_observed, y_observed, X_batch, y_batch, lr)
    with eval_mode(model):
        q, dq = jvp(lambda p: _probabilities(model, p, buffers, Xo), (params,), (update,))
    return _outcome(q, q + dq, yo, "predicted")


def sgd_step_forgetting(model, X_observed, y_observed, X_batch, y_batch, lr):
    """The true effect of the same SGD step (on a copy of the parameters).

    Parameters
    ----------
    model, X_observed, y_observed, X_batch, y_batch, lr
        As for :func:`predict_forgetting`.

    Returns
    -------
    result : dict
        As :func:`predict_forgetting` returns it, with ``"after"`` instead of
        ``"predicted"``.
    """
    params, buffers, Xo, yo, update = _sgd_step(model, X_observed, y_observed, X_batch, y_batch, lr)
    stepped = {n: p + update[n] for n, p in params.items()}
    with eval_mode(model), torch.no_grad():
        before = _probabilities(model, params, buffers, Xo)
        after = _probabilities(model, stepped, buffers, Xo)
    return _outcome(before, after, yo, "after")


def copy_retrieval(similarity, groups):
    """How well a similarity matrix of one class finds planted near-duplicates.

    Parameters
    ----------
    similarity : ndarray of shape (n, n)
        Similarities between the rows of one class (larger is more similar).
    groups : array of shape (n,)
        Rows with equal group are copies of one original (see
        ``sklearn_lpntk.datasets.plant_near_duplicates``).

    Returns
    -------
    dict
        ``"precision"``: among rows that have a copy, the share whose most
        similar other row is one of its copies (ties count as a miss unless
        every tied row is a copy); ``"auc"``: the probability that a pair of
        copies is more similar than a pair of distinct rows (ties count one
        half; the Mann-Whitney statistic over all pairs); ``"n_queries"`` and
        ``"n_copy_pairs"``. NaN where there is no copy or no distinct pair.
    """
    S = np.asarray(similarity, dtype=np.float64)
    groups = np.asarray(groups)
    n = len(groups)
    if S.shape != (n, n):
        raise ValueError(f"similarity must have shape ({n}, {n}) to match groups; got {S.shape}.")
    same = groups[:, None] == groups[None, :]
    off = ~np.eye(n, dtype=bool)
    has_copy = (same & off).any(axis=1)
    masked = np.where(off, S, -np.inf)
    best = masked.max(axis=1, keepdims=True) if n > 1 else np.full((n, 1), -np.inf)
    tied = masked == best
    hit = ~(tied & ~same).any(axis=1)
    upper = np.triu(off)
    positives, negatives = S[upper & same], S[upper & ~same]
    if len(positives) and len(negatives):
        ranks = stats.rankdata(np.concatenate([positives, negatives]))
        u = ranks[: len(positives)].sum() - len(positives) * (len(positives) + 1) / 2
        auc = u / (len(positives) * len(negatives))
    else:
        auc = np.nan
    return {
        "precision": float(hit[has_copy].mean()) if has_copy.any() else np.nan,
        "auc": float(auc),
        "n_queries": int(has_copy.sum()),
        "n_copy_pairs": int(len(positives)),
    }


def distinct_share(kept, groups, y):
    """Share of the distinct originals that a kept subset still holds.

    Parameters
    ----------
    kept : array of int
        Indices of the kept rows.
    groups : array of shape (n,)
        Group of every row (copies of one original share a group).
    y : array of shape (n,)
        Labels; the budget is counted per class.

    Returns
    -------
    dict
        ``"kept"``: distinct groups with a kept row over all groups;
        ``"of_allowed"``: the same over what the budget allows, the sum over
        classes of ``min(groups of the class, rows kept of the class)``.
    """
    groups, y = np.asarray(groups), np.asarray(y)
    kept = np.asarray(kept, dtype=np.int64)
    n_groups = len(np.unique(groups))
    held = len(np.unique(groups[kept]))
    allowed = sum(
        min(len(np.unique(groups[y == c])), int(np.sum(y[kept] == c))) for c in np.unique(y)
    )
    return {
        "kept": held / n_groups,
        "of_allowed": held / allowed if allowed else np.nan,
    }
