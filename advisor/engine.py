"""The rule engine: answers + the ordered table in advisor/rules.yaml -> a ranked recommendation.

Every rule whose condition holds adds its weights to the techniques' scores, its caveat, its
required checks and its priority weights. Rules that look at the outcome (`top`, `candidates`)
run in a second pass, after the ranking, and may only add caveats, checks and priorities. The
table is validated when loaded (advisor/rule_table.py), so evaluation trusts it.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from advisor.estimate import estimate
from advisor.questionnaire import load_questionnaire
from advisor.rule_table import POST_FACTS, load_rules

OPS = {"eq": operator.eq, "ne": operator.ne, "gte": operator.ge, "lte": operator.le, "gt": operator.gt,
       "lt": operator.lt, "in": lambda value, values: value in values}
SCORE_EFFECTS = (("recommend", 1), ("boost", 1), ("penalise", -1))


@functools.lru_cache(maxsize=256)
def derived_facts(model_size_b: float, gpu: str) -> dict[str, bool]:
    """fits_full / fits_lora / fits_qlora: the estimate for this model fits this GPU (never on CPU).

    Full fine-tuning counts as fitting when its leaner pure-bf16 variant does (8 B per parameter).
    """
    gpu_gb = load_questionnaire()["gpu"]["meta"][gpu]["gpu_gb"]
    n = model_size_b * 1e9
    return {f"fits_{name}": bool(gpu_gb > 0 and estimate(n, method, gpu_gb=gpu_gb)["fits"])
            for name, method in (("full", "full_bf16"), ("lora", "lora"), ("qlora", "qlora4"))}


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


def shortlist(ranking: list[str], scores: dict[str, float], size: int) -> list[str]:
    """What the plan builds: prompt first, then up to `size` top techniques with a positive score.

    A RAG+LoRA top pick brings RAG and LoRA along (to show what each part adds); distillation
    brings `distill_control`, the same student trained without the teacher.
    """
    picks = [t for t in ranking if t != "prompt" and scores[t] > 0][:size]
    out = ["prompt", *picks]
    if picks and picks[0] == "rag_lora":
        out += [t for t in ("rag", "lora") if t not in out]
    if "distill" in picks:
        out.append("distill_control")
    return out


def evaluate(answers: dict[str, Any], table: dict | None = None) -> dict:
    """Run the rule table over complete answers (see questionnaire.complete).

    Returns:
        {"scores": {technique: score}, "ranking": [technique, best first],
         "contributions": {technique: [(rule id, signed weight)]}, "fired": [rule ids in order],
         "caveats": [{id, rule, checks, en, zh}], "checks": [names], "priorities": {name: weight, sum 1},
         "candidates": [techniques to build], "facts": {derived and second-pass facts}}
    """
    table = table or load_rules()
    facts = {**answers, **derived_facts(float(answers["model_size_b"]), answers["gpu"])}
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
    ranking = sorted(order, key=lambda t: (-scores[t], order.index(t)))
    candidates = shortlist(ranking, scores, table["shortlist"])
    facts.update({POST_FACTS[0]: ranking[0], POST_FACTS[1]: candidates})
    for rule in post:
        if holds(rule["when"], facts):
            apply(rule)
    total = sum(priorities.values())
    return {"scores": scores, "ranking": ranking, "contributions": contributions, "fired": fired,
            "caveats": caveats, "checks": checks,
            "priorities": {k: round(v / total, 4) for k, v in priorities.items()},
            "candidates": candidates, "facts": {k: v for k, v in facts.items() if k not in answers}}


def top_pick(answers: dict[str, Any]) -> str:
    """The first-pass winner only (what-if re-runs this many times)."""
    return evaluate(answers)["ranking"][0]
