"""The rule engine: answers + the ordered table in advisor/rules.yaml -> a ranked recommendation.

Every rule whose condition holds adds its weights to the techniques' scores, its caveat, its
required checks and its priority weights. The table's constraints then split the techniques:
those that break one (they do not fit the hardware or the device, or lack their data) are
ranked after every one that passes and are never built. Rules that look at the outcome (`top`,
`candidates`) run in a second pass, after the ranking, and may only add caveats, checks and
priorities. The table is validated when loaded (advisor/rule_table.py), so evaluation trusts it.
"""

from __future__ import annotations

import operator
from typing import Any

from advisor import sizing
from advisor.rule_table import POST_FACTS, load_rules

OPS = {"eq": operator.eq, "ne": operator.ne, "gte": operator.ge, "lte": operator.le, "gt": operator.gt,
       "lt": operator.lt, "in": lambda value, values: value in values}
SCORE_EFFECTS = (("recommend", 1), ("boost", 1), ("penalise", -1))


def holds(cond: dict, facts: dict[str, Any]) -> bool:
    """Whether a condition ({all|any: [...]} or {q, op, value}) holds for these facts."""
    if "all" in cond:
        for c in cond["all"]:  # a loop, not all(<generator>): what-if calls this ~10^5 times
            if not holds(c, facts):
                return False
        return True
    if "any" in cond:
        for c in cond["any"]:
            if holds(c, facts):
                return True
        return False
    value = facts[cond["q"]]
    if isinstance(value, list) and cond["op"] == "in":  # list fact: any of its items
        return any(v in cond["value"] for v in value)
    return OPS[cond["op"]](value, cond["value"])


def shortlist(ranking: list[str], scores: dict[str, float], size: int, fits: dict[str, bool]) -> list[str]:
    """What the plan builds: prompt first (the baseline every candidate is measured against, even
    where it could not ship), then up to `size` top techniques that pass every constraint and
    have a positive score.

    A RAG+LoRA top pick brings RAG and LoRA along (to show what each part adds); distillation
    brings `distill_control`, the same student trained without the teacher.
    """
    picks = [t for t in ranking if t != "prompt" and scores[t] > 0 and fits[t]][:size]
    out = ["prompt", *picks]
    if picks and picks[0] == "rag_lora":
        out += [t for t in ("rag", "lora") if t not in out and fits[t]]
    if "distill" in picks:
        out.append("distill_control")
    return out


def broken(table: dict, facts: dict[str, Any], size: sizing.Sizing) -> dict[str, list[str]]:
    """technique -> ids of the constraints it breaks (empty: it may be ranked first and built)."""
    out: dict[str, list[str]] = {t: [] for t in table["techniques"]}
    for c in table.get("constraints", []):
        for t in c["techniques"]:
            if "sizing" in c:
                ok = (sizing.training(t, size) if c["sizing"] == "train" else sizing.device(t, size))["fits"]
            else:
                ok = holds(c["holds"], facts)
            if not ok:
                out[t].append(c["id"])
    return out


def quality_margin(table: dict, answers: dict[str, Any]) -> float:
    """How far below the best measured accuracy a candidate may score and still win (the report's floor)."""
    margin = table["quality_margin"]
    return float(margin["values"][answers[margin["question"]]])


def evaluate(answers: dict[str, Any], table: dict | None = None) -> dict:
    """Run the rule table over complete answers (see questionnaire.complete).

    Returns:
        {"scores": {technique: score}, "ranking": [technique: those that pass every constraint
         first, each part best first], "fits": {technique: passes every constraint},
         "broken": {technique: [constraint ids]}, "contributions": {technique: [(rule id, signed weight)]},
         "fired": [rule ids in order], "caveats": [{id, rule, checks, en, zh}], "checks": [names],
         "priorities": {name: weight, sum 1}, "candidates": [techniques to build],
         "quality_margin": float, "facts": {derived and second-pass facts}}
    """
    table = table or load_rules()
    size = sizing.sizing_of(answers)
    facts = {**answers, **sizing.facts(size)}
    scores = {t: 0.0 for t in table["techniques"]}
    contributions: dict[str, list] = {t: [] for t in table["techniques"]}
    fired, caveats, checks = [], [], []
    priorities = dict(table["priorities"])

    def apply(rule: dict) -> None:
        fired.append(rule["id"])
        for kind, sign in SCORE_EFFECTS:
            for technique, weight in rule.get(kind, {}).items():
                scores[technique] += sign * weight
                contributions[technique].append((rule["id"], sign * weight))
        caveat = rule.get("caveat")
        if caveat and all(c["id"] != caveat["id"] for c in caveats):
            caveats.append({"id": caveat["id"], "rule": rule["id"], "checks": list(rule.get("requires_check", [])),
                            "en": caveat["en"], "zh": caveat["zh"]})
        checks.extend(c for c in rule.get("requires_check", []) if c not in checks)
        for name, weight in rule.get("priority", {}).items():
            priorities[name] += weight

    post = [r for r in table["rules"] if r["_post"]]
    for rule in table["rules"]:
        if not rule["_post"] and holds(rule["when"], facts):
            apply(rule)
    order = table["techniques"]
    broken_by = broken(table, facts, size)
    fits = {t: not broken_by[t] for t in order}
    ranking = sorted(order, key=lambda t: (not fits[t], -scores[t], order.index(t)))
    candidates = shortlist(ranking, scores, table["shortlist"], fits)
    facts.update({POST_FACTS[0]: ranking[0], POST_FACTS[1]: candidates})
    for rule in post:
        if holds(rule["when"], facts):
            apply(rule)
    total = sum(priorities.values())
    return {"scores": scores, "ranking": ranking, "fits": fits, "broken": broken_by, "contributions": contributions,
            "fired": fired, "caveats": caveats, "checks": checks,
            "priorities": {k: round(v / total, 4) for k, v in priorities.items()},
            "candidates": candidates, "quality_margin": quality_margin(table, answers),
            "facts": {k: v for k, v in facts.items() if k not in answers}}


def top_pick(answers: dict[str, Any]) -> str:
    """The first-pass winner only (what-if re-runs this many times)."""
    return evaluate(answers)["ranking"][0]
