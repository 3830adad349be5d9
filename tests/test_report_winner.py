"""The measured winner: a quality floor before latency, cost and forgetting weigh in, and
latency per generated token."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reports import scoring
from reports.analysis import analyse
from rightfit.cli import main

# the shape of the bundled suite's story: an untouched base that is fast and cheap but answers
# 3% of the questions, retrieval that answers nearly all, an adapter in between
CANDIDATES = {  # name: (test.em, latency.p50_s, tokens/s, build seconds)
    "prompt": (0.03, 0.002, 2200.0, 0.0),
    "rag": (0.97, 0.004, 1170.0, 6.0),
    "lora": (0.90, 0.009, 2500.0, 10.0),
}
LATENCY_AND_COST = {"latency": 3, "cost": 2, "accuracy_seen": 1}


def _record(name: str, em: float, p50: float, tps: float, build: float) -> dict:
    return {"candidate": name, "technique": name, "artifact": {"build_seconds": build},
            "metrics": {"test.em": {"value": em}, "latency.p50_s": {"value": p50},
                        "latency.tokens_per_s": {"value": tps}}}


def _records(**overrides) -> list[dict]:
    return [_record(n, *overrides.get(n, v)) for n, v in CANDIDATES.items()]


def _run(records: list[dict], priorities: dict, pick: str | None = None, margin: float | None = None) -> dict:
    advice = None
    if pick:
        advice = {"ranking": [{"technique": pick, "score": 5, "rules": [], "reasons": {}}]}
        if margin is not None:
            advice["quality_margin"] = margin
    return {"path": "runs/x", "run_id": "x", "config": {}, "env": {}, "records": records,
            "run": {"priorities": priorities, "advice": advice}}


def test_a_candidate_that_cannot_answer_does_not_win_on_speed_and_cost():
    records = _records()
    scores = scoring.weighted_scores(records, LATENCY_AND_COST)
    assert max(scores["total"], key=scores["total"].get) == "prompt"       # what the weights alone would say
    view = analyse(_run(records, LATENCY_AND_COST), "en")
    floor = view["summary"]["floor"]
    assert (floor["metric"], floor["best_candidate"], floor["best"]) == ("test.em", "rag", 0.97)
    assert floor["floor"] == pytest.approx(0.87) and floor["below"] == ["prompt"]
    assert view["order"] == ["lora", "rag", "prompt"] and view["summary"]["winner"] == "lora"
    text = " ".join(view["summary"]["sentences"])
    assert ("its exact match is within 0.10 of the best (rag, 0.97): below 0.87, with the upper end of its 95% "
            "interval too, it does not answer well enough") in text
    assert "Does not answer well enough: prompt (0.03)." in text
    assert "Latency is compared per generated token." in text


def test_the_plan_sets_the_margin():
    strict = analyse(_run(_records(), LATENCY_AND_COST, pick="lora", margin=0.02), "en")
    assert strict["summary"]["floor"]["below"] == ["lora", "prompt"] and strict["summary"]["winner"] == "rag"
    agree = strict["summary"]["agree"]
    assert agree["status"] == "disagree" and agree["pick_below_floor"]
    assert "The advisor's pick, lora, does not answer well enough on this suite (Exact match 0.90, floor 0.95)." \
        in " ".join(strict["summary"]["sentences"])
    loose = analyse(_run(_records(), LATENCY_AND_COST, pick="lora", margin=0.10), "en")
    assert loose["summary"]["winner"] == "lora" and loose["summary"]["status"] == "agree"


def test_latency_is_compared_per_generated_token():
    # the same accuracy; "short" answers in fewer tokens, so its answers end sooner (p50), but each
    # token takes it longer: per token "long" is the faster model
    records = [_record("short", 0.9, 0.002, 500.0, 1.0), _record("long", 0.9, 0.006, 1500.0, 1.0)]
    scores = scoring.weighted_scores(records, {"latency": 1})
    assert scores["metrics"]["latency"] == ["latency.tokens_per_s"]
    assert scores["by_priority"]["latency"] == {"short": pytest.approx(1 / 3), "long": 1.0}
    # a record without token counts falls back to latency per answer
    old = [{"candidate": c, "metrics": {"latency.p50_s": {"value": v}}} for c, v in (("a", 0.1), ("b", 0.2))]
    assert scoring.weighted_scores(old, {"latency": 1})["metrics"]["latency"] == ["latency.p50_s"]


def test_no_accuracy_metric_no_floor():
    records = [{"candidate": c, "metrics": {"latency.tokens_per_s": {"value": v}}} for c, v in (("a", 10.0), ("b", 5.0))]
    floor = scoring.quality_floor(records)
    assert floor["metric"] is None and floor["below"] == []


def test_report_json_and_chinese_state_the_floor(tmp_path):
    from tests.test_report_render import FIXTURE, render
    code, output = render(FIXTURE, tmp_path / "zh.html", "--lang", "zh", "--json")
    assert code == 0, output
    html = (tmp_path / "zh.html").read_text(encoding="utf-8")
    assert "回答不够好：" in html and "延迟按每个生成词元比较" in html
    data = json.loads((tmp_path / "zh.json").read_text(encoding="utf-8"))
    assert data["quality_floor"]["metric"] == "test.em" and data["quality_floor"]["below"]


def test_cli_reports_the_winner_above_the_floor(tmp_path):
    run = tmp_path / "run"
    (run / "records").mkdir(parents=True)
    for r in _records():
        (run / "records" / f"{r['candidate']}.json").write_text(json.dumps(r))
    (run / "run.json").write_text(json.dumps({"priorities": LATENCY_AND_COST, "advice": None}))
    result = CliRunner().invoke(main, ["report", str(run), "-o", str(tmp_path / "r.html"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["winner"] == "lora"


def test_a_gap_the_questions_cannot_resolve_does_not_rule_a_candidate_out():
    records = _records()
    records[0]["metrics"]["test.em"] = {"value": 0.80, "ci_low": 0.70, "ci_high": 0.88}   # prompt: 0.80, up to 0.88
    records[2]["metrics"]["test.em"] = {"value": 0.86, "ci_low": 0.80, "ci_high": 0.86}   # lora: 0.86, at most 0.86
    floor = scoring.quality_floor(records, 0.10)
    assert floor["floor"] == pytest.approx(0.87) and floor["below"] == ["lora"]
