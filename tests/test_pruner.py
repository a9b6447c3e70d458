"""LpNTKPruner end to end: containers, counts, nets, reproducibility, params."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from skorch import NeuralNetClassifier

from sklearn_lpntk import LogitMLP, LpNTK, LpNTKPruner

from ._counts import expected_counts
from .conftest import fast_pruner


@pytest.mark.parametrize("prune_ratio", [0.0, 0.1, 0.5, 0.9])
def test_exact_per_class_counts_with_tiny_classes(prune_ratio):
    rng = np.random.default_rng(0)
    sizes = {0: 40, 1: 7, 2: 2, 3: 1}
    y = np.concatenate([np.full(s, c) for c, s in sizes.items()])
    X = rng.normal(size=(len(y), 5)) + y[:, None]
    pruner = fast_pruner(prune_ratio=prune_ratio).fit(X, y)
    kept_y = y[pruner.sample_indices_]
    got = dict(zip(*np.unique(kept_y, return_counts=True)))
    assert got == expected_counts(y, prune_ratio)
    assert pruner.sampling_strategy_ == expected_counts(y, prune_ratio)
    assert np.all(np.diff(pruner.sample_indices_) > 0)
    if prune_ratio == 0.0:
        np.testing.assert_array_equal(pruner.sample_indices_, np.arange(len(y)))


def test_fitted_attributes_are_consistent(small_digits):
    X, y = small_digits
    pruner = fast_pruner(prune_ratio=0.3).fit(X, y)
    n = len(y)
    np.testing.assert_array_equal(pruner.classes_, np.unique(y))
    assert pruner.n_features_in_ == X.shape[1]
    assert pruner.cluster_labels_.shape == (n,) and pruner.self_kernel_.shape == (n,)
    # with keep="centres" the kept rows are exactly the centres
    np.testing.assert_array_equal(pruner.sample_indices_, pruner.centres_)
    np.testing.assert_array_equal(np.unique(pruner.cluster_labels_), pruner.centres_)
    # every row's centre has its label (clustering is per class)
    np.testing.assert_array_equal(y[pruner.cluster_labels_], y)
    assert np.all(pruner.self_kernel_ > 0)
    assert set(pruner.timings_) == {"setup", "training", "kernel", "selection"}
    mask = pruner.get_support()
    assert mask.sum() == len(pruner.sample_indices_)
    np.testing.assert_array_equal(pruner.get_support(indices=True), pruner.sample_indices_)
    assert isinstance(pruner.net_, NeuralNetClassifier)


def test_self_kernel_matches_public_kernel(small_digits):
    from sklearn_lpntk import lpntk_kernel

    X, y = small_digits
    pruner = fast_pruner().fit(X, y)
    idx = np.flatnonzero(y == 3)[:20]
    y_enc = np.searchsorted(pruner.classes_, y[idx])
    K = lpntk_kernel(pruner.net_.module_, X[idx].astype(np.float32), y_enc, device="cpu")
    np.testing.assert_allclose(np.diagonal(K), pruner.self_kernel_[idx], rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_fit_resample_and_fit_transform_on_arrays(small_digits, dtype):
    X, y = small_digits
    X = X.astype(dtype)
    X_copy, y_copy = X.copy(), y.copy()
    pruner = fast_pruner(prune_ratio=0.3)
    X_res, y_res = pruner.fit_resample(X, y)
    assert X_res.dtype == dtype and isinstance(X_res, np.ndarray)
    np.testing.assert_array_equal(X_res, X[pruner.sample_indices_])
    np.testing.assert_array_equal(y_res, y[pruner.sample_indices_])
    X_t, y_t = clone(pruner).fit_transform(X, y)
    np.testing.assert_array_equal(X_t, X_res)
    np.testing.assert_array_equal(y_t, y_res)
    np.testing.assert_array_equal(X, X_copy)  # inputs never mutated
    np.testing.assert_array_equal(y, y_copy)


def test_dataframe_keeps_index_and_string_labels(small_digits):
    X, y = small_digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    index = pd.Index([f"row{i}" for i in range(len(y))])
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])], index=index)
    s = pd.Series(names[y], index=index, name="digit")
    pruner = fast_pruner(prune_ratio=0.5)
    X_res, y_res = pruner.fit_resample(df, s)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    pd.testing.assert_frame_equal(X_res, df.iloc[pruner.sample_indices_])
    pd.testing.assert_series_equal(y_res, s.iloc[pruner.sample_indices_])
    assert list(X_res.index) == [f"row{i}" for i in pruner.sample_indices_]
    np.testing.assert_array_equal(pruner.feature_names_in_, df.columns)
    assert set(pruner.classes_) == set(names)
    # string labels give the same selection as their integer codes
    codes = fast_pruner(prune_ratio=0.5).fit(X, np.searchsorted(np.sort(names), names[y]))
    np.testing.assert_array_equal(codes.sample_indices_, pruner.sample_indices_)


def test_lists_tensors_and_sparse(small_digits):
    X, y = small_digits
    X, y = X[:200], y[:200]
    ref = fast_pruner().fit(X, y).sample_indices_
    X_l, y_l = fast_pruner().fit_resample(X.tolist(), y.tolist())
    assert isinstance(X_l, list) and isinstance(y_l, list) and len(X_l) == len(ref)
    X_t, y_t = fast_pruner().fit_resample(torch.as_tensor(X), torch.as_tensor(y))
    assert isinstance(X_t, torch.Tensor)
    np.testing.assert_array_equal(X_t.numpy(), X[ref])
    X_s, y_s = fast_pruner().fit_resample(sp.csr_matrix(X), y)
    assert sp.issparse(X_s)
    np.testing.assert_array_equal(X_s.toarray(), X[ref])


def test_same_random_state_same_result_and_clone(small_digits):
    X, y = small_digits
    for keep in ["centres", "random_member", "thin_largest"]:
        a = fast_pruner(keep=keep, random_state=7).fit(X, y)
        b = clone(a).fit(X, y)
        np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    c = fast_pruner(random_state=8).fit(X, y)
    assert len(c.sample_indices_) == len(a.sample_indices_)


def test_random_state_leaves_global_torch_rng_alone(small_digits):
    X, y = small_digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fast_pruner().fit(X[:100], y[:100])
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("keep", ["random_member", "thin_largest"])
def test_other_keep_rules_end_to_end(small_digits, keep):
    X, y = small_digits
    pruner = fast_pruner(keep=keep, prune_ratio=0.4).fit(X, y)
    got = dict(zip(*np.unique(y[pruner.sample_indices_], return_counts=True)))
    assert got == expected_counts(y, 0.4)
    # the kept rows still cover every cluster
    assert set(np.unique(pruner.cluster_labels_[pruner.sample_indices_])) == set(pruner.centres_)


def test_get_params_set_params_nested_net_and_clone(small_digits):
    X, y = small_digits
    net = NeuralNetClassifier(
        LogitMLP,
        module__hidden_units=(32,),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=1,
        train_split=None,
        verbose=0,
    )
    pruner = LpNTKPruner(net=net, random_state=0)
    params = pruner.get_params(deep=True)
    assert params["net__module__hidden_units"] == (32,)
    pruner.set_params(net__module__hidden_units=(16,), prune_ratio=0.5)
    assert net.module__hidden_units == (16,)  # set_params reaches the nested net
    params_before = net.get_params()
    fitted = clone(pruner).fit(X, y)
    assert fitted.net_.module_.layers[1].out_features == 16
    assert fitted.net_.module_.layers[1].in_features == X.shape[1]  # inferred
    assert fitted.net_.module_.layers[-1].out_features == 10
    # fitting never touches the user's net: no new parameters, never initialised
    assert net.get_params().keys() == params_before.keys()
    assert "module__n_inputs" not in net.get_params() and not hasattr(net, "module_")
    refit = clone(fitted)
    assert not hasattr(refit, "sample_indices_") and refit.prune_ratio == 0.5


def test_pickle_fitted_and_unfitted(small_digits):
    X, y = small_digits
    pruner = fast_pruner()
    assert pickle.loads(pickle.dumps(pruner)).get_params() == pruner.get_params()
    pruner.fit(X, y)
    restored = pickle.loads(pickle.dumps(pruner))
    np.testing.assert_array_equal(restored.sample_indices_, pruner.sample_indices_)
    np.testing.assert_array_equal(
        restored.net_.predict(X.astype(np.float32)), pruner.net_.predict(X.astype(np.float32))
    )


class TinyCNN(torch.nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, n_classes)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def test_module_class_instance_and_images(small_digits):
    X, y = small_digits
    images = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    by_class = fast_pruner(net=TinyCNN).fit(images, y)  # n_classes filled in
    assert by_class.net_.module_.fc.out_features == 10
    instance = TinyCNN()
    before = {k: v.clone() for k, v in instance.state_dict().items()}
    X_res, y_res = fast_pruner(net=instance).fit_resample(images, y)
    assert X_res.shape[1:] == (1, 8, 8)
    for k, v in instance.state_dict().items():  # the user's instance is not trained
        assert torch.equal(v, before[k])


def test_no_transform_but_a_helpful_message():
    pruner = LpNTKPruner()
    assert not hasattr(pruner, "transform")
    with pytest.raises(AttributeError, match="fit_resample"):
        pruner.transform(np.zeros((2, 2)))
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        pruner.bogus


def test_user_net_with_nllloss_warns(small_digits):
    X, y = small_digits
    net = NeuralNetClassifier(LogitMLP, max_epochs=1, train_split=None, verbose=0)
    with pytest.warns(UserWarning, match="CrossEntropyLoss"):
        LpNTKPruner(net=net).fit(X[:100], y[:100])


def test_verbose_reports_progress_and_timing(small_digits, capsys):
    X, y = small_digits
    fast_pruner(verbose=1).fit(X[:200], y[:200])
    out = capsys.readouterr()
    assert "LpNTKPruner kept" in out.out
    for phase in ("training", "kernel", "selection"):
        assert phase in out.out
    assert "lpNTK: gradients" in out.err and "lpNTK: classes" in out.err


def test_full_error_weighting_and_normalizations_run(small_digits):
    X, y = small_digits
    for kw in (
        {"normalize": None, "error_weighting": "full"},
        {"normalize": "K"},
        {"normalize": "cosine"},
    ):
        pruner = fast_pruner(kernel=LpNTK(**kw)).fit(X[:200], y[:200])
        assert len(pruner.sample_indices_) == sum(expected_counts(y[:200], 0.3).values())
    cos = fast_pruner(kernel=LpNTK(normalize="cosine")).fit(X[:200], y[:200])
    np.testing.assert_allclose(cos.self_kernel_, 1.0, rtol=1e-5)


def test_kernel_at_initialisation_and_chunking_does_not_matter(small_digits):
    X, y = small_digits
    at_init = fast_pruner(max_epochs=0).fit(X, y)
    assert len(at_init.net_.history) == 0
    a = fast_pruner(kernel=LpNTK(normalize=None, chunk_size=7)).fit(X, y)
    b = fast_pruner(kernel=LpNTK(normalize=None, chunk_size=500)).fit(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    np.testing.assert_allclose(a.self_kernel_, b.self_kernel_, rtol=1e-5)
    assert not np.array_equal(at_init.self_kernel_, a.self_kernel_)


def test_skorch_classifier_downstream_in_pipeline(small_digits):
    from sklearn_lpntk import make_pipeline

    X, y = small_digits
    X32 = (X / 16.0).astype(np.float32)
    clf = NeuralNetClassifier(
        LogitMLP,
        module__n_inputs=64,
        module__n_classes=10,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=20,
        lr=0.5,
        train_split=None,
        verbose=0,
    )
    pipe = make_pipeline(fast_pruner(prune_ratio=0.3), clf).fit(X32, y.astype(np.int64))
    assert len(pipe.named_steps["neuralnetclassifier"].history) == 20
    assert pipe.predict(X32).shape == (len(y),)
    assert pipe.score(X32, y) > 0.5
