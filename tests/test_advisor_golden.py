"""Golden cases (advisor/golden.yaml): realistic projects -> the recommendation the rules must give."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.engine import evaluate
from advisor.questionnaire import complete, load_answers
from advisor.rule_table import load_rules

ADVISOR = Path(__file__).resolve().parents[1] / "advisor"
CASES = yaml.safe_load((ADVISOR / "golden.yaml").read_text(encoding="utf-8"))["cases"]


def _answers(case: dict) -> dict:
    if "answers_file" in case:
        return load_answers(ADVISOR / case["answers_file"])[0]
    return complete(case["answers"])[0]


def test_there_are_at_least_25_distinct_golden_cases():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 25 and len(set(ids)) == len(ids)
    # they do not all agree: the table discriminates between techniques
    tops = {c["expect"]["top"] for c in CASES}
    assert tops == {"prompt", "rag", "lora", "qlora", "full", "distill", "rag_lora"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case(case):
    result = evaluate(_answers(case))
    expect, ranking = case["expect"], result["ranking"]
    summary = ", ".join(f"{t} {result['scores'][t]:g}" for t in ranking)
    assert ranking[0] == expect["top"], f"{case['id']}: {summary}"
    if "runner_up" in expect:
        assert ranking[1] == expect["runner_up"], f"{case['id']}: {summary}"
    caveats = {c["id"] for c in result["caveats"]}
    assert set(expect.get("caveats", [])) <= caveats, caveats
    assert not set(expect.get("not_caveats", [])) & caveats, caveats
    assert set(expect.get("checks", [])) <= set(result["checks"]), result["checks"]
    if "candidates" in expect:
        assert result["candidates"] == expect["candidates"]


def test_every_rule_fires_in_some_golden_case():
    fired = set()
    for case in CASES:
        fired |= set(evaluate(_answers(case))["fired"])
    dead = [r["id"] for r in load_rules()["rules"] if r["id"] not in fired]
    assert not dead, f"rules no golden case exercises: {dead}"


def test_ranking_is_a_permutation_and_priorities_sum_to_one():
    result = evaluate(_answers(CASES[0]))
    assert sorted(result["ranking"]) == sorted(load_rules()["techniques"])
    assert abs(sum(result["priorities"].values()) - 1) < 1e-3
    assert result["candidates"][0] == "prompt"
