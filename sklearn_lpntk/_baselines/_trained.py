"""Shared training of the baselines that score rows with a trained network."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from .._base import ScorePruner
from .._networks import TrainingDynamics, train_network
from .._params import ENCODER_CONSTRAINTS, NETWORK_CONSTRAINTS
from .._progress import progress_bar


class TrainedScorePruner(ScorePruner):
    """A score pruner whose scores come from briefly trained networks."""

    _parameter_constraints = {
        **ScorePruner._parameter_constraints,
        **NETWORK_CONSTRAINTS,
        **ENCODER_CONSTRAINTS,
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        prune_ratio=0.3,
        *,
        max_epochs=10,
        n_inits=1,
        net=None,
        lr=None,
        batch_size=None,
        device="auto",
        class_budget="equal",
        encoder="auto",
        memory=None,
        random_state=None,
        verbose=0,
    ):
        self.prune_ratio = prune_ratio
        self.class_budget = class_budget
        self.max_epochs = max_epochs
        self.n_inits = n_inits
        self.net = net
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.encoder = encoder
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _train(self, X, y, n_classes, seed, watch, callbacks=()):
        """One network trained for ``max_epochs`` from the initialisation ``seed``."""
        return train_network(
            self.net,
            X,
            y,
            n_classes=n_classes,
            max_epochs=self.max_epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            device=self.device,
            verbose=self.verbose,
            seed=seed,
            watch=watch,
            callbacks=callbacks,
        )

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
