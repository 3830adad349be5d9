"""What-if: the reported answer changes really flip the top pick, and they are the smallest ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.engine import top_pick
from advisor.questionnaire import complete, load_answers
from advisor.whatif import _flip, alternatives, what_if

ADVISOR = Path(__file__).resolve().parents[1] / "advisor"
SUPPORT = load_answers(ADVISOR / "examples" / "support-bot.yaml")[0]
CASES = yaml.safe_load((ADVISOR / "golden.yaml").read_text(encoding="utf-8"))["cases"]


def _golden_answers():
    for case in CASES:
        if "answers_file" in case:
            yield case["id"], load_answers(ADVISOR / case["answers_file"])[0]
        else:
            yield case["id"], complete(case["answers"])[0]


@pytest.mark.parametrize("case_id,answers", list(_golden_answers()))
def test_every_reported_change_flips_the_top_pick_when_applied(case_id, answers):
    result = what_if(answers)
    assert result["top"] == top_pick(answers) and len(result["options"]) <= 5
    for option in result["options"]:
        assert len(option["changes"]) == result["size"]
        new = top_pick({**answers, **option["changes"]})
        assert new == option["top"] != result["top"], (case_id, option)
        for qid, value in option["changes"].items():
            assert value in alternatives(qid, answers[qid]), (case_id, qid, value)


def test_what_if_finds_options_for_most_golden_cases():
    found = [case_id for case_id, answers in _golden_answers() if what_if(answers)["options"]]
    assert len(found) >= len(CASES) // 2, found


def test_single_changes_are_the_nearest_value_that_flips():
    result = what_if(SUPPORT)
    assert result["size"] == 1 and result["top"] == "rag_lora"
    for option in result["options"]:
        (qid, value), = option["changes"].items()
        alts = alternatives(qid, SUPPORT[qid])
        for nearer in alts[:alts.index(value)]:
            assert top_pick({**SUPPORT, qid: nearer}) == "rag_lora", (qid, nearer)


def test_support_bot_flips_to_rag_when_the_style_need_drops():
    changes = {tuple(o["changes"].items())[0]: o for o in what_if(SUPPORT)["options"]}
    option = changes[("style_need", 3)]
    assert option["top"] == "rag" and option["kind"] == "requirement"   # no persona to learn: plain retrieval
    assert option["text"] == {"en": "settle for a lighter style need (3/5)", "zh": "放宽风格要求（3/5）"}


def test_pairs_only_when_no_single_change_flips():
    answers = load_answers(ADVISOR / "examples" / "phone-offline.yaml")[0]
    result = what_if(answers)
    assert result["size"] == 2
    top = top_pick(answers)
    for qid in answers:  # brute force: no single decision flips it (by what-if's own test of a flip)
        assert all(_flip(answers, top, {qid: v}) is None for v in alternatives(qid, answers[qid]))


def test_alternatives_are_the_declared_decisions_only():
    assert alternatives("gpu_gb", 24) == [40, 48, 80, 141]              # up only: a bigger GPU
    assert alternatives("latency_ms", 2000) == [5000]                     # relaxing the budget, never tightening it
    assert alternatives("knowledge_change", "weekly") == []               # a fact about the world
    assert alternatives("hallucination_tolerance", 2) == []
    assert alternatives("data", "docs_only") == ["few_pairs", "pairs", "many_pairs"]   # never "none"
    assert alternatives("training_budget", "small") == ["medium", "large"]             # never "none"
    assert alternatives("must_cite", True) == [False] and alternatives("must_cite", False) == []
    assert alternatives("model_size_b", 7)[:3] == [8, 13, 3]              # nearest first (by ratio), both ways
