"""Bad and unusual inputs: every case of the catalogue (tests/_bad_inputs.py) ends as
documented (a ValueError/TypeError raised from this package whose message names the
problem, or a normal fit where the input is merely unusual), and what some of them do
beyond their messages (zero-size axes, BatchNorm's one-row batch, fit parameters)."""

import numpy as np
import pandas as pd
import pytest
import torch
from skorch import NeuralNetClassifier

from sklearn_lpntk import EL2NPruner, ForgettingPruner, LpNTKPruner, RandomPruner, lpntk_kernel

from ._bad_inputs import BatchNormCNN, BatchNormMLP, as_documented, cases, outcome
from ._counts import kept_count

CASES = cases()


@pytest.mark.parametrize("name, call, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_handled_as_documented(name, call, expect):
    result = outcome(call)
    assert as_documented(result, expect), f"{name}: got {result}, expected {expect}"


def _rows(n, shape=(4,)):
    rng = np.random.default_rng(0)
    return rng.random((n, *shape)).astype(np.float32), np.arange(n) % 2


def _rows_seen(net):
    """Training rows seen in every epoch, from the skorch history."""
    return [sum(b["train_batch_size"] for b in epoch["batches"]) for epoch in net.history]


@pytest.mark.parametrize(
    "make",
    [
        lambda **p: LpNTKPruner(max_epochs=2, random_state=0, **p),
        lambda **p: EL2NPruner(max_epochs=2, n_inits=1, random_state=0, **p),
        lambda **p: ForgettingPruner(max_epochs=2, random_state=0, **p),
    ],
)
def test_batchnorm_drops_only_a_last_batch_of_one_row(make):
    X, y = _rows(65)
    pruner = make(net=BatchNormMLP, batch_size=64).fit(X, y)
    assert _rows_seen(pruner.net_) == [64, 64]  # one row fewer per epoch
    assert len(pruner.sample_indices_) == kept_count(y, 0.3)  # every row was scored
    images, y = _rows(65, (1, 6, 6))
    assert _rows_seen(make(net=BatchNormCNN, batch_size=64).fit(images, y).net_) == [64, 64]
    X, y = _rows(66)  # a last batch of two rows trains
    assert _rows_seen(make(net=BatchNormMLP, batch_size=64).fit(X, y).net_) == [66, 66]
    X, y = _rows(65)  # without BatchNorm nothing is dropped
    assert _rows_seen(make(batch_size=64).fit(X, y).net_) == [65, 65]


def test_the_kernel_of_a_batchnorm_fit_still_covers_every_row():
    X, y = _rows(65)
    pruner = LpNTKPruner(0.5, net=BatchNormMLP, batch_size=64, max_epochs=1, random_state=0).fit(
        X, y
    )
    assert pruner.self_kernel_.shape == (65,) and np.all(np.isfinite(pruner.self_kernel_))
    assert sorted(pruner.sampling_strategy_.values()) == [16, 16]


def test_a_users_skorch_batchnorm_net_is_not_modified():
    X, y = _rows(65)
    net = NeuralNetClassifier(
        BatchNormMLP,
        criterion=torch.nn.CrossEntropyLoss,
        batch_size=64,
        max_epochs=1,
        train_split=None,
    )
    pruner = LpNTKPruner(net=net, random_state=0).fit(X, y)
    assert _rows_seen(pruner.net_) == [64]
    assert "iterator_train__drop_last" not in net.get_params()


def test_log_probabilities_warn_and_probabilities_are_refused_before_training():
    X, y = _rows(60)
    y = np.arange(60) % 3
    log_softmax = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LogSoftmax(dim=1))
    with pytest.warns(UserWarning, match="log-probabilities"):
        LpNTKPruner(net=log_softmax, max_epochs=1, random_state=0).fit(X, y)
    softmax = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
    with pytest.raises(ValueError, match="without the softmax"):
        LpNTKPruner(net=softmax, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="probabilities, not logits"):
        lpntk_kernel(softmax, X, y)
    plain = torch.nn.Linear(4, 3)  # logits of any sign: no warning, no error
    lpntk_kernel(plain, X, y)


def test_the_date_message_names_the_columns():
    X, y = _rows(40)
    frame = pd.DataFrame({"a": X[:, 0], "when": pd.date_range("2021-01-01", periods=40, tz="UTC")})
    with pytest.raises(ValueError, match=r"columns \['when'\]"):
        RandomPruner(random_state=0).fit(frame, y)
    frame["when"] = (frame["when"] - frame["when"].min()) / pd.Timedelta(days=1)
    assert RandomPruner(random_state=0).fit(frame, y).n_features_in_ == 2


def test_fit_parameters_are_refused_before_any_work():
    X, y = _rows(40)
    pruner = LpNTKPruner(max_epochs=1, random_state=0)
    with pytest.raises(TypeError, match=r"\['sample_weight'\]"):
        pruner.fit_resample(X, y, sample_weight=np.ones(40))
    assert not hasattr(pruner, "sample_indices_")
    X_kept, y_kept = pruner.fit_resample(X, y)  # and without them it works
    assert len(X_kept) == len(y_kept) == len(pruner.sample_indices_)
