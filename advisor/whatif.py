"""What would change the top pick: the smallest answer changes that flip it.

Found by search, never written by hand: every alternative answer (nearest first) is put back
through the rule table. First single changes, one per question (the nearest value that flips);
only if no single change flips the pick, pairs of changes. Number questions try their `probes`
and, for every threshold a rule compares them with, the threshold itself and 5% either side.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from advisor.engine import top_pick
from advisor.questionnaire import load_questionnaire
from advisor.rule_table import load_rules

PAIR_ALTERNATIVES = 4  # per question in the pair search (4 x 4 per pair keeps it well under a second)


def _thresholds(cond: dict, qid: str) -> set[float]:
    if "all" in cond or "any" in cond:
        return set().union(*[_thresholds(c, qid) for c in cond.get("all", cond.get("any"))])
    return {float(cond["value"])} if cond["q"] == qid else set()


def alternatives(qid: str, current: Any) -> list[Any]:
    """Every other answer to `qid` worth trying, nearest to `current` first."""
    q = load_questionnaire()[qid]
    if q["type"] == "yesno":
        return [not current]
    if q["type"] == "choice":
        here = q["choices"].index(current)
        return sorted((c for c in q["choices"] if c != current), key=lambda c: abs(q["choices"].index(c) - here))
    if q["type"] == "scale":
        return sorted((v for v in range(1, 6) if v != current), key=lambda v: (abs(v - current), v))
    values = set(q.get("probes", []))
    for rule in load_rules()["rules"]:
        for t in _thresholds(rule["when"], qid):
            values |= {t, t * 0.95, t * 1.05}
    values = {round(float(v), 6) for v in values if q["min"] <= v <= q["max"] and v != current}
    return sorted(values, key=lambda v: (abs(math.log(v / current)), v))


def what_if(answers: dict[str, Any], limit: int = 8) -> dict:
    """The smallest answer changes that change the top pick.

    Returns:
        {"top": current top pick, "size": 1 or 2 (changes per option) or None when nothing
         found, "options": [{"changes": {question: new value}, "top": new top pick}]}
    """
    top = top_pick(answers)
    options = []
    for qid in answers:
        for value in alternatives(qid, answers[qid]):
            new = top_pick({**answers, qid: value})
            if new != top:
                options.append({"changes": {qid: value}, "top": new})
                break
    if options:
        return {"top": top, "size": 1, "options": options[:limit]}
    near = {qid: alternatives(qid, answers[qid])[:PAIR_ALTERNATIVES] for qid in answers}
    for q1, q2 in itertools.combinations(answers, 2):
        combos = sorted(itertools.product(enumerate(near[q1]), enumerate(near[q2])), key=lambda p: p[0][0] + p[1][0])
        for (_, v1), (_, v2) in combos:
            new = top_pick({**answers, q1: v1, q2: v2})
            if new != top:
                options.append({"changes": {q1: v1, q2: v2}, "top": new})
                break
        if len(options) >= limit:
            break
    return {"top": top, "size": 2 if options else None, "options": options}
