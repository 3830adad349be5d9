"""The bundled general-knowledge probes (tasks/general-probes/): well-formed, balanced, usable by any suite."""

import json
import unicodedata
from collections import Counter

import pytest

from harness.suites import GENERAL_PROBES, general_probes

TOPICS = {"geography", "science", "math", "units", "calendar", "animals", "human_body", "language",
          "literature_art", "history", "everyday_life", "technology", "food", "music"}


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@pytest.mark.parametrize("lang, end, heldout_chars", [("en", "?", 5000), ("zh", "？", 2500)])
def test_each_set_is_well_formed_and_balanced(lang, end, heldout_chars):
    rows = [json.loads(line) for line in (GENERAL_PROBES / lang / "questions.jsonl").read_text().splitlines()]
    assert len(rows) == 300
    assert [r["id"] for r in rows] == [f"gen-{lang}-{i:04d}" for i in range(1, 301)]
    assert len({_key(r["question"]) for r in rows}) == 300
    for r in rows:
        assert set(r) == {"id", "question", "answer", "choices", "aliases", "kind", "topic"}, r["id"]
        assert r["kind"] == "general" and r["aliases"] == [] and r["question"].endswith(end), r["id"]
        assert len(r["choices"]) == 4 and len({_key(c) for c in r["choices"]}) == 4, r["id"]
        assert r["answer"] in r["choices"], r["id"]
    # the gold choice sits in every position equally often, and every topic is covered
    assert Counter(r["choices"].index(r["answer"]) for r in rows) == {0: 75, 1: 75, 2: 75, 3: 75}
    assert set(Counter(r["topic"] for r in rows)) == TOPICS
    assert min(Counter(r["topic"] for r in rows).values()) >= 21
    assert len((GENERAL_PROBES / lang / "heldout.txt").read_text()) >= heldout_chars


def test_reviewed_items_stay_unambiguous():
    zh = {q["id"]: q for q in general_probes("zh")[0]}
    assert "钟" not in zh["gen-zh-0232"]["choices"]          # 掩耳盗钟 is the idiom's original form
    assert "高兴" not in zh["gen-zh-0246"]["question"]        # 高兴得 and 高兴地 are both right


def test_loading_gives_fresh_copies():
    first, _ = general_probes("en")
    first[0]["answer"] = "changed"
    assert general_probes("en")[0][0]["answer"] == "Paris"
