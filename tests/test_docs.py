"""The documentation keeps its promises: every parameter documented, CI = README."""

import inspect
import re
from pathlib import Path

import pytest

from sklearn_lpntk import (
    CCSPruner,
    EL2NPruner,
    ForgettingPruner,
    GraNdPruner,
    LpNTKCleaner,
    LpNTKPruner,
    ModeratePruner,
    PrunedClassifier,
    RandomPruner,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "cls",
    [
        LpNTKPruner,
        PrunedClassifier,
        RandomPruner,
        EL2NPruner,
        GraNdPruner,
        ForgettingPruner,
        CCSPruner,
        ModeratePruner,
        LpNTKCleaner,
    ],
)
def test_every_parameter_is_documented(cls):
    params = inspect.signature(cls).parameters
    doc = (ROOT / "docs" / "parameters.md").read_text()
    for name in params:
        assert f"`{name}`" in doc or f"{name}=" in doc or f"{name}," in doc, name
        assert re.search(rf"^    {name} :", cls.__doc__, flags=re.M), name


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    assert len(commands) >= 2 and "examples/quickstart.py" in commands[0]
    test_command = commands[1]
    assert "pytest" in test_command
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
    docs_command = next(c for c in commands if "sphinx-build" in c)
    assert "-W" in docs_command.split() and docs_command in ci_lines
    assert ci_lines.index(docs_command) > ci_lines.index(test_command)


def test_docstring_examples_run():
    import doctest

    import sklearn_lpntk._baselines._random as baseline
    import sklearn_lpntk._pruner as module

    for mod in (module, baseline):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0


def test_readme_usage_block_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.+?)\n```", readme, flags=re.S)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # the GridSearchCV block
    assert len(namespace["X_kept"]) == len(namespace["y_kept"]) < len(namespace["y"])
    exec(compile(blocks[1], "README.md", "exec"), namespace)  # the custom-net block
    assert namespace["pruner"].net is namespace["net"]


def test_ci_runs_the_cheap_checks_first():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    test_command, docs_command = (
        c for c in re.findall(r"```bash\n(.+?)\n```", readme) if "pytest" in c or "sphinx" in c
    )
    steps = [
        "ruff check .",
        "ruff format --check .",
        "python tests/test_layering.py",
        "python -m build",
        "twine check",
        "pip install dist/",  # the built wheel, in a venv of its own
        "sklearn-lpntk --help",
        test_command,
        docs_command,
    ]
    positions = [ci.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions) if p == -1]
    assert positions == sorted(positions)
