"""Uncertainty: seeded bootstrap intervals, paired tests between candidates, aggregation over seeds.

All functions are deterministic for a given ``seed`` (numpy's PCG64 generator) so a record's
intervals can be recomputed exactly from its per-example scores.

- :func:`bootstrap_ci`: percentile bootstrap 95% CI of a per-item statistic (mean by default;
  Efron & Tibshirani 1993).
- :func:`bootstrap_corpus_ci`: the same for corpus metrics (BLEU): resample items, recompute.
- :func:`paired_bootstrap`: difference of two candidates on the same items with its CI and a
  two-sided p-value (Koehn 2004, "Statistical significance tests for machine translation").
- :func:`paired_permutation`: sign-flip permutation test on paired differences (exact when
  2^n is small, Monte Carlo otherwise).
- :func:`aggregate_seeds`: mean over training seeds with a CI that resamples seeds and items.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

ALPHA = 0.05          # 95% intervals
EXACT_PERMUTATION_MAX_N = 16   # 2^16 sign patterns enumerated exactly


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _percentiles(samples: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bootstrap_ci(values: Sequence[float], *, n_resamples: int = 1000, seed: int = 0,
                 statistic: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[float, float, float]:
    """Percentile bootstrap 95% CI of a per-item statistic.

    Args:
        values: one number per item (e.g. 0/1 exact match).
        n_resamples: bootstrap resamples.
        seed: generator seed.
        statistic: reduces along the last axis, for the (n,) data and the (resamples, n)
            resamples alike (e.g. ``lambda a: np.quantile(a, .95, axis=-1)``); the mean by default.

    Returns:
        (point estimate, ci_low, ci_high); (nan, nan, nan) for no items.
    """
    x = np.asarray(values, dtype=float)
    stat = statistic or (lambda a: a.mean(axis=-1))
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    point = float(stat(x))
    idx = _rng(seed).integers(0, x.size, size=(n_resamples, x.size))  # (resamples, n)
    lo, hi = _percentiles(stat(x[idx]))
    return point, lo, hi


def bootstrap_corpus_ci(n_items: int, corpus_metric: Callable[[np.ndarray], float], *, n_resamples: int = 1000,
                        seed: int = 0) -> tuple[float, float, float]:
    """Bootstrap CI of a corpus metric: resample item indices, recompute the metric on them.

    Args:
        n_items: number of items.
        corpus_metric: maps an index array (with repeats) to the metric on those items.

    Returns:
        (metric on all items, ci_low, ci_high).
    """
    if n_items == 0:
        return float("nan"), float("nan"), float("nan")
    point = float(corpus_metric(np.arange(n_items)))
    rng = _rng(seed)
    samples = np.array([corpus_metric(rng.integers(0, n_items, size=n_items)) for _ in range(n_resamples)])
    lo, hi = _percentiles(samples)
    return point, lo, hi


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, n_resamples: int = 1000, seed: int = 0,
                     corpus_metric: Callable[[Sequence, np.ndarray], float] | None = None
                     ) -> dict:
    """Paired bootstrap of mean(a) - mean(b) over the same items.

    Args:
        a, b: per-item scores of two candidates, aligned by item; for a corpus metric, any
            aligned per-item data (e.g. the two candidates' answers).
        corpus_metric: ``corpus_metric(side, idx)`` -> the metric of ``side`` (``a`` or ``b``)
            on the resampled item indices ``idx``; recomputed per resample instead of the mean.

    Returns:
        {"diff", "ci_low", "ci_high", "p_value", "n"}; p is two-sided: twice the share of
        resampled differences on the far side of 0 (capped at 1).
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        return {"diff": None, "ci_low": None, "ci_high": None, "p_value": None, "n": 0}
    rng = _rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    if corpus_metric is None:
        d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
        diff = float(d.mean())
        samples = d[idx].mean(axis=1)
    else:
        full = np.arange(n)
        diff = float(corpus_metric(a, full) - corpus_metric(b, full))
        samples = np.array([corpus_metric(a, i) - corpus_metric(b, i) for i in idx])
    lo, hi = _percentiles(samples)
    if diff == 0:
        p = 1.0
    else:
        far = np.mean(samples <= 0) if diff > 0 else np.mean(samples >= 0)
        p = min(1.0, 2 * float(far))
    return {"diff": diff, "ci_low": lo, "ci_high": hi, "p_value": p, "n": n}


def paired_bootstrap_seeds(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], *,
                           n_resamples: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of mean(a) - mean(b) when either side was trained with several seeds.

    Each resample draws each side's seeds with replacement (independently: seed 1 of one
    technique has nothing in common with seed 1 of another) and one item draw shared by both
    sides, so the interval and p cover the training randomness as well as the finite test set.
    Averaging the seeds first and resampling items alone would treat three training runs as
    one, and call a gap significant that the next seed may reverse.

    Args:
        a, b: per seed, per-item scores aligned by item, shapes (seeds_a, items), (seeds_b, items).

    Returns:
        {"diff", "ci_low", "ci_high", "p_value", "n"} as :func:`paired_bootstrap`.
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.ndim != 2 or xb.ndim != 2 or xa.shape[1] != xb.shape[1]:
        raise ValueError(f"per-seed scores must be (seeds, items) on the same items: {xa.shape} vs {xb.shape}")
    n = xa.shape[1]
    if n == 0:
        return {"diff": None, "ci_low": None, "ci_high": None, "p_value": None, "n": 0}
    rng = _rng(seed)
    sa = rng.integers(0, xa.shape[0], size=(n_resamples, xa.shape[0]))
    sb = rng.integers(0, xb.shape[0], size=(n_resamples, xb.shape[0]))
    items = rng.integers(0, n, size=(n_resamples, n))
    # per resample: the mean over its drawn seeds of each item, then over its drawn items
    samples = np.array([xa[sa[r]].mean(axis=0)[items[r]].mean() - xb[sb[r]].mean(axis=0)[items[r]].mean()
                        for r in range(n_resamples)])
    diff = float(xa.mean() - xb.mean())
    lo, hi = _percentiles(samples)
    if diff == 0:
        p = 1.0
    else:
        p = min(1.0, 2 * float(np.mean(samples <= 0) if diff > 0 else np.mean(samples >= 0)))
    return {"diff": diff, "ci_low": lo, "ci_high": hi, "p_value": p, "n": n}


def paired_permutation(a: Sequence[float], b: Sequence[float], *, n_permutations: int = 10000,
                       seed: int = 0) -> dict:
    """Two-sided paired permutation (sign-flip) test of mean(a - b) = 0.

    Under the null each paired difference is equally likely to have either sign. Exact for
    n <= 16 items with non-zero difference (all 2^n sign patterns); otherwise Monte Carlo with
    the +1 correction, p = (hits + 1) / (n_permutations + 1).

    Returns:
        {"diff", "p_value", "n", "exact"}.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = d.size
    if n == 0:
        return {"diff": None, "p_value": None, "n": 0, "exact": True}
    observed = abs(d.mean())
    nz = d[d != 0]  # zero differences do not change under a sign flip
    if nz.size <= EXACT_PERMUTATION_MAX_N:
        patterns = ((np.arange(2 ** nz.size)[:, None] >> np.arange(nz.size)) & 1) * 2 - 1  # (2^k, k)
        stats = np.abs((patterns * nz).sum(axis=1) / n)
        p = float(np.mean(stats >= observed - 1e-12))
        return {"diff": float(d.mean()), "p_value": p, "n": n, "exact": True}
    signs = _rng(seed).choice(np.array([-1.0, 1.0]), size=(n_permutations, n))
    stats = np.abs((signs * d).mean(axis=1))
    hits = int(np.sum(stats >= observed - 1e-12))
    return {"diff": float(d.mean()), "p_value": (hits + 1) / (n_permutations + 1), "n": n, "exact": False}


def aggregate_seeds(per_seed: Sequence[Sequence[float]], *, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Mean over training seeds of the per-item mean, with a two-level bootstrap CI.

    Each resample draws seeds with replacement, then items with replacement (the same item
    draw for every seed, since the items are shared), so the interval covers both training
    randomness and the finite test set.

    Args:
        per_seed: one list of per-item scores per seed, aligned by item.

    Returns:
        {"value", "ci_low", "ci_high", "n", "seeds", "seed_std"} (seed_std: std of per-seed means).
    """
    x = np.asarray(per_seed, dtype=float)  # (seeds, items)
    if x.ndim != 2 or x.size == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "seeds": 0, "seed_std": None}
    s, n = x.shape
    rng = _rng(seed)
    seed_idx = rng.integers(0, s, size=(n_resamples, s))
    item_idx = rng.integers(0, n, size=(n_resamples, n))
    samples = np.array([x[seed_idx[r]][:, item_idx[r]].mean() for r in range(n_resamples)])
    lo, hi = _percentiles(samples)
    seed_means = x.mean(axis=1)
    return {"value": float(x.mean()), "ci_low": lo, "ci_high": hi, "n": n, "seeds": s,
            "seed_std": float(seed_means.std(ddof=1)) if s > 1 else 0.0}
