"""The network the pruner trains briefly: default MLP and skorch wiring."""

import copy
import inspect
import warnings

import numpy as np
import torch
from sklearn.base import clone
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from ._engine import check_logits, resolve_device

DEFAULT_MAX_EPOCHS = 10
DEFAULT_LR = 1e-3
DEFAULT_BATCH_SIZE = 128


class LogitMLP(torch.nn.Module):
    """A multi-layer perceptron that returns logits.

    Inputs of any shape (n, ...) are flattened, so the module also takes small
    images. No softmax is applied: the lpNTK differentiates raw logits.

    Parameters
    ----------
    n_inputs : int
        Number of input features after flattening.
    n_classes : int
        Number of output logits.
    hidden_units : tuple of int, default=(256,)
        Width of each hidden layer (ReLU activations).
    """

    def __init__(self, n_inputs=1, n_classes=2, hidden_units=(256,)):
        super().__init__()
        layers = [torch.nn.Flatten()]
        width = n_inputs
        for units in hidden_units:
            layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
            width = units
        layers.append(torch.nn.Linear(width, n_classes))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


class BatchLoader(torch.utils.data.DataLoader):
    """A DataLoader that reads a whole batch with one indexing operation.

    The batches are those of ``DataLoader(dataset, batch_size, shuffle,
    drop_last)`` (the same sampler draws the same order from torch's random
    generator), but the rows are taken with one ``dataset[indices]`` instead
    of one call per row and a collation: on small networks that was half of
    the brief training's time.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, **kwargs):
        rows = (
            torch.utils.data.RandomSampler(dataset)
            if shuffle
            else torch.utils.data.SequentialSampler(dataset)
        )
        super().__init__(
            dataset, batch_size=None, **kwargs, sampler=_IndexArrays(rows, batch_size, drop_last)
        )


class _IndexArrays(torch.utils.data.BatchSampler):
    """Batches of row indices as integer arrays (indexing by a list checks every entry)."""

    def __iter__(self):
        for batch in super().__iter__():
            yield np.asarray(batch, dtype=np.int64)


class EpochProgress(Callback):
    """A tqdm bar over training epochs, showing the training loss."""

    def __init__(self, desc="lpNTK: training"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None:
            self.bar_.set_postfix(loss=f"{loss:.4f}")
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()
        del self.bar_  # a trained net must pickle (tqdm holds the terminal)


_SIZE_ARGS = (("n_inputs", "n_classes"), ("input_units", "output_units"))


def _size_kwargs(module_cls, n_inputs, n_classes, already_set):
    """module__ keyword arguments for input/output sizes the class accepts."""
    try:
        params = inspect.signature(module_cls).parameters
    except (TypeError, ValueError):
        return {}
    out = {}
    for in_name, out_name in _SIZE_ARGS:
        if in_name in params and f"module__{in_name}" not in already_set:
            out[f"module__{in_name}"] = n_inputs
        if out_name in params and f"module__{out_name}" not in already_set:
            out[f"module__{out_name}"] = n_classes
    return out


def _check_constructor(module_cls, given):
    """Raise a TypeError naming the constructor arguments of ``module_cls`` nobody passes.

    ``given`` holds the ``module__<name>`` keys that will be passed (the user's
    and the input/output sizes filled in here).
    """
    try:
        params = inspect.signature(module_cls).parameters.values()
    except (TypeError, ValueError):
        return
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    missing = [
        p.name
        for p in params
        if p.kind in kinds and p.default is p.empty and f"module__{p.name}" not in given
    ]
    if missing:
        name = module_cls.__name__
        keys = ", ".join(f"module__{m}=..." for m in missing)
        raise TypeError(
            f"net={name} needs the constructor argument(s) {missing}, which the pruner cannot "
            f"fill in (it passes only n_inputs/n_classes or input_units/output_units). Pass "
            f"them through a skorch net, NeuralNetClassifier({name}, {keys}, "
            f"criterion=torch.nn.CrossEntropyLoss), or give an instance, "
            f"net={name}({', '.join(f'{m}=...' for m in missing)})."
        )


def _is_module_class(obj):
    return inspect.isclass(obj) and issubclass(obj, torch.nn.Module)


def check_net(net):
    """Raise a TypeError unless ``net`` is one of the supported forms."""
    ok = (
        net is None
        or isinstance(net, NeuralNet)
        or isinstance(net, torch.nn.Module)
        or _is_module_class(net)
    )
    if (
        ok
        and isinstance(net, NeuralNet)
        and not (isinstance(net.module, torch.nn.Module) or _is_module_class(net.module))
    ):
        raise TypeError(
            f"net.module must be a torch.nn.Module class or instance returning logits; the "
            f"skorch net holds {net.module!r} of type {type(net.module).__name__}."
        )
    if not ok:
        raise TypeError(
            "net must be None (default MLP), a skorch NeuralNetClassifier, or a "
            f"torch.nn.Module class or instance returning logits; got {net!r} of type "
            f"{type(net).__name__}."
        )


def build_net(
    net, *, n_inputs, n_classes, max_epochs, lr, batch_size, device, verbose, callbacks=()
):
    """A fresh, unfitted skorch classifier for the pruner's brief training.

    ``net`` is never modified: a skorch net is cloned, a module instance is
    deep-copied. ``max_epochs``, ``lr`` and ``batch_size`` override the
    skorch net's own values only when they are not None. ``callbacks`` are
    (name, callback) pairs added to the net's own.
    """
    check_net(net)
    overrides = {"device": str(device), "verbose": int(verbose >= 2)}
    for name, value, cast in (
        ("max_epochs", max_epochs, int),
        ("lr", lr, float),
        ("batch_size", batch_size, int),
    ):
        if value is not None:
            overrides[name] = cast(value)  # numpy scalars from a grid, cast once
    callbacks = list(callbacks)
    if verbose:
        callbacks.append(("lpntk_progress", EpochProgress()))

    if isinstance(net, NeuralNet):
        built = clone(net)
        user_params = built.get_params(deep=False)
        if _is_module_class(built.module):
            overrides.update(_size_kwargs(built.module, n_inputs, n_classes, user_params))
            _check_constructor(built.module, {**user_params, **overrides})
        if callbacks:
            overrides["callbacks"] = list(built.callbacks or []) + callbacks
        built.set_params(**overrides)
        if isinstance(built.criterion, type) and issubclass(built.criterion, torch.nn.NLLLoss):
            warnings.warn(
                "The skorch net uses NLLLoss, the convention in which the module returns "
                "probabilities. The lpNTK differentiates the module's raw output, which "
                "must be logits: use criterion=torch.nn.CrossEntropyLoss and no softmax.",
                UserWarning,
                stacklevel=3,
            )
        return built

    defaults = {
        "max_epochs": DEFAULT_MAX_EPOCHS,
        "lr": DEFAULT_LR,
        "batch_size": DEFAULT_BATCH_SIZE,
    }
    defaults.update(overrides)
    if net is None:
        module = LogitMLP
        module_kwargs = {"module__n_inputs": n_inputs, "module__n_classes": n_classes}
    elif _is_module_class(net):
        module, module_kwargs = net, _size_kwargs(net, n_inputs, n_classes, ())
        _check_constructor(net, module_kwargs)
    else:
        module, module_kwargs = copy.deepcopy(net), {}
    return NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        train_split=None,
        iterator_train=BatchLoader,
        iterator_train__shuffle=True,
        iterator_valid=BatchLoader,
        callbacks=callbacks or None,
        **module_kwargs,
        **defaults,
    )


def resolved_max_epochs(net, max_epochs):
    """The epochs :func:`build_net` will train for, without building anything."""
    if max_epochs is not None:
        return int(max_epochs)
    if isinstance(net, NeuralNet):
        return int(net.max_epochs)
    return DEFAULT_MAX_EPOCHS


def train_network(
    net,
    X,
    y,
    *,
    n_classes,
    max_epochs,
    lr,
    batch_size,
    device,
    verbose,
    seed,
    watch,
    callbacks=(),
    on_initialized=None,
):
    """Build, seed, initialise and briefly train the network of a pruner.

    The one routine behind every pruner that trains a network: ``net`` is the
    user's specification (see :func:`build_net`); the global torch RNG is left
    untouched (``fork_rng``), the initialisation and the training order follow
    ``seed``. ``on_initialized(net)`` runs after initialisation and before
    training (e.g. to check the network and plan memory, so that bad input
    fails before the expensive part). With 0 epochs only the callbacks'
    ``on_train_begin`` runs (scores at initialisation). Phases are timed in
    ``watch`` as "setup" and "training".
    """
    device = resolve_device(device)
    with watch.phase("setup"):
        built = build_net(
            net,
            n_inputs=n_inputs_of(X),
            n_classes=n_classes,
            max_epochs=max_epochs,
            lr=lr,
            batch_size=batch_size,
            device=device,
            verbose=verbose,
            callbacks=callbacks,
        )
    rng_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(int(seed))
        with watch.phase("setup"):
            built.initialize()
            if any(p.dtype == torch.float64 for p in built.module_.parameters()):
                warnings.warn(
                    "The network has float64 parameters; the pruner trains it in float32 "
                    "like its input (kernel=LpNTK(dtype='float64') gives a float64 kernel).",
                    UserWarning,
                    stacklevel=3,
                )
                built.module_.float()
            # every trained pruner checks its network before any training
            check_logits(built.module_, X, device=device, n_classes=n_classes)
            _avoid_single_row_batch(built, X, y)
            if on_initialized is not None:
                on_initialized(built)
        with watch.phase("training"):
            if built.max_epochs > 0:
                built.partial_fit(X, y)
            else:
                for _, cb in callbacks:
                    cb.on_train_begin(built, X=X, y=y)
    return built


def _avoid_single_row_batch(net, X, y):
    """BatchNorm cannot train on one row: drop a last training batch that would hold one.

    Folds of cross-validation make any remainder possible, so the pruner does
    not leave it to chance: with a DataLoader-like iterator the last batch is
    dropped (one row fewer seen per epoch); with any other iterator, a clear
    error names ``batch_size``.
    """
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.module_.modules()):
        return
    kwargs = net.get_params_for("iterator_train")
    if kwargs.get("drop_last"):
        return
    n = len(X) if net.train_split is None else len(net.get_split_datasets(X, y)[0])
    size = kwargs.get("batch_size", net.batch_size)
    size = n if size == -1 else int(size)
    if size <= 1 or n % size != 1:
        return
    iterator = net.iterator_train
    if isinstance(iterator, type) and issubclass(iterator, torch.utils.data.DataLoader):
        # skorch refuses set_params of iterator parameters on an initialised net;
        # the prefixed attribute is what get_iterator reads
        net.iterator_train__drop_last = True
        return
    raise ValueError(
        f"The network has BatchNorm, which cannot train on a batch of one row, and "
        f"batch_size={size} leaves one row of the {n} training rows in the last batch. "
        f"Choose a batch_size that leaves no single row (e.g. {size - 1} or {size + 1}), "
        "or let the net's iterator drop it (iterator_train__drop_last=True)."
    )


def n_inputs_of(X):
    """Number of input features after flattening each sample."""
    return int(np.prod(X.shape[1:]))


class TrainingDynamics(Callback):
    """Record the predicted probabilities of fixed samples before training and
    after every epoch (in eval mode), for scores built on training dynamics.

    After training, ``probabilities_`` has shape (n_epochs + 1, n_samples,
    n_classes); entry 0 is the network at initialisation.
    """

    def __init__(self, X):
        self.X = X

    def _record(self, net):
        self.probabilities_.append(np.asarray(net.predict_proba(self.X), dtype=np.float64))

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if not hasattr(self, "probabilities_"):
            self.probabilities_ = []
            self._record(net)

    def on_epoch_end(self, net, **kwargs):
        self._record(net)

    def result(self):
        return np.stack(self.probabilities_)


def module_state(module):
    """A detached CPU copy of a module's state (parameters and buffers)."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


class Checkpoints(Callback):
    """Keep copies of the module's parameters at chosen epochs of training.

    Epoch 0 is the initialisation. With ``X_val``/``y_val``, every chosen
    epoch is scored on that held-out data and only the best state so far is
    kept (``best_epoch_``; ties go to the later epoch); otherwise every chosen
    state is kept (``states_``, in epoch order).
    """

    def __init__(self, epochs, X_val=None, y_val=None):
        self.epochs = epochs
        self.X_val = X_val
        self.y_val = y_val

    def _take(self, net, epoch):
        if epoch not in self.epochs:
            return
        state = module_state(net.module_)
        if self.X_val is None:
            self.states_.append(state)
            self.taken_.append(epoch)
            return
        score = float(np.mean(net.predict(self.X_val) == self.y_val))
        self.validation_scores_[epoch] = score
        if score >= self.best_score_:
            self.best_score_, self.best_epoch_, self.states_ = score, epoch, [state]
            self.taken_ = [epoch]

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if not hasattr(self, "states_"):
            self.states_, self.taken_ = [], []
            self.validation_scores_, self.best_score_, self.best_epoch_ = {}, -np.inf, None
            self._take(net, 0)

    def on_epoch_end(self, net, **kwargs):
        self._take(net, len(net.history))
