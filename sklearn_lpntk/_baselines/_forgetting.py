"""Forgetting scores (Toneva et al., ICLR 2019)."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from .._params import fill_doc
from .._selection import check_finite, forgetting_events
from ._trained import TrainedScorePruner


@fill_doc
class ForgettingPruner(TrainedScorePruner):
    """Prune the rows that are never forgotten during training first.

    The network is trained for ``max_epochs``; after every epoch every row is
    classified (eval mode). A forgetting event is a row going from correct to
    incorrect between two consecutive epochs. Rows never classified correctly
    count as forgotten infinitely often, as in Toneva et al. Rows with the
    fewest events are removed first (ties in random order), so unforgettable
    rows go before forgettable ones. Counts are summed over ``n_inits`` runs.

    This counts at epoch granularity (every row evaluated after each epoch),
    not at each presentation of a row's mini-batch as in the original paper.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    max_epochs : int, default=10
        Training epochs, each followed by an evaluation of all rows.
    n_inits : int, default=1
        Independent training runs whose counts are added up.
    {budget_param}
    {encoder_param}
    {memory_param}
    {network_params}

    Attributes
    ----------
    scores_ : ndarray of shape (n_samples,)
        Forgetting events per row (+inf for rows never learned).
    forgetting_events_ : ndarray of int, shape (n_samples,)
        Forgetting events per row, summed over runs.
    never_learned_ : ndarray of bool, shape (n_samples,)
        Rows never classified correctly in some run.
    correct_ : ndarray of bool, shape (n_inits, max_epochs, n_samples)
        Correctness after each epoch of each run.
    probabilities_ : ndarray of shape (n_inits, max_epochs + 1, n_samples, n_classes)
        Predicted probabilities at initialisation and after each epoch (for
        :func:`sklearn_lpntk.analysis.learning_difficulty`).
    {trained_attributes}
    """

    _parameter_constraints = {
        **TrainedScorePruner._parameter_constraints,
        "max_epochs": [Interval(Integral, 2, None, closed="left")],
    }

    def _score_rows(self, X, y, classes, rng, watch):
        # evaluations after each epoch; the one at initialisation is left out
        probabilities, net = self._runs(
            X,
            y,
            len(classes),
            rng,
            watch,
            lambda net, dynamics, seed: dynamics.result(),
            desc="forgetting: runs",
            record=True,
        )
        check_finite(probabilities, "ForgettingPruner's predicted probabilities")
        correct = probabilities[:, 1:].argmax(axis=3) == y[None, None, :]
        counts = [forgetting_events(run) for run in correct]
        events = np.sum([c[0] for c in counts], axis=0)
        never = np.any([c[1] for c in counts], axis=0)
        scores = np.where(never, np.inf, events.astype(np.float64))
        return {
            "scores_": scores,
            "forgetting_events_": events,
            "never_learned_": never,
            "correct_": correct,
            "probabilities_": probabilities,
            "net_": net,
        }
