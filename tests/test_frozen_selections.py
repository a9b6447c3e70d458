"""Frozen selections: every pruner and keep-rule keeps the rows it kept when the
reference was written (digits, kernel at initialisation, float64).

The reference in ``tests/data/frozen_selections.npz`` was written by this module
(``python -m tests.test_frozen_selections --write``) from the code of 0.7 (and
0.8's "herding" rule when it came), before the keep-rules and the kernel became
parameter objects and before tables were encoded inside the fit. It holds, for
every setting below, the rows kept at three prune ratios (cut from one fit) and
the keep order where the rule has one; the settings are spelled in the current
API, the rows are those of the 0.7 spelling. A refactoring must leave all of them
as they are; a change of selection that is meant must say so in CHANGELOG.md and
rewrite the reference in the same commit.

``max_epochs=0`` reads the kernel of the seeded initialisation in float64, so
the reference does not depend on how one machine's float32 training rounds.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

REFERENCE = Path(__file__).parent / "data" / "frozen_selections.npz"
RATIOS = (0.3, 0.5, 0.7)


def _settings():
    """``{name: factory}``: each factory builds the estimator from the public API, in
    the spelling of 0.8 (the rule and kernel objects); the rows must be those the 0.7
    spelling kept."""
    import sklearn_lpntk as sl
    from sklearn_lpntk import rules

    float64 = sl.LpNTK(dtype="float64")
    raw = sl.LpNTK(normalize=None, dtype="float64")
    common = dict(max_epochs=0, random_state=0)
    settings = {}
    names = {"budget": "adaptive"}  # the name of the rule in 0.7 -> its name now
    for keep in ("representative", "redundancy", "coverage", "budget", "d2", "herding"):
        settings[f"lpntk-{keep}"] = lambda keep=keep: sl.LpNTKPruner(
            0.3, keep=names.get(keep, keep), kernel=float64, **common
        )
    for keep in ("centres", "random_member", "thin_largest"):
        settings[f"lpntk-cosine-{keep}"] = lambda keep=keep: sl.LpNTKPruner(
            0.3, keep=keep, kernel=float64, **common
        )
    settings["lpntk-paper"] = lambda: sl.LpNTKPruner(0.3, keep="centres", kernel=raw, **common)
    settings["lpntk-paper-selfmax-filter"] = lambda: sl.LpNTKPruner(
        0.3, keep=rules.Centres(selfmax="filter"), kernel=raw, **common
    )
    settings["lpntk-paper-selfmax-repo"] = lambda: sl.LpNTKPruner(
        0.3, keep=rules.Centres(selfmax="repo", fpc="repo"), kernel=raw, **common
    )
    settings["lpntk-paper-contradictory"] = lambda: sl.LpNTKPruner(
        0.3, keep=rules.Centres(drop_contradictory=0.0), kernel=raw, **common
    )
    # the settings below name their rule, so that a new default rule changes none of them
    settings["lpntk-full-error-K"] = lambda: sl.LpNTKPruner(
        0.3,
        keep="representative",
        kernel=sl.LpNTK(normalize="K", error_weighting="full", dtype="float64"),
        **common,
    )
    graph_rules = {
        "representative": rules.FacilityLocation(graph="exact", n_neighbors=5),
        "redundancy": rules.Redundancy(graph="exact", n_neighbors=5),
        "coverage": rules.Coverage(graph="exact", n_neighbors=5),
        "d2": rules.D2(graph="exact", n_neighbors=5),
    }
    for keep, rule in graph_rules.items():
        settings[f"lpntk-graph-{keep}"] = lambda rule=rule: sl.LpNTKPruner(
            0.3, keep=rule, kernel=float64, **common
        )
    settings["lpntk-projection"] = lambda: sl.LpNTKPruner(
        0.3,
        keep="representative",
        kernel=sl.LpNTK(strategy="projection", projection_dim=256, dtype="float64"),
        **common,
    )
    settings["lpntk-class-budget"] = lambda: sl.LpNTKPruner(
        0.3,
        keep="representative",
        kernel=float64,
        class_budget={c: 1.0 + c % 3 for c in range(10)},
        **common,
    )
    settings["lpntk-auto"] = lambda: sl.LpNTKPruner(
        "auto", keep="representative", kernel=float64, **common
    )
    settings["random"] = lambda: sl.RandomPruner(0.3, random_state=0)
    trained = dict(max_epochs=0, random_state=0)
    settings["el2n"] = lambda: sl.EL2NPruner(0.3, n_inits=2, **trained)
    settings["grand"] = lambda: sl.GraNdPruner(0.3, n_inits=2, **trained)
    settings["moderate"] = lambda: sl.ModeratePruner(0.3, **trained)
    settings["ccs"] = lambda: sl.CCSPruner(0.3, scorer=sl.EL2NPruner(**trained), random_state=0)
    return settings


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _selections(name, factory):
    """``{key: int array}`` of one setting: kept rows per ratio and the keep order."""
    X, y = _digits()
    pruner = factory().fit(X, y)
    out = {}
    if pruner.prune_ratio == "auto":
        out[f"{name}|auto"] = pruner.sample_indices_
        return out
    for ratio in RATIOS:
        out[f"{name}|{ratio}"] = pruner.get_support(indices=True, prune_ratio=ratio)
    if getattr(pruner, "keep_order_", None) is not None:
        out[f"{name}|order"] = np.concatenate([pruner.keep_order_[c] for c in pruner.classes_])
    return out


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", sorted(_settings()))
def test_selection_is_the_frozen_one(name, reference):
    got = _selections(name, _settings()[name])
    expected = {k: v for k, v in reference.items() if k.split("|")[0] == name}
    assert sorted(got) == sorted(expected)
    for key, rows in expected.items():
        np.testing.assert_array_equal(got[key], rows, err_msg=key)


def _write():
    arrays = {}
    for name, factory in sorted(_settings().items()):
        arrays.update(_selections(name, factory))
        print(name, flush=True)
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **{k: np.asarray(v, dtype=np.int32) for k, v in arrays.items()})
    print(f"written {REFERENCE} ({len(arrays)} arrays)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.test_frozen_selections --write")
    _write()
