"""The package's imports point down: the layers of the README's Layout section, no cycles.

Every module of ``sklearn_lpntk`` is parsed with :mod:`ast` (imports inside
functions included, relative imports resolved), and each import of the package
by the package is checked against the layer table in the README's Layout
section: a module imports from its own layer or lower ones, never from a layer
above it, and never across a ``|`` inside its layer. The import graph has no
cycles, between modules or between the table's entries.

The file needs nothing but the standard library, so that CI runs it before
installing anything: ``python tests/test_layering.py``.
"""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "sklearn_lpntk"

#: Third-party imports an entry must not make (the Layout section's "torch only"
#: and "numpy only"): the engine is usable without scikit-learn, the selection
#: rules without torch, the encoding of tables without torch.
FORBIDDEN = {
    "_engine": {"sklearn", "imblearn", "skorch", "pandas"},
    "_selection": {"torch", "sklearn", "imblearn", "skorch", "pandas"},
    # the encoding of tables: scikit-learn only (pandas and polars only when the data is theirs)
    "_encoding": {"torch", "imblearn", "skorch"},
}


def read_layers(readme=ROOT / "README.md"):
    """The Layout section's table, top layer first: ``[(name, [group, ...]), ...]``.

    Each layer line reads ``name: a, b | c, d  # comment``; a group is a set of
    entries (a module ``_cli`` or a subpackage ``_engine`` of the package, or
    ``__init__`` for the package root), and ``|`` separates groups that must not
    import each other.
    """
    section = readme.read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n(.+?)\n```", section, flags=re.S).group(1)
    layers = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, entries = line.split(":", 1)
            groups = [{e.strip() for e in g.split(",") if e.strip()} for g in entries.split("|")]
            layers.append((name.strip(), groups))
    return layers


def package_modules(root=ROOT / PACKAGE):
    """Every module of the package: dotted name -> (path, is_package)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = (path, is_package)
    return modules


def entry_of(module):
    """The layer table's entry a module belongs to: ``_engine`` for ``sklearn_lpntk._engine._x``."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _resolve(name, modules):
    """The package module an imported dotted name lands in (its longest module prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports(module, modules):
    """``(line, imported name, package module or None)`` for every import in ``module``."""
    path, is_package = modules[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, _resolve(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:  # "from . import _rules" imports a module
                name = f"{target}.{alias.name}"
                yield node.lineno, name, _resolve(name, modules)


def import_graph(modules):
    """Module -> {imported package module: first line}, self-imports left out."""
    graph = {}
    for module in modules:
        edges = graph.setdefault(module, {})
        for line, _, target in imports(module, modules):
            if target is not None and target != module:
                edges.setdefault(target, line)
    return graph


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _shown(path):
    """A path as the messages give it: from the repository root where it lies there."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _place(layers):
    """Entry -> (layer index from the top, group index within the layer)."""
    place = {}
    for i, (_, groups) in enumerate(layers):
        for j, group in enumerate(groups):
            for entry in group:
                assert entry not in place, f"{entry} is listed twice in the README's Layout"
                place[entry] = (i, j)
    return place


def layer_violations(layers, modules):
    """One line per import that goes up a layer or across a ``|``."""
    place, graph, out = _place(layers), import_graph(modules), []
    for module, edges in sorted(graph.items()):
        for target, line in sorted(edges.items()):
            (i, j), (k, m) = place[entry_of(module)], place[entry_of(target)]
            if k > i or (k == i and m == j):
                continue  # a lower layer, or the module's own group
            how = "a layer above it" if k < i else "across '|' in its layer"
            path = _shown(modules[module][0])
            out.append(
                f"{path}:{line}: {module} ({layers[i][0]}) imports {target} ({layers[k][0]}), {how}"
            )
    return out


def test_layout_lists_every_entry_of_the_package():
    modules = package_modules()
    listed = set(_place(read_layers()))
    present = {entry_of(m) for m in modules}
    assert present - listed == set(), "add these to the README's Layout section"
    assert listed - present == set(), "the README's Layout section lists what is not there"


def test_imports_point_down():
    violations = layer_violations(read_layers(), package_modules())
    assert violations == [], "\n".join(violations)


def test_no_import_cycles():
    modules = package_modules()
    graph = import_graph(modules)
    found = cycles(graph)
    assert found == [], f"modules importing each other: {found}"
    entries = {}
    for module, edges in graph.items():
        targets = entries.setdefault(entry_of(module), set())
        targets.update(entry_of(t) for t in edges if entry_of(t) != entry_of(module))
    found = cycles(entries)
    assert found == [], f"Layout entries importing each other: {found}"


def test_engine_and_selection_keep_to_their_libraries():
    modules = package_modules()
    out = []
    for module in modules:
        banned = FORBIDDEN.get(entry_of(module), set())
        for line, name, target in imports(module, modules):
            if target is None and name.split(".")[0] in banned:
                out.append(f"{_shown(modules[module][0])}:{line}: imports {name}")
    assert out == [], "\n".join(out)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """An upward import, an import across '|', a circle and an unlisted module are caught."""
    pkg = tmp_path / PACKAGE
    for name, text in {
        "__init__.py": "from ._top import f\n",
        "_top.py": "from ._low import g\n",
        "_low/__init__.py": "from ._rules import h\n",
        "_low/_registry.py": "def register():\n    from .. import _top\n",
        "_low/_rules.py": "from ._registry import register\nfrom .._side import s\n",
        "_side.py": "from . import _low\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    readme = tmp_path / "README.md"
    readme.write_text(
        "# toy\n\n## Layout\n\n```text\ntop: __init__, _top\nlow: _low | _side\n```\n"
    )
    modules = package_modules(pkg)
    found = layer_violations(read_layers(readme), modules)
    assert any("_low._registry (low) imports sklearn_lpntk._top (top)" in v for v in found)
    assert sum("across '|'" in v for v in found) == 2  # _rules -> _side, _side -> _low
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles(import_graph(modules)) != []  # _low._rules -> _side -> _low -> _low._rules


def _private(name):
    """A single-underscore name (``_engine``), not a dunder (``__version__``)."""
    return name.startswith("_") and not name.startswith("__")


def private_uses(paths):
    """One line per use of the package's private names in scripts outside it.

    Caught: ``import sklearn_lpntk._x``, ``from sklearn_lpntk._x import y``,
    ``from sklearn_lpntk import _x``, ``from sklearn_lpntk.kernels import _y``,
    and ``name._y`` where ``name`` was imported from the package.
    """
    out = []
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        bound = set()  # names the script bound to the package's modules and objects
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        bound.add(alias.asname or PACKAGE)
                        if any(_private(part) for part in alias.name.split(".")):
                            out.append(f"{_shown(path)}:{node.lineno}: imports {alias.name}")
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                if node.module.split(".")[0] != PACKAGE:
                    continue
                for alias in node.names:
                    bound.add(alias.asname or alias.name)
                    name = f"{node.module}.{alias.name}"
                    if any(_private(part) for part in name.split(".")):
                        out.append(f"{_shown(path)}:{node.lineno}: imports {name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and _private(node.attr)
            ):
                out.append(f"{_shown(path)}:{node.lineno}: reads {node.value.id}.{node.attr}")
    return out


def test_benches_and_examples_use_only_the_public_api():
    """What the benchmarks and examples need is public: a user can run the same code."""
    scripts = sorted((ROOT / "bench").rglob("*.py")) + sorted((ROOT / "examples").rglob("*.py"))
    assert len(scripts) > 10
    found = private_uses(scripts)
    assert found == [], "\n".join(found)


def test_the_private_use_check_catches_each_form(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import sklearn_lpntk._engine\n"
        "from sklearn_lpntk._selection import keep_counts\n"
        "from sklearn_lpntk import _cli, __version__, kernels\n"
        "from sklearn_lpntk.kernels import sketch as s, _private_helper\n"
        "import sklearn_lpntk as sl\n"
        "sl._base\n"
        "kernels._store\n"
        "other._fine\n"
    )
    found = private_uses([script])
    assert len(found) == 6, found
    assert not any("__version__" in line or "other" in line for line in found)


if __name__ == "__main__":  # CI: before anything is installed, without pytest
    import tempfile

    failed = 0
    for name, check in list(globals().items()):
        if name.startswith("test_"):
            try:
                if "tmp_path" in check.__code__.co_varnames[: check.__code__.co_argcount]:
                    with tempfile.TemporaryDirectory() as tmp:
                        check(Path(tmp))
                else:
                    check()
            except Exception as exc:  # a failed check, or a README it cannot read
                failed += 1
                print(f"FAILED {name}: {exc}")
            else:
                print(f"passed {name}")
    sys.exit(1 if failed else 0)
