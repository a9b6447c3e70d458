"""Downstream accuracy of the default rule on its neighbour graph against the dense path.

Reads the CSVs that ``bench/prune.py`` writes with the methods ``random``,
``"lpNTK representative"`` (the dense default) and ``"lpNTK representative (graph)"``
(the same rule on the exact 10-neighbour graph, what ``FacilityLocation(graph="exact")`` computes),
and prints, per dataset, ratio and budget, the paired difference graph − dense
and graph − random over the seeds with its 95 % t-interval.

    python -m bench.prune --dataset digits --methods random "lpNTK representative" \\
        "lpNTK representative (graph)" --out bench/results/prune-digits-graph.csv
    python -m bench.graph_quality bench/results/prune-*-graph.csv
"""

import csv
import sys
from collections import defaultdict

import numpy as np

from bench._common import interval  # the 95 % t-interval half-width every bench reports

DENSE, GRAPH, RANDOM = "lpNTK representative", "lpNTK representative (graph)", "random"


def main(paths):
    acc = defaultdict(dict)
    for path in paths:
        with open(path) as f:
            for r in csv.DictReader(f):
                key = (r["dataset"], r["pool"], float(r["prune_ratio"]), r["budget"])
                acc[key].setdefault(r["method"], {})[int(r["seed"])] = float(r["accuracy"])
    print("| dataset (pool) | pruned | budget | dense | graph | graph − dense | graph − random |")
    print("|---|---|---|---|---|---|---|")
    level = total = 0
    for (dataset, pool, ratio, budget), methods in sorted(acc.items()):
        if DENSE not in methods or GRAPH not in methods:
            continue
        seeds = sorted(set(methods[DENSE]) & set(methods[GRAPH]) & set(methods[RANDOM]))
        d = [methods[GRAPH][s] - methods[DENSE][s] for s in seeds]
        r = [methods[GRAPH][s] - methods[RANDOM][s] for s in seeds]
        (md, hd), (mr, hr) = (np.mean(d), interval(d)), (np.mean(r), interval(r))
        total += 1
        level += abs(md) <= hd
        print(
            f"| {dataset} ({pool}) | {ratio:.0%} | {budget} | "
            f"{np.mean([methods[DENSE][s] for s in seeds]):.4f} | "
            f"{np.mean([methods[GRAPH][s] for s in seeds]):.4f} | "
            f"{100 * md:+.2f} ± {100 * hd:.2f} | {100 * mr:+.2f} ± {100 * hr:.2f} |"
        )
    print(
        f"\ngraph level with dense (interval includes 0) in {level} of {total} cells; "
        "differences in points, 95 % t-intervals over paired seeds"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
