"""The advisor at the edges a user trips over: fit, sizing, data meanings, distillation sizes,
caveats that belong, what-ifs a team can act on, the variant the run builds, and Chinese."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

from advisor.engine import evaluate
from advisor.plan import advise
from advisor.questionnaire import complete, load_questionnaire
from advisor.whatif import what_if
from rightfit.cli import main


def _advice(overrides: dict | None = None, **answers):
    full, defaults = complete(answers)
    return advise(full, defaults, overrides=overrides)


def _entry(plan, technique):
    return next(r for r in plan.ranking if r.technique == technique)


def _write(tmp_path, answers: dict, name: str = "answers.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    return str(path)


def _cli(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


# ---------------------------------------------------------------- fit is a hard constraint

def test_a_technique_that_does_not_fit_is_never_first_and_says_what_would_make_it_fit():
    # 70B, one 24 GB GPU, a skill to learn from pairs: LoRA needs ~150 GB, QLoRA ~45 GB
    plan = _advice(model_size_b=70, gpu_gb=24, skill="tool_calling", data="pairs")["plan"]
    assert plan.ranking[0].fits and plan.pick not in ("lora", "qlora", "full", "rag_lora", "distill")
    for technique in ("lora", "qlora", "full"):
        entry = _entry(plan, technique)
        assert not entry.fits and technique not in plan.candidates
        need = float(re.search(r"needs about ([\d.]+) GB", entry.why_not["en"][0]).group(1))
        assert need > 24 and entry.why_not["zh"][0]
    lora = _entry(plan, "lora")
    fixes = " | ".join(lora.fixes["en"])
    assert "QLoRA on a 48 GB GPU" in fixes                                 # QLoRA does not fit 24 GB either
    assert re.search(r"a model of at most [\d.]+B", fixes), fixes
    assert re.search(r"\d+ GPUs of 80 GB with the model sharded", fixes), fixes   # LoRA itself: no single GPU
    # on a 48 GB GPU QLoRA fits, and LoRA's first fix names it
    plan48 = _advice(model_size_b=70, gpu_gb=48, skill="tool_calling", data="pairs")["plan"]
    assert plan48.pick == "qlora" and _entry(plan48, "qlora").fits
    assert "QLoRA" in _entry(plan48, "lora").fixes["en"][0]


def test_fitting_techniques_come_before_those_that_do_not():
    plan = _advice(model_size_b=13, gpu_gb=24, style_need=5, data="pairs", knowledge_change="never")["plan"]
    fits = [r.fits for r in plan.ranking]
    assert fits == sorted(fits, reverse=True)                             # every True before every False
    assert set(plan.candidates) <= {r.technique for r in plan.ranking if r.fits} | {"distill_control"}


# ---------------------------------------------------------------- sizing lives in the questionnaire

def test_gpu_sizes_are_numbers_with_a_count_and_no_fixed_multi_gpu():
    q = load_questionnaire()
    assert q["gpu_gb"]["type"] == "number" and q["gpu_count"]["type"] == "number"
    for gb in (16, 40, 48):                                               # the sizes the choice list lacked
        assert complete({"gpu_gb": gb})[0]["gpu_gb"] == gb
    one = _advice(model_size_b=70, gpu_gb=80, reasoning_depth=5, data="many_pairs", training_budget="large")["plan"]
    eight = _advice(model_size_b=70, gpu_gb=80, gpu_count=8, reasoning_depth=5, data="many_pairs",
                    training_budget="large")["plan"]
    assert not _entry(one, "full").fits and _entry(eight, "full").fits     # 8 x 80 GB sharded, not "320 GB"
    assert eight.estimate["gpu_count"] == 8
    assert eight.estimate["methods"]["full_bf16"]["per_gpu_gb"] < 80 < eight.estimate["methods"]["full_bf16"]["total_gb"]
    assert any("FSDP" in c.text["en"] for c in eight.caveats)             # the plan says it assumed sharding


@pytest.mark.parametrize("flags,answers,technique", [
    ({"gpu_gb": 48}, {"model_size_b": 70, "gpu_gb": 24, "style_need": 5, "data": "pairs"}, "qlora"),
    ({"seq_len": 4096, "batch": 4}, {"model_size_b": 7, "gpu_gb": 24, "style_need": 5, "data": "pairs"}, "lora"),
    ({"model_size_b": 70}, {"model_size_b": 7, "gpu_gb": 24, "style_need": 5, "data": "pairs"}, "lora"),
])
def test_sizing_flags_override_the_answers_so_ranking_estimate_and_plan_agree(flags, answers, technique):
    plan = _advice(overrides=flags, **answers)["plan"]
    for key, value in flags.items():
        assert plan.answers[key] == value and key not in plan.defaults_used
    method = {"lora": "lora", "qlora": "qlora4"}[technique]
    table = plan.estimate["methods"][method]["fits"]
    assert table is _entry(plan, technique).fits                          # the table and the ranking agree
    assert plan.estimate["model_size_b"] == plan.answers["model_size_b"]
    assert plan.estimate["seq_len"] == plan.answers["seq_len"] and plan.estimate["batch"] == plan.answers["batch"]


def test_sizing_flags_on_the_command_line(tmp_path):
    f = _write(tmp_path, {"model_size_b": 7, "gpu_gb": 24, "style_need": 5, "data": "pairs"})
    plan_path = tmp_path / "plan.yaml"
    result = _cli("advise", f, "--seq-len", "4096", "--batch", "4", "-o", str(plan_path), "--json")
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    lora = next(r for r in plan["ranking"] if r["technique"] == "lora")
    assert plan["answers"]["seq_len"] == 4096 and plan["estimate"]["methods"]["lora"]["fits"] is False
    assert lora["fits"] is False and plan["ranking"][0]["technique"] != "lora"


def test_old_gpu_answer_says_what_to_write_instead(tmp_path):
    result = _cli("advise", _write(tmp_path, {"gpu": "consumer_24gb"}))
    assert result.exit_code == 2 and "gpu_gb" in result.stderr and "gpu_count" in result.stderr


# ---------------------------------------------------------------- personal data, data volume

def test_personal_data_held_as_documents_gets_privacy_guidance_and_a_check():
    plan = _advice(data="docs_only", data_sensitivity="personal", hallucination_tolerance=1,
                   explainability=True)["plan"]
    caveat = next(c for c in plan.caveats if c.id == "personal-documents")
    assert "access" in caveat.text["en"] and "delet" in caveat.text["en"] and "fine-tun" in caveat.text["en"]
    assert "privacy" in plan.checks and "privacy" in caveat.checks and caveat.text["zh"]
    assert plan.priorities["privacy"] > 1 / len(plan.priorities)


def test_documents_only_shortlists_nothing_that_trains_on_pairs():
    for size in (0.5, 1, 3):
        plan = _advice(data="docs_only", model_size_b=size, knowledge_change="weekly", style_need=5,
                       gpu_gb=24)["plan"]
        assert "rag_lora" not in plan.candidates, size
        entry = _entry(plan, "rag_lora")
        assert not entry.fits and "pairs" in entry.why_not["en"][0]


def test_many_pairs_and_a_corpus_are_read_for_what_they_are(tmp_path):
    pairs = evaluate(complete({"data": "many_pairs", "knowledge_change": "never"})[0])
    corpus = evaluate(complete({"data": "corpus", "knowledge_change": "never"})[0])
    assert {"labelled-pairs-finetune", "large-data-full"} <= set(pairs["fired"])
    assert not {"labelled-pairs-finetune", "large-data-full"} & set(corpus["fired"])
    assert "distill" not in corpus["candidates"] and "rag_lora" not in corpus["candidates"]
    result = _cli("advise", _write(tmp_path, {"data": "large"}))
    assert result.exit_code == 2 and "many_pairs" in result.stderr and "corpus" in result.stderr


# ---------------------------------------------------------------- distillation: teacher and student

def test_iot_device_with_a_small_teacher_distils_into_a_student_that_fits_the_device():
    answers = dict(deployment="edge", device_memory_gb=0.5, model_size_b=1, student_size_b=0.1, data="pairs",
                   latency_ms=200, gpu_gb=24, training_budget="medium", knowledge_change="yearly")
    advice = _advice(**answers)
    plan = advice["plan"]
    assert plan.pick == "distill"
    assert "edge-small-model" not in [f["id"] for f in advice["fired"]]   # 1B does not run on 0.5 GB
    assert not _entry(plan, "lora").fits and "device" in _entry(plan, "lora").why_not["en"][0]
    assert plan.estimate["student"]["model_size_b"] == 0.1
    # the same 1B model on a 16 GB laptop runs as it is: adapt it in place
    laptop = _advice(**{**answers, "device_memory_gb": 16})
    assert "edge-small-model" in [f["id"] for f in laptop["fired"]] and laptop["plan"].pick != "distill"


def test_a_student_that_does_not_fit_the_device_is_not_first():
    plan = _advice(deployment="edge", device_memory_gb=0.5, model_size_b=7, student_size_b=3, data="pairs",
                   gpu_gb=80)["plan"]
    assert not _entry(plan, "distill").fits and "distill" not in plan.candidates
    assert any("student of at most" in f for f in _entry(plan, "distill").fixes["en"])


def test_distillation_is_not_shortlisted_without_a_stated_need():
    for answers in ({"model_size_b": 70, "gpu_gb": 48, "data": "pairs", "style_need": 4},
                    {"skill": "tool_calling", "data": "pairs", "model_size_b": 7, "gpu_gb": 24}):
        result = evaluate(complete(answers)[0])
        assert "distill" not in result["candidates"], answers
        assert result["scores"]["distill"] <= 0, (answers, result["contributions"]["distill"])


def test_a_model_too_big_for_the_device_rules_out_every_technique_that_deploys_it():
    plan = _advice(deployment="edge", device_memory_gb=4, model_size_b=13, student_size_b=1, data="pairs",
                   gpu_gb=80)["plan"]
    for technique in ("prompt", "rag", "lora", "qlora", "full", "rag_lora"):
        assert not _entry(plan, technique).fits, technique
    assert plan.pick == "distill"


# ---------------------------------------------------------------- caveats only where something trains

def test_no_cpu_training_caveat_when_nothing_trains():
    plan = _advice(gpu_gb=0, data="docs_only", knowledge_change="weekly")["plan"]
    assert set(plan.candidates) <= {"prompt", "rag"}
    assert "cpu-training" not in [c.id for c in plan.caveats]


def test_no_mention_of_gpu_memory_without_a_gpu():
    advice = _advice(gpu_gb=0, model_size_b=7, data="pairs", style_need=5)
    texts = [f["reason"] for f in advice["fired"]] + [s for r in advice["plan"].ranking for s in r.why_not["en"]]
    assert not any("GPU memory available" in t or "more than the" in t for t in texts), texts
    assert "CPU" in _entry(advice["plan"], "full").why_not["en"][0]


# ---------------------------------------------------------------- what-ifs a team can act on

WHAT_IF_CASES = [  # (answers, whether some decision flips the pick)
    ({"gpu_gb": 24, "model_size_b": 7}, True),
    ({"knowledge_change": "weekly", "style_need": 5, "data": "pairs", "gpu_gb": 0, "model_size_b": 0.5}, False),
    ({"latency_ms": 50, "data": "pairs", "gpu_gb": 80, "training_budget": "medium"}, True),
    ({"model_size_b": 70, "gpu_gb": 24, "skill": "tool_calling", "data": "pairs"}, True),
]


@pytest.mark.parametrize("answers,flips", WHAT_IF_CASES)
def test_what_ifs_are_decisions_at_most_five_each_with_its_pick(answers, flips):
    full = complete(answers)[0]
    questions = load_questionnaire()
    result = what_if(full)
    assert len(result["options"]) <= 5 and bool(result["options"]) is flips
    for option in result["options"]:
        assert option["text"]["en"] and option["text"]["zh"]
        for qid, value in option["changes"].items():
            decide = questions[qid].get("decide")
            assert decide, f"{qid} is not a decision a team can take"
            assert value in decide["values"], (qid, value)                # no threshold +-5% probes
            assert (qid, value) not in (("data", "none"), ("training_budget", "none"))
        flipped = evaluate({**full, **option["changes"]})
        assert flipped["ranking"][0] == option["top"] != result["top"]
        # not a tie-break artefact nor a change that only breaks the old pick
        assert flipped["fits"][result["top"]]
        assert flipped["scores"][option["top"]] > flipped["scores"][result["top"]]


def test_what_if_phrases_a_decision_and_names_the_pick_in_the_terminal(tmp_path):
    f = _write(tmp_path, {"model_size_b": 70, "gpu_gb": 24, "skill": "tool_calling", "data": "pairs"})
    out = _cli("advise", f).output
    block = out[out.index("What would change the top pick"):out.index("Resource estimate")]
    assert "train on a 48 GB GPU  =>  qlora" in block and "6.65" not in block


# ---------------------------------------------------------------- the variant the run builds

def test_full_fine_tuning_names_its_variant_and_the_plan_carries_the_settings():
    plan = _advice(reasoning_depth=5, gpu_gb=80, training_budget="medium", data="pairs", model_size_b=7,
                   knowledge_change="never", data_quality=5)["plan"]
    full = _entry(plan, "full")
    assert plan.pick == "full" and full.variant["method"] == "full_bf16"
    assert "bf16" in full.variant["text"]["en"] and full.variant["text"]["zh"]
    assert plan.estimate["methods"]["full"]["fits"] is False and plan.estimate["methods"]["full_bf16"]["fits"] is True
    assert plan.settings == {"train.precision": "bf16", "train.gradient_checkpointing": True}
    # with room for mixed precision, the plan says mixed
    big = _advice(reasoning_depth=5, gpu_gb=80, gpu_count=2, training_budget="medium", data="pairs",
                  model_size_b=7, knowledge_change="never", data_quality=5)["plan"]
    assert _entry(big, "full").variant["method"] == "full" and big.settings["train.precision"] == "mixed"


def test_a_cpu_plan_sets_nothing_the_cpu_run_does_not_already_do():
    plan = _advice(gpu_gb=0, model_size_b=0.5, data="pairs", style_need=5, knowledge_change="never")["plan"]
    assert plan.pick == "lora" and plan.settings == {}
    assert "CPU" in _entry(plan, "lora").variant["text"]["en"]


def test_run_takes_the_plan_settings_under_the_command_line():
    from harness.cli import plan_base
    plan = _advice(reasoning_depth=5, gpu_gb=80, training_budget="medium", data="pairs", model_size_b=7,
                   knowledge_change="never", data_quality=5)["plan"]
    base = plan_base(plan)
    assert base["train"] == {"precision": "bf16", "gradient_checkpointing": True}
    assert base["candidates"] == plan.candidates


# ---------------------------------------------------------------- Chinese everywhere

def test_chinese_errors_final_line_typed_labels_and_whole_numbers(tmp_path):
    bad = _cli("advise", _write(tmp_path, {"style_need": 7}, "bad.yaml"), "--lang", "zh")
    assert bad.exit_code == 2 and "问题" in bad.stderr and "style_need" in bad.stderr
    assert re.search(r"[\u4e00-\u9fff]", bad.stderr.replace("rightfit: error:", "")), bad.stderr
    unknown = _cli("advise", _write(tmp_path, {"colour": "blue"}, "u.yaml"), "--lang", "zh")
    assert unknown.exit_code == 2 and "未知" in unknown.stderr
    missing = _cli("advise", str(tmp_path / "nope.yaml"), "--lang", "zh")
    assert missing.exit_code == 2 and "找不到" in missing.stderr
    flag = _cli("advise", _write(tmp_path, {}, "ok.yaml"), "--lang", "zh", "--model-size", "0")
    assert flag.exit_code == 2 and "model_size_b" in flag.stderr and "问题" in flag.stderr

    n = len(load_questionnaire())
    out = tmp_path / "a.yaml"
    # the first question typed as its Chinese label, the rest defaults
    result = _cli("ask", "--lang", "zh", "-o", str(out), input="每周\n" + "\n" * n)
    assert result.exit_code == 0, result.output
    assert "已写入" in result.output and "下一步" in result.output and "wrote" not in result.output
    text = out.read_text(encoding="utf-8")
    answers = yaml.safe_load(text)
    assert answers["knowledge_change"] == "weekly"
    assert "model_size_b: 7\n" in text and "latency_ms: 2000\n" in text and ".0\n" not in text
    plan = tmp_path / "p.yaml"
    done = _cli("advise", str(out), "--lang", "zh", "-o", str(plan))
    assert done.exit_code == 0 and "已写入" in done.output
    assert "model_size_b: 7\n" in plan.read_text(encoding="utf-8")


def test_an_english_label_is_accepted_too():
    from advisor.questionnaire import parse_text
    q = load_questionnaire()
    assert parse_text(q["deployment"], "your own servers") == "on_prem"
    assert parse_text(q["deployment"], "自有服务器") == "on_prem"
    assert parse_text(q["gpu_count"], "4") == 4 and isinstance(parse_text(q["gpu_count"], "4"), int)
    assert json.dumps(parse_text(q["model_size_b"], "7")) == "7"
