"""CI: the built sdist and wheel hold the licence and every file of the package.

Usage: ``python .ci/check_dist.py dist`` after ``python -m build``. Standard library only.
"""

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_files():
    """Every file of the package in the checkout, as a path from the repository root."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "sklearn_lpntk").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def main(dist):
    wheels, sdists = sorted(Path(dist).glob("*.whl")), sorted(Path(dist).glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, f"one wheel and one sdist, not {wheels + sdists}"
    wanted, problems = package_files(), []

    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(f"{info}/METADATA").decode()
    problems += [f"wheel lacks {f}" for f in sorted(wanted - names)]
    if f"{info}/licenses/LICENSE" not in names:
        problems.append(f"wheel lacks {info}/licenses/LICENSE")
    for line in ("License-Expression: BSD-3-Clause", "License-File: LICENSE"):
        if line not in metadata.splitlines():
            problems.append(f"wheel METADATA lacks {line!r}")

    with tarfile.open(sdists[0]) as sdist:
        members = sdist.getnames()
    top = members[0].split("/")[0]
    names = {m.split("/", 1)[1] for m in members if "/" in m}
    for f in sorted(wanted | {"LICENSE", "README.md", "pyproject.toml"}):
        if f not in names:
            problems.append(f"sdist lacks {top}/{f}")

    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"{wheels[0].name} and {sdists[0].name}: LICENSE and all {len(wanted)} package files")


if __name__ == "__main__":
    main(sys.argv[1])
