"""lm-evaluation-harness (the pinned version) on the exported tiny suite agrees with rightfit,
question by question, and its samples come back into the run as a candidate.

rightfit builds full fine-tuning and LoRA of the committed default base (a 1.15M-parameter Llama
with a ChatML template) on shopco-en-tiny; lm-eval then evaluates the same weights
(``pretrained=`` the full model, ``pretrained=`` base ``,peft=`` the adapter) on the task
`rightfit suites export --lm-eval --model BASE` wrote, offline, without --apply_chat_template: the
exported prompts already are the chat-template text rightfit renders for that model. The two
should not differ anywhere: the prompt is the same string, tokenised the same way (this tokenizer
adds no BOS either way), greedy decoding picks the same tokens, and the answer is cut at the end
of turn and scored by the same code. What differs is only the batching (lm-eval one question at a
time, rightfit 16 left-padded with an attention mask), which could only flip an exact tie between
two tokens' logits; none occurs here, so every answer text and every exact match must be equal.
The full fine-tune answers about half the questions right, so agreement on both outcomes is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rightfit.cli import main

pytestmark = pytest.mark.slow
TASK = "rightfit_shopco_en_tiny"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmeval")
    run = CliRunner().invoke(main, ["run", "--suite", "shopco-en-tiny", "--base-model", "default", "--candidates",
                                    "full,lora", "--run-id", "x", f"runs_dir={root / 'runs'}",
                                    f"cache_dir={root / 'cache'}"])
    assert run.exit_code == 0, run.output + run.stderr
    records = {c: json.loads((root / "runs" / "x" / "records" / f"{c}.json").read_text())
               for c in ("prompt", "full", "lora")}
    export = CliRunner().invoke(main, ["suites", "export", "shopco-en-tiny", "--lm-eval", str(root / "tasks"),
                                       "--model", records["full"]["base_model"]])
    assert export.exit_code == 0, export.output + export.stderr
    return {"root": root, "run": root / "runs" / "x", "records": records}


def lm_eval(world, name: str, model_args: str) -> tuple[list[dict], dict]:
    """(samples, results) of `lm-eval run` on the exported task, as a user runs it, offline."""
    out = world["root"] / f"out-{name}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args", model_args,
           "--include_path", str(world["root"] / "tasks"), "--tasks", TASK, "--log_samples",
           "--output_path", str(out), "--batch_size", "1", "--device", "cpu"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (samples,) = out.rglob(f"samples_{TASK}_*.jsonl")
    (results,) = out.rglob("results_*.json")
    return [json.loads(line) for line in samples.read_text().splitlines()], json.loads(results.read_text())


def artifact(record: dict, sub: str) -> str:
    return str(Path(record["artifact"]["path"]) / sub)


@pytest.mark.parametrize("name", ["full", "lora"])
def test_lm_eval_exact_match_equals_rightfits_question_by_question(world, name):
    record = world["records"][name]
    args = (f"pretrained={artifact(record, 'model')}" if name == "full"
            else f"pretrained={record['base_model']},peft={artifact(record, 'adapter')}")
    samples, results = lm_eval(world, name, args)
    ours = {e["id"]: e for e in record["examples"] if e["part"] == "test"}
    assert sorted(s["doc"]["id"] for s in samples) == sorted(ours) and len(ours) == 72
    for s in samples:
        e = ours[s["doc"]["id"]]
        assert s["filtered_resps"][0] == e["answer"], (e["id"], s["resps"], e["answer"])
        assert s["exact_match"] == e["scores"]["em"], e["id"]
    em = [e["scores"]["em"] for e in ours.values()]
    assert results["results"][TASK]["exact_match,rightfit"] == pytest.approx(sum(em) / len(em), abs=1e-12)
    if name == "full":  # trained on the seen facts: both outcomes occur, so agreement is not vacuous
        assert 10 <= sum(em) <= 62
    world[f"samples-{name}"] = world["root"] / f"out-{name}"


def test_lm_eval_samples_join_the_run_as_a_candidate(world):
    if "samples-full" not in world:
        pytest.fail("the full fine-tune's lm-eval samples were not written (see the test before)")
    done = CliRunner().invoke(main, ["suites", "import", str(world["run"]), "--lm-eval", str(world["samples-full"]),
                                     "--name", "full-via-lm-eval"])
    assert done.exit_code == 0, done.output + done.stderr
    assert "lm-eval's exact_match equals rightfit's on 72 of 72 questions" in done.output
    mine = json.loads((world["run"] / "records" / "full-via-lm-eval.json").read_text())
    full = json.loads((world["run"] / "records" / "full.json").read_text())
    assert mine["metrics"]["test.em"]["value"] == full["metrics"]["test.em"]["value"]
    assert mine["metrics"]["test.style"]["value"] == full["metrics"]["test.style"]["value"]
    assert mine["metrics"]["test.em"]["ci_low"] == full["metrics"]["test.em"]["ci_low"]
    pair = mine["comparisons"]["test.em"]["full"]
    assert (pair["diff"], pair["n"], pair["better"]) == (0.0, 72, None)
    assert full["comparisons"]["test.em"]["full-via-lm-eval"]["n"] == 72
    assert mine["comparisons"]["test.em"]["prompt"]["better"] == "full-via-lm-eval"
    # the run's own pairs are unchanged by the import
    assert full["comparisons"]["test.em"]["prompt"] == world["records"]["full"]["comparisons"]["test.em"]["prompt"]
    # lm-eval read the very prompt rightfit rendered in the model's chat template
    theirs = {e["id"]: e["prompt"] for e in full["examples"] if e["part"] == "test"}
    assert mine["examples"][0]["prompt"].startswith("<|im_start|>user\n")
    assert all(e["prompt"] == theirs[e["id"]] for e in mine["examples"] if e["part"] == "test")
    report = CliRunner().invoke(main, ["report", str(world["run"]), "-o", str(world["root"] / "r.html")])
    assert report.exit_code == 0, report.output + report.stderr
    assert "full-via-lm-eval" in (world["root"] / "r.html").read_text()
