"""What `rightfit run` prints at the end: context cut per candidate with what to change, the
columns of every priority that carries weight, and forgetting for a suite without probes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from tinymodels import make_tiny_llama

from rightfit.cli import main

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "fixtures" / "suites" / "mini-en"


def _record(name: str, cut: list[int], traced: float | None, note: str = "") -> dict:
    metrics = {"test.em": {"value": 0.5}, "test.traceability": {"value": traced},
               "test.context_cut": {"value": sum(map(bool, cut)) / len(cut), "note": note}}
    return {"candidate": name, "metrics": metrics,
            "examples": [{"part": "test", "context_truncated": c} for c in cut] + [{"part": "probes"}]}


def test_the_table_counts_cut_questions_and_shows_the_weighted_metrics():
    from harness.cli import summary_table
    from rightfit.vocabulary import default_weights
    records = [_record("prompt", [0, 0, 0], None),
               _record("rag", [2, 0, 1], 1.0, "2 of 3 questions had retrieved chunks cut or dropped to fit the "
                                             "model's 256-token window (rag.top_k 5, chunks of 120 words); lower "
                                             "rag.top_k or rag.chunk_size, or use a model with a longer window")]
    weights = default_weights(lambda part: part in ("docs", "test"))
    assert set(weights) == {"accuracy_fresh", "accuracy_seen", "traceability"}
    lines = summary_table(records, "em", weights)
    assert lines[0].split() == ["candidate", "EM", "traceability", "context", "cut"]
    assert lines[1].split() == ["prompt", "0.500", "n/a", "-"]
    assert lines[2].split() == ["rag", "0.500", "1.000", "2/3"]
    assert lines[3] == ("context cut, rag: 2 of 3 questions had retrieved chunks cut or dropped to fit the model's "
                        "256-token window (rag.top_k 5, chunks of 120 words); lower rag.top_k or rag.chunk_size, "
                        "or use a model with a longer window.")
    assert lines[4] == ("the measured winner is weighed on (no plan: what the suite can measure): accuracy on fresh "
                        "facts, accuracy on trained facts, traceability.")
    # nothing cut: no column, no sentence
    assert "context cut" not in "\n".join(summary_table(records[:1], "em", weights))


def test_default_weights_follow_the_suite_parts():
    from harness.suites import load_suite
    from rightfit.vocabulary import default_weights
    assert set(default_weights(load_suite("gitdocs-en").has)) == {"accuracy_fresh", "accuracy_seen",
                                                                  "traceability", "forgetting"}
    assert set(default_weights(load_suite("shopco-en-tiny").has)) == {
        "accuracy_fresh", "accuracy_seen", "traceability", "forgetting", "style", "privacy"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch
    torch.set_num_threads(1)
    from harness.suites import load_suite
    texts = list(load_suite(MINI).docs.values())
    return make_tiny_llama(tmp_path_factory.mktemp("m") / "tiny", texts, max_positions=96)


def test_a_rag_run_prints_the_cut_questions_and_records_them(tmp_path, tiny):
    """A 96-token window cannot hold three 24-word chunks: every question loses some, and the
    summary, the --json summary and the record all say how many."""
    args = ["run", "--suite", str(MINI), "--candidates", "rag", "--base-model", str(tiny), "--run-id", "r",
            f"runs_dir={tmp_path / 'runs'}", f"cache_dir={tmp_path / 'cache'}", "rag.top_k=3", "rag.chunk_size=24",
            "rag.chunk_overlap=0", "decode.max_new_tokens=8"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "runs" / "r" / "records" / "rag.json").read_text())
    cut = sum(1 for e in record["examples"] if e["part"] == "test" and e["context_truncated"])
    assert cut == 8 and record["metrics"]["test.context_cut"]["value"] == 1.0
    rag_row = next(line for line in result.stdout.splitlines() if line.startswith("rag "))
    assert rag_row.endswith("8/8")
    assert ("context cut, rag: 8 of 8 questions had retrieved chunks cut or dropped to fit the model's 96-token "
            "window (rag.top_k 3, chunks of 24 words); lower rag.top_k or rag.chunk_size, or use a model with "
            "a longer window.") in result.stdout
    header = result.stdout.splitlines()[[i for i, line in enumerate(result.stdout.splitlines())
                                         if line.startswith("candidate")][0]]
    assert "traceability" in header
    again = CliRunner().invoke(main, [*args[:8], "again", *args[9:], "--json"])
    rows = {r["candidate"]: r for r in json.loads(again.stdout.splitlines()[-1])["records"]}
    assert rows["rag"]["context_cut"] == 8 and rows["prompt"]["context_cut"] == 0
    assert rows["rag"]["test.traceability"] is not None


def test_a_suite_without_probes_is_probed_with_the_general_set_and_forgetting_measured(tmp_path, tiny):
    suite = shutil.copytree(MINI, tmp_path / "noprobes")
    shutil.rmtree(suite / "probes")
    card = (suite / "suite.yaml").read_text()
    assert ", probes," in card
    (suite / "suite.yaml").write_text(card.replace(", probes,", ","))
    args = ["run", "--suite", str(suite), "--candidates", "full", "--base-model", str(tiny), "--run-id", "f",
            f"runs_dir={tmp_path / 'runs'}", f"cache_dir={tmp_path / 'cache'}", "train.max_steps=3",
            "train.batch_size=4", "train.lr=1e-2", "train.eval_every=0", "train.checkpoint_every=0",
            "eval.max_questions=40", "decode.max_new_tokens=4", "eval.bootstrap=50"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    full = json.loads((tmp_path / "runs" / "f" / "records" / "full.json").read_text())
    probes = [e for e in full["examples"] if e["part"] == "probes"]
    assert len(probes) == 40 and probes[0]["id"].startswith("gen-en-")
    forgetting = full["metrics"]["forgetting.probes.mc_acc"]
    assert forgetting["value"] is not None and forgetting["n"] == 40 and "paired bootstrap" in forgetting["note"]
    assert full["metrics"]["general.ppl"]["value"] > 1  # the bundled held-out text
    assert json.loads((tmp_path / "runs" / "f" / "run.json").read_text())["priorities"]["forgetting"] > 0
