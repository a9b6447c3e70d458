"""Tables for the network: the encoding a pruner fits when X is not all numbers.

A pruner's network reads numbers. When X is a table (a pandas or polars
DataFrame, or a 2-D array) with text, categorical columns or missing values,
:func:`fit_encoder` fits an encoding on it inside the pruner's fit and returns
the numbers the network reads; the pruner itself still returns the user's own
rows. The default encoding, :func:`default_encoder`, is a scikit-learn
``ColumnTransformer``:

* numbers (booleans included, as 0 / 1): median imputation with a
  missing-value indicator for every column that has missing values, then
  standard scaling;
* text and categories: one-hot, with levels seen in under 1 % of the rows
  grouped into one "infrequent" column, at most 32 columns per categorical
  column, and a missing value as a level of its own (dense float32).

Dates, durations and values that are neither numbers nor text (lists, dicts)
have no default encoding: :func:`fit_encoder` names such columns in a
ValueError before anything is fitted. scikit-learn only (no torch); pandas and
polars are imported only when the data is theirs.
"""

import datetime
import decimal
import numbers
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

__all__ = [
    "MIN_FREQUENCY",
    "MAX_CATEGORIES",
    "as_container",
    "auto_encoder",
    "default_encoder",
    "fit_encoder",
    "table_kinds",
]

#: A level seen in less than this share of the rows joins the "infrequent" column.
MIN_FREQUENCY = 0.01
#: At most this many one-hot columns per categorical column (the infrequent one included).
MAX_CATEGORIES = 32

NUMBER, CATEGORY = "number", "category"


def _frame_library(X):
    """ "pandas" or "polars" when X is one of their DataFrames (neither is imported here)."""
    for name in ("pandas", "polars"):
        module = sys.modules.get(name)
        if module is not None and isinstance(X, module.DataFrame):
            return name
    return None


def _is_missing(value):
    """None, NaN, pandas' NA and NaT."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    return type(value).__name__ in ("NAType", "NaTType") or (
        isinstance(value, np.floating) and np.isnan(value)
    )


def _missing_mask(values):
    """Missing entries of an object array (pandas' isna when pandas is there)."""
    pd = sys.modules.get("pandas")
    if pd is not None:
        return np.asarray(pd.isna(values), dtype=bool)
    flat = [_is_missing(v) for v in values.ravel()]
    return np.array(flat, dtype=bool).reshape(values.shape)


def _object_values(X):
    """Any table or 2-D array as a 2-D object array."""
    library = _frame_library(X)
    if library == "pandas":
        return X.to_numpy(dtype=object)
    if library == "polars":
        return X.to_numpy().astype(object)
    return np.asarray(X, dtype=object)


def as_numbers(X):
    """The numeric columns of a table as float64, NaN where a value is missing.

    The first step of the default encoding's numbers; it reads pandas' nullable
    dtypes, polars' nulls and object arrays of numbers alike.
    """
    library = _frame_library(X)
    if library == "pandas":
        return X.to_numpy(dtype=np.float64, na_value=np.nan)
    if library == "polars":
        import polars as pl

        return X.cast(pl.Float64).to_numpy()
    values = np.asarray(X)
    if values.dtype != object:
        return values.astype(np.float64)
    out = np.full(values.shape, np.nan)
    present = ~_missing_mask(values)
    out[present] = [float(v) for v in values[present]]
    return out


def as_levels(X):
    """The categorical columns of a table as text, NaN where a value is missing.

    The first step of the default encoding's categories: every level becomes
    its text (``str``), so that one column may mix numbers, booleans and text,
    and a missing value is one more level for the one-hot encoder.
    """
    if _frame_library(X) == "polars":
        import polars as pl

        X = X.select(pl.all().cast(pl.String))
    values = _object_values(X)
    missing = _missing_mask(values)
    text = values.astype(str).astype(object)
    text[missing] = np.nan
    return text


def _kind_of_values(values):
    """The kind of an object column from its values: NUMBER, CATEGORY or a reason."""
    present = [v for v in values if not _is_missing(v)]
    if all(isinstance(v, (numbers.Real, decimal.Decimal)) for v in present):
        return NUMBER if present else CATEGORY
    for v in present:
        if isinstance(v, (datetime.date, datetime.time, datetime.timedelta)) or (
            isinstance(v, (np.datetime64, np.timedelta64))
        ):
            return f"dates or times ({type(v).__name__})"
        if not isinstance(v, (str, bytes, numbers.Number)):
            return f"values that are neither numbers nor text ({type(v).__name__})"
    return CATEGORY


def _pandas_kinds(X):
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_complex_dtype, is_numeric_dtype

    names = list(X.columns)
    # the encoding selects columns by name when the names allow it, else by position
    by_name = all(isinstance(c, str) for c in names) and len(set(names)) == len(names)
    kinds = []
    for j, dtype in enumerate(X.dtypes):
        name = names[j] if by_name else j
        if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
            kind = CATEGORY
        elif is_bool_dtype(dtype) or (is_numeric_dtype(dtype) and not is_complex_dtype(dtype)):
            kind = NUMBER
        elif getattr(dtype, "kind", "") == "O":
            kind = _kind_of_values(X.iloc[:, j].to_numpy())
        elif getattr(dtype, "kind", "") in "mM" or isinstance(
            dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)
        ):
            kind = f"dates or times ({dtype})"
        else:
            kind = f"values of dtype {dtype}"
        kinds.append((name, kind))
    return kinds


def _polars_kinds(X):
    import polars as pl

    kinds = []
    for name, dtype in X.schema.items():
        base = dtype.base_type()
        if dtype.is_numeric() or base == pl.Boolean:
            kind = NUMBER
        elif base in (pl.String, pl.Categorical, pl.Enum, pl.Null):
            kind = CATEGORY
        elif dtype.is_temporal():
            kind = f"dates or times ({dtype})"
        else:
            kind = f"values of dtype {dtype}"
        kinds.append((name, kind))
    return kinds


def _array_kinds(A):
    if A.dtype.kind in "biuf":
        return [(j, NUMBER) for j in range(A.shape[1])]
    if A.dtype.kind in "US":
        return [(j, CATEGORY) for j in range(A.shape[1])]
    if A.dtype.kind == "O":
        return [(j, _kind_of_values(A[:, j])) for j in range(A.shape[1])]
    return [(j, f"values of dtype {A.dtype}") for j in range(A.shape[1])]


def _as_table(X):
    """X as a table the encoding reads, or None: a DataFrame as it is, a 2-D array or
    list as an array (object dtype for a list of mixed values)."""
    if _frame_library(X) is not None:
        return X
    if not isinstance(X, (np.ndarray, list)) or sp.issparse(X):
        return None
    try:
        A = np.asarray(X)
    except ValueError:  # ragged
        return None
    if isinstance(X, list) and A.dtype.kind in "US":
        A = np.asarray(X, dtype=object)  # numbers and text mixed: keep each value's type
    return A if A.ndim == 2 and A.shape[1] > 0 else None


def table_kinds(X):
    """``[(column, kind), ...]`` of a table: kind NUMBER, CATEGORY, or why it has no
    default encoding. Columns are names for DataFrames, positions for arrays."""
    library = _frame_library(X)
    if library == "pandas":
        return _pandas_kinds(X)
    if library == "polars":
        return _polars_kinds(X)
    return _array_kinds(np.asarray(X))


def _has_missing(X):
    library = _frame_library(X)
    if library == "pandas":
        return bool(X.isna().to_numpy().any())
    if library == "polars":
        import polars as pl

        floats = X.select(pl.col(pl.Float32, pl.Float64).is_nan().any())
        return any(X.null_count().row(0)) or any(v for v in floats.row(0) if v)
    if X.dtype.kind == "f":
        return bool(np.isnan(X).any())
    return X.dtype == object and bool(_missing_mask(X).any())


def _needs_encoding(table, kinds):
    return any(kind != NUMBER for _, kind in kinds) or _has_missing(table)


def _label(column):
    return repr(column) if not isinstance(column, (int, np.integer)) else f"{column} (position)"


def _select(X, columns):
    library = _frame_library(X)
    if library == "pandas":
        return X.iloc[:, [X.columns.get_loc(c) if isinstance(c, str) else c for c in columns]]
    if library == "polars":
        return X.select(columns)
    return X[:, columns]


def _check_encodable(table, kinds, who):
    """Refuse columns without a default encoding, and infinite numbers, naming them."""
    bad = [f"{_label(c)} ({kind})" for c, kind in kinds if kind not in (NUMBER, CATEGORY)]
    if bad:
        raise ValueError(
            f"{who} cannot encode the column(s) {', '.join(bad)} of X for its network: "
            "dates, durations and values other than numbers, text or categories have no "
            "default encoding. Convert them to numbers (e.g. days since the earliest date), "
            "drop them, or pass encoder=<a scikit-learn transformer> that encodes them."
        )
    numeric = [c for c, kind in kinds if kind == NUMBER]
    if numeric:
        infinite = np.isinf(as_numbers(_select(table, numeric))).any(axis=0)
        if infinite.any():
            names = ", ".join(_label(c) for c, bad in zip(numeric, infinite) if bad)
            raise ValueError(
                f"X holds infinite values in column(s) {names}; the encoding imputes missing "
                "values but not infinities. Replace them (e.g. with NaN, which is imputed) "
                "or drop those rows."
            )


def default_encoder(kinds):
    """The default encoding of a table whose columns have ``kinds`` (unfitted).

    Parameters
    ----------
    kinds : list of (column, kind)
        From :func:`table_kinds`; every kind NUMBER or CATEGORY.

    Returns
    -------
    encoder : sklearn.compose.ColumnTransformer
        Numbers imputed (median, with indicators) and scaled; categories one-hot
        with rare levels grouped and missing values as a level. Dense output.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = [c for c, kind in kinds if kind == NUMBER]
    categorical = [c for c, kind in kinds if kind == CATEGORY]
    parts = []
    if numeric:
        numbers_ = make_pipeline(
            FunctionTransformer(as_numbers, feature_names_out="one-to-one"),
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
        )
        parts.append(("numbers", numbers_, numeric))
    if categorical:
        levels = make_pipeline(
            FunctionTransformer(as_levels, feature_names_out="one-to-one"),
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=MIN_FREQUENCY,
                max_categories=MAX_CATEGORIES,
                sparse_output=False,
                dtype=np.float32,
            ),
        )
        parts.append(("categories", levels, categorical))
    return ColumnTransformer(parts, sparse_threshold=0.0).set_output(transform="default")


def fit_encoder(encoder, X, y, who):
    """Encode X for the network, or say that it needs no encoding.

    Parameters
    ----------
    encoder : "auto", None or a scikit-learn transformer
        The pruner's ``encoder`` parameter. "auto": the default encoding when X
        is a table (a DataFrame or a 2-D array) with text or categorical columns
        or with missing values, else nothing. None: nothing. A transformer: a clone of
        it, fitted on ``(X, y)``, always.
    X, y : the pruner's training data.
    who : str
        The pruner's class name, for messages.

    Returns
    -------
    X_encoded : ndarray or None
        The encoded rows, or None when X goes to the network as it is.
    fitted : transformer or None
        The fitted encoding (None with X_encoded).
    """
    if encoder is None:
        return None, None
    if not isinstance(encoder, str):
        fitted = clone(encoder)
        out = fitted.fit_transform(X, y)
        return _checked_output(out, fitted, who), fitted
    table, fitted = auto_encoder(X, who)
    if fitted is None:
        return None, None
    return np.asarray(fitted.fit_transform(table), dtype=np.float64), fitted


def auto_encoder(X, who):
    """What ``encoder="auto"`` does with X: ``(table, unfitted default encoder)``, or
    ``(None, None)`` when X goes to the network as it is. Columns without a default
    encoding raise a ValueError naming them."""
    table = _as_table(X)
    if table is None:
        return None, None
    kinds = table_kinds(table)
    if not _needs_encoding(table, kinds):
        return None, None
    _check_encodable(table, kinds, who)
    return table, default_encoder(kinds)


def _checked_output(out, fitted, who):
    if sp.issparse(out):
        out = out.toarray()
    out = out.to_numpy() if hasattr(out, "to_numpy") else np.asarray(out)
    if out.ndim != 2 or out.dtype.kind not in "biuf" or not np.isfinite(out).all():
        raise ValueError(
            f"{who}(encoder={type(fitted).__name__}(...)) must turn X into a 2-D array of "
            f"finite numbers for the network; it returned shape {out.shape}, dtype "
            f"{out.dtype}. Make the transformer impute and encode every column, or use "
            "encoder='auto'."
        )
    return out


def as_container(X, container, feature_names, index):
    """Kept rows ``X`` as a "pandas" or "polars" DataFrame (``set_output``).

    ``feature_names`` is a callable giving the column names of NumPy rows;
    ``index`` the kept row positions, the index of NumPy rows made a pandas
    DataFrame. A DataFrame of the asked library is returned as it is.
    """
    library = _frame_library(X)
    if library == container:
        return X
    if library is None and (sp.issparse(X) or np.ndim(X) != 2):
        raise ValueError(
            f"set_output(transform={container!r}) needs 2-D dense rows; X has "
            f"{'sparse rows' if sp.issparse(X) else f'{np.ndim(X)} dimensions'}. Use "
            "set_output(transform='default')."
        )
    if container == "pandas":
        import pandas as pd

        if library == "polars":
            return X.to_pandas().set_axis(pd.Index(index), axis=0)
        return pd.DataFrame(np.asarray(X), columns=feature_names(), index=index)
    import polars as pl

    if library == "pandas":
        return pl.from_pandas(X)
    return pl.DataFrame(np.asarray(X), schema=list(feature_names()), orient="row")
