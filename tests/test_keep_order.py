"""Keep orders: one fit, cut at any prune ratio, equal to a fresh fit at that ratio.

The cuts are checked against the 0.5 selection made directly for one count
(``tests/_reference.py``), against fresh fits of every pruner and keep-rule,
and, end to end, inside ``pruning_curve``.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTK,
    LpNTKCleaner,
    LpNTKPruner,
    ModeratePruner,
    RandomPruner,
)
from sklearn_lpntk._selection import (
    KEEP_RULES,
    AssignmentLog,
    TraversalRule,
    farthest_first_traversal,
    rule_cut,
    rule_from,
)
from sklearn_lpntk.rules import Centres, RandomMember

from ._counts import n_to_keep
from ._reference import choose_rows_05

RATIOS = (0.0, 0.2, 0.5, 0.8)
#: the rules that the frozen 0.5 reference knows ("d2" came in 0.7 and "herding" and
#: "near_duplicates" in 0.8; their cuts are checked against brute-force readings of
#: their definitions in test_redundancy.py and test_herding.py)
RULES_05 = tuple(k for k in KEEP_RULES if k not in ("d2", "herding", "near_duplicates"))
#: the 0.5 name of a rule renamed since ("budget" is "adaptive" since 0.8)
NAME_05 = {"adaptive": "budget"}
#: options a rule needs to run outside a fit (near-duplicates: a fixed threshold)
OUTSIDE_A_FIT = {"near_duplicates": {"threshold": 0.1}}


def _is_traversal(keep):
    return isinstance(rule_from(keep), TraversalRule)


def _kernels(seed, n=23):
    """A raw PSD kernel with a duplicated row (exact ties) and its float32 cosine."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, 5)) * rng.gamma(1.0, size=(n, 1))
    F[4] = F[2]
    K = F @ F.T
    inv = 1 / np.sqrt(np.diag(K))
    return {"raw": K, "cosine32": (K * inv[:, None] * inv[None, :]).astype(np.float32)}


def _options():
    """``(options of rule_cut, options of the 0.5 reference)`` for every rule and option
    value the 0.5 reference knows: the traversal rules with the self-max filter, the
    contradiction filter and the official traversal, the matrix rules with the
    contradiction filter (the only one of those options they have)."""
    for keep in RULES_05:
        traversal = _is_traversal(keep)
        for selfmax in (None, "filter", "repo") if traversal else (None,):
            for contradictory in (None, 0.2):
                for fpc in ("canonical", "repo") if traversal else ("canonical",):
                    rule = dict(keep=keep, drop_contradictory=contradictory, random_state=11)
                    if traversal:
                        rule.update(selfmax=selfmax, fpc=fpc)
                    reference = dict(
                        keep=NAME_05.get(keep, keep),
                        selfmax=selfmax,
                        drop_contradictory=contradictory,
                        fpc=fpc,
                        random_state=11,
                    )
                    yield rule, reference


def _same(a, b):
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["raw", "cosine32"])
def test_every_cut_equals_the_direct_selection_for_that_count(seed, kind):
    K = _kernels(seed)[kind]
    n = K.shape[0]
    for options, reference in _options():
        cut = rule_cut(K, **options)
        for k in range(1, n + 1):
            want = choose_rows_05(K, k, **reference)
            got = cut.select(k)
            fields = ("kept", "centres", "assignment", "selfmax", "contradictory")
            for name in fields:
                assert _same(getattr(want, name), getattr(got, name)), (options, k, name)


class CountingKernel:
    """A matrix seen only through diagonal() and row(i), counting the rows read."""

    def __init__(self, matrix):
        self.matrix, self.shape, self.rows = matrix, matrix.shape, []

    def diagonal(self):
        return np.diagonal(self.matrix).copy()

    def row(self, i):
        self.rows.append(i)
        return self.matrix[i].copy()


@pytest.mark.parametrize("keep", ["centres", "random_member", "thin_largest"])
def test_a_bounded_traversal_reads_only_the_rows_it_needs_and_says_what_it_covers(keep):
    K = _kernels(3, n=40)["raw"]
    lazy = CountingKernel(K)
    cut = rule_cut(lazy, 12, keep=keep, random_state=2)
    needed = 6 if keep == "thin_largest" else 12  # cluster_ratio 0.5
    assert len(lazy.rows) == needed
    for k in range(1, 13):
        assert cut.covers(k)
        assert np.array_equal(
            cut.select(k).kept, choose_rows_05(K, k, keep=keep, random_state=2).kept
        )
    assert not cut.covers(14)
    with pytest.raises(ValueError, match="centres"):
        cut.select(14)


def test_the_assignment_log_replays_the_traversal_at_every_prefix():
    K = _kernels(5, n=30)["raw"]
    cut = rule_cut(K, keep="centres")
    assert isinstance(cut.log, AssignmentLog) and len(cut.log) == 30
    for m in range(1, 31):
        centres, assignment = farthest_first_traversal(K, m)
        assert np.array_equal(cut.order[:m], centres)
        assert np.array_equal(cut.log.at(m), assignment)


def test_nested_rules_have_an_order_and_the_others_none():
    K = _kernels(0)["cosine32"]
    nested = {"centres", "representative", "redundancy", "herding", "near_duplicates"}
    for keep in KEEP_RULES:
        cut = rule_cut(K, keep=keep, random_state=0, **OUTSIDE_A_FIT.get(keep, {}))
        assert (cut.order is not None) == (keep in nested), keep
        assert rule_from(keep).nested == (keep in nested), keep
        if cut.order is not None:
            for k in (1, 7, 23):
                assert np.array_equal(np.sort(cut.order[:k]), cut.select(k).kept)
    assert rule_cut(K, keep="centres", selfmax="filter").order is None
    assert not Centres(selfmax="filter").nested


# ---------------------------------------------------------------- pruners


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(0).permutation(len(y))[:240]
    return X[idx] / 16.0, y[idx]


PRUNERS = {
    **{
        f"LpNTKPruner(keep={keep!r})": (
            lambda r, keep=keep: LpNTKPruner(r, keep=keep, max_epochs=1, random_state=0)
        )
        for keep in KEEP_RULES
    },
    "paper, selfmax=filter": lambda r: LpNTKPruner.paper(
        r, keep=Centres(selfmax="filter"), max_epochs=1, random_state=0
    ),
    "paper, selfmax=repo, random_member": lambda r: LpNTKPruner.paper(
        r, keep=RandomMember(selfmax="repo"), max_epochs=1, random_state=0
    ),
    "paper, drop_contradictory": lambda r: LpNTKPruner.paper(
        r, keep=Centres(drop_contradictory=0.3), kernel=LpNTK(), max_epochs=1, random_state=0
    ),
    "RandomPruner": lambda r: RandomPruner(r, random_state=0),
    "EL2NPruner": lambda r: EL2NPruner(r, max_epochs=1, n_inits=2, random_state=0),
    "GraNdPruner": lambda r: GraNdPruner(r, n_inits=1, random_state=0),
    "ForgettingPruner": lambda r: ForgettingPruner(r, max_epochs=3, random_state=0),
    "CCSPruner": lambda r: CCSPruner(r, scorer=EL2NPruner(max_epochs=1, n_inits=1), random_state=0),
    "ModeratePruner": lambda r: ModeratePruner(r, max_epochs=1, random_state=0),
    "LpNTKCleaner": lambda r: LpNTKCleaner(r, max_epochs=1, random_state=0),
}


def _fitted_state(pruner):
    return {
        k: v
        for k, v in vars(pruner).items()
        if k.endswith("_") and k not in ("net_", "scorer_", "timings_", "from_cache_")
    }


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for name, value in a.items():
        other = b[name]
        if isinstance(value, dict):
            assert value.keys() == other.keys(), name
            for key in value:
                np.testing.assert_array_equal(value[key], other[key], err_msg=name)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other, err_msg=name)
        else:
            assert value == other, name


@pytest.mark.parametrize("name", list(PRUNERS))
def test_one_fit_cut_at_any_ratio_equals_a_fresh_fit_at_that_ratio(data, name):
    X, y = data
    make = PRUNERS[name]
    fitted = make(0.2).fit(X, y)
    for ratio in RATIOS:
        fresh = make(ratio).fit(X, y)
        np.testing.assert_array_equal(
            fitted.get_support(indices=True, prune_ratio=ratio),
            fresh.sample_indices_,
            err_msg=f"{name} at {ratio}",
        )
        mask = fitted.get_support(prune_ratio=ratio)
        assert mask.dtype == bool and np.array_equal(np.flatnonzero(mask), fresh.sample_indices_)
        if fitted.keep_order_ is not None:  # nested: the first k of every class
            for label, order in fitted.keep_order_.items():
                k = n_to_keep(int(np.sum(y == label)), ratio)
                kept = fresh.sample_indices_[y[fresh.sample_indices_] == label]
                np.testing.assert_array_equal(np.sort(order[:k]), kept)
    np.testing.assert_array_equal(fitted.get_support(indices=True), fitted.sample_indices_)


def test_the_pruner_selects_what_the_direct_05_rule_selects_on_its_own_kernels(data, monkeypatch):
    X, y = data
    seen = []
    for keep in RULES_05:
        rule = type(rule_from(keep))
        real = rule.cut

        def recording(self, kernel, n_keep=None, *, random_state=None, real=real):
            assert kernel.matrix is not None  # non-lazy here: the class matrix
            seen.append((np.array(kernel.matrix), random_state))
            return real(self, kernel, n_keep, random_state=random_state)

        monkeypatch.setattr(rule, "cut", recording)
        for ratio in (0.3, 0.7):
            seen.clear()
            pruner = LpNTKPruner(ratio, keep=keep, max_epochs=1, random_state=4).fit(X, y)
            assert len(seen) == len(pruner.classes_)
            want = []
            for c, (matrix, seed) in enumerate(seen):
                idx = np.flatnonzero(y == pruner.classes_[c])
                k = n_to_keep(len(idx), ratio)
                sel = choose_rows_05(matrix, k, keep=NAME_05.get(keep, keep), random_state=seed)
                want.append(idx[sel.kept])
            np.testing.assert_array_equal(pruner.sample_indices_, np.sort(np.concatenate(want)))


def test_score_pruners_keep_what_the_05_rule_keeps(data):
    X, y = data
    for ratio in (0.25, 0.6):
        pruner = EL2NPruner(ratio, max_epochs=1, n_inits=2, random_state=7).fit(X, y)
        rng = np.random.RandomState(7)
        rng.randint(np.iinfo(np.int32).max, size=2)  # the initialisations' seeds
        want = []
        for c in range(10):  # keep_highest of 0.5
            idx = np.flatnonzero(y == c)
            idx = idx[rng.permutation(len(idx))]
            want.append(
                idx[np.argsort(-pruner.scores_[idx], kind="stable")[: n_to_keep(len(idx), ratio)]]
            )
        np.testing.assert_array_equal(pruner.sample_indices_, np.sort(np.concatenate(want)))
        random = RandomPruner(ratio, random_state=7).fit(X, y)
        rng = np.random.RandomState(7)
        want = [
            rng.choice(np.flatnonzero(y == c), size=n_to_keep(np.sum(y == c), ratio), replace=False)
            for c in range(10)
        ]
        np.testing.assert_array_equal(random.sample_indices_, np.sort(np.concatenate(want)))


def _limit_between_lazy_and_full(X, y):
    """A memory limit that holds a class's gradients but not its Gram matrix."""
    from sklearn_lpntk._engine import LpNTKEngine

    pruner = LpNTKPruner.paper(max_epochs=1, random_state=0).fit(X, y)
    engine = LpNTKEngine(pruner.net_.module_, normalize=None)
    probe = engine.probe(X.astype(np.float32), np.zeros(len(y), dtype=np.int64))
    largest = int(np.bincount(y).max())
    lazy = engine.need_bytes(probe, engine.strategy, largest)
    full = engine.need_bytes(probe, engine.strategy, largest, need_full=True)
    assert lazy < full
    return (lazy + full) // 2


def test_a_lazy_class_covers_the_ratios_its_fit_reached_and_refuses_the_others(data):
    X, y = data
    limit = _limit_between_lazy_and_full(X, y)
    lazy = LpNTKPruner.paper(0.5, max_epochs=1, random_state=0, max_memory=limit).fit(X, y)
    assert len(lazy.lazy_classes_) > 0
    for ratio in (0.5, 0.7, 0.9):  # fewer rows than the fit kept: covered
        fresh = LpNTKPruner.paper(ratio, max_epochs=1, random_state=0).fit(X, y)
        np.testing.assert_array_equal(
            lazy.get_support(indices=True, prune_ratio=ratio), fresh.sample_indices_
        )
    with pytest.raises(ValueError, match=r"max_memory.*Refit with the smaller prune_ratio"):
        lazy.get_support(prune_ratio=0.2)


@pytest.mark.parametrize("bad", [1.0, -0.1, "half", None, True])
def test_get_support_refuses_a_bad_ratio(data, bad):
    X, y = data
    pruner = RandomPruner(random_state=0).fit(X, y)
    if bad is None:
        assert np.array_equal(pruner.get_support(prune_ratio=None), pruner.get_support())
        return
    with pytest.raises(ValueError, match=r"prune_ratio must be a number in \[0, 1\)"):
        pruner.get_support(prune_ratio=bad)


def test_a_refit_from_the_order_gives_every_fitted_attribute_of_a_fresh_fit(data, tmp_path):
    X, y = data
    for keep in ("centres", "random_member", "representative", "coverage"):
        LpNTKPruner(0.1, keep=keep, max_epochs=1, random_state=0, memory=tmp_path).fit(X, y)
        cached = LpNTKPruner(0.6, keep=keep, max_epochs=1, random_state=0, memory=tmp_path).fit(
            X, y
        )
        fresh = LpNTKPruner(0.6, keep=keep, max_epochs=1, random_state=0).fit(X, y)
        assert cached.from_cache_ and not fresh.from_cache_
        _assert_same_state(_fitted_state(cached), _fitted_state(fresh))


@pytest.mark.parametrize("keep", KEEP_RULES)
def test_every_rule_cut_follows_the_cut_protocol(keep):
    from sklearn_lpntk._selection import Cut

    K = np.random.default_rng(0).normal(size=(12, 5))
    cut = rule_cut(K @ K.T, keep=keep, random_state=0, **OUTSIDE_A_FIT.get(keep, {}))
    assert isinstance(cut, Cut)
    assert cut.covers(6) and len(cut.select(6, 0.5).kept) == 6
