"""EL2N and GraNd (Paul, Ganguli and Dziugaite, NeurIPS 2021)."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._engine import LpNTK
from .._options import hide_moved, refuse_moved
from .._params import fill_doc
from .._selection import el2n_scores
from ._trained import TrainedScorePruner

#: GraNdPruner's keywords of 0.7 that moved in 0.8, with their new spelling.
_MOVED = {
    "strategy": "kernel=LpNTK(normalize=None, error_weighting='full', strategy=...)",
    "dtype": "kernel=LpNTK(normalize=None, error_weighting='full', dtype=...)",
    "memory_budget": "max_memory",
}


@fill_doc
class EL2NPruner(TrainedScorePruner):
    """Prune the rows a briefly trained network already fits best (lowest EL2N).

    The EL2N score of a row is ``||softmax(z(x)) - e_y||_2``, the norm of the
    error of a network trained for a few epochs, averaged over ``n_inits``
    independent initialisations. Rows with the lowest scores (the easiest) are
    removed first, per class.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    max_epochs : int, default=3
        Epochs of training before the score is taken ("a few epochs into
        training"); 0 scores at initialisation.
    n_inits : int, default=5
        Independent initialisations the score is averaged over.
    {budget_param}
    {encoder_param}
    {memory_param}
    {network_params}

    Attributes
    ----------
    scores_ : ndarray of shape (n_samples,)
        Mean EL2N of every training row.
    score_std_ : ndarray of shape (n_samples,)
        Its standard deviation over the initialisations.
    {trained_attributes}
    """

    def __init__(
        self,
        prune_ratio=0.3,
        *,
        max_epochs=3,
        n_inits=5,
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
        super().__init__(
            prune_ratio,
            max_epochs=max_epochs,
            n_inits=n_inits,
            net=net,
            lr=lr,
            batch_size=batch_size,
            device=device,
            class_budget=class_budget,
            encoder=encoder,
            memory=memory,
            random_state=random_state,
            verbose=verbose,
        )

    def _score_rows(self, X, y, classes, rng, watch):
        runs, net = self._runs(
            X,
            y,
            len(classes),
            rng,
            watch,
            lambda net, dynamics, seed: el2n_scores(dynamics.result()[-1], y),
            desc="EL2N: initialisations",
            record=True,
        )
        return {"scores_": runs.mean(axis=0), "score_std_": runs.std(axis=0), "net_": net}


@fill_doc
class GraNdPruner(TrainedScorePruner):
    """Prune the rows with the smallest loss-gradient norm (GraNd).

    The GraNd score of a row is ``||grad_theta CE(z(x), y)||_2``, averaged over
    ``n_inits`` initialisations, by default at initialisation as in Paul et al.
    The per-sample gradient norms come from the same engine as the lpNTK (the
    diagonal of the ``error_weighting="full"`` kernel), so they never form
    per-sample gradients of Linear layers either.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    max_epochs : int, default=0
        Epochs of training before the score is taken; 0 scores at
        initialisation.
    n_inits : int, default=5
        Independent initialisations the score is averaged over.
    kernel : LpNTK or None, default=None
        How the gradients are computed (strategy, dtype, chunks); None is
        ``LpNTK(normalize=None, error_weighting="full")``: the norm of the
        cross-entropy gradient, GraNd's score ("sign" instead scores the norm of
        the paper's labelled gradient). It must not be normalised (every norm
        would be 1).
    {budget_param}
    {max_memory_param}
    {encoder_param}
    {memory_param}
    {network_params}

    Attributes
    ----------
    scores_ : ndarray of shape (n_samples,)
        Mean loss-gradient norm of every training row.
    score_std_ : ndarray of shape (n_samples,)
        Its standard deviation over the initialisations.
    {trained_attributes}
    """

    _moved_params = _MOVED

    _parameter_constraints = {
        **TrainedScorePruner._parameter_constraints,
        "kernel": [None, LpNTK],
        "max_memory": [None, str, Interval(Real, 1, None, closed="left")],
    }

    @hide_moved
    def __init__(
        self,
        prune_ratio=0.3,
        *,
        max_epochs=0,
        n_inits=5,
        kernel=None,
        max_memory="auto",
        net=None,
        lr=None,
        batch_size=None,
        device="auto",
        class_budget="equal",
        encoder="auto",
        memory=None,
        random_state=None,
        verbose=0,
        **moved,
    ):
        refuse_moved("GraNdPruner", moved, _MOVED)
        super().__init__(
            prune_ratio,
            max_epochs=max_epochs,
            n_inits=n_inits,
            net=net,
            lr=lr,
            batch_size=batch_size,
            device=device,
            class_budget=class_budget,
            encoder=encoder,
            memory=memory,
            random_state=random_state,
            verbose=verbose,
        )
        self.kernel = kernel
        self.max_memory = max_memory

    def _kernel(self):
        return LpNTK(normalize=None, error_weighting="full") if self.kernel is None else self.kernel

    def _check_params(self):
        kernel = self._kernel()
        kernel.check()
        if kernel.normalize is not None:
            raise ValueError(
                f"GraNdPruner(kernel=LpNTK(normalize={kernel.normalize!r})) would score every "
                "row 1: GraNd reads gradient norms. Use LpNTK(normalize=None) (or kernel=None)."
            )

    def _score_rows(self, X, y, classes, rng, watch):
        sizes = np.bincount(y, minlength=len(classes)).tolist()
        runs, net = self._runs(
            X,
            y,
            len(classes),
            rng,
            watch,
            lambda net, dynamics, seed: self._gradient_norms(net, X, y, sizes, seed),
            desc="GraNd: initialisations",
        )
        return {"scores_": runs.mean(axis=0), "score_std_": runs.std(axis=0), "net_": net}

    def _gradient_norms(self, net, X, y, sizes, seed):
        """``||grad CE||`` per row: the diagonal of the "full" kernel, class by class."""
        engine = self._kernel().engine(net.module_, max_memory=self.max_memory, device=self.device)
        plan = engine.plan(engine.probe(X, y), sizes)
        norms = np.empty(len(y))
        for c in range(len(sizes)):
            idx = np.flatnonzero(y == c)
            kernel = engine.kernel(X[idx], y[idx], plan, c, random_state=seed)
            norms[idx] = np.sqrt(np.clip(kernel.diagonal(), 0, None))
        return norms
