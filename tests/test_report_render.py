"""`rightfit report` on the fixture run: structure, numbers, exports, scoring, errors, Chinese.

The fixture (tests/fixtures/run_fixture, written by its make_fixture.py) is synthetic: its
numbers exercise the report, they are not results.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.records import load_run
from reports import charts, scoring
from reports.analysis import analyse, check_records
from rightfit.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_fixture"
CHARTS = ("pareto", "forgetting", "freshness", "overview", "loss", "resources")


def render(run_dir: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["report", str(run_dir), "-o", str(out), *extra])
    return result.exit_code, result.output


def svg(html: str, chart: str) -> str:
    m = re.search(rf'<svg class="chart" data-chart="{chart}".*?</svg>', html, re.S)
    assert m, f"chart {chart} missing"
    return m.group(0)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("rep") / "fixture.html"
    code, output = render(FIXTURE, out, "--json")
    assert code == 0, output
    info = json.loads(output)
    return {"info": info, "html": out.read_text(encoding="utf-8"), "out": out}


def test_cli_prints_path_and_writes_html_csv_json(tmp_path):
    out = tmp_path / "sub" / "r.html"
    code, output = render(FIXTURE, out)
    assert code == 0 and output.strip() == str(out)
    assert {p.name for p in out.parent.iterdir()} == {"r.html", "r.csv", "r.json"}  # no temp files left


def test_summary_first_with_verdict_and_reasons(report):
    html, info = report["html"], report["info"]
    # The fixture's advisor ranks rag_lora first; under its priorities rag measures 0.70 vs 0.69.
    assert (info["advisor_pick"], info["winner"], info["status"]) == ("rag_lora", "rag", "disagree")
    first = html.index('id="summary"')
    assert first < html.index('id="metrics"') < html.index('id="charts"') < html.index('id="answers"')
    verdict = " ".join(html[first:html.index('id="metrics"')].split())
    assert 'data-status="disagree" data-winner="rag" data-pick="rag_lora"' in verdict
    assert "Knowledge changes weekly and answers need the house style" in verdict
    assert "rag gains most on accuracy on fresh facts (Exact match, updated facts 0.57 vs 0.41)" in verdict
    assert "rag_lora is better on house style (Style adherence 0.05 vs 0.88)" in verdict
    assert "within 0.01 of each other" in verdict
    assert "<dt>knowledge change</dt><dd>weekly</dd>" in verdict


def test_weighted_scores_match_hand_computation():
    run = load_run(FIXTURE)
    priorities = run["run"]["priorities"]
    scores = scoring.weighted_scores(check_records(run), priorities)
    # rag, by hand: fresh mean(.57,.61), seen .52, style .05, latency per token own/best 98/265 tokens/s, forgetting 1 + 0,
    # privacy 1 (n/a = trains on nothing), traceability .83, cost mean(build min-max over 0..131 s,
    # peak memory best/own 410/520 MB); weights as the plan states them (they sum to 1).
    w = priorities
    cost = ((1 - 6.1 / 131) + 410 / 520) / 2
    want = (w["accuracy_fresh"] * 0.59 + w["accuracy_seen"] * 0.52 + w["style"] * 0.05 + w["latency"] * 98 / 265
            + w["forgetting"] + w["privacy"] + w["traceability"] * 0.83 + w["cost"] * cost) / sum(w.values())
    assert scores["total"]["rag"] == pytest.approx(want, abs=1e-9)
    assert scores["metrics"]["accuracy_fresh"] == ["fresh.em", "test.docs_only.em"]
    assert scores["by_priority"]["traceability"]["lora"] == 0.0      # cites nothing -> 0
    assert scores["by_priority"]["privacy"]["prompt"] == 1.0         # trains on nothing -> 1
    assert scores["by_priority"]["privacy"]["full"] == pytest.approx(0.75)


def test_scaling_rules():
    # direction and kind come from the metric registry, whatever flag a record carries
    recs = [{"candidate": c, "metrics": {"latency.p50_s": {"value": v, "higher_is_better": True},
                                         "test.em": {"value": e},
                                         "forgetting.probes.em": {"value": d}}}
            for c, v, e, d in (("a", 0.1, 0.8, -0.2), ("b", 0.4, 0.2, 0.0), ("c", None, 0.5, -2.0))]
    assert scoring.scaled(recs, "latency.p50_s") == {"a": 1.0, "b": 0.25, "c": None}          # ratio to best
    assert scoring.scaled(recs, "test.em") == {"a": 0.8, "b": 0.2, "c": 0.5}              # proportions as is
    assert scoring.normalised(recs, "test.em") == pytest.approx({"a": 1.0, "b": 0.0, "c": 0.5})  # min-max view
    # a delta outside [-1, 1] is not a proportion change: min-max fallback
    assert scoring.scaled(recs, "forgetting.probes.em") == {"a": 0.9, "b": 1.0, "c": 0.0}


def test_agreement_when_priorities_favour_the_pick(tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    record = json.loads((run / "run.json").read_text())
    record["priorities"] = {"style": 5, "accuracy_fresh": 1}
    (run / "run.json").write_text(json.dumps(record))
    code, output = render(run, tmp_path / "a.html", "--json")
    info = json.loads(output)
    assert code == 0 and info["status"] == "agree"
    html = (tmp_path / "a.html").read_text()
    assert "The measurements agree with the advisor: rag_lora also scored best" in html


def test_pick_missing_and_no_plan(tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    (run / "records" / "rag_lora.json").unlink()
    info = json.loads(render(run, tmp_path / "m.html", "--json")[1])
    assert info["status"] == "pick_missing" and info["winner"] == "rag"
    assert "was not among the measured candidates" in (tmp_path / "m.html").read_text()
    record = json.loads((run / "run.json").read_text())
    record.update(advice=None, priorities_from="default", priorities={p: 0.125 for p in record["priorities"]})
    (run / "run.json").write_text(json.dumps(record))
    info = json.loads(render(run, tmp_path / "n.html", "--json")[1])
    assert info["status"] == "no_plan" and info["advisor_pick"] is None


def test_metrics_table_best_ci_significance_and_na(report):
    html = report["html"]
    table = html[html.index('id="metrics-table"'):html.index("</table>", html.index('id="metrics-table"'))]
    rows = dict(re.findall(r'<tr data-candidate="([^"]+)">(.*?)</tr>', table, re.S))
    # by weighted score, those under the quality floor (EM 0.61 - 0.10, upper 95% bound too) last
    assert list(rows) == ["rag", "rag_lora", "full", "distill", "lora", "prompt"]

    def cell(cand, metric):
        return re.search(rf'<td class="([^"]*)" data-metric="{metric}"[^>]*>(.*?)</td>', rows[cand], re.S)
    # em_updated: rag 0.57 best, 0.16 ahead of rag_lora with p = 0.001 -> "**"
    c = cell("rag", "fresh.em")
    assert "best" in c.group(1) and "0.57" in c.group(2) and '<span class="sig">**</span>' in c.group(2)
    # latency: lower is better -> distill best; CI shown in ms
    assert "best" in cell("distill", "latency.p50_s").group(1) and "90 ms" in cell("distill", "latency.p50_s").group(2)
    # forgetting (record key forgetting.probes.em; paired tests from probes.em): rag +0.00 best, not
    # significantly ahead of lora (-0.03, p = 0.42 -> "≈"); full -0.14 is (p = 0.001); prompt is the base: n/a
    forget = "forgetting.probes.em"
    assert "best" in cell("rag", forget).group(1) and "*" not in cell("rag", forget).group(2)
    assert "≈" in cell("lora", forget).group(2)
    assert "≈" not in cell("full", forget).group(2) and "na" in cell("prompt", forget).group(1)
    # n/a with the record's note as a tooltip
    na = re.search(r'<td class="num na" data-metric="test.traceability" title="([^"]+)">n/a', rows["lora"])
    assert na and na.group(1) == "n/a: this technique cites no documents."
    # metrics the report does not know, or has no headline column for, render as generic rows
    extra = html[html.index('id="extra-table"'):]
    extra = extra[:extra.index("</table>")]
    assert re.findall(r'<tr data-metric="([^"]+)">', extra) == ["answer_len_chars", "forgetting.general.ppl",
                                                                 "fresh.unchanged.em"]
    assert '<tr data-metric="answer_len_chars"><td><strong>answer_len_chars</strong>' in extra
    m = next(r for r in load_run(FIXTURE)["records"] if r["candidate"] == "rag")["metrics"]["test.docs_only.em"]
    assert f'<span class="ci">{m["ci_low"]:.2f} – {m["ci_high"]:.2f}</span>' in cell("rag", "test.docs_only.em").group(2)


def test_csv_and_json_exports_match_the_records(report):
    out = report["out"]
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    data = json.loads(out.with_suffix(".json").read_text())
    records = {r["candidate"]: r for r in load_run(FIXTURE)["records"]}
    assert [r["candidate"] for r in rows] == [r["candidate"] for r in data["rows"]]
    for row in rows:
        rec = records[row["candidate"]]["metrics"]
        assert float(row["test.em"]) == rec["test.em"]["value"]
        assert float(row["test.em_ci_low"]) == rec["test.em"]["ci_low"]
        assert (row["test.traceability"] == "") == (rec["test.traceability"]["value"] is None)
        assert float(row["answer_len_chars"]) == rec["answer_len_chars"]["value"]
    assert data["winner"] == "rag" and data["higher_is_better"]["latency.p50_s"] is False
    assert abs(sum(data["weights_used"].values()) - 1) < 1e-9


def test_each_chart_is_inline_svg_with_the_records_data(report):
    html = report["html"]
    records = {r["candidate"]: r for r in load_run(FIXTURE)["records"]}
    for name in CHARTS:
        assert f'data-check="chart-{name}"' in html
        svg(html, name)
    pareto = svg(html, "pareto")
    pts = dict(re.findall(r'data-name="([^"]+)" data-x="[^"]+" data-y="[^"]+" data-front="(\d)"', pareto))
    assert pts == {"distill": "1", "full": "1", "rag": "1", "rag_lora": "1", "lora": "0", "prompt": "0"}
    assert 'data-role="pareto-front" data-n="4"' in pareto
    # forgetting: the knowledge (likelihood MC delta), with the greedy answers' delta beside it as the format
    for chart, key in (("forgetting", "forgetting.probes.mc_acc"), ("format", "forgetting.probes.em")):
        bars = dict(re.findall(r'data-name="([^"]+)" data-value="([^"]+)"', svg(html, chart)))
        assert {k: float(v) for k, v in bars.items()} == {c: r["metrics"][key]["value"]
                                                          for c, r in records.items() if c != "prompt"}
        assert 'data-na="prompt"' in svg(html, chart)                      # the base itself: n/a, shown as such
    assert 'data-metric="forgetting.probes.mc_acc" data-check="chart-forgetting"' in html
    assert "Forgetting Δ knowledge (likelihood MC), general probes" in svg(html, "forgetting")
    assert "Answer-format retention Δ (greedy EM), general probes" in svg(html, "format")
    risk = re.search(r'data-risk="forgetting" data-status="confirmed">.*?</tr>', html, re.S).group(0)
    assert ("full changes its general-probe knowledge (likelihood multiple choice, as Biderman et al. measure "
            "forgetting) by -0.10 vs the base model") in risk
    assert "Its greedy answers to the same probes change by -0.14: answer-format retention, not knowledge." in risk
    fresh = re.findall(r'data-name="([^"]+)" data-series="after[^"]*" data-value="([^"]+)"', svg(html, "freshness"))
    assert {k: float(v) for k, v in fresh} == {c: r["metrics"]["fresh.em"]["value"] for c, r in records.items()}
    heads = re.findall(r'<th class="num" data-metric="([^"]+)"', html)
    cells = re.findall(r'data-name="([^"]+)" data-metric="([^"]+)"', svg(html, "overview"))
    assert sorted(set(cells)) == sorted((c, m) for c in records for m in heads + ["artifact.build_seconds", "artifact.peak_memory_mb"])
    loss = re.findall(r'data-name="([^"]+)" data-kind="(\w+)" data-n="(\d+)"', svg(html, "loss"))
    assert sorted((n, k) for n, k, _ in loss) == sorted((c, k) for c in ("lora", "full", "rag_lora", "distill")
                                                        for k in ("train", "heldout"))
    res = re.findall(r'data-panel="(\w+)" data-name="([^"]+)" data-value="([^"]+)"', svg(html, "resources"))
    assert {p for p, _, _ in res} == {"params", "size", "build", "memory"}
    assert ("params", "full", "1.88744e+07") in res


def test_pareto_front_and_ticks():
    pts = [{"name": n, "x": x, "y": y} for n, x, y in (("a", 1, 0.2), ("b", 2, 0.5), ("c", 3, 0.4), ("d", 4, 0.9))]
    assert [p["name"] for p in charts.pareto_front(pts)] == ["a", "b", "d"]
    assert charts.nice_ticks(0, 0.61) == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert charts.nice_ticks(-0.17, 0.02) == [-0.2, -0.15, -0.1, -0.05, 0.0, 0.05]


def test_answers_risks_literature_appendix(report):
    html = report["html"]
    ab = html[html.index('id="ab-table"'):]
    assert ab.count("<tr data-part=") == 12
    assert re.search(r'data-id="q08" data-correct="\d+"', ab)
    assert "How many days do I have to return a jacket now?" in ab and "Swiftbox" in ab
    assert '<div class="controls" id="ab-controls" hidden>' in html       # shown by the script only
    risks = dict(re.findall(r'data-risk="(\w+)" data-status="(\w+)"', html))
    assert risks == {"forgetting": "confirmed", "leakage": "confirmed", "staleness": "confirmed",
                     "overfitting": "confirmed", "truncation": "not_measured"}  # records older than the metric
    assert "full: held-out loss rose from 1.25 (step 100) to 1.39 (step 140)" in html
    assert "full emitted planted secrets for 25% of the canaries." in html
    assert re.search(r'data-risk="leakage".*?<td>A model fine-tuned on private records', html, re.S)
    assert re.search(r'data-risk="staleness" data-status="confirmed"><td><strong>Staleness</strong></td>\s*'
                     r'<td><span class="muted">not raised', html)
    other = html[html.index("Other caveats from the advisor"):html.index('id="literature"')]
    assert "Training on CPU is possible only for small models" in other and "canaries" not in other
    assert 'data-finding="rag_fresh"' in html and "Ovadia et al. 2024" in html
    assert "Exact match, updated facts: rag 0.57 vs full 0.05 (p = 0.001)" in html
    assert f"rightfit run {FIXTURE}/config.resolved.yaml --plan {FIXTURE}/plan.yaml --run-id run_fixture-repro" in html
    assert "<th>torch</th><td>2.13.0+cpu</td>" in html and "<th>Seeds</th><td>0</td>" in html


def test_context_cut_per_candidate_with_what_to_change(tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    note = ("12 of 120 questions had retrieved chunks cut or dropped to fit the model's 512-token window "
            "(rag.top_k 3, chunks of 120 words); lower rag.top_k or rag.chunk_size, or use a model with a longer window")
    for name, value in (("rag", 0.1), ("prompt", 0.0)):
        path = run / "records" / f"{name}.json"
        record = json.loads(path.read_text())
        record["metrics"]["test.context_cut"] = {"value": value, "n": 120, "higher_is_better": False,
                                                 **({"note": note} if value else {})}
        path.write_text(json.dumps(record))
    code, output = render(run, tmp_path / "r.html")
    assert code == 0, output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert re.search(r'data-risk="truncation" data-status="confirmed"', html)
    assert f"rag: 10% of the questions. {note}.".replace("'", "&#39;") in html
    assert "prompt: 0%" not in html


def test_self_contained_and_small(report):
    html = report["html"]
    assert not re.search(r'(src|href)="(https?:)?//', html)             # no external assets
    assert "<link" not in html and "@import" not in html
    assert len(html.encode()) < 5 * 1024 * 1024


def test_demo_size_run_stays_under_5mb_and_caps_answers(tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    for f in (run / "records").glob("*.json"):
        rec = json.loads(f.read_text())
        base = rec["examples"]
        rec["examples"] = [{**ex, "id": f"{ex['id']}-{i}", "answer": ex["answer"] + " " + "lorem ipsum " * 20}
                           for i in range(40) for ex in base]                 # 480 questions
        f.write_text(json.dumps(rec))
    code, _ = render(run, tmp_path / "big.html")
    html = (tmp_path / "big.html").read_text()
    assert code == 0 and html.count("<tr data-part=") == 300
    assert "Showing 300 of 480 questions." in html
    assert len(html.encode()) < 5 * 1024 * 1024


def test_chinese_report_has_the_same_structure(report, tmp_path):
    code, _ = render(FIXTURE, tmp_path / "zh.html", "--lang", "zh")
    zh = (tmp_path / "zh.html").read_text(encoding="utf-8")
    en = report["html"]
    assert code == 0 and '<html lang="zh-CN">' in zh
    structure = r'(id|data-chart|data-check|data-risk|data-finding|data-metric)="([^"]+)"'
    assert re.findall(structure, zh) == re.findall(structure, en)
    assert "顾问推荐与实测结果不一致" in zh and "实测结果更支持" in zh and "文献怎么说" in zh


def test_default_output_path(tmp_path, monkeypatch):
    import shutil
    run = tmp_path / "run_fixture"
    shutil.copytree(FIXTURE, run)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", str(run), "--lang", "zh"])
    assert result.exit_code == 0 and result.output.strip() == str(run / "report.zh.html")
    assert (run / "report.zh.csv").exists()


@pytest.mark.parametrize("breakage, needle", [
    ("missing", "no such run directory"),
    ("no_records", "not a run directory"),
    ("empty_records", "no candidate records"),
    ("bad_json", "not valid JSON"),
    ("bad_run_record", "run.json: not valid JSON"),
    ("run_record_not_mapping", "run.json: expected a JSON object"),
    ("duplicate", "appears twice"),
])
def test_bad_run_dir_is_one_sentence_exit_2(tmp_path, breakage, needle):
    run = tmp_path / "run"
    if breakage != "missing":
        shutil.copytree(FIXTURE, run)
    if breakage == "no_records":
        shutil.rmtree(run / "records")
    elif breakage == "empty_records":
        for f in (run / "records").glob("*.json"):
            f.unlink()
    elif breakage == "bad_json":
        (run / "records" / "rag.json").write_text("{broken")
    elif breakage == "bad_run_record":
        (run / "run.json").write_text("{\"priorities\": [unclosed\n")
    elif breakage == "run_record_not_mapping":
        (run / "run.json").write_text("[1, 2]\n")
    elif breakage == "duplicate":
        shutil.copy(run / "records" / "rag.json", run / "records" / "rag_copy.json")
    result = CliRunner().invoke(main, ["report", str(run), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_minimal_records_render_with_empty_charts(tmp_path):
    """Records with almost nothing in them (no plan, no train log, no latency) still render."""
    run = tmp_path / "run"
    (run / "records").mkdir(parents=True)
    for name, em in (("prompt", 0.2), ("rag", None)):
        rec = {"candidate": name, "metrics": {"test.em": {"value": em, "higher_is_better": True,
                                                          "note": "suite has no test part" if em is None else ""}}}
        (run / "records" / f"{name}.json").write_text(json.dumps(rec))
    code, output = render(run, tmp_path / "min.html", "--json")
    html = (tmp_path / "min.html").read_text()
    assert code == 0 and json.loads(output)["status"] == "no_plan" and json.loads(output)["winner"] == "prompt"
    for name in ("pareto", "forgetting", "freshness", "loss", "resources"):
        assert '<desc data-empty="1">No data for this chart in this run.</desc>' in svg(html, name), name
    assert 'data-empty' not in svg(html, "overview")                    # em is there for prompt
    assert "The run had no advisor plan, so what its suite can measure was weighed equally" in html


def test_analyse_is_pure_data():
    view = analyse(load_run(FIXTURE), "en")
    assert view["order"][0] == "rag" and view["summary"]["pick"] == "rag_lora"
    assert [r["id"] for r in view["risks"]] == ["forgetting", "leakage", "staleness", "overfitting", "truncation"]


def test_report_never_imports_heavy_modules(tmp_path):
    """Rendering reads records only: no torch, transformers, peft or sentence-transformers."""
    import subprocess
    import sys
    code = ("import sys; from reports.render import build_report; "
            f"build_report({str(FIXTURE)!r}, {str(tmp_path / 'r.html')!r}); "
            "print(sorted(m for m in ('torch', 'transformers', 'peft', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_advisor_reasons_and_caveats_follow_the_report_language(tmp_path):
    """The plan carries both languages: the Chinese report shows the advisor's Chinese reasons."""
    code, _ = render(FIXTURE, tmp_path / "zh.html", "--lang", "zh")
    zh = (tmp_path / "zh.html").read_text(encoding="utf-8")
    assert code == 0 and "知识每周变化且回答需要统一风格" in zh and "Knowledge changes weekly and answers" not in zh
    assert "用私有记录微调的模型可能把它们逐字复述给任何人" in zh


def test_checks_the_plan_asked_for_are_shown_measured_or_not(report):
    checks = dict(re.findall(r'data-check-name="(\w+)" data-measured="(\d)"', report["html"]))
    assert checks == {"privacy": "1", "forgetting": "1", "freshness": "1"}


@pytest.mark.parametrize("mode, measured", [("white", "soft_targets"), ("both", "both"), ("black", "sequence_kd"),
                                            (None, "both")])
def test_distillation_findings_follow_the_students_mode(mode, measured):
    """Hinton's soft-target finding is checked on white-box students, Kim & Rush's sequence-level
    one on students trained on the teacher's answers; a record without the field counts for both."""
    from reports.findings import literature

    def rec(name, em, config):
        return {"candidate": name, "technique": name, "technique_config": config,
                "metrics": {"test.em": {"value": em, "higher_is_better": True}},
                "comparisons": {"test.em": {"distill_control": {"p_value": 0.01}}} if name == "distill" else {}}

    config = {} if mode is None else {"train": {}, "distill": {"mode": mode}}
    rows = {r["id"]: r for r in literature([rec("distill", 0.30, config), rec("distill_control", 0.25, {"train": {}})],
                                           "en")}
    expect = {"soft_targets", "sequence_kd"} if measured == "both" else {measured}
    assert {i for i in ("soft_targets", "sequence_kd") if rows[i]["verdict"] != "unmeasured"} == expect
    for i in expect:
        assert rows[i]["verdict"] == "consistent"
        assert rows[i]["measured"] == "Exact match: distill 0.30 vs distill_control 0.25 (p = 0.01)"


def test_lora_forgetting_finding_reads_the_multiple_choice_delta_first():
    """Biderman et al. measure forgetting with likelihood tasks: the MC delta wins over greedy EM."""
    from reports.findings import literature

    def rec(name, em_delta, mc_delta):
        return ({"candidate": name, "technique": name, "metrics": {
            "forgetting.probes.em": {"value": em_delta, "higher_is_better": True},
            "forgetting.probes.mc_acc": {"value": mc_delta, "higher_is_better": True}},
            "comparisons": {"probes.mc_acc": {"full": {"p_value": 0.2}}} if name == "lora" else {}})
    rows = {r["id"]: r for r in literature([rec("lora", -1.0, -0.05), rec("full", -0.9, -0.15)], "en")}
    assert rows["lora_forgets_less"]["measured"] == ("Forgetting Δ knowledge (likelihood MC), general probes: lora -0.05 vs full "
                                                     "-0.15 (p = 0.2)")
    assert rows["lora_forgets_less"]["verdict"] == "inconclusive"


def test_gekhman_finding_reads_the_knowledge_not_the_answer_format():
    """RAG leaves the model's weights alone, so its knowledge of the general probes is the base's
    (likelihood delta 0) even when its greedy answers collapse (the retrieved context leads them
    elsewhere); the check must read the knowledge and find the literature's direction."""
    from reports.findings import literature

    def rec(name, em_delta, mc_delta, p):
        return {"candidate": name, "technique": name, "metrics": {
            "forgetting.probes.em": {"value": em_delta, "higher_is_better": True},
            "forgetting.probes.mc_acc": {"value": mc_delta, "higher_is_better": True}},
            "comparisons": {"probes.mc_acc": {"lora": {"p_value": p}}} if name == "rag" else {}}
    rows = {r["id"]: r for r in literature([rec("rag", -0.94, 0.0, 0.001), rec("lora", -0.5, -0.17, 0.001)], "en")}
    assert rows["unknown_facts_hurt"]["verdict"] == "consistent"
    assert rows["unknown_facts_hurt"]["measured"] == ("Forgetting Δ knowledge (likelihood MC), general probes: "
                                                      "rag +0.00 vs lora -0.17 (p = 0.001)")


def test_keeping_general_knowledge_is_scored_on_the_likelihood_probes():
    run = load_run(FIXTURE)
    scores = scoring.weighted_scores(check_records(run), run["run"]["priorities"])
    assert scores["metrics"]["forgetting"] == ["forgetting.probes.mc_acc"]
    assert scores["by_priority"]["forgetting"]["full"] == pytest.approx(0.90)   # 1 + (-0.10), not 1 - 0.14
