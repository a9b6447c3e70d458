"""How the default pruner's cost grows with rows: binary tabular data, 20k to 1M rows.

For each size, in a fresh process (so that peak memory is the fit's own): the
data (``make_classification``, 20 features, 2 classes), then
``LpNTKPruner(0.5, max_epochs=2)`` with every other parameter at its default.
Printed side by side: the whole fit, the time of training its own network for
the same epochs (the fit's ``timings_["training"]``), their ratio, where the rest
of the time went (gradients, neighbours, selection) and the peak resident memory
of the process, from which the data's own memory is subtracted for the fit's
share.

    python -m bench.rows                      # 20k, 100k, 1M rows
    python -m bench.rows --rows 20000 100000 --graph dense exact
    python -m bench.rows --device cuda
    python -m bench.rows --keep herding --rows 100000 1000000

``--keep`` chooses the rule ("representative": facility location with its graph mode
from ``--graph``; "herding": kernel herding, whose large classes go in blocks and need
no graph). Writes ``bench/results/rows-<device>.json`` (``rows-<device>-herding.json``
for herding).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # child runs are "python -m bench.rows" from the root


def one(n_rows, graph, device, seed, rule="representative"):
    import numpy as np
    from sklearn.datasets import make_classification

    from sklearn_lpntk import LpNTKPruner
    from sklearn_lpntk.rules import FacilityLocation, Herding

    X, y = make_classification(n_samples=n_rows, n_features=20, n_informative=10, random_state=seed)
    X = X.astype(np.float32)
    data_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # facility location with its graph mode forced or "auto", or herding (blocks, no graph)
    keep = Herding() if rule == "herding" else FacilityLocation(graph=graph)
    pruner = LpNTKPruner(0.5, max_epochs=2, keep=keep, device=device, random_state=seed)
    start = time.perf_counter()
    pruner.fit(X, y)
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = pruner.timings_
    return {
        "rows": n_rows,
        "graph": graph,
        "keep": rule,
        "device": device,
        "fit_s": total,
        "training_s": t.get("training", float("nan")),
        "kernel_s": t.get("kernel", 0.0),
        "neighbours_s": t.get("neighbours", 0.0),
        "selection_s": t.get("selection", 0.0),
        "setup_s": t.get("setup", 0.0),
        "peak_bytes": peak,
        "data_bytes": data_peak,
        "kept": int(len(pruner.sample_indices_)),
        "strategy": pruner.strategy_,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    parser.add_argument("--graph", nargs="+", default=["auto"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", choices=["representative", "herding"], default="representative")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # rows graph, in a child
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.device, args.seed, args.keep)))
        return
    results = []
    print(
        "| rows | graph | fit (s) | own training (s) | fit / training | gradients (s) | "
        "neighbours (s) | selection (s) | peak memory (GB) | of which data (GB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    graphs = ["blocks"] if args.keep == "herding" else args.graph
    for n in args.rows:
        for graph in graphs:
            cmd = [
                sys.executable,
                "-m",
                "bench.rows",
                "--one",
                str(n),
                graph,
                "--device",
                args.device,
                "--seed",
                str(args.seed),
                "--keep",
                args.keep,
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                print(f"| {n:,} | {graph} | failed: {out.stderr.strip().splitlines()[-1]} |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(
                f"| {n:,} | {graph} | {r['fit_s']:.1f} | {r['training_s']:.1f} | "
                f"{r['fit_s'] / r['training_s']:.1f}x | {r['kernel_s']:.1f} | "
                f"{r['neighbours_s']:.1f} | {r['selection_s']:.1f} | "
                f"{r['peak_bytes'] / 1e9:.2f} | {r['data_bytes'] / 1e9:.2f} |",
                flush=True,
            )
    suffix = "-herding" if args.keep == "herding" else ""
    path = os.path.join(HERE, "results", f"rows-{args.device}{suffix}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
