"""Near-duplicates: what ``prune_ratio="auto"`` removes (``keep=NearDuplicates(...)``).

Inside one class the lpNTK cosines of a briefly trained network are all high and
close together, so no absolute cosine separates a near-duplicate from an
ordinary neighbour; the distance to the nearest row relative to the row's
neighbourhood does (:func:`local_scale`). :func:`drop_near_duplicates` walks a
class's rows in a keep order and drops a row when it is that close to a row kept
before it (the rule of SemDeDup, Abbas et al., 2023, with the order and the
threshold supplied). The threshold is calibrated by the fit with copies of a few
rows under a perturbation (:func:`duplicate_threshold` reads their cosines).
:class:`NearDuplicates` is the rule: the near-duplicates go first, then the rows
of another rule's order.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from .._options import check_positive_int
from ._cuts import PrefixCut
from ._graph import neighbour_lists, top_neighbours
from ._rule import KeepRule, as_view, register_rule, rule_from

#: Rows copied to calibrate the threshold (stratified; at least two per class).
CALIBRATION_ROWS = 256
#: The threshold is this quantile of the copies' relative distances.
CALIBRATION_QUANTILE = 0.5
#: The threshold never exceeds this: a row's nearest neighbour is at a relative
#: distance of at most 1, and on clean Fashion-MNIST a median of about 0.36
#: (``bench/redundancy.py``), so a copy that is not much closer than that is not
#: seen as a copy by the kernel, and calling such pairs duplicates would remove
#: most of a clean class.
MAX_THRESHOLD = 0.25
#: The perturbations a calibration can name (a callable ``f(X, rng)`` also works).
PERTURBATIONS = ("noise", "shift", "flip")


@register_rule("near_duplicates")
class NearDuplicates(KeepRule):
    """Near-duplicates first: what ``prune_ratio="auto"`` removes.

    Every class is walked in ``rule``'s keep order; a row is a near-duplicate
    when its lpNTK distance ``1 - cosine`` to a row kept before it is, relative
    to the two rows' neighbourhoods (:func:`~sklearn_lpntk.selection.local_scale`), at most the
    threshold. The threshold is calibrated in every fit: about 256 rows are
    copied under ``perturbation`` and the threshold is the median relative
    distance between a copy and its row (at most 0.25, with a warning when the
    kernel does not see the copies as close). With ``prune_ratio="auto"`` only
    the near-duplicates are removed; with a number, the near-duplicates go
    first and then the rows ``rule`` would remove. ``prune_ratio="auto"`` with
    another rule uses ``NearDuplicates(rule=<that rule>)``.

    Parameters
    ----------
    rule : str or KeepRule, default="herding"
        The order in which rows are walked (and kept after the duplicates): a
        rule with a keep order ("herding", "representative", "redundancy",
        "centres" without ``selfmax``).
    perturbation : {"noise", "shift", "flip"} or callable, default="noise"
        How the calibration's copies differ from their rows: "noise",
        Gaussian noise of ``scale`` (0.05) feature standard deviations;
        "shift", moved by up to ``scale`` (1) positions along the inputs' last
        two axes longer than one; "flip", mirrored along the last axis; a
        callable ``f(X, rng)`` returns perturbed rows (the augmentation you
        applied offline); it receives the rows the network reads, so after a
        table's encoding (``encoder_``) the encoded numbers, not the table.
    scale : float or None, default=None
        Size of the perturbation (see above).
    n_neighbors : int, default=10
        Neighbours searched for near-duplicates; the last sets a row's
        neighbourhood scale.
    threshold : float or None, default=None
        A fixed relative threshold instead of the calibration (None: calibrate
        in every fit; a number also lets the rule run on its own, outside a
        fit).
    """

    nested = True

    def __init__(
        self,
        rule="herding",
        perturbation="noise",
        scale=None,
        n_neighbors=10,
        threshold=None,
    ):
        self.rule = rule
        self.perturbation = perturbation
        self.scale = scale
        self.n_neighbors = n_neighbors
        self.threshold = threshold

    @property
    def inner(self):
        """The rule whose order is walked, as an object."""
        return rule_from(self.rule)

    def check(self):
        try:
            inner = self.inner
        except (TypeError, ValueError) as exc:
            raise ValueError(f"NearDuplicates(rule={self.rule!r}): {exc}") from None
        inner.check()
        if isinstance(inner, NearDuplicates) or not inner.nested:
            raise ValueError(
                f"NearDuplicates(rule={self.rule!r}) walks the rule's keep order, which "
                "only nested rules have: use 'herding', 'representative', 'redundancy' or "
                "'centres' (without selfmax)."
            )
        if not (callable(self.perturbation) or self.perturbation in PERTURBATIONS):
            raise ValueError(
                f"NearDuplicates(perturbation={self.perturbation!r}): one of "
                f"{PERTURBATIONS} or a callable f(X, rng) returning perturbed rows."
            )
        if self.scale is not None and not (
            isinstance(self.scale, (int, float))
            and not isinstance(self.scale, bool)
            and self.scale > 0
        ):
            raise ValueError(f"NearDuplicates(scale={self.scale!r}): a positive number or None.")
        check_positive_int("NearDuplicates", "n_neighbors", self.n_neighbors)
        if self.threshold is not None and not (
            isinstance(self.threshold, (int, float)) and self.threshold >= 0
        ):
            raise ValueError(
                f"NearDuplicates(threshold={self.threshold!r}): a relative distance of at "
                "least 0, or None to calibrate it."
            )

    def plan(self):
        inner = self.inner.plan()
        # a class past the dense limit needs a neighbour graph for the walk, whatever
        # the inner rule reads (its blocks, or the same graph)
        graph = inner["graph"] if inner["graph"] not in (None, "blocks") else "auto"
        if inner["graph"] is None and not inner["need_full"]:
            graph = None  # a traversal rule: the class's matrix must fit
        return {
            **inner,
            "need_full": True,
            "graph": graph,
            "n_neighbors": max(inner["n_neighbors"], self.n_neighbors),
        }

    def order_cut(self, kernel, n_keep=None, *, random_state=None):
        """The inner rule's cut, whose order is walked (the first half of the fit's work)."""
        return self.inner.cut(kernel, None, random_state=random_state)

    def neighbours(self, kernel):
        """The class's neighbour graph of ``n_neighbors`` the walk reads."""
        view = as_view(kernel)
        if view.matrix is not None:
            return top_neighbours(view.matrix, self.n_neighbors)
        if view.graph is not None:
            return view.graph
        raise ValueError(
            "near-duplicates of a class read row by row need its matrix or its neighbour "
            "graph; raise the memory limit."
        )

    def finish(self, inner_cut, graph, threshold):
        """The cut: near-duplicates (at ``threshold``) last, every row once."""
        scale = local_scale(graph, self.n_neighbors)
        order = np.asarray(inner_cut.order)
        dropped = drop_near_duplicates(graph, order, threshold, scale=scale)
        order = np.concatenate([order[~dropped[order]], order[dropped[order]]])
        return NearDuplicatesCut(order, duplicates=dropped)

    def cut(self, kernel, n_keep=None, *, random_state=None):
        if self.threshold is None:
            raise ValueError(
                "NearDuplicates(threshold=None) is calibrated by the pruner's fit; to run it "
                "on a kernel of your own, give threshold= (a relative distance, e.g. 0.1)."
            )
        inner = self.order_cut(kernel, random_state=random_state)
        return self.finish(inner, self.neighbours(kernel), self.threshold)


@dataclass(frozen=True, eq=False)
class NearDuplicatesCut(PrefixCut):
    """A keep order with the class's near-duplicates last (``duplicates``, a mask):
    ``prune_ratio="auto"`` keeps the rows before them."""

    duplicates: np.ndarray = None

    @property
    def n_distinct(self):
        """Rows that are not near-duplicates: the count ``prune_ratio="auto"`` keeps."""
        return int((~self.duplicates).sum())


def duplicate_threshold(cosines, scales):
    """The calibrated relative threshold from copies of rows and the copies' ratios.

    ``prune_ratio="auto"`` copies about 256 rows, stratified by class, under a
    perturbation and reads the lpNTK cosine between every copy and its row.
    The threshold is the median over the copies of
    ``max(0, 1 - cosine) / scale`` (the row's :func:`local_scale`), at most
    0.25 (``MAX_THRESHOLD``), with a warning when the copies' median is
    further (the kernel does not see them as copies).

    Parameters
    ----------
    cosines : array of shape (m,)
        lpNTK cosine between each copy and its row.
    scales : array of shape (m,)
        Each copied row's local scale (finite).

    Returns
    -------
    threshold : float
        Pairs with ``1 - s_ij <= threshold * (scale_i + scale_j) / 2`` are
        near-duplicates; 0 without any copy.
    ratios : ndarray
        ``(1 - cosine) / scale`` for every copy.
    """
    cosines = np.asarray(cosines, dtype=float)
    scales = np.asarray(scales, dtype=float)
    if len(cosines) == 0:
        return 0.0, np.empty(0)
    ratios = np.clip(1.0 - cosines, 0.0, None) / scales
    threshold = float(np.quantile(ratios, CALIBRATION_QUANTILE))
    if threshold > MAX_THRESHOLD:
        warnings.warn(
            f"The kernel does not see the calibration copies as near-duplicates: their "
            f"median distance is {threshold:.2f} of their rows' neighbourhood (at most "
            f"{MAX_THRESHOLD} counts as a copy), so only pairs closer than "
            f"{MAX_THRESHOLD} are removed. A perturbation the network is not invariant "
            "to (often shifts and flips) cannot be recognised this way.",
            UserWarning,
            stacklevel=4,
        )
        threshold = MAX_THRESHOLD
    return threshold, ratios


def local_scale(similarity, n_neighbors):
    """Every row's distance ``1 - s`` to its ``n_neighbors``-th most similar other row.

    The scale of "near" around a row: inside a class whose similarities are all
    high and close together, an absolute threshold on the similarity would call
    most rows near-duplicates, while a row's nearest neighbour relative to its
    k-th one stays informative. On a graph, the ``n_neighbors``-th listed
    neighbour is used, or the last one listed where fewer are (padding).
    Rows with no neighbour get ``inf``.

    Parameters
    ----------
    similarity : ndarray of shape (n, n) or NeighbourGraph
        A class's cosine similarities (at most 1).
    n_neighbors : int
        Which neighbour sets the scale (the last one listed when fewer exist).

    Returns
    -------
    scale : ndarray of shape (n,)
        ``1 - s`` to that neighbour, at least 1e-12; ``inf`` without one.
    """
    if hasattr(similarity, "indices"):  # a NeighbourGraph
        # padding (-1) ends a row's list: the least similar of its first
        # n_neighbors listed neighbours is its last listed one
        values = np.where(similarity.indices >= 0, similarity.similarities, np.inf)
        if values.shape[1] == 0:  # a class of one row lists no neighbour
            return np.full(len(values), np.inf)
        values = values[:, : max(1, min(n_neighbors, values.shape[1]))]
        kth = values.min(axis=1)
    else:
        S = np.asarray(similarity, dtype=np.float64)
        n = len(S)
        k = min(n_neighbors, n - 1)
        if k < 1:
            return np.full(n, np.inf)
        M = S.copy()
        np.fill_diagonal(M, -np.inf)
        kth = -np.partition(-M, k - 1, axis=1)[:, k - 1]
    return np.where(np.isfinite(kth), np.clip(1.0 - kth, 1e-12, None), np.inf)


def drop_near_duplicates(similarity, order, threshold, scale=None):
    """Rows that are near-duplicates of a row kept before them.

    Parameters
    ----------
    similarity : ndarray of shape (n, n) or NeighbourGraph
        One class's similarities (on a graph, only its listed pairs are read).
    order : array of int, shape (n,)
        The order in which rows are considered (e.g. a keep order: the most
        representative first). Every row appears once.
    threshold : float
        Without ``scale``: a row whose similarity to a kept row is at least this
        is dropped. With ``scale``: a row ``i`` is dropped when
        ``1 - s_ij <= threshold * (scale_i + scale_j) / 2`` for a kept row ``j``.
    scale : array of shape (n,) or None
        Every row's local scale (:func:`local_scale`).

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the dropped (redundant) rows. The first row of ``order`` is
        never dropped.
    """
    order = np.asarray(order, dtype=np.int64)
    n, neighbours, values = neighbour_lists(similarity, np.inf)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must list every one of the {n} rows exactly once.")
    if scale is not None:
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (n,):
            raise ValueError(f"scale must have one entry per row ({n}); got {scale.shape}.")
    kept = np.zeros(n, dtype=bool)
    dropped = np.zeros(n, dtype=bool)
    for i in order:
        if scale is None:
            near = neighbours[i][values[i] >= threshold]
        else:
            limit = threshold * (scale[i] + scale[neighbours[i]]) / 2
            near = neighbours[i][1 - values[i] <= limit]
        if kept[near].any():
            dropped[i] = True
        else:
            kept[i] = True
    return dropped
