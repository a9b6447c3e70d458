"""Dense similarity helpers shared by several rules (NumPy only)."""

import numpy as np


def typicality(similarity):
    """Mean similarity of every row to the other rows (0 for a single row).

    Parameters
    ----------
    similarity : ndarray of shape (n, n)

    Returns
    -------
    typical : ndarray of shape (n,)
        ``(sum_j s_ij - s_ii) / (n - 1)``.
    """
    S = np.asarray(similarity, dtype=np.float64)
    n = S.shape[0]
    if n < 2:
        return np.zeros(n)
    return (S.sum(axis=1) - np.diagonal(S)) / (n - 1)
