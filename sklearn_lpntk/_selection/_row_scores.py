"""Per-row scores computed from a network's predictions, and the Moderate band (NumPy only)."""

import numpy as np

from ._checks import check_count


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


def middle_band(scores, n_keep):
    """The ``n_keep`` rows whose score is closest to the median (ties: lowest index).

    Parameters
    ----------
    scores : ndarray of shape (n,)
        One score per row (Moderate reads distances to the class centre).
    n_keep : int

    Returns
    -------
    rows : ndarray of int
        The kept rows, ascending.
    """
    check_count("n_keep", n_keep, len(scores))
    return np.sort(middle_out_order(scores)[:n_keep])


def middle_out_order(scores):
    """Rows from the score closest to the median outwards (ties: lowest index): the
    keep order of :func:`middle_band`."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(np.abs(scores - np.median(scores)), kind="stable")
