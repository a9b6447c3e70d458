"""Coverage-centric selection (Zheng et al., ICLR 2023) and Moderate coresets (Xia et al.,
ICLR 2023)."""

from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._base import BasePruner, check_scores
from .._params import ENCODER_CONSTRAINTS, fill_doc
from .._selection import CoverageCut, PrefixCut, middle_out_order, stratified_choice
from ._scores import EL2NPruner
from ._trained import TrainedScorePruner


@fill_doc
class CCSPruner(BasePruner):
    """Coverage-centric selection over a pluggable difficulty score.

    Every row is scored by ``scorer`` (a pruner whose fitted ``scores_`` grow
    with difficulty: EL2N, forgetting events, GraNd). In each class the hardest
    ``hard_fraction`` rows are dropped (presumably mislabeled), the remaining
    score range is split into ``n_bins`` equal-width bins, the budget is shared
    equally among the bins (smallest bins first, leftovers passed on) and rows
    are drawn uniformly inside each bin. Keeps easy, medium and hard rows in
    proportion to the coverage of the score range, which is why it holds up at
    high prune ratios. For the lpNTK difficulty use
    ``LpNTKPruner(keep="coverage")``.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    scorer : pruner with ``scores_`` or None, default=None
        Fitted (a clone) on the training rows to score them. None:
        ``EL2NPruner()``. Its ``random_state`` is set from this pruner's.
    hard_fraction : float in [0, 1) or "auto", default="auto"
        Share of each class dropped as hardest first. "auto":
        ``clip((prune_ratio - 0.3) / 2, 0, 0.3)``.
    n_bins : int, default=50
        Equal-width score bins (50 in the CCS paper's code).
    {budget_param}
    {encoder_param}
    {memory_param}
    random_state : int, RandomState instance or None, default=None
        Seeds the scorer and the sampling inside bins.
    verbose : int, default=0
        Passed to the scorer; 1 also prints a timing summary.

    Attributes
    ----------
    scores_ : ndarray of shape (n_samples,)
        The scorer's difficulty of every row.
    scorer_ : pruner
        The fitted scorer.
    sample_indices_ : ndarray
        Kept row indices, ascending.
    keep_order_ : None
        The rule is not nested (the sampling inside bins, and by default the
        hard fraction, change with the ratio), so there is no keep order;
        ``get_support(prune_ratio=...)`` still cuts the cached scores at any
        ratio without refitting.
    {common_attributes}
    """

    _parameter_constraints = {
        **BasePruner._parameter_constraints,
        **ENCODER_CONSTRAINTS,
        "scorer": [None, HasMethods(["fit"])],
        "hard_fraction": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="left")],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        prune_ratio=0.3,
        *,
        scorer=None,
        hard_fraction="auto",
        n_bins=50,
        class_budget="equal",
        encoder="auto",
        memory=None,
        random_state=None,
        verbose=0,
    ):
        self.prune_ratio = prune_ratio
        self.class_budget = class_budget
        self.scorer = scorer
        self.hard_fraction = hard_fraction
        self.n_bins = n_bins
        self.encoder = encoder
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        scorer = clone(self.scorer) if self.scorer is not None else EL2NPruner()
        params = scorer.get_params()
        updates = {"random_state": int(rng.randint(np.iinfo(np.int32).max))}
        if "verbose" in params:
            updates["verbose"] = self.verbose
        if "encoder" in params:
            updates["encoder"] = None  # X is already what this pruner's encoding made of it
        scorer.set_params(**updates)
        scorer.fit(X, y)
        scores = np.asarray(scorer.scores_, dtype=np.float64)
        check_scores(scores, f"The scorer of {type(self).__name__}")
        # not nested: the sampling is redone for every count (same seed per class)
        cuts = [
            CoverageCut(
                scores[idx],
                np.arange(len(idx)),
                len(idx),
                partial(
                    stratified_choice,
                    n_bins=self.n_bins,
                    seed=rng.randint(np.iinfo(np.int32).max),
                ),
                hard_fraction=self.hard_fraction,
                auto_from="ratio",
            )
            for idx in rows
        ]
        for phase, seconds in scorer.timings_.items():
            watch.add(phase, seconds)
        return cuts, {"scores_": scores, "scorer_": scorer}


def penultimate_features(module, X, batch_size=1024):
    """Inputs of the module's last ``nn.Linear`` layer (the penultimate features)."""
    last = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if not last:
        raise ValueError(
            "ModeratePruner needs a network whose logits come from an "
            "nn.Linear layer (its inputs are the penultimate features)."
        )
    captured = []
    handle = last[-1].register_forward_hook(
        lambda mod, args, out: captured.append(args[0].detach().flatten(1).cpu())
    )
    param = next(module.parameters())
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(X), batch_size):
                module(
                    torch.as_tensor(
                        X[start : start + batch_size], dtype=param.dtype, device=param.device
                    )
                )
    finally:
        handle.remove()
        module.train(was_training)
    return torch.cat(captured).double().numpy()


@fill_doc
class ModeratePruner(TrainedScorePruner):
    """Moderate coreset: keep the rows at a middling distance from their class median.

    A network is trained for ``max_epochs``; every row's penultimate features
    (the input of the last Linear layer) are compared with the coordinate-wise
    median of its class, and the rows whose distance is closest to the median
    distance of the class are kept (neither the most typical nor the farthest
    outliers).

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.3
        Fraction of each class that is removed (at least one row is kept).
    max_epochs : int, default=10
        Training epochs before the features are read.
    n_inits : int, default=1
        Networks whose distances are averaged.
    {budget_param}
    {encoder_param}
    {memory_param}
    {network_params}

    Attributes
    ----------
    scores_ : ndarray of shape (n_samples,)
        Distance of every row's features to its class median.
    {trained_attributes}
    Notes
    -----
    ``keep_order_`` lists every class's rows from the distance closest to
    the class's median distance outwards (ties: lowest index first).
    """

    def _score_rows(self, X, y, classes, rng, watch):
        def distances(net, dynamics, seed):
            features = penultimate_features(net.module_, X)
            out = np.empty(len(y))
            for c in range(len(classes)):
                idx = np.flatnonzero(y == c)
                median = np.median(features[idx], axis=0)
                out[idx] = np.linalg.norm(features[idx] - median, axis=1)
            return out

        runs, net = self._runs(X, y, len(classes), rng, watch, distances, desc="Moderate: networks")
        return {"scores_": runs.mean(axis=0), "net_": net}

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        fitted = self._score_rows(X, y, classes, rng, watch)
        check_scores(fitted["scores_"], type(self).__name__)
        return [PrefixCut(middle_out_order(fitted["scores_"][idx])) for idx in rows], fitted
