"""The examples run and print what they promise (short settings)."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_prints_accuracy_and_time_with_and_without_pruning(capsys):
    _load("quickstart").main(prune_ratio=0.3, seeds=(0,))
    out = capsys.readouterr().out
    for row in ("full", "lpNTK-pruned", "paper-pruned", "random-pruned"):
        line = next(ln for ln in out.splitlines() if ln.startswith(row + " "))
        rows, acc, _, _, sec = line.split()[1:]
        assert 0.5 < float(acc) <= 1.0 and float(sec) > 0
    assert "1257" in out and "873" in out  # 70 % of 1797 rows, then 30 % pruned
    assert out.count("minus random-pruned, same seeds") == 2


def test_images_example(capsys):
    _load("images_cnn").main()
    out = capsys.readouterr().out
    assert "kept 896 of 1797 images, shape (1, 8, 8)" in out


def test_analyses_example_prints_relations_correlations_and_forgetting(capsys, tmp_path):
    _load("analyses").main(plots=tmp_path, epochs=2)
    out = capsys.readouterr().out
    assert out.count("same-class pairs") == 2 and "interchangeable" in out
    assert out.count("learning difficulty vs") == 2 and "Spearman r" in out
    assert out.count("one SGD step") == 3 and "F1" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clusters_class3.png",
        "kept_vs_pruned.png",
        "relations_class3.png",
        "spectrum_class3.png",
    ]
