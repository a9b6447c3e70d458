"""Validation of a pruner's training data and fit arguments, before any expensive work.

Every check raises a ValueError (TypeError for wrong arguments) that names the
problem and the fix, from this package, so that a user never meets the error
of a layer below (torch, skorch, NumPy) for input that was wrong from the start.
"""

import datetime
import sys
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
import torch
from imblearn.utils import check_target_type
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _num_samples,
    check_consistent_length,
    check_X_y,
    validate_data,
)

from ._encoding import fit_encoder


def _hint(message):
    """Add the fix to a validation message, keeping the original text."""
    hints = (
        (
            ("infinity",),
            "Replace or drop infinite values in X first (set them to NaN to have them "
            "imputed, e.g. by sklearn.impute.SimpleImputer or encoder='auto').",
        ),
        (
            ("NaN", "inf"),
            "Drop or impute missing values in X first (e.g. sklearn.impute.SimpleImputer); "
            "encoder='auto' (the default) imputes them in tables and 2-D arrays.",
        ),
        (
            ("convert", "string", "dtype"),
            "X must be numeric: encode text or categorical columns first (e.g. "
            "sklearn.preprocessing.OneHotEncoder), or pass a DataFrame with "
            "encoder='auto' (the default), which encodes them inside the fit.",
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
            f"X has non-numeric columns {bad}; the network needs numbers. Leave "
            "encoder='auto' (the default) to encode them inside the fit, encode them first "
            "(e.g. sklearn.preprocessing.OneHotEncoder in a ColumnTransformer), or drop them."
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
            "weight the classifier after pruning, give the weights to the classifier in "
            "sklearn_lpntk.make_pipeline(...) or PrunedClassifier (they follow the kept "
            "rows), or take the kept rows' weights yourself, w[pruner.sample_indices_]."
        )


def validate_training_data(pruner, X, y):
    """Check X and y for ``pruner``; return the network's float32 inputs, the classes,
    the encoded labels and the fitted encoding of X (None when X needed none).

    Sets ``n_features_in_`` (and ``feature_names_in_``) on the pruner, as
    scikit-learn's ``validate_data`` does, from the user's X (its columns, not
    the encoded ones).
    """
    who = type(pruner).__name__
    if y is None:
        raise ValueError(
            f"{who} requires y to be passed, but the target y is None. It "
            "prunes labelled data class by class: call fit_resample(X, y)."
        )
    _check_missing_labels(y)
    if isinstance(X, torch.Tensor):
        X = X.detach()  # a tensor that requires grad is read, never differentiated
    encoder = getattr(pruner, "encoder", "auto")  # a pruner without the parameter: "auto"
    if encoder is None or isinstance(encoder, str):
        _check_time_values(X, "before")
    if encoder is None:
        _check_numeric_columns(X)
    target_type = type_of_target(y, input_name="y", raise_unknown=True)
    if target_type not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(
            f"y must hold class labels of a single classification target; got "
            f"target type {target_type!r}. {who} prunes classification data."
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
        check_consistent_length(X, y)
        X_encoded, fitted = fit_encoder(encoder, X, y, who)
        if fitted is None:
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
        else:  # the user's columns describe the pruner; the network reads X_encoded
            validate_data(pruner, X, reset=True, skip_check_array=True)
            X, y = check_X_y(X_encoded, y, ensure_min_samples=2, dtype="numeric")
    except ValueError as exc:
        raise ValueError(_hint(str(exc))) from exc
    _check_time_values(X, "after")
    _check_no_empty_axis(X)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); {who} needs at "
            "least two classes: it prunes labelled data class by class."
        )
    X_net = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float32)
    if not X_net.flags.writeable:  # e.g. a DataFrame's read-only view: torch warns
        X_net = X_net.copy()
    return X_net, classes, y_encoded.astype(np.int64), fitted


def take_rows(a, indices):
    """Rows ``indices`` of ``a`` in ``a``'s own container and dtype (pandas and polars
    frames and series keep their columns, dtypes and, for pandas, their index)."""
    if isinstance(a, torch.Tensor):
        return a[torch.as_tensor(indices, device=a.device)]
    if sp.issparse(a):
        return _safe_indexing(a if a.format in ("csr", "csc") else a.tocsr(), indices)
    polars = sys.modules.get("polars")
    if (
        hasattr(a, "iloc")
        or isinstance(a, (np.ndarray, list))
        or (polars is not None and isinstance(a, (polars.DataFrame, polars.Series)))
    ):
        return _safe_indexing(a, indices)
    return _safe_indexing(np.asarray(a), indices)


def is_per_row(value, n_samples):
    """Whether a fit parameter holds one entry per training row (as scikit-learn's
    cross-validation decides which fit parameters to split): an array, sequence,
    sparse matrix or DataFrame of length ``n_samples``; never text or a mapping."""
    if isinstance(value, (str, bytes, Mapping)):
        return False
    if not (hasattr(value, "__len__") or hasattr(value, "shape")):
        return False
    try:
        return _num_samples(value) == n_samples
    except TypeError:
        return False


def params_of_kept_rows(params, indices, n_samples, skip=()):
    """``params`` with every per-row value (:func:`is_per_row`) cut to the rows
    ``indices``; other values, and the names in ``skip``, as they are."""
    return {
        k: take_rows(v, indices) if k not in skip and is_per_row(v, n_samples) else v
        for k, v in params.items()
    }
