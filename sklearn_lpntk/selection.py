"""The selection layer's public building blocks: keep-rules on a class's similarities.

:class:`~sklearn_lpntk.LpNTKPruner` applies one of these to every class's
lpNTK. Call them directly to try several rules on one kernel without training
again, or to apply a rule to a similarity of your own. Everything is NumPy: a
class's ``(n, n)`` similarity matrix in, row indices of that class out.

* how many rows each class keeps: :func:`keep_counts`;
* the clustering of the paper, :func:`~sklearn_lpntk.farthest_first_traversal`, and
  facility location (the "representative" rule, the default of 0.4-0.7),
  :func:`facility_location`;
* matching a class's distribution: :func:`kernel_herding` (the "herding" rule, the default),
  :func:`block_herding` (a class read in blocks), :func:`mean_discrepancy` (the squared
  MMD of a subset to its class);
* a rule (an object of :mod:`sklearn_lpntk.rules`, or its name from ``KEEP_RULES``
  with its options), once or cut at several sizes: :func:`choose_rows`,
  :func:`rule_cut` (a :class:`Cut` whose ``select`` returns a :class:`Selection`);
* score-based rules (the baselines' keep-rules): :func:`stratified_coverage`
  (CCS), :func:`middle_band` (Moderate), :func:`message_passing_selection` (D2),
  :func:`typicality`, :func:`default_hard_fraction`;
* near-duplicates: :func:`drop_redundant` (the "redundancy" rule),
  :func:`local_scale`, :func:`drop_near_duplicates`,
  :func:`duplicate_threshold` (the threshold ``prune_ratio="auto"`` calibrates from
  copies of rows);
* a class as a neighbour graph instead of a matrix: :class:`NeighbourGraph`,
  :func:`top_neighbours`.

A rule's cut is computed once and read at any size:

>>> import numpy as np
>>> from sklearn_lpntk.selection import facility_location, keep_counts, rule_cut
>>> F = np.random.default_rng(0).normal(size=(40, 5))
>>> F /= np.linalg.norm(F, axis=1, keepdims=True)
>>> S = F @ F.T  # one class's cosine similarities
>>> [int(k) for k in keep_counts([40], 0.75)]
[10]
>>> cut = rule_cut(S, keep="representative")
>>> [len(cut.select(k).kept) for k in (10, 20, 30)]
[10, 20, 30]
>>> bool(np.array_equal(cut.select(10).kept, np.sort(facility_location(S, 10))))
True
"""

from ._selection import (
    KEEP_RULES,
    Cut,
    NeighbourGraph,
    Selection,
    block_herding,
    choose_rows,
    default_hard_fraction,
    drop_near_duplicates,
    drop_redundant,
    duplicate_threshold,
    facility_location,
    farthest_first_traversal,
    keep_counts,
    kernel_herding,
    local_scale,
    mean_discrepancy,
    message_passing_selection,
    middle_band,
    rule_cut,
    stratified_coverage,
    top_neighbours,
    typicality,
)

__all__ = [
    "KEEP_RULES",
    "Cut",
    "NeighbourGraph",
    "Selection",
    "block_herding",
    "choose_rows",
    "default_hard_fraction",
    "drop_near_duplicates",
    "drop_redundant",
    "duplicate_threshold",
    "facility_location",
    "farthest_first_traversal",
    "keep_counts",
    "kernel_herding",
    "local_scale",
    "mean_discrepancy",
    "message_passing_selection",
    "middle_band",
    "rule_cut",
    "stratified_coverage",
    "top_neighbours",
    "typicality",
]
