"""The rule table and the questionnaire are checked when loaded: a typo is an error, not a dead rule."""

from __future__ import annotations

import copy

import pytest

from advisor.engine import evaluate, holds
from advisor.questionnaire import complete, load_questionnaire
from advisor.rule_table import check_table, load_rules
from rightfit.errors import UserError


def _table_with(rule: dict) -> dict:
    table = copy.deepcopy(load_rules())
    for r in table["rules"]:
        r.pop("_post", None)
    table["rules"].append({"reason": {"en": "x", "zh": "x"}, "source": "test", **rule})
    return table


@pytest.mark.parametrize("rule,expected", [
    ({"id": "t", "when": {"all": [{"q": "colour", "op": "eq", "value": 1}]}}, "unknown fact 'colour'"),
    ({"id": "t", "when": {"all": [{"q": "deployment", "op": "eq", "value": "moon"}]}}, "one of cloud, on_prem, edge"),
    ({"id": "t", "when": {"all": [{"q": "gpu_gb", "op": "like", "value": 0}]}}, "op one of eq, ne, in"),
    ({"id": "t", "when": {"all": [{"q": "gpu", "op": "eq", "value": "none"}]}}, "unknown fact 'gpu'"),
    ({"id": "t", "when": {"all": []}, "boost": {"adapter": 1}}, "technique among prompt"),
    ({"id": "t", "when": {"all": []}, "penalise": {"rag": -2}}, "positive weight"),
    ({"id": "t", "when": {"all": [{"q": "top", "op": "eq", "value": "rag"}]}, "boost": {"rag": 1}}, "cannot 'boost'"),
    ({"id": "t", "when": {"all": []}, "requires_check": ["vibes"]}, "unknown check or priority vibes"),
    ({"id": "t", "when": {"all": []}, "reason": {"en": "only English"}}, "needs en and zh"),
    ({"id": "baseline-prompt", "when": {"all": []}}, "unique 'id'"),
    ({"id": "t", "when": {"all": []}, "effect": {}}, "unknown key(s) effect"),
])
def test_a_broken_rule_is_refused_naming_the_rule(rule, expected):
    with pytest.raises(UserError) as err:
        check_table(_table_with(rule), "rules.yaml")
    assert expected in err.value.message and "rules.yaml: rule" in err.value.message


def test_shipped_table_uses_the_seven_techniques_and_cites_sources():
    from harness.techniques import REGISTRY
    table = load_rules()
    # the techniques the advisor ranks are exactly the registered ones but the distillation control
    assert sorted(table["techniques"]) == sorted(n for n in REGISTRY if n != "distill_control")
    assert len(table["rules"]) >= 30
    for rule in table["rules"]:
        assert rule["reason"]["en"].endswith(".") and rule["reason"]["zh"] and rule["source"]


def test_every_question_is_bilingual_and_has_a_valid_default():
    questions = load_questionnaire()
    assert len(questions) >= 15
    for q in questions.values():
        assert q["type"] in ("choice", "yesno", "number", "scale")
        for key in ("text", "help"):
            assert q[key]["en"] and any("\u4e00" <= ch <= "\u9fff" for ch in q[key]["zh"]), (q["id"], key)


def test_conditions_all_any_and_list_facts():
    facts = {"gpu": "none", "model_size_b": 7.0, "candidates": ["prompt", "rag"]}
    assert holds({"all": []}, facts) and not holds({"any": []}, facts)
    assert holds({"any": [{"q": "gpu", "op": "eq", "value": "x"}, {"q": "model_size_b", "op": "gte", "value": 7}]}, facts)
    assert not holds({"all": [{"q": "gpu", "op": "eq", "value": "none"}, {"q": "model_size_b", "op": "lt", "value": 7}]}, facts)
    assert holds({"q": "candidates", "op": "in", "value": ["rag", "lora"]}, facts)
    assert not holds({"q": "candidates", "op": "in", "value": ["lora", "full"]}, facts)


def test_scores_are_the_sum_of_the_fired_rules_weights():
    answers, _ = complete({"knowledge_change": "weekly", "data": "pairs", "style_need": 5})
    result = evaluate(answers)
    for technique, contributions in result["contributions"].items():
        assert result["scores"][technique] == sum(w for _, w in contributions)
    assert ("fresh-knowledge-rag", 4) in result["contributions"]["rag"]
    assert ("fresh-knowledge-rag", -3) in result["contributions"]["full"]
    assert result["ranking"][0] == "rag_lora"


def test_derived_fits_follow_the_estimate():
    small, _ = complete({"model_size_b": 7, "gpu_gb": 24})
    big, _ = complete({"model_size_b": 13, "gpu_gb": 24})
    f_small, f_big = evaluate(small)["facts"], evaluate(big)["facts"]
    assert (f_small["fits_lora"], f_small["fits_qlora"], f_small["fits_full"]) == (True, True, False)
    assert (f_big["fits_lora"], f_big["fits_qlora"]) == (False, True)


def test_house_style_weighs_only_when_the_answers_ask_for_it():
    for need, weighted in ((1, False), (2, False), (3, True), (5, True)):
        priorities = evaluate(complete({"style_need": need})[0])["priorities"]
        assert (priorities["style"] > 0) is weighted, (need, priorities)
