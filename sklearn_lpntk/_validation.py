"""Validation of a pruner's training data and fit arguments, before any expensive work.

Every check raises a ValueError (TypeError for wrong arguments) that names the
problem and the fix, from this package, so that a user never meets the error
of a layer below (torch, skorch, NumPy) for input that was wrong from the start.
"""

import datetime

import numpy as np
import scipy.sparse as sp
import torch
from imblearn.utils import check_target_type
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import validate_data


def _hint(message):
    """Add the fix to a validation message, keeping the original text."""
    hints = (
        (
            ("NaN", "infinity", "inf"),
            "Drop or impute non-finite values in X first (e.g. sklearn.impute.SimpleImputer).",
        ),
        (
            ("convert", "string", "dtype"),
            "X must be numeric: encode text or categorical "
            "columns first (e.g. sklearn.preprocessing.OneHotEncoder).",
        ),
        (("inconsistent numbers of samples",), "X and y must have one label per row."),
        (("0 feature(s)",), "X has no features: pass at least one column."),
        (("minimum of",), "A pruner needs at least 2 samples."),
    )
    for keys, hint in hints:
        if any(k in message for k in keys):
            return f"{message} {hint}"
    return message


def _check_numeric_columns(X):
    """Name the DataFrame columns that are not numeric (categorical, text, ...)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    from pandas.api.types import is_numeric_dtype  # X has dtypes: it is a DataFrame

    bad = [str(name) for name, dtype in dtypes.items() if not is_numeric_dtype(dtype)]
    if bad:
        raise ValueError(
            f"X has non-numeric columns {bad}; the network needs numbers. Encode them first "
            "(e.g. sklearn.preprocessing.OneHotEncoder in a ColumnTransformer) or drop them."
        )


def _check_missing_labels(y):
    """Raise a clear error for NaN / None / pandas NA among the labels."""
    values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y, dtype=object).ravel()
    try:
        import pandas as pd

        missing = pd.isna(values)
    except ImportError:
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in values])
    if np.any(missing):
        raise ValueError(
            f"y contains missing values ({int(np.sum(missing))} rows). Drop those rows or "
            "fill in their labels before pruning."
        )


def _check_time_values(X, stage):
    """Refuse dates and durations: as numbers they would be nanoseconds since 1970."""
    where = None
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a DataFrame
        columns = [str(n) for n, d in dtypes.items() if getattr(d, "kind", "") in "mM"]
        where = f"columns {columns}" if columns else None
    elif isinstance(X, np.ndarray) and X.dtype.kind in "mM":
        where = f"dtype {X.dtype}"
    elif stage == "before" and isinstance(X, np.ndarray) and X.dtype == object:
        kinds = (np.datetime64, np.timedelta64, datetime.date, datetime.timedelta)
        if any(isinstance(v, kinds) for v in X.ravel()):
            where = "dates or durations among the objects of X"
    if where:
        raise ValueError(
            f"X holds dates or durations ({where}). Read as numbers they would become "
            "nanoseconds since 1970, which is rarely meant: convert them to numbers first "
            "(e.g. days since the earliest date: (t - t.min()) / np.timedelta64(1, 'D')), "
            "or drop them."
        )


def _check_no_empty_axis(X):
    if any(size == 0 for size in X.shape[1:]):
        raise ValueError(
            f"X has shape {tuple(X.shape)}: an axis of size 0 leaves every sample empty. "
            "Pass samples with at least one value along every axis (images as "
            "(n, channels, height, width))."
        )


def refuse_fit_params(pruner, method, params):
    """Raise a TypeError naming fit parameters a pruner does not take (it uses none)."""
    if params:
        raise TypeError(
            f"{type(pruner).__name__}.{method}() got unexpected argument(s) "
            f"{sorted(params)}. Pruners take no fit parameters: which rows are kept depends "
            "on the rows and labels alone, so sample_weight would be silently ignored. To "
            "weight the classifier after pruning, use the kept rows' weights, "
            "w[pruner.sample_indices_]."
        )


def validate_training_data(pruner, X, y):
    """Check X and y for ``pruner``; return float32 inputs, the classes and encoded labels.

    Sets ``n_features_in_`` (and ``feature_names_in_``) on the pruner, as
    scikit-learn's ``validate_data`` does.
    """
    if y is None:
        raise ValueError(
            f"{type(pruner).__name__} requires y to be passed, but the target y is None. It "
            "prunes labelled data class by class: call fit_resample(X, y)."
        )
    _check_missing_labels(y)
    if isinstance(X, torch.Tensor):
        X = X.detach()  # a tensor that requires grad is read, never differentiated
    _check_time_values(X, "before")
    _check_numeric_columns(X)
    target_type = type_of_target(y, input_name="y", raise_unknown=True)
    if target_type not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(
            f"y must hold class labels of a single classification target; got "
            f"target type {target_type!r}. {type(pruner).__name__} prunes classification data."
        )
    # one-hot y (one 1 per row) is read as class indices, as imbalanced-learn does
    row_sums = (
        np.asarray(y.toarray() if sp.issparse(y) else y).sum(axis=1)
        if target_type == "multilabel-indicator"
        else None
    )
    if row_sums is not None and np.all(row_sums <= 1) and np.any(row_sums == 0):
        raise ValueError(
            "y looks one-hot encoded but some rows do not have exactly one 1 (an "
            "all-zero row would silently become class 0). Pass class labels, or one-hot "
            "rows with a single 1 each."
        )
    y, _ = check_target_type(y, indicate_one_vs_all=True)
    try:
        X, y = validate_data(
            pruner,
            X,
            y,
            reset=True,
            accept_sparse=["csr", "csc", "coo"],
            allow_nd=True,
            ensure_min_samples=2,
            dtype="numeric",
        )
    except ValueError as exc:
        raise ValueError(_hint(str(exc))) from exc
    _check_time_values(X, "after")
    _check_no_empty_axis(X)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); {type(pruner).__name__} needs at "
            "least two classes: it prunes labelled data class by class."
        )
    X_net = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float32)
    if not X_net.flags.writeable:  # e.g. a DataFrame's read-only view: torch warns
        X_net = X_net.copy()
    return X_net, classes, y_encoded.astype(np.int64)
