"""The sklearn-lpntk command line, run as a real subprocess on files the tests write."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from ._counts import expected_counts

SCRIPT = Path(sys.executable).parent / "sklearn-lpntk"


def run(*args, cwd, script=False):
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "sklearn_lpntk"]
    env = {k: v for k, v in os.environ.items() if k != "SKLEARN_LPNTK_DEBUG"}
    return subprocess.run(
        cmd + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """digits (first 400 rows) as CSV with an id column and string labels, and as NPZ."""
    root = tmp_path_factory.mktemp("cli")
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    with open(root / "digits.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id"] + [f"px{i}" for i in range(64)] + ["label"])
        for i, (row, label) in enumerate(zip(X, y)):
            writer.writerow([f"row{i}"] + [int(v) for v in row] + [names[label]])
    np.savez(
        root / "images.npz", X=X.reshape(-1, 1, 8, 8).astype(np.float32), y=y, meta=np.arange(3)
    )
    return root, X, y, names[y]


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_console_script_help_lists_commands_and_examples(files):
    root = files[0]
    result = run("prune", "--help", cwd=root, script=True)
    assert result.returncode == 0, result.stderr
    assert "--prune-ratio" in result.stdout and "examples:" in result.stdout
    assert "sklearn-lpntk prune data.csv" in result.stdout
    top = run("--help", cwd=root)
    assert top.returncode == 0 and "prune" in top.stdout and "curve" in top.stdout


def test_prune_csv_writes_kept_rows_indices_and_report(files):
    root, X, y, labels = files
    out = root / "kept_lpntk.csv"
    result = run(
        "prune",
        "digits.csv",
        "--target",
        "label",
        "--ignore",
        "id",
        "--prune-ratio",
        "0.3",
        "--output",
        out.name,
        "--indices",
        "kept.txt",
        "--report",
        "report.json",
        "--max-epochs",
        "2",
        cwd=root,
        script=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not a terminal: no progress bars
    indices = np.loadtxt(root / "kept.txt", dtype=int)
    rows = _rows(out)
    original = _rows(root / "digits.csv")
    assert rows[0] == original[0]
    assert rows[1:] == [original[i + 1] for i in indices]  # the input's own rows, in order
    assert np.all(np.diff(indices) > 0)
    report = json.loads((root / "report.json").read_text())
    import sklearn_lpntk

    assert report["version"] == sklearn_lpntk.__version__
    assert report["parameters"]["prune_ratio"] == 0.3
    assert report["parameters"]["random_state"] == 0
    assert report["rows"] == {"before": 400, "after": len(indices)}
    for name, counts in report["per_class"].items():
        before = int(np.sum(labels == name))
        assert counts == {"before": before, "after": max(1, int(before * 0.7))}
    assert set(report["timings_s"]) >= {"read", "prune", "write", "prune.kernel"}
    assert f"kept {len(indices)} of 400 rows" in result.stdout
    # the same seed gives the same rows
    again = run(
        "prune",
        "digits.csv",
        "--target",
        "label",
        "--ignore",
        "id",
        "--prune-ratio",
        "0.3",
        "--indices",
        "kept2.txt",
        "--max-epochs",
        "2",
        cwd=root,
    )
    assert again.returncode == 0
    np.testing.assert_array_equal(np.loadtxt(root / "kept2.txt", dtype=int), indices)


def test_prune_npz_images_keeps_shapes_and_other_arrays(files):
    root, X, y, _ = files
    result = run(
        "prune",
        "images.npz",
        "--prune-ratio",
        "0.5",
        "--method",
        "el2n",
        "--max-epochs",
        "2",
        "--output",
        "kept.npz",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    with np.load(root / "kept.npz") as kept:
        assert kept["X"].shape[1:] == (1, 8, 8) and len(kept["X"]) == len(kept["y"])
        assert len(kept["y"]) == sum(max(1, int(n * 0.5)) for n in np.bincount(y))
        np.testing.assert_array_equal(kept["meta"], np.arange(3))


def test_prune_parquet_round_trip(files):
    import pyarrow as pa  # in the test extra
    import pyarrow.parquet as pq

    root, X, y, labels = files
    table = pa.table({**{f"f{i}": X[:, i] for i in range(64)}, "label": labels})
    pq.write_table(table, root / "digits.parquet")
    result = run(
        "prune",
        "digits.parquet",
        "--target",
        "label",
        "--prune-ratio",
        "0.5",
        "--method",
        "random",
        "--output",
        "kept.parquet",
        "--indices",
        "kp.txt",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    kept = pq.read_table(root / "kept.parquet")
    indices = np.loadtxt(root / "kp.txt", dtype=int)
    assert kept.column_names == table.column_names
    assert kept.column("label").to_pylist() == [labels[i] for i in indices]


def test_curve_prints_table_and_writes_plot_and_report(files):
    root = files[0]
    result = run(
        "curve",
        "digits.csv",
        "--target",
        "label",
        "--ignore",
        "id",
        "--method",
        "random,el2n",
        "--max-epochs",
        "2",
        "--prune-ratios",
        "0.3,0.6",
        "--cv",
        "3",
        "--plot",
        "curve.png",
        "--report",
        "curve.json",
        cwd=root,
        script=True,
    )
    assert result.returncode == 0, result.stderr
    assert "full data" in result.stdout and "prune up to" in result.stdout
    assert (root / "curve.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((root / "curve.json").read_text())
    assert set(report["curves"]) == {"random", "el2n"}
    assert np.array(report["curves"]["el2n"]["scores"]).shape == (2, 3)
    assert len(report["full_scores"]) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["prune", "missing.csv", "--target", "label", "--prune-ratio", "0.3"], "does not exist"),
        (
            ["prune", "digits.csv", "--target", "nope", "--prune-ratio", "0.3"],
            "target column 'nope' is not in digits.csv",
        ),
        (["prune", "digits.csv", "--prune-ratio", "0.3", "--ignore", "id"], "--target"),
        (["prune", "digits.csv", "--target", "label", "--prune-ratio", "1.5"], "not in [0, 1)"),
        (["prune", "digits.csv", "--target", "label"], "--prune-ratio"),
        (
            [
                "prune",
                "digits.csv",
                "--target",
                "label",
                "--prune-ratio",
                "0.3",
                "--method",
                "best",
            ],
            "unknown method",
        ),
        (
            [
                "prune",
                "digits.csv",
                "--target",
                "label",
                "--ignore",
                "id",
                "--prune-ratio",
                "0.3",
                "--output",
                "digits.csv",
            ],
            "is the input file",
        ),
        (
            [
                "prune",
                "digits.csv",
                "--target",
                "label",
                "--ignore",
                "id",
                "--prune-ratio",
                "0.3",
                "--output",
                "other.npz",
            ],
            "must have the input's format",
        ),
        (
            [
                "prune",
                "digits.csv",
                "--target",
                "label",
                "--ignore",
                "id",
                "--prune-ratio",
                "0.3",
                "--memory-budget",  # the flag's name before 0.8, kept as an alias
                "lots",
            ],
            "max_memory",
        ),
        (
            [
                "prune",
                "digits.csv",
                "--target",
                "label",
                "--ignore",
                "id",
                "--prune-ratio",
                "0.3",
                "--max-memory",
                "lots",
            ],
            "max_memory",
        ),
        (
            [
                "prune",
                "digits.csv",
                "--target",
                "label",
                "--ignore",
                "id",
                "--prune-ratio",
                "0.3",
                "--keep",
                "budget",
            ],
            "invalid choice",
        ),
        (["prune", "one_class.csv", "--target", "label", "--prune-ratio", "0.3"], "single class"),
        (["prune", "gaps.csv", "--target", "label", "--prune-ratio", "0.3"], "empty on line 2"),
        (["prune", "images.npz", "--prune-ratio", "0.3", "--x-key", "pixels"], "--x-key"),
        (["curve", "digits.csv", "--target", "label", "--ignore", "id", "--cv", "1"], "--cv"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_and_data_exit_2_with_one_line(files, args, message):
    root = files[0]
    (root / "one_class.csv").write_text("a,b,label\n1,2,x\n3,4,x\n")
    (root / "gaps.csv").write_text("a,b,label\n1,2,\n3,4,y\n")  # a row without a label
    result = run(*args, cwd=root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr
    assert lines[0].startswith("sklearn-lpntk")


def test_existing_output_needs_force(files):
    root, _, y, _ = files
    (root / "taken.txt").write_text("keep me\n")
    args = [
        "prune",
        "digits.csv",
        "--target",
        "label",
        "--ignore",
        "id",
        "--prune-ratio",
        "0.3",
        "--method",
        "random",
        "--indices",
        "taken.txt",
    ]
    refused = run(*args, cwd=root)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (root / "taken.txt").read_text() == "keep me\n"
    forced = run(*args, "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    expected = sum(max(1, int(np.floor(n * (1 - 0.3)))) for n in np.bincount(y))
    assert len((root / "taken.txt").read_text().split()) == expected


def test_prune_ratio_auto_removes_only_near_duplicates(files):
    root, X, y, labels = files
    result = run(
        "prune",
        "digits.csv",
        "--target",
        "label",
        "--ignore",
        "id",
        "--prune-ratio",
        "auto",
        "--indices",
        "auto.txt",
        "--max-epochs",
        "2",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    kept = np.loadtxt(root / "auto.txt", dtype=int)
    assert len(kept) >= 0.95 * len(labels)  # these digits hold no near-duplicates
    refused = run(
        "prune",
        "digits.csv",
        "--target",
        "label",
        "--prune-ratio",
        "auto",
        "--method",
        "random",
        cwd=root,
    )
    assert refused.returncode == 2 and "--prune-ratio auto works with --method lpntk" in (
        refused.stderr
    )


def test_keep_picks_the_rule_with_its_defaults_and_the_report_names_it(files):
    root, X, y, labels = files
    common = ["digits.csv", "--target", "label", "--ignore", "id", "--max-epochs", "1"]
    result = run(
        "prune",
        *common,
        "--prune-ratio",
        "0.5",
        "--keep",
        "herding",
        "--max-memory",
        "1GB",
        "--indices",
        "herding.txt",
        "--report",
        "herding.json",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((root / "herding.json").read_text())
    assert report["parameters"]["keep"] == "herding"
    assert report["parameters"]["max_memory"] == "1GB"
    from sklearn.preprocessing import LabelEncoder

    from sklearn_lpntk import LpNTKPruner

    X_table = np.loadtxt(root / "digits.csv", delimiter=",", skiprows=1, usecols=range(1, 65))
    expected = LpNTKPruner(0.5, keep="herding", max_epochs=1, random_state=0, max_memory="1GB")
    expected.fit(X_table.astype(np.float32), LabelEncoder().fit_transform(labels))
    np.testing.assert_array_equal(
        np.loadtxt(root / "herding.txt", dtype=int), expected.sample_indices_
    )
    paper = run(
        "prune", *common, "--prune-ratio", "0.3", "--method", "lpntk-paper", "--report",
        "paper.json", "--keep", "random_member", cwd=root,
    )  # fmt: skip
    assert paper.returncode == 0, paper.stderr
    params = json.loads((root / "paper.json").read_text())["parameters"]
    assert params["keep"] == "random_member" and params["kernel"] == "LpNTK(normalize=None)"
    refused = run("prune", *common, "--prune-ratio", "0.3", "--method", "random", "--keep",
                  "herding", cwd=root)  # fmt: skip
    assert refused.returncode == 2 and "--keep works with --method lpntk" in refused.stderr


HOMES = ["rent", "owner", "parents", "", "NA"]  # a blank and R's NA: missing values


def _mixed_rows(n=160, seed=0):
    """A credit-like CSV: text with blanks and NA, quoted text with commas, numbers
    with blanks, the label column between the features."""
    rng = np.random.default_rng(seed)
    header = ["id", "Home", "Income", "Status", "note", "Age"]
    rows = []
    for i in range(n):
        status = "bad" if rng.random() < 0.4 else "good"
        home = str(rng.choice(HOMES, p=np.array([8, 6, 4, 1, 1]) / 20))
        mean = 5000 + 1500 * (status == "good")
        income = "" if rng.random() < 0.1 else f"{rng.normal(mean, 1500):.2f}"
        note = str(rng.choice(['late once, "minor"', "none", ""]))
        rows.append([f"c{i:03d}", home, income, status, note, str(int(rng.integers(18, 80)))])
    return header, rows


def test_prune_mixed_csv_writes_its_own_rows_with_no_flags(tmp_path):
    header, rows = _mixed_rows()
    with open(tmp_path / "credit.csv", "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    common = ["prune", "credit.csv", "--target", "Status", "--prune-ratio", "0.3"]
    result = run(
        *common,
        "--output",
        "kept.csv",
        "--indices",
        "kept.txt",
        "--report",
        "report.json",
        "--max-epochs",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "encoded as" in result.stdout
    written = _rows(tmp_path / "kept.csv")
    indices = np.loadtxt(tmp_path / "kept.txt", dtype=int)
    assert written[0] == header  # the column order, the label in the middle
    assert written[1:] == [rows[i] for i in indices]  # text, quotes, blanks and NA as read
    assert all(row in rows for row in written[1:])
    labels = np.array([r[3] for r in rows])
    kept_labels = [r[3] for r in written[1:]]
    for label, count in expected_counts(labels, 0.3).items():
        assert kept_labels.count(label) == count
    inputs = json.loads((tmp_path / "report.json").read_text())["network_inputs"]
    assert any("missingindicator" in name for name in inputs)
    assert any(name.startswith("categories__") for name in inputs)
    # --ignore leaves columns out of the kernel and still writes them
    ignored = run(
        *common,
        "--ignore",
        "id,note",
        "--output",
        "kept2.csv",
        "--report",
        "report2.json",
        "--max-epochs",
        "1",
        cwd=tmp_path,
    )
    assert ignored.returncode == 0, ignored.stderr
    written = _rows(tmp_path / "kept2.csv")
    assert written[0] == header and all(row in rows for row in written[1:])
    fewer = json.loads((tmp_path / "report2.json").read_text())["network_inputs"]
    assert len(fewer) < len(inputs)
    curve = run(
        "curve",
        "credit.csv",
        "--target",
        "Status",
        "--method",
        "lpntk",
        "--prune-ratios",
        "0.3",
        "--cv",
        "2",
        "--max-epochs",
        "1",
        cwd=tmp_path,
    )
    assert curve.returncode == 0, curve.stderr
    assert "prune up to" in curve.stdout


def test_prune_mixed_parquet_writes_its_own_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, rows = _mixed_rows()
    table = pa.table(
        {
            "Home": pa.array([r[1] or None for r in rows]).dictionary_encode(),
            "Income": pa.array([float(r[2]) if r[2] else None for r in rows]),
            "Status": [r[3] for r in rows],
            "note": pa.array([r[4] or None for r in rows], type=pa.large_string()),
            "Age": pa.array([int(r[5]) if i % 9 else None for i, r in enumerate(rows)]),
            "Records": [i % 3 == 0 for i in range(len(rows))],
        }
    )
    pq.write_table(table, tmp_path / "credit.parquet")
    result = run(
        "prune",
        "credit.parquet",
        "--target",
        "Status",
        "--prune-ratio",
        "0.3",
        "--output",
        "kept.parquet",
        "--indices",
        "kept.txt",
        "--max-epochs",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    kept = pq.read_table(tmp_path / "kept.parquet")
    indices = np.loadtxt(tmp_path / "kept.txt", dtype=int)
    assert kept.schema.equals(table.schema)  # types, dictionary columns included
    assert kept.to_pylist() == table.take(indices).to_pylist()  # nulls where they were
    originals = table.to_pylist()
    assert all(row in originals for row in kept.to_pylist())


def test_parquet_dates_are_named_with_the_way_out(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sklearn_lpntk._tables import DataError, read_table

    day = datetime.datetime(2020, 1, 1)
    table = pa.table({"a": [1.0, 2.0], "opened": [day, day], "label": ["x", "y"]})
    pq.write_table(table, tmp_path / "dated.parquet")
    with pytest.raises(DataError, match=r"'opened'.*dates or times.*--ignore opened"):
        read_table(tmp_path / "dated.parquet", target="label")
    read = read_table(tmp_path / "dated.parquet", target="label", ignore=["opened"])
    assert read.X.dtype == np.float64 and read.X.shape == (2, 1)
