"""Loading and checking advisor/rules.yaml, so the engine can trust the table.

A typo in the table (an unknown question, technique, operator or choice) is reported as one
sentence naming the file and the rule id, never discovered as a silently dead rule. The
techniques a rule may name are the table's own `techniques` list (the harness registers the
same names: a test holds the two together); priorities and checks are rightfit.vocabulary's.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from advisor.questionnaire import check_value, load_questionnaire
from rightfit.errors import UserError
from rightfit.vocabulary import CHECKS, PRIORITIES

RULES = Path(__file__).resolve().parent / "rules.yaml"
DERIVED_FACTS = ("fits_full", "fits_lora", "fits_qlora", "fits_distill", "fits_device",
                 "student_fits_device")                          # yes/no, from advisor/sizing.py
POST_FACTS = ("top", "candidates")                               # known only after the ranking
OPERATORS = ("eq", "ne", "in", "gte", "lte", "gt", "lt")
RULE_KEYS = {"id", "when", "recommend", "boost", "penalise", "caveat", "requires_check", "priority", "reason",
             "source"}
CONSTRAINT_KEYS = {"id", "techniques", "sizing", "holds", "why", "fix"}
SIZING_CHECKS = ("train", "device")


def _has(entry: Any, *keys: str) -> bool:
    return isinstance(entry, dict) and all(entry.get(k) for k in keys)


def _check_value(fact: str, value: Any, where: str, techniques: list[str]) -> None:
    questions = load_questionnaire()
    if fact in questions:
        check_value(questions[fact], value, where)
    elif fact in DERIVED_FACTS and not isinstance(value, bool):
        raise UserError(f"{where}: '{fact}' is yes/no, not {value!r}; write true or false.")
    elif fact in POST_FACTS and value not in techniques:
        raise UserError(f"{where}: '{fact}' compares with a technique, not {value!r}; use one of "
                        f"{', '.join(techniques)}.")


def _check_condition(cond: Any, where: str, techniques: list[str]) -> bool:
    """Raise on a malformed condition; return whether it uses a second-pass fact."""
    if not isinstance(cond, dict):
        raise UserError(f"{where}: a condition must be a mapping, not {cond!r}; fix the rule.")
    if "all" in cond or "any" in cond:
        items = cond.get("all", cond.get("any"))
        if len(cond) != 1 or not isinstance(items, list):
            raise UserError(f"{where}: write a condition as {{all: [...]}} or {{any: [...]}}; fix the rule.")
        return any([_check_condition(c, where, techniques) for c in items])
    fact, op, value = cond.get("q"), cond.get("op"), cond.get("value")
    facts = [*load_questionnaire(), *DERIVED_FACTS, *POST_FACTS]
    if fact not in facts:
        raise UserError(f"{where}: unknown fact '{fact}'; use a question id or one of "
                        f"{', '.join(DERIVED_FACTS + POST_FACTS)}.")
    if op not in OPERATORS or set(cond) != {"q", "op", "value"}:
        raise UserError(f"{where}: a condition is {{q, op, value}} with op one of {', '.join(OPERATORS)}; "
                        f"fix '{fact}'.")
    for v in (value if op == "in" else [value]):
        _check_value(fact, v, where, techniques)
    return fact in POST_FACTS


def check_table(table: Any, source: str) -> dict:
    """Validate a loaded table and mark each rule `_post` (second pass). Raises UserError."""
    if not isinstance(table, dict) or not isinstance(table.get("rules"), list):
        raise UserError(f"{source}: expected a mapping with a 'rules' list; fix the YAML.")
    techniques = table.get("techniques")
    if not isinstance(techniques, list) or not techniques or len(set(techniques)) != len(techniques):
        raise UserError(f"{source}: 'techniques' must list the techniques the rules rank, each once.")
    if sorted(table.get("priorities", {})) != sorted(PRIORITIES):
        raise UserError(f"{source}: 'priorities' must give a base weight to {', '.join(PRIORITIES)}.")
    _check_constraints(table.get("constraints", []), source, techniques)
    _check_margin(table.get("quality_margin"), source)
    seen = set()
    for i, rule in enumerate(table["rules"]):
        where = f"{source}: rule '{rule.get('id', f'#{i + 1}')}'" if isinstance(rule, dict) else f"{source}: rule #{i + 1}"
        if not isinstance(rule, dict) or not rule.get("id") or rule["id"] in seen:
            raise UserError(f"{where} needs a unique 'id'; fix the rule.")
        seen.add(rule["id"])
        if set(rule) - RULE_KEYS:
            raise UserError(f"{where}: unknown key(s) {', '.join(sorted(set(rule) - RULE_KEYS))}; "
                            f"allowed: {', '.join(sorted(RULE_KEYS))}.")
        post = _check_condition(rule.get("when"), where, techniques)
        for kind in ("recommend", "boost", "penalise"):
            for technique, weight in rule.get(kind, {}).items():
                if technique not in techniques or not isinstance(weight, (int, float)) or weight <= 0:
                    raise UserError(f"{where}: '{kind}' needs technique: positive weight with a technique among "
                                    f"{', '.join(techniques)}, not {technique}: {weight!r}.")
                if post:
                    raise UserError(f"{where}: a rule on {' or '.join(POST_FACTS)} runs after scoring and "
                                    f"cannot '{kind}'; use a caveat.")
        bad = set(rule.get("requires_check", [])) - set(CHECKS) or set(rule.get("priority", {})) - set(PRIORITIES)
        if bad:
            raise UserError(f"{where}: unknown check or priority {', '.join(sorted(bad))}; use "
                            f"{', '.join(CHECKS)} / {', '.join(PRIORITIES)}.")
        if not _has(rule.get("reason"), "en", "zh") or ("caveat" in rule and not _has(rule["caveat"], "id", "en", "zh")):
            raise UserError(f"{where}: 'reason' needs en and zh texts, and a 'caveat' id, en and zh; add them.")
        if not rule.get("source"):
            raise UserError(f"{where}: say where the rule comes from in 'source'.")
        rule["_post"] = post
    return table


def _check_constraints(constraints: Any, source: str, techniques: list[str]) -> None:
    """Each constraint: id, techniques, and either `sizing: train|device` or `holds` with why and fix texts."""
    if not isinstance(constraints, list):
        raise UserError(f"{source}: 'constraints' must be a list; fix the YAML.")
    for i, c in enumerate(constraints):
        where = f"{source}: constraint '{c.get('id', f'#{i + 1}')}'" if isinstance(c, dict) else f"{source}: constraint #{i + 1}"
        if not isinstance(c, dict) or not c.get("id") or set(c) - CONSTRAINT_KEYS:
            raise UserError(f"{where}: a constraint is {{{', '.join(sorted(CONSTRAINT_KEYS))}}} with an id; fix it.")
        if not isinstance(c.get("techniques"), list) or not c["techniques"] or set(c["techniques"]) - set(techniques):
            raise UserError(f"{where}: 'techniques' must list some of {', '.join(techniques)}.")
        if "sizing" in c:
            if c["sizing"] not in SIZING_CHECKS or {"holds", "why", "fix"} & set(c):
                raise UserError(f"{where}: 'sizing' is one of {', '.join(SIZING_CHECKS)}, alone; fix it.")
            continue
        if _check_condition(c.get("holds"), where, techniques):
            raise UserError(f"{where}: a constraint cannot depend on the ranking ({', '.join(POST_FACTS)}).")
        if not (_has(c.get("why"), "en", "zh") and _has(c.get("fix"), "en", "zh")):
            raise UserError(f"{where}: 'why' and 'fix' need en and zh texts; add them.")


def _check_margin(margin: Any, source: str) -> None:
    """quality_margin: {question: a scale question, values: {1..5: a margin in [0, 1]}}."""
    questions = load_questionnaire()
    ok = (isinstance(margin, dict) and questions.get(margin.get("question"), {}).get("type") == "scale"
          and isinstance(margin.get("values"), dict) and sorted(margin["values"]) == [1, 2, 3, 4, 5]
          and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in margin["values"].values()))
    if not ok:
        raise UserError(f"{source}: 'quality_margin' must be {{question: <a 1-5 scale question>, values: "
                        f"{{1..5: a margin from 0 to 1}}}}; fix it.")


@functools.lru_cache(maxsize=None)
def load_rules(path: str = str(RULES)) -> dict:
    """The checked rule table (cached: the what-if search evaluates it thousands of times)."""
    try:
        with open(path, encoding="utf-8") as f:
            table = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"{path}: cannot read the rule table ({str(e).splitlines()[0]}); fix the file.") from None
    return check_table(table, path)
