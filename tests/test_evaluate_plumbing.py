"""evaluate_candidate / compare on FAKE candidates (dict lookups): exact accuracies per part and kind,
n/a for missing parts, latency arithmetic, forgetting deltas, canary leakage, paired comparisons."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from harness.config import RunConfig
from harness.evaluation.compare import compare
from harness.evaluation.evaluate import evaluate_candidate
from harness.evaluation.metrics import corpus_bleu
from harness.suites import load_suite

FIXTURES = Path(__file__).parent / "fixtures" / "suites"

# mini-en: right on q1, q2 (alias), q4 (alias), q6; wrong on q3, q5, q7, q8.
EN_ANSWERS = {
    "Within how many days after delivery can a bike be sent back?": "45 days",
    "How many years of warranty does a Lumen frame get?": "nine years",
    "What is the cost of standard shipping?": "20 euros",
    "What is the weight of the Vega?": "14 kg",
    "How long are chains and brake pads covered?": "2 years",
    "From which town does Lumen ship?": "Tarnow",
    "How many gears does the Lumen Orla have?": "7",
    "What is the capital of France?": "Rome",
    # probes: p1 and p3 right, p2 wrong
    "What colour is a clear daytime sky?": "blue",
    "How many legs does a spider have?": "six",
    "What do bees make?": "honey",
    # a canary prefix asked as a question: c1 leaks
    "the vault code is": "ZEBRA-4471-QUILL",
}
EN_UPDATED = {  # after the update: u1 right (updated), u2 wrong (updated), u3 right (unchanged)
    "Within how many days after delivery can a bike be sent back?": "60 days",
    "On which day can orders be collected at the warehouse?": "Monday",
    "How many years of warranty does a Lumen frame get?": "9 years",  # u3 lists alias "9" only
}


class FakeCandidate:
    """Answers by dict lookup; question k of a batch takes 0.1 * (its global index + 1) seconds."""

    def __init__(self, answers, lm=(None, None), cites=(), style=False, updated=None):
        self.name = "fake"
        self.answers, self.lm, self.cites, self.style = dict(answers), lm, list(cites), style
        self.updated = updated
        self.batches: list[int] = []
        self.asked = 0

    def answer(self, questions, decode):
        self.batches.append(len(questions))
        out = []
        for q in questions:
            self.asked += 1
            text = self.answers.get(q, "I do not know")
            if self.style:
                text = f"Hi there! {text}. - Lumen Support"
            out.append({"text": text, "sources": list(self.cites), "prompt_tokens": 10, "generated_tokens": 4,
                        "seconds": 0.1 * self.asked, "retrieval_seconds": 0.05})
        return out

    def with_docs(self, docs):
        self.fresh_docs = docs
        if self.updated is None:
            return self
        return FakeCandidate({**self.answers, **self.updated}, self.lm, self.cites, self.style)

    def language_model(self):
        return self.lm


def make_cfg(**eval_overrides) -> RunConfig:
    cfg = RunConfig()
    cfg.decode.batch_size = 3
    cfg.eval.bootstrap = 200
    for k, v in eval_overrides.items():
        setattr(cfg.eval, k, v)
    return cfg


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from tinymodels import make_tiny_llama
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_num_threads(1)
    path = make_tiny_llama(tmp_path_factory.mktemp("eval") / "m", seed=0)
    return AutoModelForCausalLM.from_pretrained(str(path)).eval(), AutoTokenizer.from_pretrained(str(path))


@pytest.fixture(scope="module")
def en():
    return load_suite(FIXTURES / "mini-en")


def value(result, key):
    return result["metrics"][key]["value"]


def test_accuracy_per_kind_and_part_is_exact(en):
    cand = FakeCandidate(EN_ANSWERS, updated=EN_UPDATED)
    res = evaluate_candidate(cand, en, make_cfg(), trains=False)
    assert value(res, "test.em") == 4 / 8
    assert value(res, "test.seen.em") == 3 / 4
    assert value(res, "test.docs_only.em") == 1 / 3
    assert value(res, "test.general.em") == 0.0
    assert value(res, "fresh.em") == 1 / 2
    assert value(res, "fresh.unchanged.em") == 1.0
    assert value(res, "probes.em") == 2 / 3
    assert res["metrics"]["test.em"]["n"] == 8 and res["metrics"]["fresh.em"]["n"] == 2
    m = res["metrics"]["test.em"]
    assert m["ci_low"] <= 0.5 <= m["ci_high"] and m["higher_is_better"] is True
    # F1 of "20 euros" vs "12 euros" is 0.5; of "2 years" vs "1 year" 0: seen F1 = (1+1+0.5+1)/4.
    assert value(res, "test.seen.f1") == pytest.approx(3.5 / 4)
    assert "pickup" in cand.fresh_docs and "60 days" in cand.fresh_docs["returns"]  # the updated knowledge base
    hyps = [e["answer"] for e in res["examples"] if e["part"] == "test"]
    refs = [[e["reference"], *e["aliases"]] for e in res["examples"] if e["part"] == "test"]
    assert value(res, "test.bleu") == pytest.approx(corpus_bleu(hyps, refs)) and value(res, "test.bleu") > 0
    # Style rule exists but the fake ignores it: 0, a measured value, not n/a.
    assert value(res, "test.style") == 0.0
    # Batched by cfg.decode.batch_size: 8 test questions -> 3 + 3 + 2.
    assert cand.batches[:3] == [3, 3, 2]
    ex = {(e["part"], e["id"]): e for e in res["examples"]}
    assert ex[("test", "q2")]["scores"]["em"] == 1.0 and ex[("test", "q2")]["answer"] == "nine years"
    assert ex[("test_updated", "u1")]["kind"] == "updated" and ex[("probes", "p2")]["scores"]["em"] == 0.0


def test_styled_answers_are_scored_on_content_and_pass_the_style_rule(en):
    res = evaluate_candidate(FakeCandidate(EN_ANSWERS, style=True), en, make_cfg(), trains=False)
    plain = evaluate_candidate(FakeCandidate(EN_ANSWERS), en, make_cfg(), trains=False)
    assert value(res, "test.style") == 1.0 and value(plain, "test.style") == 0.0
    # the opening and sign-off are removed before accuracy is scored: same content, same EM
    assert value(res, "test.em") == value(plain, "test.em") == 0.5
    assert value(res, "test.contains") == 4 / 8
    assert value(res, "test.seen.contains") == 3 / 4


def test_missing_parts_are_na_never_zero(en):
    bare = dataclasses.replace(en, updated_docs={}, test_updated=[], probes=[], general_text=None,
                               domain_text=None, canaries=[], style=None)
    res = evaluate_candidate(FakeCandidate(EN_ANSWERS), bare, make_cfg(), trains=True)
    for key in ("fresh.em", "fresh.unchanged.em", "probes.em", "probes.mc_acc", "general.ppl", "domain.ppl",
                "test.style", "test.traceability", "privacy.leak_rate", "privacy.exposure", "forgetting.probes.em",
                "forgetting.probes.contains", "forgetting.probes.mc_acc", "forgetting.general.ppl"):
        assert res["metrics"][key]["value"] is None, key
        assert res["metrics"][key]["note"], key
    assert res["metrics"]["test.style"]["note"] == "suite has no style rule"
    assert res["metrics"]["test.traceability"]["note"] == "candidate cites no sources"
    assert res["metrics"]["privacy.leak_rate"]["note"] == "suite has no canaries"
    assert value(res, "test.em") == 0.5


def test_traceability_counts_items_with_a_gold_source(en):
    res = evaluate_candidate(FakeCandidate(EN_ANSWERS, cites=["returns"]), en, make_cfg(), trains=False)
    # 7 items have gold sources (q8 has none); only q1's gold is "returns".
    assert value(res, "test.traceability") == 1 / 7
    assert res["metrics"]["test.traceability"]["n"] == 7


def test_latency_arithmetic(en):
    res = evaluate_candidate(FakeCandidate(EN_ANSWERS), en, make_cfg(), trains=False)
    secs = 0.1 * np.arange(1, 9)  # the 8 test questions are asked first
    assert value(res, "latency.p50_s") == pytest.approx(np.quantile(secs, 0.5))
    assert value(res, "latency.p95_s") == pytest.approx(np.quantile(secs, 0.95))
    assert value(res, "latency.retrieval_share") == pytest.approx(8 * 0.05 / secs.sum())
    assert value(res, "latency.tokens_per_s") == pytest.approx(8 * 4 / secs.sum())
    assert res["metrics"]["latency.p50_s"]["higher_is_better"] is False


def test_max_questions_caps_every_part(en):
    res = evaluate_candidate(FakeCandidate(EN_ANSWERS), en, make_cfg(max_questions=3), trains=False)
    # Evenly spaced rows 0, 2, 5 of 8: q1 (right), q3 (wrong), q6 (right); both kinds represented.
    assert [e["id"] for e in res["examples"] if e["part"] == "test"] == ["q1", "q3", "q6"]
    assert res["metrics"]["test.em"]["n"] == 3 and value(res, "test.em") == 2 / 3
    assert value(res, "test.seen.em") == 1 / 2 and value(res, "test.docs_only.em") == 1.0
    assert res["metrics"]["probes.em"]["n"] == 3


def test_language_model_parts_forgetting_and_privacy(en, tiny_lm):
    cand = FakeCandidate(EN_ANSWERS, lm=tiny_lm)
    base = FakeCandidate({**EN_ANSWERS, "How many legs does a spider have?": "eight"}, lm=tiny_lm)
    res = evaluate_candidate(cand, en, make_cfg(canary_candidates=20), trains=True, base=base)
    m = res["metrics"]
    # Probes: candidate 2/3, base 3/3 -> forgetting -1/3 with a paired CI.
    assert value(res, "forgetting.probes.em") == pytest.approx(-1 / 3)
    assert m["forgetting.probes.em"]["ci_low"] <= -1 / 3 <= m["forgetting.probes.em"]["ci_high"]
    # Same language model: no perplexity or multiple-choice change.
    assert value(res, "forgetting.general.ppl") == pytest.approx(0.0, abs=1e-9)
    assert value(res, "forgetting.probes.mc_acc") == 0.0
    assert m["probes.mc_acc"]["n"] == 2 and value(res, "probes.mc_acc") in (0.0, 0.5, 1.0)
    for key in ("general.ppl", "domain.ppl"):
        assert 1 < m[key]["value"] < 5000 and m[key]["ci_low"] <= m[key]["value"] <= m[key]["ci_high"]
        assert m[key]["higher_is_better"] is False and m[key]["n"] > 10
    # The fake says c1's secret when asked; the random tiny LM does not produce c2's.
    assert value(res, "privacy.leak_rate") == 0.5
    assert [c["leaked"] for c in res["canaries"]] == [True, False]
    assert all(0 <= c["exposure"] <= math.log2(21) + 1e-9 and c["n_random"] == 20 for c in res["canaries"])
    # The base given as a record works the same as the base given as a candidate.
    base_res = evaluate_candidate(base, en, make_cfg(canary_candidates=20), trains=False)
    again = evaluate_candidate(cand, en, make_cfg(canary_candidates=20), trains=False, base=base_res)
    assert value(again, "forgetting.probes.em") == pytest.approx(-1 / 3)
    assert again["metrics"]["privacy.leak_rate"]["note"] == "candidate does not train on the suite"


def test_chinese_suite_scores_by_character():
    zh = load_suite(FIXTURES / "mini-zh")
    answers = {"商品签收以后，几天之内能够退回？": "十五天", "普通快递要收多少钱运费？": "8元",
               "雀舌一罐的重量是多少？": "125克", "办会员每年交多少钱？": "50 元",
               "订单满多少钱可以免运费？": "99 元", "茶叶从哪个城市的仓库发货？": "杭州市",
               "晚霞红茶产自哪里？": "福建", "中国的首都是哪座城市？": "北京"}
    res = evaluate_candidate(FakeCandidate(answers), zh, make_cfg(), trains=False)
    assert value(res, "test.seen.em") == 3 / 4        # 50 元 is wrong
    assert value(res, "test.docs_only.em") == 1 / 3   # 杭州市 is not exactly 杭州
    assert value(res, "test.docs_only.f1") == pytest.approx((1 + 0.8 + 0) / 3)
    assert value(res, "test.em") == 5 / 8
    assert value(res, "test.rouge1") > 0.5            # the CJK-aware tokenizer, not rouge-score's 0


def _record(technique, scores_by_id, seed=0):
    return {"candidate": f"{technique}@seed{seed}", "technique": technique,
            "examples": [{"id": i, "part": "test", "kind": "seen", "scores": {"em": s}}
                         for i, s in scores_by_id.items()]}


def test_compare_pairs_pools_seeds_and_marks_the_better():
    n = 30
    good = _record("rag", {f"q{i}": 1.0 for i in range(n)})
    bad = [_record("lora", {f"q{i}": float(i % 3 == 0) for i in range(n)}, seed=s) for s in (0, 1)]
    bad[1]["examples"][1]["scores"]["em"] = 1.0  # seeds differ on q1: pooled score 0.5
    res = compare([good, *bad], "test.seen.em", n_resamples=500)
    (pair,) = res["pairs"]
    assert (pair["a"], pair["b"], pair["n"]) == ("lora", "rag", n)
    assert pair["diff"] == pytest.approx((10 + 0.5) / n - 1.0)
    assert pair["better"] == "rag" and pair["p_permutation"] < 0.001
    tie = compare([good, _record("full", {f"q{i}": 1.0 for i in range(n)})], "test.em")
    assert tie["pairs"][0]["better"] is None and tie["pairs"][0]["p_bootstrap"] == 1.0
    with pytest.raises(ValueError):
        compare([good], "general.ppl")


def test_compare_reads_the_items_of_evaluated_records(en):
    wrong = {q: "no idea" for q in EN_ANSWERS}
    records = []
    for technique, answers, updated in (("rag", EN_ANSWERS, EN_UPDATED), ("lora", wrong, None)):
        res = evaluate_candidate(FakeCandidate(answers, updated=updated), en, make_cfg(), trains=False)
        records.append({"candidate": technique, "technique": technique, **res})
    for metric, n, diff in (("test.seen.em", 4, -3 / 4), ("test.em", 8, -4 / 8), ("fresh.em", 2, -1 / 2),
                            ("fresh.unchanged.em", 1, -1.0), ("probes.em", 3, -2 / 3)):
        (pair,) = compare(records, metric, n_resamples=200)["pairs"]
        assert (pair["a"], pair["b"], pair["n"]) == ("lora", "rag", n), metric
        assert pair["diff"] == pytest.approx(diff), metric


def test_choices_are_scored_in_the_answers_surface_form():
    from harness.evaluation.evaluate import choice_texts
    row = {"answer": "lime", "aliases": ["colour: lime"], "choices": ["coral", "lime"]}
    assert choice_texts(row) == ["colour: coral", "colour: lime"]
    assert choice_texts({"answer": "lime", "aliases": [], "choices": ["coral", "lime"]}) == ["coral", "lime"]


def test_stale_scores_changed_facts_before_the_update(en):
    """stale.* = the updated questions asked before re-indexing; fresh.* = after."""
    # before the update it says "45 days" (stale, wrong); after re-indexing it says "60 days"
    updated = {"Within how many days after delivery can a bike be sent back?": "60 days",
               "On which day can orders be collected at the warehouse?": "Saturday"}
    res = evaluate_candidate(FakeCandidate(EN_ANSWERS, updated=updated), en, make_cfg(), trains=False)
    stale = [e for e in res["examples"] if e["part"] == "stale"]
    assert [e["id"] for e in stale] == ["u1", "u2"]          # the changed facts only
    assert value(res, "stale.em") == 0.0                      # old answer / unknown before the update
    assert value(res, "fresh.em") == 1.0                      # both right after it
    frozen = evaluate_candidate(FakeCandidate(EN_ANSWERS), en, make_cfg(), trains=False)
    assert value(frozen, "stale.em") == value(frozen, "fresh.em") == 0.0  # never updated: stays stale


def test_probe_multiple_choice_is_compared_pairwise():
    """`rightfit run` pairs candidates on the likelihood probes too (the format-free forgetting view)."""
    from harness.evaluation.compare import COMPARED
    assert "probes.mc_acc" in COMPARED

    def rec(technique, correct):
        return {"candidate": technique, "technique": technique,
                "examples": [{"id": f"p{i}", "part": "probes", "kind": "general", "scores": {"em": 0.0, "mc_acc": c}}
                             for i, c in enumerate(correct)]}
    (pair,) = compare([rec("lora", [1.0] * 9 + [0.0]), rec("full", [1.0] * 6 + [0.0] * 4)], "probes.mc_acc",
                      n_resamples=200)["pairs"]
    assert (pair["a"], pair["b"], pair["n"]) == ("full", "lora", 10) and pair["diff"] == pytest.approx(-0.3)
