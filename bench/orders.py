"""What keeping the whole keep order costs: one class's selection, 0.5's way and 0.6's.

0.5 ran a keep-rule for one count k; 0.6 computes the rule's whole order (and
the log of reassignments behind ``cluster_labels_``) once and cuts it at k.
For classes of n rows, side by side in one run on the same cosine matrix (a
low-rank kernel like the trained networks' ones, plus noise):

* direct: ``facility_location(S, k)`` (or the traversal to k centres) and the
  assignment of every row to its most similar kept row, as 0.5 did;
* order: ``rule_cut(S)`` (the whole order and log) then ``select(k)``;
* another cut: a second ``select`` at another k from the same order.

Usage: ``python -m bench.orders > bench/results/orders-cpu.jsonl`` (about a minute).
"""

import json
import time

import numpy as np

from sklearn_lpntk.selection import facility_location, farthest_first_traversal, rule_cut


def cosine_kernel(n, rank=20, seed=0):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, rank)) * (0.6 ** np.arange(rank)) + 0.05 * rng.normal(size=(n, rank))
    F += 3.0 * rng.normal(size=rank)  # one dominant direction, as in trained kernels
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    return (F @ F.T).astype(np.float32)


def most_similar(S, kept):
    """Every row's most similar kept row (kept rows their own), as 0.5 assigned them."""
    assignment = np.empty(len(S), dtype=kept.dtype)
    for start in range(0, len(S), 512):  # blocks of rows: no (n, k) copy
        assignment[start : start + 512] = kept[np.argmax(S[start : start + 512][:, kept], axis=1)]
    assignment[kept] = kept
    return assignment


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n):
    """One class of ``n`` rows: 0.5's direct selection against 0.6's order and cut."""
    S = cosine_kernel(n)
    k, k2 = int(0.7 * n), int(0.3 * n)
    repeats = 3 if n < 6000 else 1
    direct = best_of(lambda: most_similar(S, np.sort(facility_location(S, k))), repeats)
    order = best_of(lambda: rule_cut(S, keep="representative").select(k), repeats)
    cut = rule_cut(S, keep="representative")
    again = best_of(lambda: cut.select(k2), repeats)
    raw = S.astype(np.float64)
    direct_t = best_of(lambda: farthest_first_traversal(raw, k), repeats)
    order_t = best_of(lambda: rule_cut(raw, keep="centres").select(k), repeats)
    row = {
        "n": n,
        "k": k,
        "representative_direct_s": direct,
        "representative_order_s": order,
        "representative_order_over_direct": order / direct,
        "representative_second_cut_s": again,
        "centres_direct_s": direct_t,
        "centres_order_s": order_t,
        "centres_order_over_direct": order_t / direct_t,
    }
    return row


def main():
    for n in (180, 1000, 6000):
        print(json.dumps(measure(n)))


if __name__ == "__main__":
    main()
