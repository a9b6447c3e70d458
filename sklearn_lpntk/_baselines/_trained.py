"""Shared training of the baselines that score rows with a trained network."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from .._base import ScorePruner
from .._engine import resolve_device
from .._networks import TrainingDynamics, build_net, n_inputs_of
from .._progress import progress_bar

NETWORK_PARAMS_DOC = """\
    net : None, skorch NeuralNetClassifier, or torch.nn.Module class/instance, \\
            default=None
        The network, as for :class:`~sklearn_lpntk.LpNTKPruner` (None: the
        default ``LogitMLP``). Never modified.
    lr : float, default=None
        Learning rate (None: 1e-3 with Adam, or the skorch net's own).
    batch_size : int, default=None
        Training batch size (None: 128, or the skorch net's own).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the networks are trained.
    random_state : int, RandomState instance or None, default=None
        Seeds every initialisation, the training order and the tie-breaks.
    verbose : int, default=0
        1: progress bars and a timing summary; 2: also skorch's epoch log."""


def network_doc(cls):
    """Class decorator: put the shared network parameters into the docstring."""
    cls.__doc__ = cls.__doc__.replace("{network_params}\n", NETWORK_PARAMS_DOC + "\n")
    return cls


class TrainedScorePruner(ScorePruner):
    """A score pruner whose scores come from briefly trained networks."""

    _parameter_constraints = {
        **ScorePruner._parameter_constraints,
        "net": "no_validation",
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str, torch.device],
    }

    def _train(self, X, y, n_classes, seed, watch, callbacks=()):
        """One network trained for ``max_epochs`` from the initialisation ``seed``."""
        device = resolve_device(self.device)
        with watch.phase("setup"):
            net = build_net(
                self.net, n_inputs=n_inputs_of(X), n_classes=n_classes,
                max_epochs=self.max_epochs, lr=self.lr, batch_size=self.batch_size,
                device=device, verbose=self.verbose, callbacks=callbacks,
            )
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            with watch.phase("setup"):
                net.initialize()
            with watch.phase("training"):
                if self.max_epochs > 0:
                    net.partial_fit(X, y)
                else:  # scores at initialisation: only the callbacks' first record
                    for _, cb in callbacks:
                        cb.on_train_begin(net, X=X, y=y)
        return net

    def _runs(self, X, y, n_classes, rng, watch, score_run, *, desc, record=False):
        """Train ``n_inits`` networks and score each one.

        ``score_run(net, dynamics, seed)`` returns one array per run (under the
        "scoring" phase); ``dynamics`` is a :class:`TrainingDynamics` when
        ``record`` is True, else None. Returns the stacked arrays and the last net.
        """
        runs = []
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_inits)
        with progress_bar(self.n_inits, desc, "net", bool(self.verbose)) as bar:
            for seed in seeds:
                dynamics = TrainingDynamics(X) if record else None
                callbacks = [("score_dynamics", dynamics)] if record else ()
                net = self._train(X, y, n_classes, seed, watch, callbacks=callbacks)
                with watch.phase("scoring"):
                    runs.append(score_run(net, dynamics, int(seed)))
                bar.update(1)
        return np.stack(runs), net
