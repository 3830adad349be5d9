"""Text metrics: hand-checked EM/F1 (English and Chinese), ROUGE and BLEU equal to the libraries'
own values, the rouge-score zero-score trap on Chinese, style and traceability, the registry."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from harness.evaluation import metrics as M
from harness.evaluation.text import normalize_answer
from harness.suites.rules import PARTS

# ---------------------------------------------------------------- exact match and F1, by hand


@pytest.mark.parametrize("prediction, references, em, f1", [
    ("45 Days!", ["45 days", "45"], 1.0, 1.0),
    ("the 45 days", ["45 days"], 1.0, 1.0),                      # articles dropped (SQuAD)
    ("It is 45 days", ["45 days", "45"], 0.0, 2 / 3),            # P 2/4, R 2/2; vs "45": 0.4
    ("nine years of warranty", ["9 years", "9", "nine years"], 0.0, 2 / 3),
    ("Tarnow", [], 0.0, 0.0),
    ("", ["Paris"], 0.0, 0.0),
    # Chinese: characters are tokens, full-width punctuation is dropped, digits stay one token.
    ("15天。", ["15 天"], 1.0, 1.0),
    ("退货期限是十五天", ["15 天", "15天", "十五天"], 0.0, 6 / 11),  # vs 十五天: P 3/8, R 3/3
    ("杭州市", ["杭州"], 0.0, 0.8),                                # P 2/3, R 1
    ("北京", ["北京"], 1.0, 1.0),
])
def test_exact_match_and_f1_by_hand(prediction, references, em, f1):
    assert M.exact_match(prediction, references) == em
    assert M.token_f1(prediction, references) == pytest.approx(f1)


def test_normalisation_tokens():
    assert normalize_answer("The Eiffel Tower, Paris!") == ["eiffel", "tower", "paris"]
    assert normalize_answer("退货 需要，15天") == ["退", "货", "需", "要", "15", "天"]


def test_contains_handles_verbose_answers():
    assert M.contains_answer("Hi there! It takes 45 days. - Lumen Support", ["45 days"]) == 1.0
    assert M.contains_answer("Hi there! It takes 145 days.", ["45 days", "45"]) == 0.0  # whole tokens only
    assert M.contains_answer("您好！十五天之内可以退回。", ["15 天", "十五天"]) == 1.0


def test_a_bare_string_is_one_reference():
    assert M.token_f1("杭州市", "杭州") == pytest.approx(0.8)


# ---------------------------------------------------------------- ROUGE = rouge-score's own values

EN_PAIRS = [
    ("Returns are accepted within 45 days of delivery.", "You can send a bike back within 45 days after delivery."),
    ("The frame warranty is nine years.", "A Lumen frame has a 9 year warranty, nine years in total."),
    ("Shipping costs 12 euros", "standard shipping costs 12 euros from Tarnow"),
]


@pytest.mark.parametrize("kind, ours", [("rouge1", M.rouge1), ("rouge2", M.rouge2), ("rougeL", M.rouge_l)])
@pytest.mark.parametrize("prediction, reference", EN_PAIRS)
def test_rouge_english_equals_library_default(kind, ours, prediction, reference):
    library = rouge_scorer.RougeScorer([kind]).score(reference, prediction)[kind].fmeasure
    assert library > 0
    assert ours(prediction, [reference]) == pytest.approx(library, abs=1e-12)


class _Whitespace:
    def tokenize(self, text):
        return text.split()


@pytest.mark.parametrize("kind, ours", [("rouge1", M.rouge1), ("rouge2", M.rouge2), ("rougeL", M.rouge_l)])
def test_rouge_chinese_equals_library_on_pre_split_characters(kind, ours):
    prediction, reference = "退货需要十五天", "十五天内退货"
    library = rouge_scorer.RougeScorer([kind], tokenizer=_Whitespace()).score(
        " ".join(reference), " ".join(prediction))[kind].fmeasure
    assert ours(prediction, [reference]) == pytest.approx(library, abs=1e-12)


def test_rouge_chinese_hand_value_and_the_zero_score_trap():
    prediction, reference = "退货需要十五天", "十五天内退货"
    # 5 shared characters (退 货 十 五 天): P 5/7, R 5/6 -> F 10/13.
    assert M.rouge1(prediction, [reference]) == pytest.approx(10 / 13)
    # rouge-score's default tokenizer keeps only [a-z0-9]: Chinese silently scores 0.
    default = rouge_scorer.RougeScorer(["rouge1", "rougeL"])
    assert default.score(reference, prediction)["rouge1"].fmeasure == 0.0
    assert default.score(reference, reference)["rougeL"].fmeasure == 0.0
    assert M.rouge_l(reference, [reference]) == 1.0


def test_rouge_takes_the_best_reference():
    assert M.rouge1("45 days", ["nothing alike", "45 days"]) == 1.0


# ---------------------------------------------------------------- BLEU = sacrebleu's own values

def test_bleu_english_equals_sacrebleu():
    hyps = [p for p, _ in EN_PAIRS]
    refs = [r for _, r in EN_PAIRS]
    library = BLEU(tokenize="13a", effective_order=True).corpus_score(hyps, [refs]).score
    assert library > 0
    assert M.corpus_bleu(hyps, [[r] for r in refs], "en") == pytest.approx(library, abs=1e-9)


def test_bleu_chinese_uses_zh_tokenisation():
    hyps = ["商品签收以后十五天之内可以退回", "普通快递运费是八元"]
    refs = ["签收以后十五天之内能够退回", "普通快递的运费是八元"]
    library = BLEU(tokenize="zh", effective_order=True).corpus_score(hyps, [refs]).score
    assert library > 20
    assert M.corpus_bleu(hyps, [[r] for r in refs], "zh") == pytest.approx(library, abs=1e-9)
    # The same text with the English tokenizer is one "word" per sentence: the Chinese trap for BLEU.
    assert M.corpus_bleu(hyps, [[r] for r in refs], "en") < library / 4


def test_bleu_of_short_answers_is_not_zero_outright():
    hyps, refs = ["45 days", "nine years", "20 euros"], ["45 days", "9 years", "12 euros"]
    assert BLEU().corpus_score(hyps, [refs]).score == 0.0  # no 4-gram anywhere: plain BLEU is 0
    ours = M.corpus_bleu(hyps, [[r] for r in refs])
    assert 0 < ours < 100
    assert ours == pytest.approx(BLEU(effective_order=True).corpus_score(hyps, [refs]).score)


@pytest.mark.parametrize("language, hyps, refs", [
    ("en", [p for p, _ in EN_PAIRS] + ["45 days"], [[r] for _, r in EN_PAIRS] + [["45 days", "45"]]),
    ("zh", ["商品签收以后十五天之内可以退回", "普通快递运费是八元", "杭州"],
     [["签收以后十五天之内能够退回"], ["普通快递的运费是八元"], ["杭州", "杭州市"]]),
])
def test_bleu_from_summed_item_statistics_equals_corpus_bleu_of_the_resample(language, hyps, refs):
    stats = M.bleu_item_stats(hyps, refs, language)
    assert M.bleu_from_stats(stats.sum(0), language) == pytest.approx(M.corpus_bleu(hyps, refs, language))
    idx = [0, 0, 2, 1, 2]  # a bootstrap resample, with repeats
    assert M.bleu_from_stats(stats[idx].sum(0), language) == pytest.approx(
        M.corpus_bleu([hyps[i] for i in idx], [refs[i] for i in idx], language))


def test_bleu_with_a_varying_number_of_aliases():
    hyps = ["the cat sat on the mat", "a dog ran in the park today"]
    refs = [["the cat sat on the mat"], ["a dog ran in the park today", "dogs run"]]
    assert M.corpus_bleu(hyps, refs, "en") == pytest.approx(100.0)


# ---------------------------------------------------------------- style and traceability

EN_RULE = {"starts_with": "Hi there!", "ends_with": "- Lumen Support", "required_terms": [],
           "forbidden_terms": ["cheap"]}
ZH_RULE = {"starts_with": "您好！", "ends_with": "——云雀客服", "forbidden_terms": ["便宜货"]}


@pytest.mark.parametrize("answer, rule, expected", [
    ("Hi there! It is 45 days. - Lumen Support", EN_RULE, 1.0),
    ("  Hi there! It is 45 days. - Lumen Support \n", EN_RULE, 1.0),
    ("It is 45 days. - Lumen Support", EN_RULE, 0.0),
    ("Hi there! It is 45 days.", EN_RULE, 0.0),
    ("Hi there! A cheap fix. - Lumen Support", EN_RULE, 0.0),
    ("Hi there! 45 days - Lumen Support", {**EN_RULE, "required_terms": ["days", "Lumen"]}, 1.0),
    ("Hi there! 45 - Lumen Support", {**EN_RULE, "required_terms": ["days"]}, 0.0),
    ("您好！十五天之内可以退回。——云雀客服", ZH_RULE, 1.0),
    ("您好！便宜货不退。——云雀客服", ZH_RULE, 0.0),
    ("十五天。——云雀客服", ZH_RULE, 0.0),
])
def test_style_adherence(answer, rule, expected):
    assert M.style_adherence(answer, rule) == expected


def test_empty_style_rule_is_detected():
    assert M.style_rule_is_empty(None) and M.style_rule_is_empty({"description": "x", "required_terms": []})
    assert not M.style_rule_is_empty(ZH_RULE)


def test_traceability():
    assert M.traceability(["returns", "faq"], ["returns"]) == 1.0
    assert M.traceability(["faq"], ["returns"]) == 0.0
    assert M.traceability([], ["returns"]) == 0.0
    assert M.traceability(["faq"], []) is None


# ---------------------------------------------------------------- the registry, one matrix

@pytest.mark.parametrize("name", sorted(M.REGISTRY))
def test_every_registered_metric_describes_itself(name):
    spec = M.REGISTRY[name]
    assert spec.aggregation in M.AGGREGATIONS and spec.kind in M.KINDS
    assert spec.needs in PARTS or (spec.needs == "artifact" and spec.aggregation == "single")  # a build cost
    assert isinstance(spec.higher_is_better, bool) and spec.help
    assert all(spec.label) and M.metric_label(f"test.{name}", "zh") != M.metric_label(f"test.{name}", "en") or \
        spec.label[0] == spec.label[1]  # names like BLEU read the same in both languages
    assert M.spec_for(f"test.docs_only.{name}") is spec
    assert M.spec_for(f"forgetting.probes.{name}") is spec
    assert M.metric_kind(f"forgetting.probes.{name}") == "delta"
    assert M.higher_is_better(f"forgetting.probes.{name}") == spec.higher_is_better


@pytest.mark.parametrize("name", M.ITEM_METRICS)
@pytest.mark.parametrize("reference", ["fourteen kilograms of steel", "十五天之内退回"])
def test_every_item_metric_scores_a_perfect_and_an_empty_answer(name, reference):
    fn = M.REGISTRY[name].fn
    assert fn(reference, [reference]) == 1.0
    assert fn("", [reference]) == 0.0
    assert M.score_item(reference, [reference])[name] == 1.0


def test_registering_twice_or_badly_is_refused():
    with pytest.raises(ValueError):
        M.register_metric(name="em", higher_is_better=True, aggregation="mean", needs="test",
                          label=("EM", "EM"))(lambda p, r: 0.0)
    with pytest.raises(ValueError):
        M.register_metric(name="new", higher_is_better=True, aggregation="median", needs="test", label=("N", "N"))


def test_na_is_none_not_zero():
    value = M.na("suite has no style rule")
    assert value["value"] is None and value["note"] == "suite has no style rule"


def test_strip_style_separates_content_from_form():
    from harness.evaluation.metrics import exact_match, style_adherence
    from harness.evaluation.text import strip_style
    rule = {"starts_with": "Hi there!", "ends_with": "- ShopCo Support"}
    styled = "Hi there! price: $95 - ShopCo Support"
    assert strip_style(styled, rule) == "price: $95"
    assert exact_match(strip_style(styled, rule), ["$95", "price: $95"]) == 1.0
    assert exact_match(styled, ["$95", "price: $95"]) == 0.0  # why the stripping is needed
    assert style_adherence(styled, rule) == 1.0
    # an unstyled answer is left as it is, and fails the style rule
    assert strip_style("price: $95", rule) == "price: $95"
    assert style_adherence("price: $95", rule) == 0.0
    # only a wrapper at the ends is removed
    assert strip_style("price: Hi there! $95", rule) == "price: Hi there! $95"
    assert strip_style("x", None) == "x"
