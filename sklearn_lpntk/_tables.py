"""Reading and writing the command line's data files: CSV, Parquet and NPZ.

A :class:`Table` keeps what is needed to write the kept rows back in the
input's own format: the original CSV cells as text, the Arrow table, or every
array of the NPZ file. The features a pruner reads are a float array when every
feature column is numeric and complete (as before 0.7), else an object array
in which numeric columns hold floats (NaN for a blank) and text columns hold
their text (None for a blank); the pruner encodes such a table for its network
(``encoder="auto"``), and the rows written are always the input's own. Errors
are ``DataError`` with one-line messages that name the file, the column and the
fix.
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DataError", "Table", "FORMATS", "read_table", "format_of"]

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}


class DataError(ValueError):
    """Bad input data; the command line prints it as one line and exits with 2."""


@dataclass
class Table:
    """Features, labels and what is needed to write a subset of rows back."""

    X: np.ndarray
    y: np.ndarray
    format: str
    feature_names: list = field(default_factory=list)
    source: object = None  # csv: (header, rows, delimiter); parquet: pa.Table; npz: dict

    def write(self, path, indices):
        """Write the rows ``indices`` (sorted) to ``path`` in the input's format."""
        indices = np.sort(np.asarray(indices, dtype=int))
        path = Path(path)
        if self.format == "csv":
            header, rows, delimiter = self.source
            with open(path, "w", newline="") as f:
                writer = csv.writer(f, delimiter=delimiter)
                writer.writerow(header)
                writer.writerows(rows[i] for i in indices)
        elif self.format == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(self.source.take(indices), path)
        else:
            n = len(self.y)
            arrays = {
                k: (v[indices] if v.ndim and v.shape[0] == n else v) for k, v in self.source.items()
            }
            with open(path, "wb") as f:  # np.savez would append ".npz" to other names
                np.savez(f, **arrays)


def format_of(path, what="input"):
    """The format name of ``path`` from its suffix, or a DataError naming the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(
            f"{what} file {str(path)!r} has an unknown suffix {suffix!r}; use one of "
            f"{', '.join(sorted(FORMATS))}."
        )
    return FORMATS[suffix]


def read_table(path, *, target=None, ignore=(), x_key="X", y_key="y", sep=None):
    """Read features and labels from a CSV, Parquet or NPZ file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {str(path)!r} does not exist.")
    fmt = format_of(path)
    if fmt == "npz":
        return _read_npz(path, x_key, y_key)
    if target is None:
        raise DataError(f"{path.name} is a table: name its label column with --target.")
    if fmt == "csv":
        header, rows, delimiter = _read_csv(path, sep)
        columns = {name: [row[j] for row in rows] for j, name in enumerate(header)}
        source = (header, rows, delimiter)
    else:
        table = _read_parquet(path)
        header = table.column_names
        columns = {name: table.column(name) for name in header}
        source = table
    if target not in columns:
        shown = ", ".join(header[:8]) + (f", ... ({len(header)} in all)" if len(header) > 8 else "")
        raise DataError(f"target column {target!r} is not in {path.name}; its columns are {shown}.")
    missing = [c for c in ignore if c not in columns]
    if missing:
        raise DataError(f"--ignore names columns not in {path.name}: {', '.join(missing)}.")
    features = [c for c in header if c != target and c not in ignore]
    if not features:
        raise DataError(f"{path.name} has no feature columns besides the target {target!r}.")
    if fmt == "csv":
        X = _stack([_feature_csv(columns[c], c, path.name) for c in features])
        y = _labels_csv(columns[target], target, path.name)
    else:
        X = _stack([_feature_arrow(columns[c], c, path.name) for c in features])
        y = _labels_arrow(columns[target], target, path.name)
    return Table(X=X, y=y, format=fmt, feature_names=features, source=source)


def _stack(columns):
    """The feature columns as one array: float when all are numbers, else object."""
    if all(c.dtype != object for c in columns):
        return np.column_stack(columns)
    X = np.empty((len(columns[0]), len(columns)), dtype=object)
    for j, c in enumerate(columns):
        X[:, j] = c
    return X


def _read_csv(path, sep):
    with open(path, newline="") as f:
        text = f.read()
    if not text.strip():
        raise DataError(f"{path.name} is empty.")
    delimiter = sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)  # quoted newlines stay
    header = next(reader)
    rows = [row for row in reader if row]
    if len(set(header)) != len(header):
        raise DataError(f"{path.name} has repeated column names in its header.")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise DataError(
                f"{path.name} line {i + 2} has {len(row)} fields where the header "
                f"has {len(header)}."
            )
    if not rows:
        raise DataError(f"{path.name} has a header but no rows.")
    return header, rows, delimiter


#: Cells read as missing values (after stripping, in any case).
MISSING_CELLS = ("", "nan", "na", "null")


def _feature_csv(cells, name, fname):
    """A numeric column as floats (NaN for a missing cell), else its text (None for one)."""
    missing = [cell.strip().lower() in MISSING_CELLS for cell in cells]
    out = np.full(len(cells), np.nan)
    for i, cell in enumerate(cells):
        if missing[i]:
            continue
        try:
            out[i] = float(cell)
        except ValueError:  # a text column: the encoding one-hot encodes its values
            return np.array([None if m else c for c, m in zip(cells, missing)], dtype=object)
    bad = np.flatnonzero(np.isinf(out))
    if len(bad):
        raise DataError(
            f"column {name!r} of {fname} has an infinite value on line {bad[0] + 2}; leave "
            "the cell empty to have it imputed, or drop the row."
        )
    return out


def _labels_csv(cells, name, fname):
    empty = [i for i, c in enumerate(cells) if c.strip() == ""]
    if empty:
        raise DataError(
            f"target column {name!r} of {fname} is empty on line {empty[0] + 2}; "
            "drop unlabelled rows first."
        )
    try:
        return np.array([int(c) for c in cells])
    except ValueError:
        return np.array(cells, dtype=object).astype(str)


def _read_parquet(path):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install pyarrow.") from None
    try:
        return pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
        raise DataError(
            f"{path.name} is not a readable Parquet file: {exc}".splitlines()[0]
        ) from None


def _feature_arrow(column, name, fname):
    """Numbers and booleans as floats (NaN for a null), text and dictionary (categorical)
    columns as text (None for a null); other types name the column."""
    import pyarrow as pa

    t = column.type
    if (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or (pa.types.is_decimal(t))
    ):
        out = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if np.isinf(out).any():
            raise DataError(
                f"column {name!r} of {fname} has infinite values; make them null to have "
                "them imputed, or drop those rows."
            )
        return out
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return np.array([None if v is None else str(v) for v in column.to_pylist()], dtype=object)
    what = (
        "dates or times" if pa.types.is_temporal(t) else "values that are neither numbers nor text"
    )
    raise DataError(
        f"column {name!r} of {fname} holds {what} ({t}); convert it to numbers, or leave it "
        f"out with --ignore {name}."
    )


def _labels_arrow(column, name, fname):
    if column.null_count:
        raise DataError(
            f"target column {name!r} of {fname} has {column.null_count} missing "
            "values; drop unlabelled rows first."
        )
    y = column.to_numpy()
    return y.astype(str) if y.dtype == object else y


def _read_npz(path, x_key, y_key):
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - zipfile and numpy raise several types
        raise DataError(f"{path.name} is not a readable .npz file: {exc}".splitlines()[0]) from None
    for key, flag in ((x_key, "--x-key"), (y_key, "--y-key")):
        if key not in arrays:
            raise DataError(
                f"{path.name} has no array {key!r} (it has "
                f"{', '.join(arrays) or 'none'}); name the right one with {flag}."
            )
    X, y = arrays[x_key], arrays[y_key]
    if y.ndim != 1 or X.ndim < 2 or len(X) != len(y):
        raise DataError(
            f"{path.name}: {x_key} must have shape (n, features...) and {y_key} "
            f"shape (n,); got {X.shape} and {y.shape}."
        )
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise DataError(f"{path.name}: {x_key} is not numeric ({X.dtype}).")
    return Table(X=X, y=y, format="npz", source=arrays)
