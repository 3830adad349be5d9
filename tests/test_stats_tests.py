"""Bootstrap intervals, paired tests and seed aggregation on known cases."""

from __future__ import annotations

import numpy as np
import pytest

from harness.evaluation import stats
from harness.evaluation.metrics import corpus_bleu


def test_bootstrap_ci_contains_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(1)
    widths = []
    for n in (20, 200, 2000):
        x = (rng.random(n) < 0.3).astype(float)
        point, lo, hi = stats.bootstrap_ci(x, n_resamples=1000, seed=0)
        assert point == pytest.approx(x.mean())
        assert lo < point < hi
        widths.append(hi - lo)
    assert widths[0] > 2 * widths[1] > 4 * widths[2]
    # Width of a 95% interval of a proportion ~ 2 * 1.96 * sqrt(p(1-p)/n): about 0.04 at n=2000.
    assert widths[2] == pytest.approx(2 * 1.96 * np.sqrt(0.3 * 0.7 / 2000), rel=0.2)


def test_bootstrap_is_seeded():
    x = np.random.default_rng(0).random(25)
    assert stats.bootstrap_ci(x, seed=3) == stats.bootstrap_ci(x, seed=3)
    assert stats.bootstrap_ci(x, seed=3) != stats.bootstrap_ci(x, seed=4)


def test_bootstrap_of_a_constant_and_of_nothing():
    assert stats.bootstrap_ci([1.0] * 7) == (1.0, 1.0, 1.0)
    assert all(np.isnan(stats.bootstrap_ci([])))


def test_bootstrap_of_a_percentile():
    x = np.arange(1, 101, dtype=float)
    point, lo, hi = stats.bootstrap_ci(x, statistic=lambda a: np.quantile(a, 0.5, axis=-1))
    assert point == 50.5 and lo < 50.5 < hi


def test_corpus_bootstrap_recomputes_bleu():
    hyps = ["the cat sat on the mat", "a dog ran in the park", "birds fly south", "it rains in spring today"]
    refs = [["the cat sat on the mat"], ["a dog ran in a park"], ["birds fly north"], ["it rains in spring"]]
    point, lo, hi = stats.bootstrap_corpus_ci(
        len(hyps), lambda idx: corpus_bleu([hyps[i] for i in idx], [refs[i] for i in idx]), n_resamples=100)
    assert point == pytest.approx(corpus_bleu(hyps, refs))
    assert lo <= point <= hi and hi - lo > 1


@pytest.mark.parametrize("a, b, p", [
    ([1] * 5, [0] * 5, 2 / 32),            # only all-plus and all-minus reach |mean| = 1
    ([1, 0, 1, 1, 1], [0] * 5, 2 / 16),    # a zero difference does not flip: 4 free signs
    ([1, 0], [0, 1], 1.0),
    ([3, 1], [1, 0], 2 / 4),               # diffs 2, 1: |mean| >= 1.5 only for ++ and --
])
def test_permutation_exact_p_values(a, b, p):
    res = stats.paired_permutation(a, b)
    assert res["exact"] and res["p_value"] == pytest.approx(p)


def test_permutation_monte_carlo_on_a_clear_and_a_null_effect():
    rng = np.random.default_rng(0)
    base = rng.random(300)
    clear = stats.paired_permutation(base + 0.2 + rng.normal(0, 0.1, 300), base, n_permutations=2000)
    assert not clear["exact"] and clear["p_value"] == pytest.approx(1 / 2001)
    null = stats.paired_permutation(base + rng.normal(0, 0.1, 300), base, n_permutations=2000)
    assert null["p_value"] > 0.05


def test_paired_bootstrap_difference_ci_and_p():
    a = [1, 1, 1, 0, 1, 1, 1, 1, 0, 1] * 3
    b = [0, 1, 0, 0, 0, 1, 0, 0, 0, 1] * 3
    res = stats.paired_bootstrap(a, b, n_resamples=2000, seed=0)
    assert res["diff"] == pytest.approx(0.5)
    assert 0 < res["ci_low"] < 0.5 < res["ci_high"]
    assert res["p_value"] < 0.01 and res["n"] == 30
    same = stats.paired_bootstrap(a, a)
    assert same["diff"] == 0 and same["p_value"] == 1.0
    with pytest.raises(ValueError):
        stats.paired_bootstrap([1, 0], [1])


def test_paired_bootstrap_of_a_corpus_metric():
    hyps_a = ["the cat sat on the mat", "a dog ran in the park", "birds fly south today"]
    hyps_b = ["cat", "dog", "bird"]
    refs = [["the cat sat on the mat"], ["a dog ran in the park"], ["birds fly south today"]]

    def bleu(side, idx):
        return corpus_bleu([side[i] for i in idx], [refs[i] for i in idx])

    res = stats.paired_bootstrap(hyps_a, hyps_b, n_resamples=50, corpus_metric=bleu)
    assert res["diff"] == pytest.approx(100.0 - corpus_bleu(hyps_b, refs))
    assert res["ci_low"] > 50 and res["p_value"] < 0.05


def test_aggregate_seeds():
    per_seed = [[1, 0, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]]
    res = stats.aggregate_seeds(per_seed, n_resamples=500)
    assert res["value"] == pytest.approx(8 / 12)
    assert res["seeds"] == 3 and res["n"] == 4
    assert res["seed_std"] == pytest.approx(np.std([0.75, 0.75, 0.5], ddof=1))
    assert res["ci_low"] < res["value"] < res["ci_high"]
    one = stats.aggregate_seeds([[1, 0, 1, 1]])
    assert one["seed_std"] == 0.0 and one["value"] == 0.75


def test_paired_bootstrap_over_seeds_counts_the_training_randomness():
    rng = np.random.default_rng(0)
    items = 400
    # b answers 60% of the items; a's three training runs land at 80%, 40% and 60% (a mean
    # gap of 0 that single runs make look like +/-20 points) ...
    b = [(rng.random(items) < 0.6).astype(float) for _ in range(3)]
    a_runs = [(rng.random(items) < q).astype(float) for q in (0.8, 0.4, 0.6)]
    pooled = stats.paired_bootstrap(np.mean(a_runs, axis=0), np.mean(b, axis=0), n_resamples=500)
    seeds = stats.paired_bootstrap_seeds(a_runs, b, n_resamples=500)
    assert seeds["diff"] == pytest.approx(pooled["diff"])
    # ... so the interval over seeds is several times wider than the one over items alone
    assert seeds["ci_high"] - seeds["ci_low"] > 3 * (pooled["ci_high"] - pooled["ci_low"])
    assert seeds["ci_low"] < 0 < seeds["ci_high"] and seeds["p_value"] > 0.05
    # a gap every run shows (every a run above every b run) stays significant
    steady = [(rng.random(items) < q).astype(float) for q in (0.8, 0.78, 0.82)]
    res = stats.paired_bootstrap_seeds(steady, b, n_resamples=500)
    assert 0.15 < res["ci_low"] < res["diff"] < res["ci_high"] < 0.27 and res["p_value"] < 0.01
    with pytest.raises(ValueError):
        stats.paired_bootstrap_seeds([[1, 0]], [[1, 0, 1]])
