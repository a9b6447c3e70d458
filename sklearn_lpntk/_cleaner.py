"""LpNTKCleaner: remove rows whose labelled gradient disagrees with their class."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BasePruner, class_rows
from ._class_kernels import class_kernel, train_for_kernels
from ._params import LPNTK_CONSTRAINTS, check_n_jobs, fill_doc
from ._selection import RemovalCut, typicality


def two_group_split(scores, *, separation=2.0, random_state=0):
    """Split 1-D scores into a low and a high group when they are clearly bimodal.

    A two-component Gaussian mixture (scikit-learn, 5 initialisations) is
    fitted; rows whose posterior of the lower component exceeds 0.5 form the
    low group, but only when Ashman's separation
    ``D = sqrt(2) |mu_1 - mu_2| / sqrt(s_1^2 + s_2^2)`` exceeds ``separation``
    (2 is the usual bimodality criterion); otherwise no row is flagged.

    Returns ``(low_mask, D)``.
    """
    from sklearn.mixture import GaussianMixture

    x = np.asarray(scores, dtype=np.float64)[:, None]
    if len(x) < 4 or np.ptp(x) == 0:
        return np.zeros(len(x), dtype=bool), 0.0
    mixture = GaussianMixture(2, n_init=5, random_state=random_state).fit(x)
    mu, var = mixture.means_.ravel(), mixture.covariances_.ravel()
    D = float(np.sqrt(2) * abs(mu[0] - mu[1]) / np.sqrt(var.sum()))
    if D <= separation:
        return np.zeros(len(x), dtype=bool), D
    return mixture.predict_proba(x)[:, int(np.argmin(mu))] > 0.5, D


#: Share of the rows whose labels each pass of ``count="threshold"`` flips on purpose.
THRESHOLD_FRACTION = 0.1
#: The noise rate is read where this share of the flipped rows lies below.
THRESHOLD_QUANTILE = 0.25


def noise_rate_from_thresholds(typicality, threshold_rows, quantile=THRESHOLD_QUANTILE):
    """The share of mislabeled rows, read off rows whose labels were flipped on purpose.

    ``quantile`` of the flipped rows' typicality lies below ``tau``; if (nearly)
    no correctly labelled row lies below it, the share of the other rows below
    ``tau`` is ``quantile`` times their noise rate. Returns the estimate
    (clipped to [0, 1]) and every other row's score: the share of flipped rows
    that are less typical than it (low: it looks mislabeled).
    """
    flipped = np.sort(typicality[threshold_rows])
    others = ~threshold_rows
    tau = np.quantile(flipped, quantile)
    rate = float(np.clip(np.mean(typicality[others] < tau) / quantile, 0.0, 1.0))
    score = np.full(len(typicality), np.nan)
    score[others] = np.searchsorted(flipped, typicality[others]) / len(flipped)
    return rate, score


@fill_doc
class LpNTKCleaner(BasePruner):
    """Find and remove likely mislabeled rows with the lpNTK (a data-cleaning mode).

    A network is trained briefly on the (noisy) data. Every row is scored by its
    *typicality*: the mean lpNTK cosine of its labelled gradient to the other
    rows of its class, with the exact error term (``error_weighting="full"``:
    the log-likelihood gradient). A mislabeled row pulls the network towards a
    label its input does not look like, so its gradient agrees little with the
    class's. How many rows to remove is decided by the data, as cleanlab's
    ``find_label_issues`` does, capped by ``prune_ratio``:

    * ``count="threshold"`` (default since 0.6): rows with known wrong labels
      calibrate the decision, as the threshold samples of AUM do (Pleiss et
      al., NeurIPS 2020). In each of two passes a different random 10 % of the
      rows get a random other label; the network is trained and every row's
      typicality computed under those labels. Below the 25th percentile of the
      flipped rows' typicality hardly any correctly labelled row lies, so the
      share of the other rows below it, divided by 0.25, estimates the noise
      rate (``noise_rate_``); that many rows are removed, those whose
      typicality is lowest among the flipped rows' (averaged over the passes
      in which a row was not flipped). Clean data give a rate near 0. Twice
      the cost of one fit. Noise that confuses classes in pairs (c labelled
      c + 1) looks more typical than the random flips and is underestimated
      (``docs/reproduction.md``).
    * ``count="mixture"`` (0.4-0.5): when the typicality scores are clearly
      bimodal (a two-component Gaussian mixture whose components are
      separated by more than ``separation``, Ashman's D), the rows of the low
      component are removed. One fit; it does not fire reliably when the brief
      network fits the data poorly (MNIST-1D, ``docs/reproduction.md``).

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.5
        The largest share of any class that may be removed (the least typical
        flagged rows go first). At least one row per class is kept.
    count : {"threshold", "mixture"}, default="threshold"
        How the number of removed rows is decided (see above).
    separation : float, default=2.0
        Only for ``count="mixture"``: smallest Ashman's D between the two
        components for any row to be flagged (2 is the usual bimodality
        criterion).
    max_epochs : int, default=None
        Training epochs (None: 10 for a net built here, else the skorch net's).
    error_weighting : {"sign", "full"}, default="full"
        The error term of the kernel ("full" is the log-likelihood gradient).
    feature_batch_size : int, default=None
        As for :class:`~sklearn_lpntk.LpNTKPruner`.
    projection_dim : int, default=4096
        As for :class:`~sklearn_lpntk.LpNTKPruner`.
    n_jobs : int or None, default=None
        Accepted for symmetry with :class:`~sklearn_lpntk.LpNTKPruner`; the
        classes are scored one after another.
    {encoder_param}
    {memory_param}
    {kernel_params}
    {network_params}

    Attributes
    ----------
    typicality_ : ndarray of shape (n_samples,)
        Mean lpNTK cosine of every row to the rest of its class (with
        ``count="threshold"``: the mean over the passes that left its label).
    label_issues_ : ndarray of bool, shape (n_samples,)
        Rows flagged as likely mislabeled (removed unless the cap kept them).
    noise_rate_ : float
        The estimated share of mislabeled rows (``count="threshold"``), or the
        share flagged by the mixture.
    separation_ : float or None
        Ashman's D of the fitted mixture (``count="mixture"``), else None.
    sample_indices_, classes_, n_features_in_, feature_names_in_, encoder_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner`.
    net_, sampling_strategy_, self_kernel_, strategy_, timings_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner` (the first pass's network).
    from_cache_ : bool
        As for :class:`~sklearn_lpntk.LpNTKPruner`.
    keep_order_ : None
        The cleaner removes flagged rows rather than keeping a number of
        rows, so there is no keep order; ``get_support(prune_ratio=...)``
        applies another cap without refitting.

    See Also
    --------
    sklearn_lpntk.LpNTKPruner : pruning to a fixed size.
    """

    _parameter_constraints = {
        **{k: v for k, v in BasePruner._parameter_constraints.items() if k != "class_budget"},
        **LPNTK_CONSTRAINTS,
        "count": [StrOptions({"threshold", "mixture"})],
        "separation": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        prune_ratio=0.5,
        *,
        count="threshold",
        separation=2.0,
        net=None,
        max_epochs=None,
        lr=None,
        batch_size=None,
        feature_batch_size=None,
        strategy="auto",
        projection_dim=4096,
        memory_budget="auto",
        dtype="float32",
        n_jobs=None,
        error_weighting="full",
        device="auto",
        encoder="auto",
        memory=None,
        random_state=None,
        verbose=0,
    ):
        self.prune_ratio = prune_ratio
        self.count = count
        self.separation = separation
        self.net = net
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.feature_batch_size = feature_batch_size
        self.strategy = strategy
        self.projection_dim = projection_dim
        self.memory_budget = memory_budget
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.error_weighting = error_weighting
        self.device = device
        self.encoder = encoder
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_n_jobs(self.n_jobs)

    def _checked_budget(self, classes):
        return None  # the data decide how many rows go: there is no class budget

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        if self.count == "mixture":
            scores, attributes, seed = self._typicality(X, y, classes, rng, watch)
            with watch.phase("selection"):
                flagged, separation = two_group_split(
                    scores, separation=self.separation, random_state=seed
                )
            extra = {"separation_": separation, "noise_rate_": float(flagged.mean())}
        else:
            attributes, scores, flagged, rate = self._threshold_passes(X, y, classes, rng, watch)
            extra = {"separation_": None, "noise_rate_": rate}
        cuts = []
        for idx in rows:  # flagged rows go lowest score first, at most n_c - k_c
            order = np.argsort(scores[idx], kind="stable")
            cuts.append(RemovalCut(order[flagged[idx][order]], len(idx)))
        return cuts, {**attributes, **extra, "label_issues_": flagged}

    def _typicality(self, X, y, classes, rng, watch):
        """Every row's typicality under the labels ``y``, after one brief training.

        Returns the scores, the fitted attributes (``typicality_``,
        ``self_kernel_`` and the training's) and the first class's seed (the
        mixture's).
        """
        # the cleaner's fixed choices: cosine lpNTK of one network after its last epoch,
        # planned as for whole Gram matrices (a class past the dense limit is read
        # through its factors: exact mean similarity, no neighbours)
        fixed = {"normalize": "cosine", "checkpoints": None, "validation_fraction": None}
        params = {**self.get_params(deep=False), **fixed, "n_inits": 1}
        source = train_for_kernels(
            X, y, classes, rng, watch, params, need_full=True, graph="auto", n_neighbors=1
        )
        scores, self_kernel = np.empty(len(y)), np.empty(len(y))
        with watch.phase("kernel"):
            for c, idx in enumerate(class_rows(y, len(classes))):
                matrix, self_kernel[idx] = class_kernel(source, c, X[idx], y[idx])
                lazy = source.plan.classes[c].lazy
                scores[idx] = matrix.typicality() if lazy else typicality(matrix)
        attributes = {**source.attributes, "self_kernel_": self_kernel, "typicality_": scores}
        return scores, attributes, int(source.class_seeds[0])

    def _threshold_passes(self, X, y, classes, rng, watch):
        """Two fits, each with a different 10 % of the labels flipped on purpose."""
        n, k = len(y), len(classes)
        flip_rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
        order = flip_rng.permutation(n)
        m = max(1, int(round(THRESHOLD_FRACTION * n)))
        rates, score_sum, typ_sum, count = [], np.zeros(n), np.zeros(n), np.zeros(n)
        first = None
        for rows in (order[:m], order[m : 2 * m]):
            flipped = np.zeros(n, dtype=bool)
            flipped[rows] = True
            labels = y.copy()
            labels[rows] = (y[rows] + flip_rng.randint(1, k, size=len(rows))) % k
            typicality, attributes, _ = self._typicality(X, labels, classes, rng, watch)
            first = first or attributes
            with watch.phase("selection"):
                rate, score = noise_rate_from_thresholds(typicality, flipped)
            rates.append(rate)
            kept = ~flipped
            score_sum[kept] += score[kept]
            typ_sum[kept] += typicality[kept]
            count[kept] += 1
        # the two passes flip disjoint rows, so every row keeps its label in at least one
        scores = score_sum / count
        rate = float(np.mean(rates))
        flagged = np.zeros(n, dtype=bool)
        flagged[np.argsort(scores, kind="stable")[: int(round(rate * n))]] = True
        return {**first, "typicality_": typ_sum / count}, scores, flagged, rate
