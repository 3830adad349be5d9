"""Golden cases (advisor/golden.yaml): realistic projects -> the recommendation the rules must give."""

from __future__ import annotations

import copy
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
    tops = {c["expect"]["top"] for c in CASES if "top" in c["expect"]}
    assert tops == {"prompt", "rag", "lora", "qlora", "full", "distill", "rag_lora"}


def test_every_bundled_example_is_a_golden_case():
    files = {c["answers_file"] for c in CASES if "answers_file" in c}
    assert files == {f"examples/{p.name}" for p in (ADVISOR / "examples").glob("*.yaml")}
    assert len(files) >= 14


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case(case):
    result = evaluate(_answers(case))
    expect, ranking = case["expect"], result["ranking"]
    summary = ", ".join(f"{t} {result['scores'][t]:g}{'' if result['fits'][t] else ' (unfit)'}" for t in ranking)
    if "top" in expect:
        assert ranking[0] == expect["top"], f"{case['id']}: {summary}"
    if "not_top" in expect:
        assert ranking[0] != expect["not_top"], f"{case['id']}: {summary}"
    for technique in expect.get("unfit", []):  # never built, but for prompt: the baseline is always measured
        assert not result["fits"][technique], (technique, summary)
        assert technique == "prompt" or technique not in result["candidates"], (technique, summary)
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


# ---------------------------------------------------------------- no top pick that does not fit

MODEL_SIZES = (0.5, 1, 3, 7, 13, 34, 70)
GPU_SIZES = (0, 16, 24, 40, 48, 80)


def _fits_by_the_estimate(technique: str, size: float, gpu_gb: float, seq_len: int = 512, batch: int = 1) -> bool:
    """Whether `technique` trains on one GPU of `gpu_gb`, straight from advisor/estimate.py (or,
    without a GPU, whether the model is small enough to train on a CPU in days)."""
    from advisor.estimate import estimate

    def gb(n, method, b=batch):
        return estimate(n * 1e9, method, seq_len=seq_len, batch=b)["total_gb"]
    if technique in ("prompt", "rag"):
        return True
    if gpu_gb == 0:
        return size <= 3
    if technique in ("lora", "rag_lora"):
        return gb(size, "lora") <= gpu_gb
    if technique == "qlora":
        return gb(size, "qlora4") <= gpu_gb
    full = min(gb(size, "full"), gb(size, "full_bf16")) <= gpu_gb
    if technique == "full":
        return full
    student = min(gb(1, "full"), gb(1, "full_bf16")) + gb(size, "inference", 1)   # the default 1B student
    return full and student <= gpu_gb


def _boosted(technique: str) -> dict:
    """The shipped table with one more rule that pushes `technique` far ahead of the rest."""
    table = copy.deepcopy(load_rules())
    table["rules"].append({"id": "push", "when": {"all": []}, "boost": {technique: 100}, "_post": False,
                           "reason": {"en": "x.", "zh": "x"}, "source": "test"})
    return table


@pytest.mark.parametrize("technique", sorted(load_rules()["techniques"]))
def test_no_top_pick_that_does_not_fit_over_model_and_gpu_sizes(technique):
    table = _boosted(technique)
    for size in MODEL_SIZES:
        for gpu_gb in GPU_SIZES:
            answers = complete({"model_size_b": size, "gpu_gb": gpu_gb, "data": "pairs"})[0]
            result = evaluate(answers, table)
            top = result["ranking"][0]
            where = (technique, size, gpu_gb, top)
            assert _fits_by_the_estimate(top, size, gpu_gb), where
            # the pushed technique is first exactly when the estimate says it fits
            assert (top == technique) is _fits_by_the_estimate(technique, size, gpu_gb), where
            assert all(_fits_by_the_estimate(t, size, gpu_gb) for t in result["candidates"] if t != "distill_control")


@pytest.mark.parametrize("device_gb,size,student", [(4, 7, 1), (4, 3, 1), (0.5, 1, 0.1), (0.5, 1, 1), (16, 13, 3)])
def test_no_top_pick_that_does_not_fit_the_device(device_gb, size, student):
    from advisor.estimate import estimate

    def on_device(n):  # 4-bit weights and one answer's working memory
        b = estimate(n * 1e9, "inference", seq_len=512, batch=1)["breakdown"]
        return 1.05 * (0.25 * b["weights"] + b["activations"])
    for technique in load_rules()["techniques"]:
        answers = complete({"deployment": "edge", "device_memory_gb": device_gb, "model_size_b": size,
                            "student_size_b": student, "data": "pairs", "gpu_gb": 80, "gpu_count": 8})[0]
        result = evaluate(answers, _boosted(technique))
        deployed = {t: on_device(student if t == "distill" else size) <= device_gb for t in result["fits"]}
        top = result["ranking"][0]
        if any(deployed.values()):
            assert deployed[top], (technique, top)
        assert (top == technique) is deployed[technique] or not any(deployed.values()), (technique, top)
