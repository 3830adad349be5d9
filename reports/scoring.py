"""The measured winner under the plan's priorities, and whether it agrees with the advisor.

Scoring (also explained in the report itself):

1. Every metric is put on a 0..1 scale where 1 is good (:func:`scaled`), direction and kind
   from the metric registry (harness/evaluation/metrics.py). Proportions (accuracy, style,
   traceability, leak rate) keep their absolute value (1 - value when lower is better), so 0.83
   vs 0.79 stays a small difference; differences such as ``forgetting.probes.em`` map to
   1 + delta, clipped; anything else (latency, perplexity, build time) is a ratio to the best
   measured value (best/value when lower is better), falling back to min-max when values are
   not positive.
2. A priority (``accuracy_fresh``, ``latency``, ...) maps to one or more metrics
   (rightfit.vocabulary.PRIORITIES); its score is the mean of those metrics' scaled values.
   The first group of metrics with any measurement is used, so ``accuracy_seen`` falls back to
   ``test.em`` when ``test.seen.em`` is absent.
3. The weighted score is ``sum(w_p * s_p) / sum(w_p)`` over the priorities measured in the
   run. A value that does not apply (None) counts as 0, except where n/a means "no risk"
   (privacy, forgetting: the technique trains on nothing) where it counts as 1.
4. The quality floor (:func:`quality_floor`) comes first: a candidate whose accuracy on the
   suite's test questions is more than the plan's margin below the best candidate's (the upper
   end of its 95% interval too) does not answer well enough; it is ranked after every candidate that does, whatever its latency, cost
   or forgetting, so an untouched base that answers 3% of the questions cannot win on speed.
   Latency is compared per generated token (rightfit.vocabulary), so a short answer is not
   mistaken for a fast model.

:func:`normalised` (min-max, 1 = best measured, 0 = worst) is the relative view the overview
heat-map shows.
"""

from __future__ import annotations

from typing import Any

from harness.evaluation.metrics import higher_is_better as registered_direction
from harness.evaluation.metrics import known, metric_kind
from rightfit import vocabulary
from rightfit.vocabulary import PRIORITIES

ARTIFACT = "artifact."  # record keys read from the record's artifact (build time, memory, size, parameters)
DEFAULT_MARGIN = 0.10   # the quality floor's margin when the run has no plan (a plan states its own)
QUALITY = ("test.{acc}", "test.f1")   # what "answers well" is measured by: the first the run has


def value(record: dict, metric: str) -> float | None:
    if metric.startswith(ARTIFACT):
        v = (record.get("artifact") or {}).get(metric[len(ARTIFACT):])
    else:
        v = ((record.get("metrics") or {}).get(metric) or {}).get("value")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def higher_is_better(metric: str) -> bool | None:
    """The metric's direction from the registry; None for a metric it does not know (then no
    candidate is marked best and no priority reads it)."""
    return registered_direction(metric) if known(metric) else None


def normalised(records: list[dict], metric: str) -> dict[str, float | None]:
    """candidate -> rescaled value in [0, 1] (1 = best), None where the metric is n/a."""
    vals = {r["candidate"]: value(r, metric) for r in records}
    present = [v for v in vals.values() if v is not None]
    if not present:
        return {c: None for c in vals}
    lo, hi = min(present), max(present)
    hib = higher_is_better(metric) is not False
    out: dict[str, float | None] = {}
    for c, v in vals.items():
        if v is None:
            out[c] = None
        elif hi == lo:
            out[c] = 1.0
        else:
            out[c] = (v - lo) / (hi - lo) if hib else (hi - v) / (hi - lo)
    return out


def scaled(records: list[dict], metric: str) -> dict[str, float | None]:
    """candidate -> value on the scoring scale in [0, 1] (1 = good), None where n/a. See the module doc."""
    vals = {r["candidate"]: value(r, metric) for r in records}
    present = [v for v in vals.values() if v is not None]
    hib = higher_is_better(metric) is not False
    kind = metric_kind(metric) if known(metric) else "generic"
    if not present:
        return dict(vals)
    if kind == "prop" and all(0.0 <= v <= 1.0 for v in present):
        return {c: None if v is None else (v if hib else 1.0 - v) for c, v in vals.items()}
    if kind == "delta" and all(-1.0 <= v <= 1.0 for v in present):
        return {c: None if v is None else min(1.0, max(0.0, 1.0 + (v if hib else -v))) for c, v in vals.items()}
    best = max(present) if hib else min(present)
    if min(present) <= 0 or best <= 0:
        return normalised(records, metric)
    return {c: None if v is None else (v / best if hib else best / v) for c, v in vals.items()}


def priority_metrics(records: list[dict], priority: str, accuracy: str = "em") -> tuple[list[str], float]:
    """(the metrics a priority is scored on in this run, [] when none was measured; the n/a score).

    Args:
        accuracy: the run's accuracy metric (run.json accuracy_metric).
    """
    if priority not in PRIORITIES:
        return [], 0.0
    groups, missing = vocabulary.priority_metrics(priority, accuracy), PRIORITIES[priority].na
    for group in groups:
        used = [m for m in group if any(value(r, m) is not None for r in records)]
        if used:
            return used, missing
    return [], missing


def weighted_scores(records: list[dict], priorities: dict[str, float], accuracy: str = "em") -> dict[str, Any]:
    """Score every candidate under `priorities` (accuracy: the run's accuracy metric).

    Returns:
        {"total": {cand: score}, "by_priority": {priority: {cand: score}}, "metrics": {priority: [...]},
         "weights": {priority: normalised weight}, "unmeasured": [priorities without data]}
    """
    by_priority, used_metrics, unmeasured = {}, {}, []
    for p, w in priorities.items():
        if not isinstance(w, (int, float)) or w <= 0:
            continue
        metrics, missing = priority_metrics(records, p, accuracy)
        if not metrics:
            unmeasured.append(p)
            continue
        norms = [scaled(records, m) for m in metrics]
        by_priority[p] = {r["candidate"]: sum(missing if n[r["candidate"]] is None else n[r["candidate"]]
                                              for n in norms) / len(norms) for r in records}
        used_metrics[p] = metrics
    total_w = sum(priorities[p] for p in by_priority) or 1.0
    weights = {p: priorities[p] / total_w for p in by_priority}
    total = {r["candidate"]: sum(weights[p] * by_priority[p][r["candidate"]] for p in by_priority)
             for r in records}
    return {"total": total, "by_priority": by_priority, "metrics": used_metrics, "weights": weights,
            "unmeasured": unmeasured}


def p_value(records: list[dict], metric: str, a: str, b: str) -> float | None:
    """Paired-test p-value between candidates a and b on `metric`, from either record's comparisons.

    A forgetting delta (candidate - base on the same probes) is tested by its metric's own paired
    test: the base cancels out of the difference of two deltas.
    """
    by_name = {r["candidate"]: r for r in records}
    metric = metric.removeprefix("forgetting.")
    for x, y in ((a, b), (b, a)):
        pairs = ((by_name.get(x) or {}).get("comparisons") or {}).get(metric) or {}
        # `rightfit run` keys the other side by technique; a hand-made record may use the candidate name.
        comp = pairs.get(y) or pairs.get((by_name.get(y) or {}).get("technique", y)) or {}
        p = comp.get("p_value") if isinstance(comp, dict) else None
        if isinstance(p, (int, float)):
            return float(p)
    return None


def quality_floor(records: list[dict], margin: float = DEFAULT_MARGIN, accuracy: str = "em") -> dict[str, Any]:
    """Which candidates answer well enough for latency, cost and forgetting to count.

    Returns:
        {"metric": the accuracy metric (None when the run has none), "best": its best value,
         "best_candidate", "margin", "floor": best - margin, "values": {cand: value},
         "below": [candidates under the floor or without the metric, best first]}
    """
    metric = next((m.format(acc=accuracy) for m in QUALITY
                   if any(value(r, m.format(acc=accuracy)) is not None for r in records)), None)
    out: dict[str, Any] = {"metric": metric, "margin": margin, "best": None, "best_candidate": None, "floor": None,
                           "values": {}, "below": []}
    if metric is None:
        return out
    values = {r["candidate"]: value(r, metric) for r in records}
    best_candidate = max((c for c in values if values[c] is not None), key=lambda c: values[c])
    best = values[best_candidate]
    floor = best - margin
    # below only when even the upper end of its 95% interval is: a gap the questions cannot resolve
    # is no reason to rule a candidate out
    highs = {r["candidate"]: ((r.get("metrics") or {}).get(metric) or {}).get("ci_high") for r in records}
    below = [c for c in values if values[c] is None or
             max(values[c], highs[c] if isinstance(highs[c], (int, float)) else values[c]) < floor - 1e-12]
    below.sort(key=lambda c: -(values[c] if values[c] is not None else -1.0))
    out.update(best=best, best_candidate=best_candidate, floor=floor, values=values, below=below)
    return out


def ranking(totals: dict[str, float], advisor_order: list[str], technique_of: dict[str, str],
            below: list[str] | tuple = ()) -> list[str]:
    """Candidates that answer well enough first, each group by weighted score; ties broken by
    the advisor's order, then by name."""
    def key(c: str):
        tech = technique_of.get(c, c)
        pos = advisor_order.index(tech) if tech in advisor_order else len(advisor_order)
        return (c in below, -round(totals[c], 9), pos, c)
    return sorted(totals, key=key)


def agreement(records: list[dict], plan: dict | None, scores: dict, order: list[str],
              below: list[str] | tuple = ()) -> dict[str, Any]:
    """Compare the advisor's top technique with the measured winner (order[0], floor applied).

    Returns a dict: status ("agree" | "disagree" | "pick_missing" | "no_plan"), winner, pick (candidate
    name of the pick's best record or None), pick_below_floor (the pick does not answer well
    enough), drivers/counters [(priority, metric, winner value, pick value)], gap, and the least
    significant key metric difference (metric, p).
    """
    technique_of = {r["candidate"]: r.get("technique", r["candidate"]) for r in records}
    winner = order[0]
    total = scores["total"]
    out: dict[str, Any] = {"winner": winner, "winner_score": total[winner], "pick": None, "pick_technique": None,
                           "runner_up": order[1] if len(order) > 1 else None, "drivers": [], "counters": [],
                           "not_significant": None, "gap": None, "pick_below_floor": False}
    ranking_ = (plan or {}).get("ranking") or []
    if not ranking_:
        out["status"] = "no_plan"
        return out
    pick_tech = ranking_[0].get("technique")
    out["pick_technique"] = pick_tech
    pick_cands = [c for c in order if technique_of[c] == pick_tech]
    if not pick_cands:
        out["status"] = "pick_missing"
        return out
    pick = pick_cands[0]
    out["pick"] = pick
    out["pick_score"] = total[pick]
    if pick == winner:
        out["status"] = "agree"
        return out
    out["status"] = "disagree"
    out["pick_below_floor"] = pick in below and winner not in below
    out["gap"] = total[winner] - total[pick]
    # Contribution of each priority to the gap, biggest first.
    contrib = []
    for p, per in scores["by_priority"].items():
        d = scores["weights"][p] * (per[winner] - per[pick])
        metric = scores["metrics"][p][0]
        by_name = {r["candidate"]: r for r in records}
        contrib.append((d, p, metric, value(by_name[winner], metric), value(by_name[pick], metric)))
    contrib.sort(key=lambda t: -t[0])
    out["drivers"] = [t[1:] for t in contrib if t[0] > 1e-9][:2]
    out["counters"] = [t[1:] for t in sorted(contrib, key=lambda t: t[0]) if t[0] < -1e-9][:2]
    for _p, metric, _w, _v in out["drivers"]:
        p = p_value(records, metric, winner, pick)
        if p is not None and p >= 0.05:
            out["not_significant"] = (metric, p)
            break
    return out
