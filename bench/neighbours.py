"""Similarity-search libraries side by side on the sketches of one large class.

One class of binary tabular data (``make_classification``, 20 features), the
labelled gradients of the default network after 2 epochs, sketched to
``--dims`` numbers as ``FacilityLocation(graph="approximate")`` does; then each backend lists
every row's 30 nearest sketches, the candidates are ranked by the exact lpNTK,
and the recall of the true 10 nearest rows (computed exactly for 300 random
rows) is printed with the seconds of the search alone, measured in one run.

    python -m bench.neighbours --rows 100000 --backends faiss-hnsw faiss-ivf pynndescent
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import make_classification

from sklearn_lpntk import LpNTKPruner
from sklearn_lpntk.kernels import LpNTKEngine, candidate_neighbours, rerank, sketch


def faiss_ivf(vectors, m):
    import faiss

    n, dim = vectors.shape
    nlist = max(1, int(np.sqrt(n)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, min(n, 50 * nlist), replace=False)
    index.train(vectors[sample])
    index.add(vectors)
    index.nprobe = 16
    return index.search(vectors, m + 1)[1]


SEARCHES = {
    "faiss-hnsw": lambda v, m: candidate_neighbours(v, m, backend="faiss"),
    "faiss-ivf": faiss_ivf,
    "pynndescent": lambda v, m: candidate_neighbours(v, m, backend="pynndescent"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dims", type=int, nargs="+", default=[256])
    ap.add_argument("--backends", nargs="+", default=list(SEARCHES))
    args = ap.parse_args()
    X, y = make_classification(n_samples=args.rows, n_features=20, n_informative=10, random_state=0)
    X = X.astype(np.float32)
    net = LpNTKPruner(0.5, max_epochs=2, keep="centres", random_state=0).fit(X[:5000], y[:5000])
    engine = LpNTKEngine(net.net_.module_, normalize="cosine")
    idx = np.flatnonzero(y == 0)
    plan = engine.plan(engine.probe(X, y), [len(idx)], need_full=True, graph="approximate")
    kernel = engine.kernel(X[idx], y[idx], plan)
    n, k = len(idx), 10
    probe = np.random.default_rng(0).choice(n, 300, replace=False)
    block = torch.cat([kernel.block(int(r), int(r) + 1) for r in probe]).numpy()
    block[np.arange(len(probe)), probe] = -np.inf
    truth = np.argsort(-block, axis=1, kind="stable")[:, :k]
    print(f"one class of {n:,} rows, 10 neighbours from 30 candidates\n")
    print("| backend | sketch dim | search (s) | recall@10 |")
    print("|---|---|---|---|")
    for dim in args.dims:
        vectors = sketch(kernel, dim)
        for name in args.backends:
            start = time.perf_counter()
            found = np.asarray(SEARCHES[name](vectors, 3 * k), np.int64)
            seconds = time.perf_counter() - start
            found[found == np.arange(n)[:, None]] = -1
            found[found >= n] = -1
            indices, _ = rerank(kernel, found, k)
            recall = np.mean([len(set(indices[r]) & set(t)) / k for r, t in zip(probe, truth)])
            print(f"| {name} | {dim} | {seconds:.1f} | {recall:.3f} |", flush=True)


if __name__ == "__main__":
    main()
