"""Tables in, their kept rows out: categories, text, missing values, polars, set_output."""

import numpy as np
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OrdinalEncoder, StandardScaler
from torch import nn

from sklearn_lpntk import (
    EL2NPruner,
    LpNTKCleaner,
    LpNTKPruner,
    RandomPruner,
    make_pipeline,
)

from ._counts import expected_counts

pd = pytest.importorskip("pandas", reason="pandas is in the test extra")

N = 120


def mixed_frame(n=N, seed=0):
    """A credit-like table: numbers with NaN, nullable integers with NA, booleans, text
    with None, a category dtype with an unused level, and a custom string index."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.4, "bad", "good")
    income = rng.normal(5000, 1500, n) + (y == "good") * 1500
    income[rng.random(n) < 0.1] = np.nan
    home = rng.choice(["rent", "own", "parents"], n).astype(object)
    home[rng.random(n) < 0.1] = None
    job = pd.Categorical(
        rng.choice(["fixed", "freelance", None], n), categories=["fixed", "freelance", "other"]
    )
    age = pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(18, 80, n)), dtype="Int64")
    frame = pd.DataFrame(
        {
            "income": income,
            "home": home,
            "job": job,
            "records": rng.random(n) < 0.3,
            "age": age,
        },
        index=pd.Index([f"client-{i:03d}" for i in range(n)], name="id"),
    )
    return frame, pd.Series(y, index=frame.index, name="Status")


def _first_linear(module):
    return next(m for m in module.modules() if isinstance(m, nn.Linear))


def test_mixed_dataframe_gives_its_own_rows_back():
    X, y = mixed_frame()
    X_before, y_before = X.copy(), y.copy()
    pruner = LpNTKPruner(0.3, max_epochs=1, random_state=0)
    X_kept, y_kept = pruner.fit_resample(X, y)
    # the input is untouched, the output is the input's own rows
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)
    expected = X_before.iloc[pruner.sample_indices_]
    pd.testing.assert_frame_equal(X_kept, expected)  # values, NaN/None/NA, dtypes, index
    assert list(X_kept.dtypes) == list(X_before.dtypes)
    assert list(X_kept["job"].cat.categories) == ["fixed", "freelance", "other"]
    assert X_kept.index.name == "id" and X_kept.index.str.startswith("client-").all()
    pd.testing.assert_series_equal(y_kept, y_before.iloc[pruner.sample_indices_])
    assert X_kept.isna().sum().sum() == X_before.iloc[pruner.sample_indices_].isna().sum().sum()
    kept_per_class = y_kept.value_counts().to_dict()
    assert kept_per_class == expected_counts(y.to_numpy(), 0.3)
    # the pruner describes the user's columns; the encoding is fitted and inspectable
    assert pruner.n_features_in_ == 5
    assert list(pruner.feature_names_in_) == list(X.columns)
    names = list(pruner.encoder_.get_feature_names_out())
    assert "numbers__missingindicator_income" in names
    assert "numbers__missingindicator_age" in names
    assert "numbers__missingindicator_records" not in names  # no missing booleans
    assert "categories__home_nan" in names and "categories__job_nan" in names
    encoded = pruner.encoder_.transform(X)
    assert encoded.shape == (N, len(names)) and np.isfinite(encoded).all()
    indicator = encoded[:, names.index("numbers__missingindicator_income")]  # scaled 0 / 1
    np.testing.assert_array_equal(indicator > indicator.min(), X["income"].isna().to_numpy())
    # the network read exactly the encoded columns
    assert _first_linear(pruner.net_.module_).in_features == len(names)
    # the same random_state, the same rows
    again = LpNTKPruner(0.3, max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.sample_indices_, pruner.sample_indices_)


def test_fit_transform_and_the_other_pruners_on_a_mixed_table():
    X, y = mixed_frame()
    for pruner in (
        RandomPruner(0.5, random_state=0),
        EL2NPruner(0.5, max_epochs=1, n_inits=1, random_state=0),
        LpNTKCleaner(max_epochs=1, random_state=0),
    ):
        X_kept, y_kept = pruner.fit_transform(X, y)
        pd.testing.assert_frame_equal(X_kept, X.iloc[pruner.sample_indices_])
        assert (y_kept.index == X_kept.index).all()
        assert pruner.encoder_ is not None and pruner.n_features_in_ == 5


def test_text_in_a_two_dimensional_list_or_array():
    X, y = mixed_frame()
    rows = X[["income", "home"]].astype(object).to_numpy()
    pruner = RandomPruner(0.5, random_state=0)
    X_kept, _ = pruner.fit_resample(rows.tolist(), y.to_numpy())
    assert isinstance(X_kept, list)
    assert X_kept == [rows.tolist()[i] for i in pruner.sample_indices_]
    # numbers stay numbers (scaled, imputed), text is one-hot
    kinds = [name.split("__")[0] for name in pruner.encoder_.get_feature_names_out()]
    assert kinds.count("numbers") == 2  # income and its missing-value indicator


def test_numeric_input_is_not_encoded():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = np.repeat([0, 1], 30)
    array = LpNTKPruner(0.3, max_epochs=1, random_state=0).fit(X, y)
    frame = LpNTKPruner(0.3, max_epochs=1, random_state=0).fit(
        pd.DataFrame(X, columns=list("abcd")), y
    )
    assert array.encoder_ is None and frame.encoder_ is None
    np.testing.assert_array_equal(array.sample_indices_, frame.sample_indices_)
    assert _first_linear(array.net_.module_).in_features == 4


def test_nan_in_a_numeric_array_is_imputed_and_kept():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[[2, 7], 1] = np.nan
    y = np.repeat([0, 1], 30)
    pruner = LpNTKPruner(0.3, max_epochs=1, random_state=0)
    X_kept, _ = pruner.fit_resample(X, y)
    np.testing.assert_array_equal(X_kept, X[pruner.sample_indices_])  # NaN where it was
    assert list(pruner.encoder_.get_feature_names_out()) == [
        "numbers__x0",
        "numbers__x1",
        "numbers__x2",
        "numbers__missingindicator_x1",
    ]


def test_encoder_none_refuses_and_names_the_parameter():
    X, y = mixed_frame()
    with pytest.raises(ValueError, match=r"non-numeric columns \['home', 'job'\].*encoder='auto'"):
        LpNTKPruner(encoder=None).fit(X, y)
    numbers = X[["income"]].to_numpy()
    with pytest.raises(ValueError, match="NaN.*encoder='auto'"):
        LpNTKPruner(encoder=None).fit(numbers, y)


def test_own_encoder_is_cloned_fitted_and_used():
    X, y = mixed_frame()
    mine = ColumnTransformer(
        [
            ("text", OrdinalEncoder(encoded_missing_value=-1), ["home", "job"]),
            ("numbers", StandardScaler(), ["records"]),
        ]
    )
    pruner = LpNTKPruner(0.3, encoder=mine, max_epochs=1, random_state=0)
    X_kept, _ = pruner.fit_resample(X, y)
    assert not hasattr(mine, "transformers_")  # the argument is never fitted
    assert pruner.encoder_ is not mine and hasattr(pruner.encoder_, "transformers_")
    assert _first_linear(pruner.net_.module_).in_features == 3
    pd.testing.assert_frame_equal(X_kept, X.iloc[pruner.sample_indices_])
    leaky = ColumnTransformer([("income", "passthrough", ["income"])])  # keeps the NaN
    with pytest.raises(ValueError, match="encoder=ColumnTransformer.*finite numbers"):
        LpNTKPruner(encoder=leaky, max_epochs=1).fit(X, y)


def test_a_table_without_a_default_encoding_names_the_column():
    X, y = mixed_frame()
    tags = X.assign(tags=[["a", "b"]] * N)
    with pytest.raises(ValueError, match=r"'tags' \(values that are neither numbers nor text"):
        LpNTKPruner().fit(tags, y)
    when = X.assign(when=pd.date_range("2020-01-01", periods=N))
    with pytest.raises(ValueError, match=r"dates or durations \(columns \['when'\]\)"):
        LpNTKPruner().fit(when, y)
    infinite = X.copy()
    infinite.iloc[3, 0] = np.inf
    with pytest.raises(ValueError, match="infinite values in column.*'income'"):
        LpNTKPruner().fit(infinite, y)


def test_polars_in_polars_out():
    pl = pytest.importorskip("polars", reason="polars is in the test extra")
    X, y = mixed_frame()
    frame = pl.from_pandas(X.reset_index())  # id as a text column: grouped as rare levels
    labels = pl.Series("Status", y.to_numpy())
    for pruner in (
        LpNTKPruner(0.3, max_epochs=1, random_state=0),
        RandomPruner(0.3, random_state=0),
        LpNTKCleaner(max_epochs=1, random_state=0),
    ):
        X_kept, y_kept = pruner.fit_resample(frame, labels)
        assert isinstance(X_kept, pl.DataFrame) and isinstance(y_kept, pl.Series)
        assert X_kept.schema == frame.schema
        assert X_kept.equals(frame[pruner.sample_indices_.tolist()])
        assert y_kept.to_list() == [labels[int(i)] for i in pruner.sample_indices_]
        assert list(pruner.feature_names_in_) == frame.columns
    numeric = pl.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) ** 2})
    pruner = LpNTKPruner(0.3, max_epochs=1, random_state=0)
    X_kept, _ = pruner.fit_resample(numeric, np.repeat([0, 1], 20))
    assert pruner.encoder_ is None and isinstance(X_kept, pl.DataFrame)


def test_set_output_chooses_the_container_of_the_kept_rows():
    pl = pytest.importorskip("polars", reason="polars is in the test extra")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    pruner = RandomPruner(0.5, random_state=0).set_output(transform="pandas")
    X_kept, y_kept = pruner.fit_resample(X, y)
    assert isinstance(X_kept, pd.DataFrame) and list(X_kept.columns) == ["x0", "x1", "x2"]
    assert list(X_kept.index) == list(pruner.sample_indices_)
    np.testing.assert_array_equal(X_kept.to_numpy(), X[pruner.sample_indices_])
    assert isinstance(y_kept, np.ndarray)  # y keeps its own container
    X_kept, _ = pruner.set_output(transform="polars").fit_resample(X, y)
    assert isinstance(X_kept, pl.DataFrame) and X_kept.columns == ["x0", "x1", "x2"]
    frame, labels = mixed_frame()
    X_kept, _ = pruner.fit_resample(frame, labels)  # pandas converted to polars
    assert isinstance(X_kept, pl.DataFrame) and X_kept.columns == list(frame.columns)
    with sklearn.config_context(transform_output="pandas"):  # the global setting
        X_kept, _ = RandomPruner(0.5, random_state=0).fit_resample(X, y)
    assert isinstance(X_kept, pd.DataFrame)
    X_kept, _ = RandomPruner(0.5, random_state=0).set_output(transform="default").fit_resample(X, y)
    assert isinstance(X_kept, np.ndarray)
    # a pipeline passes its setting to its samplers
    pipe = make_pipeline(RandomPruner(0.5, random_state=0)).set_output(transform="polars")
    assert isinstance(pipe.fit_resample(X, y)[0], pl.DataFrame)
    with pytest.raises(ValueError, match="choose 'default', 'pandas' or 'polars'"):
        RandomPruner().set_output(transform="arrow")
