"""Comparing candidates: paired tests on the items both answered, and aggregation over seeds.

- :func:`compare`: every pair of candidates on one per-item metric (paired bootstrap, Koehn
  2004, and a sign-flip permutation test); a candidate is significantly better only when both
  agree and the interval excludes 0.
- :func:`add_comparisons`: those pairs attached to each record, for the report's markers.
- :func:`aggregate_seeds`: one record per trained technique over its training seeds.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import numpy as np

from harness.evaluation import stats
from harness.evaluation.metrics import spec_for

# Per-item metrics that get paired tests between candidates (for the report's significance markers).
COMPARED = ("test.em", "test.f1", "test.seen.em", "test.docs_only.em", "fresh.em", "probes.em", "probes.mc_acc",
            "test.style")


def item_scores(record: dict, key: str) -> dict[str, float]:
    """Per-item scores of `key` (``test.docs_only.em`` -> part test, kind docs_only, score em)."""
    parts = key.split(".")
    part, name = parts[0], parts[-1]
    kind = parts[1] if len(parts) == 3 else None
    part_name = {"test": "test", "fresh": "test_updated", "stale": "stale", "probes": "probes"}.get(part)
    out = {}
    for e in record.get("examples", []):
        if e.get("part") != part_name or name not in e.get("scores", {}):
            continue
        if part == "fresh" and (e.get("kind") == "updated") != (kind is None):
            continue
        if part != "fresh" and kind is not None and e.get("kind") != kind:
            continue
        out[e["id"]] = float(e["scores"][name])
    return out




def compare(records: list[dict], metric: str, *, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Paired tests between every two candidates on the items both answered.

    Records of the same technique (several seeds) are pooled: the permutation test reads their
    per-item scores averaged over seeds; the bootstrap resamples seeds as well as items
    (:func:`harness.evaluation.stats.paired_bootstrap_seeds`), so a difference counts as
    significant only if it holds across training runs. Works for per-item metrics (mean aggregation) of the test,
    fresh and probes parts.

    Returns:
        {"metric", "higher_is_better", "pairs": [{"a", "b", "n", "diff", "ci_low", "ci_high",
        "p_bootstrap", "p_permutation", "better"}]}; ``better`` names the significantly better
        candidate (both p < 0.05 and the CI excludes 0) or is None.
    """
    spec = spec_for(metric)
    if spec.aggregation != "mean":
        raise ValueError(f"compare needs a per-item metric; {metric} aggregates as {spec.aggregation}")
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for r in records:
        groups[r.get("technique") or r["candidate"]].append(item_scores(r, metric))
    pooled = {}
    for name, per_seed in groups.items():
        ids = set.intersection(*(set(s) for s in per_seed)) if per_seed else set()
        pooled[name] = {i: float(np.mean([s[i] for s in per_seed])) for i in ids}
    pairs = []
    for a, b in itertools.combinations(sorted(pooled), 2):
        ids = sorted(set(pooled[a]) & set(pooled[b]))
        if not ids:
            continue
        xa, xb = [pooled[a][i] for i in ids], [pooled[b][i] for i in ids]
        if len(groups[a]) > 1 or len(groups[b]) > 1:  # training randomness counts too
            boot = stats.paired_bootstrap_seeds([[s[i] for i in ids] for s in groups[a]],
                                                [[s[i] for i in ids] for s in groups[b]],
                                                n_resamples=n_resamples, seed=seed)
        else:
            boot = stats.paired_bootstrap(xa, xb, n_resamples=n_resamples, seed=seed)
        perm = stats.paired_permutation(xa, xb, seed=seed)
        significant = boot["p_value"] < 0.05 and perm["p_value"] < 0.05 and (boot["ci_low"] > 0 or boot["ci_high"] < 0)
        better = None
        if significant:
            better = a if (boot["diff"] > 0) == spec.higher_is_better else b
        pairs.append({"a": a, "b": b, "n": len(ids), "diff": boot["diff"], "ci_low": boot["ci_low"],
                      "ci_high": boot["ci_high"], "p_bootstrap": boot["p_value"], "p_permutation": perm["p_value"],
                      "better": better})
    return {"metric": metric, "higher_is_better": spec.higher_is_better, "pairs": pairs}


def add_comparisons(records: list[dict], cfg: Any) -> None:
    """Paired tests for every compared metric; each record gets the pairs it is part of."""
    names = {r["technique"] for r in records}
    for metric in COMPARED:
        if not any(r["metrics"].get(metric, {}).get("value") is not None for r in records) or len(names) < 2:
            continue
        result = compare(records, metric, n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
        for r in records:
            mine = {}
            for pair in result["pairs"]:
                if r["technique"] in (pair["a"], pair["b"]):
                    other = pair["b"] if pair["a"] == r["technique"] else pair["a"]
                    sign = 1 if pair["a"] == r["technique"] else -1
                    mine[other] = {"diff": sign * pair["diff"],
                                   "ci_low": sign * (pair["ci_low"] if sign > 0 else pair["ci_high"]),
                                   "ci_high": sign * (pair["ci_high"] if sign > 0 else pair["ci_low"]),
                                   "p_value": max(pair["p_bootstrap"], pair["p_permutation"]),
                                   "better": pair["better"], "n": pair["n"]}
            if mine:
                r.setdefault("comparisons", {})[metric] = mine


def aggregate_seeds(records: list[dict], cfg: Any) -> list[dict]:
    """One record per trained technique over its seeds.

    Per-item metrics get a two-level bootstrap CI (seeds and items resampled,
    :func:`harness.evaluation.stats.aggregate_seeds`); other metrics (perplexity, BLEU, latency) get the
    mean over seeds with the min-max over seeds as their interval.
    """

    by_tech: dict[str, list[dict]] = {}
    for r in records:
        if "@seed" in r["candidate"]:
            by_tech.setdefault(r["technique"], []).append(r)
    out = []
    for technique, group in by_tech.items():
        metrics = {}
        for key, first in group[0]["metrics"].items():
            values = [g["metrics"].get(key, {}).get("value") for g in group]
            if any(v is None for v in values):
                metrics[key] = dict(first)
                continue
            agg = None
            try:
                per_item = [item_scores(g, key) for g in group] if spec_for(key).aggregation == "mean" else []
            except (KeyError, ValueError):
                per_item = []
            ids = sorted(set.intersection(*(set(p) for p in per_item))) if per_item and all(per_item) else []
            if ids:
                agg = stats.aggregate_seeds([[p[i] for i in ids] for p in per_item], n_resamples=cfg.eval.bootstrap,
                                seed=cfg.seed)
                note = f"mean over {len(group)} seeds; CI bootstraps seeds and items"
            else:
                agg = {"value": sum(values) / len(values), "ci_low": min(values), "ci_high": max(values)}
                note = f"mean over {len(group)} seeds; interval = min-max over seeds"
            metrics[key] = {"value": agg["value"], "ci_low": agg["ci_low"], "ci_high": agg["ci_high"],
                            "n": first.get("n", 0), "higher_is_better": first.get("higher_is_better", True),
                            "note": note}
        merged = dict(group[0])
        merged.update(candidate=technique, seed=-1, metrics=metrics, seeds=[g["seed"] for g in group])
        out.append(merged)
    return out
