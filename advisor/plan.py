"""Answers -> the advice (ranking, reasons, caveats, what-if, resource estimate) and the plan.

The plan is the subset of the advice that `rightfit run --plan` consumes; its shape is fixed:

    plan_version: 1
    answers: {...every answer, defaults included...}
    defaults_used: [question ids]
    ranking: [{technique, score, rules: [rule ids], reasons: [sentences]}]   # best first
    candidates: [prompt, ...]      # what to build, in order (engine.shortlist)
    priorities: {accuracy_fresh, accuracy_seen, style, latency, forgetting, privacy, traceability, cost}
    caveats: [{id, text}]
    checks: [privacy, forgetting, freshness, ...]
    estimate: {...advisor.estimate.estimate_all...}
"""

from __future__ import annotations

from typing import Any

from advisor.engine import evaluate
from advisor.estimate import estimate_all
from advisor.questionnaire import load_questionnaire, tr
from advisor.rule_table import load_rules
from advisor.whatif import what_if

PLAN_KEYS = ("plan_version", "answers", "defaults_used", "ranking", "candidates", "priorities", "caveats",
             "checks", "estimate")
EPOCHS = 3  # passes over the labelled pairs assumed for the training-time estimate


def resource_estimate(answers: dict[str, Any], model_size: float | None = None, gpu_gb: float | None = None,
                      seq_len: int = 512, batch: int = 1) -> dict:
    """The estimate for the answered (or overridden) model size and GPU.

    Without a GPU (gpu: none and no --gpu-gb) `fits` is None: nothing runs on GPU memory. The
    training tokens are the data answer's nominal number of pairs x seq_len x EPOCHS.
    """
    questions = load_questionnaire()
    gpu_meta = questions["gpu"]["meta"][answers["gpu"]]
    if gpu_gb is None:
        gpu_gb = gpu_meta["gpu_gb"] or None
    examples = questions["data"]["meta"][answers["data"]]["examples"]
    size = model_size if model_size is not None else answers["model_size_b"]
    return estimate_all(size * 1e9, seq_len, batch, gpu_gb=gpu_gb,
                        train_tokens=examples * seq_len * EPOCHS or None, gpu_tflops=gpu_meta["tflops"])


def advise(answers: dict[str, Any], defaults_used: list[str], lang: str = "en", **estimate_args: Any) -> dict:
    """The full advice: the plan's keys plus fired rules with reasons and sources, and what-if.

    Args:
        answers: complete answers (questionnaire.load_answers / complete).
        defaults_used: question ids that took their default.
        lang: en or zh, for the reasons and caveats.
        estimate_args: model_size, gpu_gb, seq_len, batch for resource_estimate.
    """
    result = evaluate(answers)
    rules = {r["id"]: r for r in load_rules()["rules"]}
    ranking = []
    for technique in result["ranking"]:
        ids = [rule_id for rule_id, _ in result["contributions"][technique]]
        ranking.append({"technique": technique, "score": result["scores"][technique], "rules": ids,
                        "reasons": [tr(rules[i]["reason"], lang) for i in ids]})
    fired = []
    for rule_id in result["fired"]:
        effects = {t: w for t, contribs in result["contributions"].items() for r, w in contribs if r == rule_id}
        fired.append({"id": rule_id, "effects": effects, "reason": tr(rules[rule_id]["reason"], lang),
                      "source": rules[rule_id]["source"]})
    return {"plan_version": 1, "answers": answers, "defaults_used": defaults_used, "ranking": ranking,
            "candidates": result["candidates"], "priorities": result["priorities"],
            "caveats": [{"id": c["id"], "text": c[lang]} for c in result["caveats"]], "checks": result["checks"],
            "estimate": resource_estimate(answers, **estimate_args),
            "fired": fired, "what_if": what_if(answers), "derived": result["facts"], "lang": lang}


def plan_of(advice: dict) -> dict:
    """The plan file's content: exactly PLAN_KEYS, in that order."""
    return {key: advice[key] for key in PLAN_KEYS}
