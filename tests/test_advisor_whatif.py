"""What-if: the reported answer changes really flip the top pick, and they are the smallest ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.engine import top_pick
from advisor.questionnaire import complete, load_answers
from advisor.whatif import alternatives, what_if

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
    assert result["top"] == top_pick(answers)
    assert result["options"], f"{case_id}: nothing found"
    for option in result["options"]:
        assert len(option["changes"]) == result["size"]
        new = top_pick({**answers, **option["changes"]})
        assert new == option["top"] != result["top"], (case_id, option)


def test_single_changes_are_the_nearest_value_that_flips():
    result = what_if(SUPPORT)
    assert result["size"] == 1 and result["top"] == "rag_lora"
    for option in result["options"]:
        (qid, value), = option["changes"].items()
        alts = alternatives(qid, SUPPORT[qid])
        for nearer in alts[:alts.index(value)]:
            assert top_pick({**SUPPORT, qid: nearer}) == "rag_lora", (qid, nearer)


def test_support_bot_flips_to_rag_when_the_style_need_drops():
    changes = {tuple(o["changes"].items())[0]: o["top"] for o in what_if(SUPPORT)["options"]}
    assert changes[("style_need", 3)] == "rag"        # no persona to learn: plain retrieval
    assert changes[("data", "few_pairs")] == "rag"      # too little data to train the persona


def test_pairs_only_when_no_single_change_flips():
    answers = load_answers(ADVISOR / "examples" / "medical-qa.yaml")[0]
    result = what_if(answers)
    assert result["size"] == 2
    top = top_pick(answers)
    for qid in answers:  # brute force: no single alternative flips it
        assert all(top_pick({**answers, qid: v}) == top for v in alternatives(qid, answers[qid]))


def test_number_alternatives_include_rule_thresholds_and_are_nearest_first():
    alts = alternatives("latency_ms", 2000.0)
    assert 100.0 in alts and 105.0 in alts and 95.0 in alts and 2000.0 not in alts
    assert alts[0] in (1000.0, 5000.0)
    assert alternatives("must_cite", True) == [False]
    assert alternatives("knowledge_change", "weekly")[:2] == ["monthly", "daily"]
