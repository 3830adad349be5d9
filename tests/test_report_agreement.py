"""`rightfit agree`: one run scored under many questionnaires, with the reason for each disagreement."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from advisor.engine import evaluate
from advisor.questionnaire import load_answers
from rightfit.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "advisor" / "examples"
# name: (test.em, seen, docs_only, fresh, style, traceability, tokens/s); a toy run like the bundled
# suite's: retrieval answers the document facts, the adapter learns the style and little else
RECORDS = {
    "prompt": (0.03, 0.05, 0.01, 0.0, 0.0, None, 2200.0),
    "rag": (0.97, 0.96, 0.98, 1.0, 0.0, 1.0, 1170.0),
    "lora": (0.06, 0.08, 0.04, 0.0, 0.94, None, 2500.0),
}


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "records").mkdir(parents=True)
    keys = ("test.em", "test.seen.em", "test.docs_only.em", "fresh.em", "test.style", "test.traceability",
            "latency.tokens_per_s")
    for name, values in RECORDS.items():
        record = {"candidate": name, "technique": name,
                  "metrics": {k: {"value": v} for k, v in zip(keys, values)}}
        (run / "records" / f"{name}.json").write_text(json.dumps(record))
    return run


def _agree(*args: str):
    return CliRunner().invoke(main, ["agree", *args])


def test_each_questionnaire_scored_under_its_own_priorities(tmp_path):
    files = [str(EXAMPLES / f"{n}.yaml") for n in ("hr-policy-bot", "legal-drafting", "phone-offline")]
    result = _agree(str(_run(tmp_path)), *files, "--json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.output)
    rows = {r["questionnaire"]: r for r in table["rows"]}
    for name in rows:   # the advisor's pick is the advisor's, as `rightfit advise` gives it
        assert rows[name]["pick"] == evaluate(load_answers(EXAMPLES / f"{name}.yaml")[0])["ranking"][0]
    assert (rows["hr-policy-bot"]["pick"], rows["hr-policy-bot"]["winner"], rows["hr-policy-bot"]["agree"]) == \
        ("rag", "rag", True)
    legal = rows["legal-drafting"]
    assert (legal["pick"], legal["winner"], legal["agree"]) == ("lora", "rag", False)
    assert legal["why"].startswith("lora does not answer well enough: test.em 0.06 < floor 0.87 (rag 0.97)")
    assert "trained facts 0.08, facts only in the documents 0.04" in legal["why"]
    # the phone's 4 GB hold none of the run's candidates (a 7B base) and the student was not built
    phone = rows["phone-offline"]
    assert (phone["pick"], phone["agree"], phone["status"], phone["winner"]) == ("distill", None, "no_contest", None)
    assert phone["why"] == "distill was not built in this run, and nothing in the run can be built for it"
    assert (table["agreed"], table["compared"], table["no_contest"]) == (1, 2, 1)


def test_only_what_the_project_can_build_competes(tmp_path):
    nothing = tmp_path / "nothing.yaml"     # no documents, no pairs, no budget: only the prompt can be built
    nothing.write_text("data: none\ntraining_budget: none\n")
    big = tmp_path / "big.yaml"             # a 70B model on a 24 GB GPU: LoRA does not fit it
    big.write_text("model_size_b: 70\ngpu_gb: 24\ndata: pairs\nknowledge_change: weekly\n")
    table = json.loads(_agree(str(_run(tmp_path)), str(nothing), str(big), "--json").output)
    rows = {r["questionnaire"]: r for r in table["rows"]}
    assert rows["nothing"]["buildable"] == ["prompt"] and rows["nothing"]["status"] == "no_contest"
    assert rows["nothing"]["agree"] is None and "rag scores higher but cannot be built for it" in rows["nothing"]["why"]
    assert rows["big"]["buildable"] == ["prompt", "rag"] and rows["big"]["winner"] == "rag"
    assert (table["compared"], table["no_contest"]) == (1, 1)


def test_the_table_prints_as_markdown_and_defaults_to_every_example(tmp_path):
    result = _agree(str(_run(tmp_path)))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Run `run`: the advisor's top pick is the measured winner for ")
    assert lines[2] == "| questionnaire | advisor's pick | measured winner | agree? | why (measured) |"
    assert len([x for x in lines if x.startswith("| ") and not x.startswith("| questionnaire")]) == \
        len(list(EXAMPLES.glob("*.yaml"))) >= 14
    assert "| no-gpu-no-data | prompt | prompt | no contest | only prompt in the run can be built for it; rag " \
        "scores higher but cannot be built for it |" in result.output
