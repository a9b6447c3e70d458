"""Per-row scores computed from a network's predictions (NumPy only)."""

import numpy as np


def el2n_scores(probabilities, y):
    """EL2N scores: ``||softmax(z(x)) - e_y||_2`` for every row of ``probabilities``.

    Parameters
    ----------
    probabilities : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.
    y : array-like of int, shape (n_samples,)
        Class indices in ``[0, n_classes)``.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        The error vector's norm; high for hard or mislabelled rows.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    onehot = np.zeros_like(probabilities)
    onehot[np.arange(len(y)), y] = 1.0
    return np.linalg.norm(probabilities - onehot, axis=1)


def forgetting_events(correct):
    """Count forgetting events and find never-learned rows.

    Parameters
    ----------
    correct : array-like of bool, shape (n_evaluations, n_samples)
        Whether each row was classified correctly at successive evaluations.

    Returns
    -------
    events : ndarray of int, shape (n_samples,)
        Number of transitions from correct to incorrect between consecutive
        evaluations.
    never_learned : ndarray of bool, shape (n_samples,)
        Rows never classified correctly.
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.ndim != 2:
        raise ValueError(f"correct must be 2-D (evaluations, samples), got {correct.shape}.")
    events = np.sum(correct[:-1] & ~correct[1:], axis=0)
    return events.astype(np.int64), ~correct.any(axis=0)


def inverse_norms(diagonal):
    """``1 / sqrt(k_ii)`` of a kernel's diagonal; 0 for rows of zero (or negative) norm."""
    norms = np.sqrt(np.clip(np.asarray(diagonal, dtype=np.float64), 0, None))
    return np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
