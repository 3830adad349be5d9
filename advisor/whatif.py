"""What would change the top pick: the nearest decisions a team can take that flip it.

Found by search, never written by hand, and only over decisions: a question's `decide` entry
(advisor/questionnaire.yaml) lists the values a team can move it to (a bigger GPU, more or
cleaner data, a relaxed requirement); facts about the world (how often knowledge changes, how
deep the reasoning is) are never varied, and no option gives the project up (no data, no
budget). Each alternative, nearest first, is put back through the rule table. First single
decisions (the nearest value per question that flips), resources before relaxed requirements;
only if none flips, pairs of them. An option counts only when the old pick still fits and the
new one scores strictly above it: a tie broken by the table's order is no reason to change
course, and neither is a change that merely breaks the old pick (a bigger model that no longer
fits).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from advisor.engine import evaluate
from advisor.questionnaire import load_questionnaire, tr

LIMIT = 5              # options shown at most
PAIR_ALTERNATIVES = 3  # per question in the pair search
KINDS = ("resource", "requirement")
AND = {"en": " and ", "zh": "，并且"}


def alternatives(qid: str, current: Any) -> list[Any]:
    """The values a team can move `qid` to from `current`, nearest first ([] for a fact)."""
    q = load_questionnaire()[qid]
    decide = q.get("decide")
    if not decide:
        return []
    values = [v for v in decide["values"] if v != current]
    if q["type"] == "choice":
        here = q["choices"].index(current)
        position = {v: q["choices"].index(v) - here for v in values}
    else:
        position = {v: (math.log(v / current) if q["type"] == "number" and current > 0 and v > 0
                        else float(v) - float(current)) for v in values}
    if decide["way"] == "up":
        values = [v for v in values if position[v] > 0]
    elif decide["way"] == "down":
        values = [v for v in values if position[v] < 0]
    return sorted(values, key=lambda v: (abs(position[v]), position[v]))


def phrase(qid: str, value: Any) -> dict[str, str]:
    """The decision of moving `qid` to `value`, as a team would say it ({en, zh})."""
    q = load_questionnaire()[qid]
    decide = q["decide"]
    if value in (decide.get("phrases") or {}):
        return dict(decide["phrases"][value])
    label = (q.get("labels") or {}).get(value)
    shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    return {lang: decide[lang].format(value=shown, label=tr(label, lang) if label else shown) for lang in ("en", "zh")}


def _flip(answers: dict[str, Any], top: str, changes: dict[str, Any]) -> str | None:
    """The new pick after `changes`, when it is a real change of course; else None."""
    result = evaluate({**answers, **changes})
    new = result["ranking"][0]
    if new == top or not result["fits"][top] or result["scores"][new] <= result["scores"][top]:
        return None
    return new


def _option(changes: dict[str, Any], new: str) -> dict:
    questions = load_questionnaire()
    kinds = [questions[q]["decide"]["kind"] for q in changes]
    texts = [phrase(q, v) for q, v in changes.items()]
    return {"changes": changes, "top": new, "kind": "requirement" if "requirement" in kinds else "resource",
            "text": {lang: AND[lang].join(t[lang] for t in texts) for lang in ("en", "zh")}}


def what_if(answers: dict[str, Any], limit: int = LIMIT) -> dict:
    """The nearest decisions that change the top pick.

    Returns:
        {"top": current top pick, "size": 1 or 2 (decisions per option) or None when nothing
         found, "options": [{"changes": {question: new value}, "top": new top pick,
         "kind": resource | requirement, "text": {en, zh}}], at most `limit`}
    """
    top = evaluate(answers)["ranking"][0]
    decisions = [qid for qid in answers if alternatives(qid, answers[qid])]
    options = []
    for qid in decisions:
        for value in alternatives(qid, answers[qid]):
            new = _flip(answers, top, {qid: value})
            if new is not None:
                options.append(_option({qid: value}, new))
                break
    if options:
        options.sort(key=lambda o: KINDS.index(o["kind"]))    # stable: questionnaire order within a kind
        return {"top": top, "size": 1, "options": options[:limit]}
    near = {qid: alternatives(qid, answers[qid])[:PAIR_ALTERNATIVES] for qid in decisions}
    for q1, q2 in itertools.combinations(decisions, 2):
        combos = sorted(itertools.product(enumerate(near[q1]), enumerate(near[q2])), key=lambda p: p[0][0] + p[1][0])
        for (_, v1), (_, v2) in combos:
            new = _flip(answers, top, {q1: v1, q2: v2})
            if new is not None:
                options.append(_option({q1: v1, q2: v2}, new))
                break
    options.sort(key=lambda o: KINDS.index(o["kind"]))
    return {"top": top, "size": 2 if options else None, "options": options[:limit]}
