"""Guards on what the package borrows from its dependencies, and on its own layering."""

import ast
from pathlib import Path

import imblearn
import numpy as np
import torch
from torch import nn

from sklearn_lpntk import lpntk_kernel
from sklearn_lpntk.layers import PositionalRule, register_rule
from sklearn_lpntk.pipeline import private_api_problems

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_lpntk"


def test_imblearn_private_api_is_what_the_pipeline_overrides():
    problems = private_api_problems()
    assert not problems, (
        f"imbalanced-learn {imblearn.__version__} changed the private helpers that "
        f"sklearn_lpntk.Pipeline._fit relies on: {problems}. Adapt pipeline.py and the "
        "upper bound on imbalanced-learn in pyproject.toml."
    )


def _imports(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add("." * node.level + (module if node.level else module.split(".")[0]))
    return names


#: What the engine and the selection layer may import from the package outside them:
#: the parameter objects' protocol (standard library only, the layer below both).
BELOW = {".._options"}


def test_options_imports_only_the_standard_library():
    assert _imports(PACKAGE / "_options.py") == {"inspect", "numbers"}


def test_layers_import_only_downwards():
    for path in (PACKAGE / "_engine").glob("*.py"):
        outside = {n for n in _imports(path) if not n.startswith(".")} - {
            "torch",
            "numpy",
            "math",
            "warnings",
            "contextlib",
            "dataclasses",
            "os",
            "re",
            "abc",
            "__future__",
            "importlib",
            "numbers",
            # the optional similarity-search libraries, imported only when used
            "faiss",
            "pynndescent",
        }
        assert not outside, f"{path.name} imports {outside}"
        assert not any(n.startswith("..") for n in _imports(path) - BELOW), path.name
    for path in (PACKAGE / "_selection").glob("*.py"):
        outside = {n for n in _imports(path) if not n.startswith(".")} - {
            "numpy",
            "heapq",
            "dataclasses",
            "math",
            "abc",
            "functools",
            "warnings",
        }
        assert not outside, f"{path.name} imports {outside}"
        assert not any(n.startswith("..") for n in _imports(path) - BELOW), path.name


#: Longest module, in lines as ``ruff format`` writes them (CI enforces the format).
MAX_MODULE_LINES = 500


def test_no_module_is_too_long():
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES, path


class Scale(nn.Module):
    """y = x * w + b elementwise: a custom layer with its own rule below."""

    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d, dtype=torch.float64))
        self.bias = nn.Parameter(torch.randn(d, dtype=torch.float64))

    def forward(self, x):
        return x * self.weight + self.bias


def test_a_registered_rule_is_used_and_matches_the_features_strategy():
    calls = []

    @register_rule(Scale)
    class ScaleRule(PositionalRule):
        def positions(self, activation, grad_output):
            calls.append(activation.shape)
            return activation[:, None, :], grad_output[:, None, :]  # one position

        def pieces_from_positions(self, A, D):
            x, g = A[:, 0], D[:, 0]  # per-sample gradients of weight and bias
            return ([x * g] if self.weight else []) + ([g] if self.bias else [])

    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 7), Scale(7), nn.Tanh(), nn.Linear(7, 3)).double()
        X = torch.randn(20, 5, dtype=torch.float64)
        y = torch.randint(0, 3, (20,))
        factorized = lpntk_kernel(model, X, y, strategy="factorized")
        assert calls, "the registered rule was not used"
        features = lpntk_kernel(model, X, y, strategy="features")
        np.testing.assert_allclose(factorized, features, rtol=1e-10, atol=1e-12)
    finally:
        from sklearn_lpntk._engine._layers import _RULES

        _RULES.pop(Scale, None)


def test_the_rule_example_in_the_docs_runs():
    import re

    text = (PACKAGE.parent / "docs" / "performance.md").read_text()
    block = re.findall(r"```python\n(.+?)\n```", text, flags=re.S)[-1]
    namespace = {}
    try:
        exec(compile(block, "performance.md", "exec"), namespace)
    finally:
        from sklearn_lpntk._engine._layers import _RULES

        _RULES.pop(namespace.get("Scale"), None)
