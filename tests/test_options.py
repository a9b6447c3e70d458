"""lpNTK options where paper and code disagree: repo traversal, self-max, contradictory
rows, checkpoint averaging and validation-selected checkpoints."""

import numpy as np
import pytest
import torch

from sklearn_lpntk._engine import FactorStore, gram
from sklearn_lpntk._selection import (
    choose_rows,
    farthest_first_traversal,
    row_extremes,
    self_max_mask,
)

from .conftest import fast_pruner

#: the paper's rule with its options spelled out (rule_cut / choose_rows take a rule's
#: name and only the options that rule has)
OPTIONS = {
    "keep": "centres",
    "selfmax": None,
    "drop_contradictory": None,
    "fpc": "canonical",
}


def repo_farthest_clustering(K, k):
    """A literal reading of the official code's clustering (notes §5.3): clusters as
    member lists sorted by similarity to their head, descending."""
    n = len(K)
    head = int(np.argmax(np.diagonal(K)))
    members = sorted(range(n), key=lambda s: (-K[head, s], s))
    clusters = [(head, [(s, K[head, s]) for s in members])]
    while len(clusters) < k:
        chosen, value = None, np.inf
        for m, (h, mem) in enumerate(clusters):
            last, sim = mem[-1]
            if last == h:
                continue
            if sim < value:
                chosen, value = m, sim
        if chosen is None:
            break
        c, _ = clusters[chosen][1].pop()
        new = [(c, K[c, c])]
        for h, mem in clusters:
            for entry in list(reversed(mem)):
                s, sim = entry
                if s != h and sim < K[c, s]:
                    mem.remove(entry)
                    new.append((s, K[c, s]))
        new.sort(key=lambda e: (-e[1], e[0]))
        clusters.append((c, new))
    heads = [h for h, _ in clusters]
    assignment = np.empty(n, dtype=int)
    for h, mem in clusters:
        for s, _ in mem:
            assignment[s] = h
    return np.array(heads), assignment


def _varied_kernel(seed, n=40):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, 6)) * rng.lognormal(0, 0.8, size=(n, 1))
    return F @ F.T


def test_repo_mode_equals_a_literal_reading_of_the_official_code():
    differs = 0
    for seed in range(60):
        K = _varied_kernel(seed)
        k = 5 + seed % 20
        heads, assignment = repo_farthest_clustering(K, k)
        got_heads, got_assignment = farthest_first_traversal(K, k, mode="repo")
        np.testing.assert_array_equal(got_heads, heads)
        np.testing.assert_array_equal(got_assignment, assignment)
        canonical, _ = farthest_first_traversal(K, k)
        differs += not np.array_equal(canonical, got_heads)
    assert differs > 0, "the quirk must matter on some kernels"


def test_row_extremes_and_self_max_by_brute_force():
    K = _varied_kernel(3, n=25)
    row_max, min_cos = row_extremes(K, block_size=7)
    off = K.copy()
    np.fill_diagonal(off, -np.inf)
    np.testing.assert_allclose(row_max, off.max(axis=1))
    d = np.sqrt(np.diagonal(K))
    cos = K / d[:, None] / d[None, :]
    np.fill_diagonal(cos, np.inf)
    np.testing.assert_allclose(min_cos, cos.min(axis=1))
    np.testing.assert_array_equal(self_max_mask(K), np.diagonal(K) >= off.max(axis=1))


def test_selfmax_filter_keeps_only_self_max_rows_or_tops_up():
    K = _varied_kernel(5)
    self_max = self_max_mask(K)
    n_self = int(self_max.sum())
    assert 0 < n_self < len(K)
    few = choose_rows(K, n_self - 1, random_state=0, **{**OPTIONS, "selfmax": "filter"})
    assert self_max[few.kept].all() and len(few.kept) == n_self - 1
    many = choose_rows(K, n_self + 3, random_state=0, **{**OPTIONS, "selfmax": "filter"})
    assert len(many.kept) == n_self + 3
    assert set(np.flatnonzero(self_max)) <= set(many.kept.tolist())


def test_selfmax_repo_returns_the_self_max_rows_when_they_are_few():
    K = _varied_kernel(5)
    self_max = self_max_mask(K)
    n_self = int(self_max.sum())
    out = choose_rows(K, n_self + 3, random_state=0, **{**OPTIONS, "selfmax": "repo"})
    np.testing.assert_array_equal(out.kept, np.flatnonzero(self_max))
    plain = choose_rows(K, n_self - 1, random_state=0, **OPTIONS)
    repo = choose_rows(K, n_self - 1, random_state=0, **{**OPTIONS, "selfmax": "repo"})
    np.testing.assert_array_equal(repo.kept, plain.kept)  # filter ignored


def test_drop_contradictory_never_keeps_rows_in_negative_pairs():
    rng = np.random.default_rng(0)
    F = np.abs(rng.normal(size=(12, 4)))  # all pairs at positive angles...
    F[3] = -F[3]  # ...except those of row 3
    K = F @ F.T
    out = choose_rows(K, 11, random_state=0, **{**OPTIONS, "drop_contradictory": 0.0})
    np.testing.assert_array_equal(np.flatnonzero(out.contradictory), np.arange(12))
    # every row has row 3 as a negative partner, so nothing is left: all rows allowed
    F[3] = np.abs(F[3])
    F[3, 0] = -10.0  # now only row 3 and a few partners are at negative angles
    K = F @ F.T
    out = choose_rows(K, 8, random_state=0, **{**OPTIONS, "drop_contradictory": 0.0})
    bad = out.contradictory
    assert bad[3] and not bad.all()
    assert not np.isin(out.kept, np.flatnonzero(bad)).any()
    assert len(out.kept) == min(8, int((~bad).sum()))


def test_averaged_store_gives_the_mean_gram():
    g = torch.Generator().manual_seed(0)
    stores = [FactorStore(torch.randn(9, 5, generator=g, dtype=torch.float64)) for _ in range(3)]
    merged = FactorStore.average(stores)
    expected = sum(gram(s.dense) for s in stores) / 3
    torch.testing.assert_close(merged.gram(), expected)
    torch.testing.assert_close(merged.diagonal(), torch.diagonal(expected))


def test_checkpoints_are_averaged_and_reported(small_digits):
    X, y = small_digits
    X, y = X[:300], y[:300]
    one = fast_pruner(max_epochs=2).fit(X, y)
    avg = fast_pruner(max_epochs=2, checkpoints=[1, 2]).fit(X, y)
    assert one.checkpoints_ == [2] and avg.checkpoints_ == [1, 2]
    last = fast_pruner(max_epochs=2, checkpoints=[2]).fit(X, y)
    np.testing.assert_array_equal(last.sample_indices_, one.sample_indices_)
    np.testing.assert_allclose(last.self_kernel_, one.self_kernel_, rtol=1e-5)
    assert not np.allclose(avg.self_kernel_, one.self_kernel_)
    with pytest.raises(ValueError, match="checkpoints must be epochs"):
        fast_pruner(max_epochs=2, checkpoints=[3]).fit(X, y)


def test_validation_fraction_picks_the_best_held_out_epoch(small_digits):
    X, y = small_digits
    pruner = fast_pruner(max_epochs=3, validation_fraction=0.25).fit(X, y)
    scores = pruner.validation_scores_
    assert sorted(scores) == [0, 1, 2, 3]
    best = max(scores.values())
    assert pruner.checkpoints_ == [max(e for e, s in scores.items() if s == best)]
    assert len(pruner.self_kernel_) == len(y)  # the kernel still covers every row
    with pytest.raises(ValueError, match="validation_fraction"):
        fast_pruner(validation_fraction=0.01).fit(X[:40], y[:40])
