"""Keep-rules: which rows of every class a pruner keeps, as small parameter objects.

``LpNTKPruner(keep=...)`` takes one of these objects (its options are the
constructor's keywords, grid-searchable as ``keep__<option>``), or its name for
the rule with its defaults. Each rule turns one class's lpNTK into a cut that
gives the kept rows for any count (:meth:`KeepRule.cut`); the nested rules keep
the first ``k`` rows of one order, so one fit serves every prune ratio.

* matching the class: :class:`Herding` ("herding");
* covering it: :class:`FacilityLocation` ("representative");
* removing redundant pairs: :class:`Redundancy` ("redundancy"), and
  :class:`Adaptive` ("adaptive": redundancy, then representative rows);
* difficulty strata: :class:`Coverage` ("coverage"), :class:`D2` ("d2");
* the paper's rules on a farthest-first clustering: :class:`Centres`
  ("centres"), :class:`RandomMember` ("random_member"), :class:`ThinLargest`
  ("thin_largest");
* near-duplicates first (``prune_ratio="auto"``): :class:`NearDuplicates`
  ("near_duplicates").

A rule of your own subclasses :class:`KeepRule` and registers a name with
:func:`register_rule`:

>>> import numpy as np
>>> from sklearn_lpntk.rules import Coverage, Herding, rule_names
>>> F = np.random.default_rng(0).normal(size=(40, 5))
>>> F /= np.linalg.norm(F, axis=1, keepdims=True)
>>> cut = Herding().cut(F @ F.T)  # one class's cosine similarities
>>> [len(cut.select(k).kept) for k in (10, 20)]
[10, 20]
>>> Coverage(hard_fraction=0.1)
Coverage(hard_fraction=0.1)
>>> "herding" in rule_names()
True
"""

from ._selection import (
    D2,
    Adaptive,
    Centres,
    ClassView,
    Coverage,
    FacilityLocation,
    Herding,
    KeepRule,
    NearDuplicates,
    RandomMember,
    Redundancy,
    ThinLargest,
    register_rule,
    rule_from,
    rule_names,
)

__all__ = [
    "Adaptive",
    "Centres",
    "ClassView",
    "Coverage",
    "D2",
    "FacilityLocation",
    "Herding",
    "KeepRule",
    "NearDuplicates",
    "RandomMember",
    "Redundancy",
    "ThinLargest",
    "register_rule",
    "rule_from",
    "rule_names",
]
