"""Cuts: one class's selection computed once, cut at any number of rows.

Every keep-rule is split in two steps: :func:`~._filters.rule_cut` does all
the work that does not depend on how many rows are kept (the traversal, the
greedy order, the scores) and returns a :class:`Cut`; ``cut.select(k)`` then
gives the :class:`Selection` that the rule would have made for ``k`` rows.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from ._strata import default_hard_fraction, stratified_coverage


@dataclass(frozen=True)
class Selection:
    """The rows chosen in one class, as indices into the class.

    Attributes
    ----------
    kept : ndarray of int
        Kept rows, ascending.
    centres : ndarray of int or None
        Farthest-first centres in the order chosen (for the matrix rules, the
        kept rows); None for rules without centres (the baselines).
    assignment : ndarray of int, shape (n,), or None
        For every row, the row index of its centre.
    selfmax : ndarray of bool or None
        Self-max rows (when the self-max filter was asked for).
    contradictory : ndarray of bool or None
        Rows excluded as contradictory (when asked for).
    """

    kept: np.ndarray
    centres: np.ndarray = None
    assignment: np.ndarray = None
    selfmax: np.ndarray = None
    contradictory: np.ndarray = None


class Cut(ABC):
    """The base class, and protocol, of every cut (one class's keep-rule, computed once).

    :func:`rule_cut` returns one. A subclass sets ``order`` and implements
    :meth:`covers` and :meth:`select`; the estimators read nothing else, so a
    fitted pruner cuts its stored cuts at any ratio without computing them
    again. An abstract base class: a subclass that leaves either method out
    cannot be instantiated.

    Attributes
    ----------
    order : ndarray or None
        For a *nested* rule (the rows kept for ``k`` are the first ``k`` of one
        order, whatever ``k``) that order, else None. Every subclass sets it
        (not here: a dataclass field would inherit the default).
    """

    @abstractmethod
    def covers(self, k):
        """Whether ``select(k)`` is available (a traversal on a lazy kernel is
        run only as far as it was asked to)."""

    @abstractmethod
    def select(self, k, prune_ratio=None):
        """The selection of ``k`` rows.

        Parameters
        ----------
        k : int
            Rows kept.
        prune_ratio : float or None, default=None
            The ratio ``k`` came from (only rules whose settings follow the
            ratio, such as CCS's automatic hard fraction, read it).

        Returns
        -------
        selection : Selection
            A dataclass whose ``kept`` holds the kept rows (ascending) and
            whose other fields say what the filters and the rule decided.
        """


class AssignmentLog:
    """The centre every row is assigned to after each prefix of a keep order.

    Built by :meth:`recorder`: for every centre added (in order), the rows
    whose assignment moves to it. :meth:`at` replays the first ``m``
    additions. A row's assignment changes a few times along an order, so the
    log is far smaller than the ``(n, m)`` similarities it summarises.
    """

    def __init__(self, n, rows, offsets, centres):
        self.n = int(n)
        self.rows = rows  # rows moved, step after step
        self.offsets = offsets  # rows[offsets[t]:offsets[t + 1]] moved at step t
        self.centres = centres  # the centre added at each step

    @staticmethod
    def recorder(n):
        """An empty log to ``record(centre, rows)`` into, then ``finish()``."""
        return _Recorder(n)

    def __len__(self):
        return len(self.centres)

    def at(self, m):
        """Assignment after the first ``m`` centres (-1 for rows not yet assigned)."""
        m = min(int(m), len(self.centres))
        stop = self.offsets[m]
        steps = np.repeat(np.arange(m), np.diff(self.offsets[: m + 1]))
        # the last event of every row among the first m steps
        unique, first = np.unique(self.rows[:stop][::-1], return_index=True)
        assignment = np.full(self.n, -1, dtype=np.intp)
        assignment[unique] = self.centres[steps[stop - 1 - first]]
        return assignment


class _Recorder:
    def __init__(self, n):
        self.n, self.rows, self.centres = n, [], []

    def record(self, centre, rows):
        self.rows.append(np.asarray(rows, dtype=np.int32))
        self.centres.append(int(centre))

    def finish(self):
        counts = [len(r) for r in self.rows]
        rows = np.concatenate(self.rows) if self.rows else np.empty(0, np.int32)
        return AssignmentLog(
            self.n,
            rows,
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            np.asarray(self.centres, dtype=np.intp),
        )


def matrix_assignment_log(S, order):
    """Log of "most similar row among the first m of ``order``" (ties: the lowest index).

    ``S`` is the class's similarity matrix; every row of ``S`` is assigned,
    including rows that ``order`` never reaches.
    """
    n = S.shape[0]
    columns = S if np.array_equal(S, S.T) else np.ascontiguousarray(S.T)
    best = np.full(n, -np.inf)
    current = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
    log = AssignmentLog.recorder(n)
    for j in order:
        column = columns[j]
        moved = (column > best) | ((column == best) & (j < current))
        where = np.flatnonzero(moved)
        best[where] = column[where]
        current[where] = j
        log.record(j, where)
    return log.finish()


@dataclass(frozen=True, eq=False)
class PrefixCut(Cut):
    """A nested rule: the rows kept for ``k`` are the first ``k`` of ``order``.

    With a ``log`` (the matrix rules) every row is also assigned to its most
    similar kept row, kept rows to themselves; ``centres`` says whether the
    selection's centres are the prefix in order ("order") or ascending
    ("sorted").
    """

    order: np.ndarray
    log: AssignmentLog = None
    centres: str = "order"
    masks: dict = field(default_factory=dict)

    def covers(self, k):
        return True

    def select(self, k, prune_ratio=None):
        prefix = self.order[: min(int(k), len(self.order))]
        kept = np.sort(prefix)
        if self.log is None:
            return Selection(kept, **self.masks)
        assignment = self.log.at(len(prefix))
        assignment[kept] = kept
        return Selection(
            kept, prefix if self.centres == "order" else kept, assignment, **self.masks
        )


def n_clusters_for(keep, k, cluster_ratio):
    """Farthest-first centres a traversal rule needs to keep ``k`` rows."""
    if keep == "thin_largest":
        return max(1, int(np.floor(cluster_ratio * k)))
    return int(k)


@dataclass(frozen=True, eq=False)
class TraversalCut(Cut):
    """A farthest-first traversal (its centres in order and assignment log) and a
    keep-rule on it.

    ``complete`` is False when the traversal was stopped before it ran out of
    rows (a lazy kernel is read only as far as needed); ``select(k)`` is then
    available while the rule needs no more centres than were found. Only
    "centres" is nested: "random_member" and "thin_largest" draw from the
    clusters of ``k`` (or ``cluster_ratio * k``) centres, which change with
    ``k``.
    """

    centres: np.ndarray
    log: AssignmentLog
    complete: bool
    keep: str = "centres"
    cluster_ratio: float = 0.5
    thin_fraction: float = 0.5
    seed: object = None
    allowed: np.ndarray = None
    masks: dict = field(default_factory=dict)

    @property
    def order(self):
        return self.centres if self.keep == "centres" else None

    def covers(self, k):
        return self.complete or n_clusters_for(self.keep, k, self.cluster_ratio) <= len(
            self.centres
        )

    def select(self, k, prune_ratio=None):
        if not self.covers(k):
            raise ValueError(
                f"this traversal was run for {len(self.centres)} centres; {k} rows need more."
            )
        m = min(n_clusters_for(self.keep, k, self.cluster_ratio), len(self.centres))
        centres = self.centres[:m]
        assignment = self.log.at(m)
        if self.keep == "centres":
            kept = centres
        else:
            rng = np.random.default_rng(self.seed)
            allowed = np.ones(self.log.n, dtype=bool) if self.allowed is None else self.allowed
            if self.keep == "random_member":
                kept = _keep_random_member(centres, assignment, allowed, rng)
            else:
                kept = _thin_largest(centres, assignment, allowed, int(k), self.thin_fraction, rng)
        return Selection(np.sort(kept), centres, assignment, **self.masks)


@dataclass(frozen=True, eq=False)
class Switch(Cut):
    """One cut for ``k < threshold``, another for ``k >= threshold``.

    A side may be None when it was not computed (see ``covers``). Not nested.
    """

    threshold: float
    below: object
    above: object
    order = None

    def _side(self, k):
        return self.above if k >= self.threshold else self.below

    def covers(self, k):
        side = self._side(k)
        return side is not None and side.covers(k)

    def select(self, k, prune_ratio=None):
        side = self._side(k)
        if side is None:
            raise ValueError(f"no selection was computed for {k} rows.")
        return side.select(k, prune_ratio)


@dataclass(frozen=True, eq=False)
class CoverageCut(Cut):
    """A selection over difficulty strata, redone for every ``k`` (not nested).

    ``scores`` are the difficulties of the candidate ``rows`` of a class of
    ``n`` rows; ``chooser(scores, k, hard_fraction)`` picks ``k`` of them
    (positions into ``rows``): coverage-centric sampling
    (:func:`stratified_choice`) or D2's message passing. ``hard_fraction`` is a
    number or "auto": the share that :func:`default_hard_fraction` gives for the
    prune ratio (``auto_from="ratio"``, CCS) or for the class's removed fraction
    ``1 - k / n`` (``"kept"``, the lpNTK rules). With a ``matrix`` (or a
    neighbour graph) every row is assigned to its most similar kept row.
    """

    scores: np.ndarray
    rows: np.ndarray
    n: int
    chooser: object
    hard_fraction: object = "auto"
    auto_from: str = "kept"
    matrix: np.ndarray = None
    masks: dict = field(default_factory=dict)
    order = None

    def covers(self, k):
        return True

    def select(self, k, prune_ratio=None):
        if self.hard_fraction != "auto":
            fraction = self.hard_fraction
        elif self.auto_from == "ratio":
            fraction = default_hard_fraction(prune_ratio)
        else:
            fraction = default_hard_fraction(1 - k / self.n)
        local = self.chooser(self.scores, min(int(k), len(self.rows)), fraction)
        kept = np.sort(self.rows[local])
        if self.matrix is None:
            return Selection(kept, **self.masks)
        if isinstance(self.matrix, np.ndarray):
            assignment = most_similar(self.matrix, kept)
        else:  # a neighbour graph
            assignment = self.matrix.most_similar(kept)
        return Selection(kept, self.rows[local], assignment, **self.masks)


def stratified_choice(scores, k, hard_fraction, *, n_bins=50, seed=None):
    """The chooser of coverage-centric sampling (:func:`stratified_coverage`); ``seed``
    makes every count draw alike."""
    return stratified_coverage(
        scores, k, hard_fraction=hard_fraction, n_bins=n_bins, random_state=seed
    )


@dataclass(frozen=True, eq=False)
class RemovalCut(Cut):
    """Remove rows in ``removal`` order, at most ``n - k`` of them (a cleaning rule).

    Rows are assigned to themselves. The kept sets are nested, but a cut keeps
    more than ``k`` rows when fewer than ``n - k`` rows are removable.
    """

    removal: np.ndarray
    n: int
    order = None

    def covers(self, k):
        return True

    def select(self, k, prune_ratio=None):
        kept = np.setdiff1d(np.arange(self.n), self.removal[: max(0, self.n - int(k))])
        return Selection(kept, kept, np.arange(self.n))


def most_similar(S, kept):
    """For every row of ``S``, its most similar row among ``kept`` (ascending; ties: the
    lowest); kept rows are assigned to themselves."""
    n = S.shape[0]
    assignment = np.empty(n, dtype=kept.dtype)
    for start in range(0, n, 512):  # no (n, k) copy
        block = S[start : start + 512][:, kept]
        assignment[start : start + 512] = kept[np.argmax(block, axis=1)]
    assignment[kept] = kept
    return assignment


def _clusters(centres, assignment, allowed):
    """Allowed members of each cluster (ascending row order; the centre always), in
    centre order."""
    out = []
    for c in centres:
        members = (assignment == c) & allowed
        members[c] = True
        out.append(np.flatnonzero(members))
    return out


def _keep_random_member(centres, assignment, allowed, rng):
    return np.array([rng.choice(m) for m in _clusters(centres, assignment, allowed)])


def _thin_largest(centres, assignment, allowed, n_keep, thin_fraction, rng):
    """Thin the largest clusters until only ``n_keep`` rows remain.

    Repeatedly take the currently largest cluster (ties: the one whose centre
    was chosen first) and remove a random ``thin_fraction`` of its non-centre
    members (at least one, never more than still has to go). Centres are never
    removed, so no cluster vanishes.
    """
    clusters = _clusters(centres, assignment, allowed)
    kept = [list(members) for members in clusters]
    to_remove = max(0, sum(len(m) for m in kept) - n_keep)
    while to_remove > 0:
        sizes = [len(m) for m in kept]
        i = int(np.argmax(sizes))
        others = [s for s in kept[i] if s != centres[i]]
        n_drop = min(to_remove, max(1, int(thin_fraction * len(kept[i]))), len(others))
        dropped = set(rng.choice(others, size=n_drop, replace=False).tolist())
        kept[i] = [s for s in kept[i] if s not in dropped]
        to_remove -= n_drop
    return np.concatenate([np.asarray(m, dtype=np.intp) for m in kept])
