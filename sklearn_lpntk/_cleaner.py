"""LpNTKCleaner: remove rows whose given label the out-of-fold evidence contradicts.

Every row is scored by networks that never saw it (``cv`` folds). How many rows are
mislabeled is read where the classes do not overlap: among the rows the out-of-fold
networks find least likely to belong to a class, the share that carries that class's
label is label noise, not overlap. Which rows go is decided per class, by the
out-of-fold probabilities and the lpNTK together.
"""

import warnings
from dataclasses import replace
from numbers import Integral

import numpy as np
from scipy.stats import beta, rankdata
from sklearn.utils._param_validation import Interval

from ._base import BasePruner
from ._class_cuts import held_out_typicality
from ._engine import LpNTK
from ._options import hide_moved, refuse_moved
from ._params import LPNTK_CONSTRAINTS, fill_doc
from ._progress import progress_bar
from ._selection import RemovalCut
from ._training import kernel_settings, train_for_kernels

_SEED_MAX = np.iinfo(np.int32).max

#: A class's noise floor is read on this share of the rows of the other classes: those
#: the out-of-fold networks find least likely to be of that class.
FLOOR_SHARE = 0.1
#: Below this estimated share of mislabeled rows nothing is removed (with a warning):
#: on clean tables whose classes overlap, the estimate reaches 1-2 % from overlap alone.
DETECTION_LIMIT = 0.03
#: The one-sided confidence of the evidence bound (:func:`noise_evidence`).
EVIDENCE_CONFIDENCE = 0.95

#: LpNTKCleaner's keywords of 0.7 that moved or went in 0.8, with what replaced them.
MOVED = {
    "error_weighting": "kernel=LpNTK(error_weighting=...)",
    "strategy": "kernel=LpNTK(error_weighting='full', strategy=...)",
    "projection_dim": "kernel=LpNTK(error_weighting='full', projection_dim=...)",
    "feature_batch_size": "kernel=LpNTK(error_weighting='full', chunk_size=...)",
    "dtype": "kernel=LpNTK(error_weighting='full', dtype=...)",
    "memory_budget": "max_memory",
    "n_jobs": "nothing: the cleaner scores one fold after another (removed)",
    "count": (
        "nothing: the count rules ('threshold', 'mixture') are gone; how many rows are "
        "mislabeled comes from out-of-fold evidence (noise_rate_), cv= sets the folds"
    ),
    "separation": (
        "nothing: it belonged to count='mixture', which is gone; how many rows are "
        "mislabeled comes from out-of-fold evidence (noise_rate_)"
    ),
}


def row_folds(y, n_classes, n_folds, rng):
    """The fold of every row: each class's rows, in a random order, dealt out in turn.

    Every fold gets as equal a share of every class as its size allows (a class with
    fewer rows than folds is missing from some).
    """
    fold = np.empty(len(y), dtype=np.intp)
    for c in range(n_classes):
        rows = np.flatnonzero(y == c)
        fold[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % n_folds
    return fold


def noise_floors(proba, y, share=FLOOR_SHARE):
    """Every class's noise floor: how often a class is the given label where it is least
    likely.

    For class j, the ``ceil(share * m)`` rows (``m``: the rows not labelled j) with the
    lowest out-of-fold probability of j are those the networks place furthest from
    class j; the share of them labelled j is the floor. Noise that flips labels at random
    puts label j there as often as anywhere else, while classes that merely overlap
    rarely reach that far. The probabilities only order the rows, so the floor does not
    depend on how well they are calibrated.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Out-of-fold class probabilities.
    y : ndarray of int, shape (n_samples,)
        Given labels, encoded 0 .. n_classes - 1.
    share : float, default=FLOOR_SHARE

    Returns
    -------
    floors : ndarray of shape (n_classes,)
    """
    floors = np.zeros(proba.shape[1])
    for j, hits, rows in _floor_regions(proba, y, share):
        floors[j] = hits / rows
    return floors


def _floor_regions(proba, y, share):
    """``(j, hits, rows)`` for every class j with rows of other classes: the
    ``ceil(share * m)`` rows not labelled j (``m`` of them) with the lowest out-of-fold
    probability of j, and how many of them carry label j."""
    for j in range(proba.shape[1]):
        others = int(np.sum(y != j))
        if others == 0:
            continue
        m = max(1, int(np.ceil(share * others)))
        furthest = np.argsort(proba[:, j], kind="stable")[:m]
        yield j, int(np.sum(y[furthest] == j)), m


def noise_evidence(proba, y, share=FLOOR_SHARE, confidence=EVIDENCE_CONFIDENCE):
    """A lower confidence bound on the share of labels flipped at random, from every
    class's floor region together.

    :func:`noise_floors` reads each class on a tenth of the other rows; on a small table
    that is a few dozen rows, and one or two stray labels there give a floor of several
    per cent by chance. Under the uniform-noise model every floor region holds label j
    at the same rate ``f``, so the regions of all classes pool into one count: ``k``
    rows carrying their region's label out of ``m``. The Clopper-Pearson lower bound of
    ``f`` at ``confidence``, times ``n_classes - 1``, bounds the rate: the noise the data
    can show beyond chance. Overlap can only raise it, so it is used as a guard, not as
    the estimate.

    Returns
    -------
    bound : float
        In ``[0, 1)``.
    """
    n_classes = proba.shape[1]
    regions = list(_floor_regions(proba, y, share))
    hits = sum(h for _, h, _ in regions)
    rows = sum(m for _, _, m in regions)
    if hits == 0 or rows == 0:
        return 0.0
    low = float(beta.ppf(1 - confidence, hits, rows - hits + 1))
    return min(low * (n_classes - 1), (n_classes - 1) / n_classes)


def uniform_noise(floors, y, n_classes):
    """The share of labels flipped at random, and how many rows of every class carry one.

    The model: a row's label is replaced, with probability ``rate``, by one of the other
    classes drawn uniformly, so every class receives noise at the same floor
    ``f = rate / (n_classes - 1)``. Overlapping classes raise some floors and not
    others, so ``f`` is the lower median of the floors (the smaller of two): what the
    classes share is noise, what only some show is read as overlap and left alone.
    Class j then holds ``f * (n - n_j*)`` mislabeled rows, ``n_j*`` being its count
    before the noise.

    Returns
    -------
    rate : float
        In ``[0, (n_classes - 1) / n_classes)``.
    counts : ndarray of float, shape (n_classes,)
        Expected mislabeled rows among those labelled with each class.
    """
    n = len(y)
    f = float(np.sort(floors)[(n_classes - 1) // 2])
    rate = min(f * (n_classes - 1), (n_classes - 1) / n_classes - 1e-9)
    f = rate / (n_classes - 1)
    given = np.bincount(y, minlength=n_classes)
    # given_j = (1 - rate) n_j* + f (n - n_j*)
    before = np.clip((given - f * n) / max(1 - rate - f, 1e-12), 0, n)
    return rate, f * (n - before)


def label_quality(proba, class_typicality, y):
    """How well the out-of-fold evidence supports every row's given label, in (0, 1].

    Two pieces of evidence, each a margin of the given label over the best other class:
    the out-of-fold probability, and the lpNTK typicality (mean cosine of the row's
    labelled gradient to the class's rows in the other folds). The quality is the mean
    of their ranks over the rows, divided by the number of rows: low when both say
    another class.

    Returns
    -------
    quality : ndarray of shape (n_samples,)
    margin : ndarray of shape (n_samples,)
        The probability margin (negative: the networks predict another class).
    """
    n, n_classes = proba.shape
    own = np.eye(n_classes, dtype=bool)[y]
    margin = proba[own] - np.where(own, -np.inf, proba).max(axis=1)
    contrast = class_typicality[own] - np.where(own, -np.inf, class_typicality).max(axis=1)
    quality = (rankdata(margin) + rankdata(contrast)) / (2 * n)
    return quality, margin


def flag_label_issues(proba, class_typicality, y, counts):
    """The rows flagged as mislabeled: per class, the ``round(counts[j])`` rows of lowest
    quality among those the out-of-fold networks assign to another class.

    A row whose given label is also the networks' prediction is never flagged, however
    low its quality: where classes overlap, the prediction is split, not contradicted.

    Returns
    -------
    flagged : ndarray of bool, shape (n_samples,)
    quality : ndarray of shape (n_samples,)
        :func:`label_quality`.
    """
    quality, margin = label_quality(proba, class_typicality, y)
    flagged = np.zeros(len(y), dtype=bool)
    for j, count in enumerate(counts):
        candidates = np.flatnonzero((y == j) & (margin < 0))
        worst = np.argsort(quality[candidates], kind="stable")[: int(round(count))]
        flagged[candidates[worst]] = True
    return flagged, quality


@fill_doc
class LpNTKCleaner(BasePruner):
    """Find and remove mislabeled rows with out-of-fold networks and the lpNTK.

    The rows are dealt into ``cv`` folds (every class spread evenly). For each fold a
    network is trained briefly on the other folds; it scores the held-out rows without
    ever seeing their labels: their class probabilities, and for every class c the
    lpNTK *typicality* of the row labelled c, the mean cosine of its labelled gradient
    (the log-likelihood gradient, ``error_weighting="full"``) to the gradients of the
    training rows of class c.

    How many rows are mislabeled (``noise_rate_``) is read where the classes do not
    overlap. For each class, take the tenth of the other classes' rows that the
    networks find least likely to be of that class; the share of them that nevertheless
    carries its label is the class's noise floor. Random label flips give every class
    the same floor, while overlapping classes raise only their own, so the lower median
    of the floors is taken as the rate at which labels were replaced by a random other
    class. The model then says how many rows of every class carry a wrong label; that
    many are flagged per class, among the rows the networks assign to another class
    (never a row whose given label is the prediction), those whose probability margin
    and lpNTK typicality margin support their label least going first. At most
    ``prune_ratio`` of any class is removed: a safety limit, with a warning when it
    binds.

    When the estimated rate is below 3 %, the data do not separate label noise from
    class overlap (clean tables give 1-2 % from overlap alone): nothing is removed and
    a warning gives the estimate. The same holds when the rate's 95 % lower confidence
    bound, from the floor regions of all classes pooled, is below 3 %: on a small table
    a few stray labels reach several per cent by chance. Noise that sends labels from
    one class to another in pairs, rather than at random, raises only some floors and is
    therefore read as overlap and left (``docs/reproduction.md``). The fit trains ``cv``
    networks. The encoding of a table (``encoder``) is fitted once on all rows before the
    folds: give an encoder that does not read the labels (the default does not), or the
    held-out rows' labels reach their own features. Both warnings (nothing removed, a
    class capped) are given on every fit, also one read from the ``memory`` cache.

    Parameters
    ----------
    prune_ratio : float in [0, 1), default=0.5
        The largest share of any class that may be removed (the flagged rows of lowest
        quality go first): a safety limit, not a target. At least one row per class is
        kept.
    cv : int, default=5
        Number of folds (networks trained), at least 2.
    max_epochs : int, default=None
        Training epochs (None: 10 for a net built here, else the skorch net's).
    kernel : LpNTK or None, default=None
        The kernel; None is ``LpNTK(error_weighting="full")``, the cosine of
        log-likelihood gradients. Typicality is a mean cosine, so the kernel
        must keep ``normalize="cosine"``.
    {max_memory_param}
    {encoder_param}
    {memory_param}
    {network_params}

    Attributes
    ----------
    noise_rate_ : float
        The estimated share of labels replaced by a random other class (also when
        it is below 3 % and nothing was removed).
    noise_evidence_ : float
        A 95 % lower confidence bound on that share from all the classes' floor
        regions pooled; below 3 % (chance on a small table) nothing is removed.
    label_issues_ : ndarray of bool, shape (n_samples,)
        Rows flagged as mislabeled (removed unless ``prune_ratio`` kept them).
    label_quality_ : ndarray of shape (n_samples,)
        How well the out-of-fold evidence supports every row's label, in (0, 1]
        (the mean rank of its probability margin and its lpNTK typicality margin,
        divided by the number of rows); flagged rows go lowest first.
    oof_proba_ : ndarray of shape (n_samples, n_classes)
        Out-of-fold class probabilities: every row's from the network that did not
        see it.
    oof_typicality_ : ndarray of shape (n_samples, n_classes)
        Every row's lpNTK typicality when labelled with each class, against that
        class's rows in the other folds (from the network that did not see it).
    typicality_ : ndarray of shape (n_samples,)
        ``oof_typicality_`` at every row's given label.
    sample_indices_, classes_, n_features_in_, feature_names_in_, encoder_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner`.
    net_, sampling_strategy_, strategy_, timings_ : see LpNTKPruner
        As for :class:`~sklearn_lpntk.LpNTKPruner` (``net_``: the first fold's network).
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

    _moved_params = MOVED

    _parameter_constraints = {
        **{k: v for k, v in BasePruner._parameter_constraints.items() if k != "class_budget"},
        **{k: v for k, v in LPNTK_CONSTRAINTS.items() if k != "n_jobs"},
        "cv": [Interval(Integral, 2, None, closed="left")],
    }

    @hide_moved
    def __init__(
        self,
        prune_ratio=0.5,
        *,
        cv=5,
        kernel=None,
        net=None,
        max_epochs=None,
        lr=None,
        batch_size=None,
        device="auto",
        max_memory="auto",
        encoder="auto",
        memory=None,
        random_state=None,
        verbose=0,
        **moved,
    ):
        refuse_moved("LpNTKCleaner", moved, MOVED)
        self.prune_ratio = prune_ratio
        self.cv = cv
        self.kernel = kernel
        self.net = net
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.max_memory = max_memory
        self.encoder = encoder
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _kernel(self):
        return LpNTK(error_weighting="full") if self.kernel is None else self.kernel

    def _check_params(self):
        kernel = self._kernel()
        kernel.check()
        if kernel.normalize != "cosine":
            raise ValueError(
                f"LpNTKCleaner(kernel=LpNTK(normalize={kernel.normalize!r})): the cleaner reads "
                "typicality, a mean cosine; use LpNTK(normalize='cosine') (the default)."
            )

    def _cache_key_fields(self):
        return {"kernel": self._kernel()}

    def _checked_budget(self, classes):
        return None  # the data decide how many rows go: there is no class budget

    def _class_cuts(self, X, y, classes, rows, n_keep, rng, watch):
        proba, class_typicality, attributes = self._out_of_fold(X, y, classes, rng, watch)
        with watch.phase("selection"):
            floors = noise_floors(proba, y)
            rate, counts = uniform_noise(floors, y, len(classes))
            bound = noise_evidence(proba, y)
            if rate < DETECTION_LIMIT or bound < DETECTION_LIMIT:
                counts = np.zeros(len(classes))  # _warn_after_fit says why
            flagged, quality = flag_label_issues(proba, class_typicality, y, counts)
            cuts = []
            for idx in rows:  # flagged rows go lowest quality first, at most n_c - k_c
                order = np.argsort(quality[idx], kind="stable")
                cuts.append(RemovalCut(order[flagged[idx][order]], len(idx)))
        own = np.eye(len(classes), dtype=bool)[y]
        attributes = {
            **attributes,
            "noise_rate_": float(rate),
            "noise_evidence_": float(bound),
            "label_issues_": flagged,
            "label_quality_": quality,
            "oof_proba_": proba,
            "oof_typicality_": class_typicality,
            "typicality_": class_typicality[own],
        }
        return cuts, attributes

    def _warn_after_fit(self, y, classes):
        # here rather than in the cached computation: a fit read from the cache at
        # another prune_ratio warns as a fresh one would
        rate, bound = self.noise_rate_, self.noise_evidence_
        if not self.label_issues_.any() and rate > 0:
            if rate < DETECTION_LIMIT:
                why = f"estimated that {rate:.1%} of the labels are wrong (noise_rate_)"
            else:
                why = (
                    f"estimated that {rate:.1%} of the labels are wrong (noise_rate_), but "
                    f"the evidence shows only {bound:.1%} at {EVIDENCE_CONFIDENCE:.0%} "
                    "confidence (noise_evidence_)"
                )
            warnings.warn(
                f"LpNTKCleaner {why}, below the {DETECTION_LIMIT:.0%} it can tell from "
                "class overlap and chance, so it removed no row. Overlapping classes and "
                "small tables alone give such estimates; label_quality_ still ranks the "
                "rows for a review.",
                UserWarning,
                stacklevel=5,
            )
        kept = np.zeros(len(y), dtype=bool)
        kept[self.sample_indices_] = True
        for c, label in enumerate(classes):
            in_class = y == c
            flagged = int(np.sum(self.label_issues_ & in_class))
            spared = int(np.sum(self.label_issues_ & in_class & kept))
            if spared:
                warnings.warn(
                    f"LpNTKCleaner flagged {flagged} of the {int(in_class.sum())} rows of "
                    f"class {label!r}, more than prune_ratio={self.prune_ratio} allows; "
                    f"it kept {spared} of them (label_issues_ lists them all). This many "
                    "issues in one class is unusual: check the labels.",
                    UserWarning,
                    stacklevel=5,
                )

    def _out_of_fold(self, X, y, classes, rng, watch):
        """Every row's class probabilities and lpNTK typicalities, from the network of
        the one fold that held it out.

        Returns the probabilities and typicalities, shape (n_samples, n_classes), and
        the first fold's training attributes (``net_``, ``strategy_``, ...).
        """
        n, n_classes = len(y), len(classes)
        folds = row_folds(y, n_classes, self.cv, np.random.RandomState(rng.randint(_SEED_MAX)))
        # one network per fold after its last epoch; the kernel read row by row
        settings = replace(kernel_settings(self), kernel=self._kernel())
        reading = {"need_full": False, "graph": None, "n_neighbors": 1, "block_rows": None}
        proba = np.zeros((n, n_classes))
        class_typicality = np.zeros((n, n_classes))
        first = None
        with progress_bar(self.cv, "lpNTK: folds", "fold", bool(self.verbose)) as bar:
            for f in range(self.cv):
                held = folds == f
                if not held.any():
                    bar.update(1)
                    continue
                X_seen, y_seen, X_held = X[~held], y[~held], X[held]
                sizes = np.bincount(y_seen, minlength=n_classes) + int(held.sum())
                source = train_for_kernels(
                    X_seen,
                    y_seen,
                    classes,
                    rng,
                    watch,
                    settings,
                    reading,
                    class_sizes=sizes.tolist(),
                )
                first = first or source.attributes
                with watch.phase("kernel"):
                    proba[held] = source.attributes["net_"].predict_proba(X_held)
                    for c in range(n_classes):
                        class_typicality[held, c] = held_out_typicality(
                            source, c, X_seen[y_seen == c], X_held
                        )
                bar.update(1)
        return proba, class_typicality, first
