"""Every documented error: raised before any training, with a useful message."""

from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch import NeuralNetClassifier

from sklearn_lpntk import LpNTK, LpNTKPruner, lpntk_kernel
from sklearn_lpntk.rules import Centres

from .conftest import fast_pruner

X = np.random.default_rng(0).normal(size=(20, 4))
y = np.repeat([0, 1], 10)


@pytest.fixture
def no_training():
    """Fail the test if a network starts training."""
    with mock.patch.object(
        NeuralNetClassifier, "partial_fit", side_effect=AssertionError("training started")
    ) as m:
        yield m


@pytest.mark.parametrize(
    "bad, encoder, fix",
    [(np.nan, None, "encoder='auto'"), (np.inf, None, "impute"), (np.inf, "auto", "impute")],
)
def test_non_finite_X(no_training, bad, encoder, fix):
    # NaN is imputed with the default encoder="auto" (tests/test_tables.py); infinity never
    Xb = X.copy()
    Xb[3, 1] = bad
    with pytest.raises(ValueError, match=r"(?i)X contains (NaN|infinity)") as exc:
        LpNTKPruner(encoder=encoder).fit(Xb, y)
    assert fix in str(exc.value)


def test_single_class(no_training):
    with pytest.raises(ValueError, match="single class .* at least two classes"):
        LpNTKPruner().fit(X, np.zeros(20))


def test_too_few_samples(no_training):
    with pytest.raises(ValueError, match="minimum of 2 is required.*at least 2 samples"):
        LpNTKPruner().fit(X[:1], y[:1])


def test_length_mismatch(no_training):
    with pytest.raises(ValueError, match="inconsistent numbers of samples.*one label per row"):
        LpNTKPruner().fit(X, y[:-1])


def test_y_missing(no_training):
    with pytest.raises(ValueError, match="requires y to be passed.*fit_resample"):
        LpNTKPruner().fit(X, None)


def test_continuous_y(no_training):
    with pytest.raises(ValueError, match="target type .continuous.*classification"):
        LpNTKPruner().fit(X, np.linspace(0, 1, 20))


def test_multilabel_y(no_training):
    Y = np.ones((20, 2), dtype=int)
    with pytest.raises(ValueError, match="(?i)multilabel"):
        LpNTKPruner().fit(X, Y)


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5])
def test_prune_ratio_out_of_range(no_training, ratio):
    with pytest.raises(
        ValueError,
        match=r"'prune_ratio' parameter of LpNTKPruner must be a "
        r"float in the range \[0.0, 1.0\)",
    ):
        LpNTKPruner(prune_ratio=ratio).fit(X, y)


@pytest.mark.parametrize(
    "name, value", [("keep", "heads"), ("keep", 3), ("kernel", "cosine"), ("max_memory", 0)]
)
def test_unknown_options(no_training, name, value):
    with pytest.raises(ValueError, match=f"'{name}' parameter of LpNTKPruner must be"):
        LpNTKPruner(**{name: value}).fit(X, y)


@pytest.mark.parametrize(
    "name, value",
    [
        ("normalize", "l2"),
        ("error_weighting", "magnitude"),
        ("strategy", "fast"),
        ("dtype", "float16"),
        ("projection_dim", 0),
        ("chunk_size", -1),
    ],
)
def test_unknown_kernel_options(no_training, name, value):
    with pytest.raises(ValueError, match=rf"LpNTK\({name}={value!r}\)"):
        LpNTKPruner(kernel=LpNTK(**{name: value})).fit(X, y)


def test_unknown_options_in_kernel():
    model = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match="normalize='l2' is not supported"):
        lpntk_kernel(model, X, y, normalize="l2")
    with pytest.raises(ValueError, match="error_weighting='x' is not supported"):
        lpntk_kernel(model, X, y, error_weighting="x")
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        lpntk_kernel(model, X, y, chunk_size=0)
    with pytest.raises(TypeError, match="'batch_size' is now chunk_size"):
        lpntk_kernel(model, X, y, batch_size=16)
    with pytest.raises(TypeError, match="'memory_budget' is now max_memory"):
        lpntk_kernel(model, X, y, memory_budget="1GB")


def test_sparse_is_supported_by_densifying():
    pruner = LpNTKPruner(max_epochs=1, random_state=0)
    X_res, _ = pruner.fit_resample(sp.csr_matrix(X), y)
    assert sp.issparse(X_res) and X_res.shape == (14, 4)


def test_non_numeric_X(no_training):
    Xs = np.array([["a", "b"]] * 20, dtype=object)  # one-hot by default (test_tables.py)
    with pytest.raises(ValueError, match="X must be numeric.*OneHotEncoder.*encoder='auto'"):
        LpNTKPruner(encoder=None).fit(Xs, y)
    images = np.full((20, 1, 2, 2), "a", dtype=object)  # no default encoding beyond 2-D
    with pytest.raises(ValueError, match="X must be numeric"):
        LpNTKPruner().fit(images, y)


class WrongShape(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 6)

    def forward(self, x):
        return self.lin(x).reshape(len(x), 2, 3)


class WrongWidth(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 5)

    def forward(self, x):
        return self.lin(x)


def test_module_output_not_logits(no_training):
    with pytest.raises(ValueError, match=r"logits of shape \(n_samples, n_classes\).*\(8, 2, 3\)"):
        LpNTKPruner(net=WrongShape).fit(X, y)
    with pytest.raises(ValueError, match="returns 5 logits but y has 2 classes"):
        LpNTKPruner(net=WrongWidth()).fit(X, y)
    with pytest.raises(ValueError, match="logits of shape"):
        lpntk_kernel(WrongShape(), X, y)


def test_kernel_labels_out_of_range():
    with pytest.raises(ValueError, match=r"class indices in \[0, 5\)"):
        lpntk_kernel(WrongWidth(), X, np.full(20, 7))


def test_bad_net_type(no_training):
    with pytest.raises(TypeError, match="net must be None.*got 'mlp'"):
        LpNTKPruner(net="mlp").fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(no_training):
    with pytest.raises(ValueError, match="device='cuda'.*CUDA is not available.*device='auto'"):
        LpNTKPruner(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="CUDA is not available"):
        lpntk_kernel(torch.nn.Linear(4, 2), X, y, device="cuda")


def test_unknown_device_string(no_training):
    with pytest.raises(ValueError, match="device='gpu0' is not a device torch understands"):
        LpNTKPruner(device="gpu0").fit(X, y)


def test_errors_leave_inputs_untouched(no_training):
    Xb = X.copy()
    Xb[0, 0] = np.nan
    before = Xb.copy()
    with pytest.raises(ValueError):
        LpNTKPruner(encoder=None).fit(Xb, y)
    np.testing.assert_array_equal(Xb, before)


def test_failed_refit_leaves_previous_fit_intact():
    pruner = LpNTKPruner(max_epochs=1, random_state=0).fit(X, y)
    before = pruner.sample_indices_.copy(), pruner.classes_.copy()
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    named = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="returns 5 logits"):
        pruner.set_params(net=WrongWidth()).fit(named, y)
    np.testing.assert_array_equal(pruner.sample_indices_, before[0])
    np.testing.assert_array_equal(pruner.classes_, before[1])
    # what input validation had already recorded is rolled back too
    assert pruner.n_features_in_ == 4 and not hasattr(pruner, "feature_names_in_")


def test_module_that_cannot_take_the_input(no_training):
    wide = np.random.default_rng(1).normal(size=(20, 6))
    with pytest.raises(ValueError, match=r"could not be applied to inputs of shape \(6,\)"):
        LpNTKPruner(net=WrongWidth()).fit(wide, y)
    with pytest.raises(ValueError, match="could not be applied"):
        lpntk_kernel(WrongWidth(), wide, y)


def test_refit_replaces_the_whole_fitted_state(small_digits):
    X, y = small_digits
    keep = Centres(selfmax="filter", drop_contradictory=0.0)
    pruner = fast_pruner(keep=keep, validation_fraction=0.2)
    pruner.fit(X, y)
    assert hasattr(pruner, "selfmax_") and hasattr(pruner, "validation_scores_")
    pruner.set_params(keep__selfmax=None, keep__drop_contradictory=None, validation_fraction=None)
    assert pruner.keep is keep and keep == Centres()
    pruner.fit(X[:300], y[:300])
    for stale in ("selfmax_", "contradictory_", "validation_scores_"):
        assert not hasattr(pruner, stale), stale
    assert len(pruner.self_kernel_) == 300


def test_checkpoints_must_be_whole_epochs(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="checkpoints must be whole epochs"):
        fast_pruner(checkpoints=[0.5, 1]).fit(X, y)
    assert fast_pruner(checkpoints=[1.0, 2]).fit(X, y).checkpoints_ == [1, 2]


def test_numpy_integers_from_a_grid_are_accepted(small_digits):
    X, y = small_digits
    pruner = fast_pruner(batch_size=np.int64(32), max_epochs=np.int64(1), max_memory=4e9).fit(X, y)
    assert pruner.net_.batch_size == 32 and isinstance(pruner.net_.batch_size, int)


def test_overflowing_features_fail_with_a_clear_message(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="StandardScaler"):
        fast_pruner().fit(X * 1e30, y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array(["a", "b", None, "a", "b", "a"], dtype=object), "missing values"),
        (np.array([0.0, 1.0, np.nan, 0.0, 1.0, 0.0]), "missing values"),
        (np.array([[1, 0], [0, 1], [0, 0], [1, 0], [0, 1], [1, 0]]), "exactly one 1"),
    ],
)
def test_labels_with_missing_values_or_empty_one_hot_rows(y, match):
    from sklearn_lpntk import RandomPruner

    with pytest.raises(ValueError, match=match):
        RandomPruner(0.3).fit(np.random.default_rng(0).random((6, 3)), y)


@pytest.mark.parametrize("device", ["meta", "mps", "quantum"])
def test_device_strings_are_checked(device, small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="device"):
        fast_pruner(device=device).fit(X, y)


def test_lpntk_kernel_validates_its_input():
    model = torch.nn.Linear(4, 3)
    X, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    with pytest.raises(ValueError, match="one label per row"):
        lpntk_kernel(model, X, y[:9])
    with pytest.raises(ValueError, match="1-D"):
        lpntk_kernel(model, X, torch.nn.functional.one_hot(y, 3))
    with pytest.raises(ValueError, match="integer class indices"):
        lpntk_kernel(model, X, y.double() + 0.5)
    with pytest.raises(ValueError, match="integer class indices"):
        lpntk_kernel(model, X.numpy(), np.array(list("abcabcabca")))
    with pytest.raises(ValueError, match="NaN"):
        lpntk_kernel(model, X.index_fill(0, torch.tensor([2]), float("nan")), y)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        lpntk_kernel(lambda x: x, X, y)
    assert lpntk_kernel(model, X, y.double()).shape == (10, 10)  # whole floats are fine


def _tiny():
    rng = np.random.default_rng(0)
    return rng.random((40, 4)).astype(np.float32), np.repeat([0, 1], 20)


@pytest.mark.parametrize(
    "make",
    [
        lambda net: __import__("sklearn_lpntk").EL2NPruner(max_epochs=1, n_inits=1, net=net),
        lambda net: __import__("sklearn_lpntk").ForgettingPruner(max_epochs=2, net=net),
        lambda net: LpNTKPruner(max_epochs=1, net=net),
    ],
)
@pytest.mark.parametrize(
    "net, match",
    [
        (torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Flatten(0)), "logits of shape"),
        (torch.nn.Linear(4, 1), "1 logits but y has 2 classes"),
        (torch.nn.Linear(5, 2), "could not be applied to inputs of shape"),
    ],
)
def test_every_trained_pruner_checks_its_network_before_training(make, net, match, monkeypatch):
    import skorch

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the network is wrong")

    monkeypatch.setattr(skorch.NeuralNetClassifier, "partial_fit", no_training)
    X, y = _tiny()
    with pytest.raises(ValueError, match=match) as info:
        make(net).fit(X, y)
    assert "sklearn_lpntk" in info.traceback[-1].path.as_posix()


def test_float64_module_is_trained_in_float32_with_a_warning():
    X, y = _tiny()
    with pytest.warns(UserWarning, match="float64 parameters"):
        pruner = LpNTKPruner(max_epochs=1, net=torch.nn.Linear(4, 2).double(), random_state=0).fit(
            X, y
        )
    assert next(pruner.net_.module_.parameters()).dtype == torch.float32


def test_tensor_requiring_grad_is_read_not_differentiated():
    X, y = _tiny()
    Xt = torch.tensor(X, requires_grad=True)
    X_kept, _ = LpNTKPruner(max_epochs=1, random_state=0).fit_resample(Xt, y)
    assert isinstance(X_kept, torch.Tensor) and Xt.grad is None


def test_skorch_net_without_a_module_class():
    X, y = _tiny()
    with pytest.raises(TypeError, match="net.module must be a torch.nn.Module"):
        LpNTKPruner(max_epochs=1, net=NeuralNetClassifier("not a module")).fit(X, y)


def test_categorical_columns_are_named_and_zero_features_explained():
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    X, y = _tiny()
    df = pd.DataFrame(X, columns=list("abcd"))
    df["c"] = pd.Categorical(["u", "v"] * 20)
    with pytest.raises(ValueError, match=r"non-numeric columns \['c'\].*encoder='auto'"):
        LpNTKPruner(max_epochs=1, encoder=None).fit(df, y)
    with pytest.raises(ValueError, match="X has no features"):
        LpNTKPruner(max_epochs=1).fit(np.zeros((40, 0)), y)


def test_float32_dataframe_gives_no_warning():
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    import warnings

    X, y = _tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LpNTKPruner(max_epochs=1, random_state=0).fit(pd.DataFrame(X), y)
