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
    from sklearn_lpntk import kernels, selection

    for mod in (module, baseline, kernels, selection):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0


def test_readme_code_blocks_run():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.+?)\n```", readme, flags=re.S)
    assert len(blocks) >= 2
    namespaces = []
    for block in blocks:  # every block on its own, as a reader would paste it
        namespaces.append({})
        exec(compile(block, "README.md", "exec"), namespaces[-1])
    usage, custom_net = namespaces[0], namespaces[1]
    assert len(usage["X_kept"]) == len(usage["y_kept"]) < len(usage["y"])
    assert custom_net["pruner"].net is custom_net["net"]


def test_readme_first_screen_holds_the_commands_the_example_and_where_it_pays():
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:60])
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    assert commands[0] in first_screen and commands[1] in first_screen
    example = re.search(r"```python\n(.+?)\n```", readme, flags=re.S).group(0)
    assert example in first_screen
    heading = "## Where it pays, and where a random subset does as well"
    section = readme.split(heading, 1)[1].split("\n![", 1)[0].split("\n## ", 1)[0]
    assert heading + section in first_screen
    assert "(docs/reproduction.md)" in section and "random does as well" in section
    assert "![" in readme.split("\n## Which entry point", 1)[0]  # a picture next


def test_readme_links_resolve_and_history_lives_in_the_changelog():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        built = target.startswith("docs/_build/")  # made by the docs command
        assert built or (ROOT / target).exists(), target
    assert "## Status" not in readme and not re.search(r"\bVersion 0\.\d", readme)


def test_changelog_has_every_version_newest_first_and_is_on_the_site():
    import sklearn_lpntk

    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.M)
    assert headings[0] == "Unreleased"
    released = [tuple(int(part) for part in v.split(".")) for v in headings[1:]]
    assert released == sorted(set(released), reverse=True)  # one section each, newest first
    assert headings[1] == sklearn_lpntk.__version__
    assert {(0, minor, 0) for minor in range(1, 7)} <= set(released)  # 0.1.0 to 0.6.0
    page = (ROOT / "docs" / "changelog.md").read_text()
    assert "../CHANGELOG.md" in page and "changelog" in (ROOT / "docs" / "index.md").read_text()


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


PUBLIC_MODULES = [
    "sklearn_lpntk",
    "sklearn_lpntk.kernels",
    "sklearn_lpntk.selection",
    "sklearn_lpntk.rules",
    "sklearn_lpntk.analysis",
    "sklearn_lpntk.datasets",
    "sklearn_lpntk.layers",
    "sklearn_lpntk.pipeline",
]


def api_listing(text):
    """``{module: names}`` of the API reference's autosummary lists."""
    listed, current = {}, None
    for line in text.splitlines():
        found = re.match(r"\.\. currentmodule:: (\S+)", line)
        if found:
            current = found.group(1)
            continue
        found = re.match(r"   ([A-Za-z_]\w*)$", line)
        if found and current is not None:
            listed.setdefault(current, set()).add(found.group(1))
    return listed


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_function_and_class_has_a_documented_page(module):
    """Each public callable is in docs/api.rst, under its module or at the top level,
    and its docstring says what it takes and what it returns."""
    import importlib
    import inspect

    import sklearn_lpntk

    listed = api_listing((ROOT / "docs" / "api.rst").read_text())
    mod = importlib.import_module(module)
    missing, undocumented = [], []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        on_top = getattr(sklearn_lpntk, name, None) is obj and name in listed["sklearn_lpntk"]
        if name not in listed.get(module, set()) and not on_top:
            missing.append(name)
        doc = inspect.getdoc(obj) or ""
        has_sections = "Parameters\n----" in doc or "Attributes\n----" in doc
        if inspect.isfunction(obj) and not inspect.signature(obj).parameters:
            has_sections = True  # nothing to take: only what it returns
        if inspect.isfunction(obj):
            has_sections = has_sections and ("Returns\n----" in doc or "Yields\n----" in doc)
        if not has_sections and not issubclass(type(obj), type(Exception)):
            undocumented.append(name)
    assert missing == [], f"add to docs/api.rst under {module}: {missing}"
    assert undocumented == [], f"give these numpydoc sections: {undocumented}"


def test_api_listing_reads_modules_and_names():
    text = ".. currentmodule:: a\n\n.. autosummary::\n   :toctree: g/\n\n   f\n   G\n"
    assert api_listing(text) == {"a": {"f", "G"}}


# ------------------------------------------------ parameters.md and the rule pages
def _sections(text, level="## "):
    """``{heading: body}`` of the Markdown sections at ``level``."""
    parts = re.split(rf"^{level}(.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def _table(body, header):
    """The rows (lists of cells) of the Markdown table in ``body`` that has ``header``."""
    lines = body.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def _ticked(cell):
    return re.findall(r"`([^`]+)`", cell)


PARAMETER_TABLE = "| parameter | default | meaning |"


def test_every_registered_rule_and_the_kernel_have_their_page():
    from sklearn_lpntk.rules import rule_from, rule_names

    parameters = (ROOT / "docs" / "parameters.md").read_text()
    index = (ROOT / "docs" / "index.md").read_text()
    for name in rule_names():
        cls = type(rule_from(name))
        page = ROOT / "docs" / "rules" / f"{name}.md"
        assert page.exists(), f"write docs/rules/{name}.md for {cls.__name__}"
        text = page.read_text()
        assert f".. autoclass:: sklearn_lpntk.rules.{cls.__name__}\n" in text  # the docstring
        assert f'keep="{name}"' in text.splitlines()[0]
        assert f"(rules/{name}.md)" in parameters and f"\nrules/{name}\n" in index
        assert "Parameters\n----" in inspect.getdoc(cls), cls.__name__
    kernel = (ROOT / "docs" / "kernel.md").read_text()
    assert ".. autoclass:: sklearn_lpntk.LpNTK\n" in kernel
    assert "(kernel.md)" in parameters and "\nkernel\n" in index


@pytest.mark.parametrize("cls", [LpNTKPruner, LpNTKCleaner])
def test_parameters_md_lists_exactly_the_constructor_parameters_with_their_defaults(cls):
    """No drift: the table under the class's heading has one row per constructor
    parameter, none other, each with the signature's default."""
    import ast

    sections = _sections((ROOT / "docs" / "parameters.md").read_text())
    rows = _table(sections[f"`{cls.__name__}`"], PARAMETER_TABLE)
    documented = {_ticked(name)[0]: _ticked(default)[0] for name, default, _ in rows}
    signature = inspect.signature(cls).parameters
    assert list(documented) == list(signature)  # every one, in the signature's order
    for name, default in documented.items():
        assert ast.literal_eval(default) == signature[name].default, name


def test_parameters_md_lists_each_rules_options_and_the_kernels():
    from sklearn_lpntk import LpNTK
    from sklearn_lpntk import rules as rules_module
    from sklearn_lpntk.rules import rule_from, rule_names

    text = (ROOT / "docs" / "parameters.md").read_text()
    pruner = _sections(text)["`LpNTKPruner`"]
    subsections = _sections(pruner, "### ")
    rows = _table(subsections["Keep-rules"], "| name | rule | options | nested |")
    listed = [_ticked(r[0])[0].strip('"') for r in rows]
    assert sorted(listed) == sorted(rule_names()) and len(set(listed)) == len(listed)
    for name_cell, rule_cell, options_cell, nested in rows:
        name = _ticked(name_cell)[0].strip('"')
        cls = getattr(rules_module, _ticked(rule_cell)[0])
        assert type(rule_from(name)) is cls
        assert sorted(_ticked(options_cell)) == cls._option_names(), name
        assert (nested != "no") == bool(rule_from(name).nested), name
    kernel_options = _ticked(subsections["The kernel"].split(":", 1)[1])
    assert sorted(kernel_options) == LpNTK._option_names()


def test_parameters_md_gives_every_moved_keyword_its_new_spelling():
    import sklearn_lpntk._cleaner as cleaner_module
    import sklearn_lpntk._pruner as pruner_module

    text = (ROOT / "docs" / "parameters.md").read_text()
    sections = _sections(text)
    moved = _sections(sections["`LpNTKPruner`"], "### ")["Moved in 0.8"]
    old = {name for row in _table(moved, "| 0.7 | 0.8 |") for name in _ticked(row[0])}
    assert set(pruner_module.MOVED) <= old
    cleaner = sections["`LpNTKCleaner`"].split("Moved in 0.8", 1)[1]
    for name in cleaner_module.MOVED:
        assert f"`{name}`" in cleaner, name


def test_parameters_md_names_only_the_baselines_own_parameters():
    import sklearn_lpntk

    text = (ROOT / "docs" / "parameters.md").read_text()
    body = next(b for h, b in _sections(text).items() if h.startswith("Baselines"))
    checked = 0
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if not line.startswith("| `") or len(cells) != 3:
            continue
        cls = getattr(sklearn_lpntk, _ticked(cells[0])[0])
        plain = re.sub(r"\[[^\]]*\]\([^)]*\)", "", cells[2])  # not the links' words
        names = [n for n in _ticked(plain) if re.fullmatch(r"\w+", n)]
        named = set(names) - {"strategy", "dtype", "memory_budget"}  # "before 0.8"
        assert named <= set(inspect.signature(cls).parameters), (cls.__name__, named)
        checked += 1
    assert checked >= 7
