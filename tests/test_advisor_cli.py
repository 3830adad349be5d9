"""`rightfit ask` and `rightfit advise`: scripted answers, JSON, Chinese, the plan file, bad input, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from advisor.plan import PLAN_VERSION, Plan
from advisor.questionnaire import load_questionnaire
from rightfit.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "advisor" / "examples"
SUPPORT = EXAMPLES / "support-bot.yaml"
HEAVY = ("torch", "transformers", "peft", "sentence_transformers")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


# ---------------------------------------------------------------- ask

def test_ask_with_scripted_input_help_reasking_and_defaults(tmp_path):
    out = tmp_path / "answers.yaml"
    n = len(load_questionnaire())
    # question 1 (knowledge_change): help, an invalid answer, then "weekly"; question 2: "y";
    # question 3 (scale): out of range then 1; question 4 (gpu_gb): 0 = no GPU; rest: defaults
    script = ["?", "sometimes", "weekly", "y", "9", "1", "0"] + [""] * (n - 4)
    result = run("ask", "-o", str(out), input="\n".join(script) + "\n")
    assert result.exit_code == 0, result.output
    assert "Prices, policies" in result.output                      # ? printed the help
    assert "got 'sometimes', but it takes one of never, yearly" in result.output
    assert "takes an integer from 1 to 5" in result.output
    assert result.output.count("knowledge_change [") == 3           # asked until valid
    answers = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert list(answers) == list(load_questionnaire())
    assert answers["knowledge_change"] == "weekly" and answers["must_cite"] is True
    assert answers["hallucination_tolerance"] == 1 and answers["gpu_gb"] == 0
    assert answers["model_size_b"] == 7 and answers["time_to_market"] == "weeks"   # defaults kept
    # the file it wrote is a valid answers file for advise
    assert run("advise", str(out)).exit_code == 0


def test_ask_in_chinese(tmp_path):
    n = len(load_questionnaire())
    result = run("ask", "--lang", "zh", "-o", str(tmp_path / "a.yaml"), input="?\n" + "\n" * n)
    assert result.exit_code == 0, result.output
    assert "回答所依赖的知识多久变化一次" in result.output and "价格、政策" in result.output


def test_ask_end_of_input_writes_nothing(tmp_path):
    result = run("ask", "-o", str(tmp_path / "a.yaml"), input="weekly\n")
    assert result.exit_code != 0 and not (tmp_path / "a.yaml").exists()


# ---------------------------------------------------------------- advise

def test_advise_table_on_the_demo_example():
    result = run("advise", str(SUPPORT))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first = lines[lines.index("Ranking") + 2].split()
    assert first[:2] == ["1", "rag_lora"]
    for section in ("Rules that fired", "Caveats and risks", "What would change the top pick", "Resource estimate"):
        assert section in result.output
    assert "fresh-knowledge-rag: Knowledge that changes weekly" in result.output and "[Ovadia 2024]" in result.output
    assert "! leakage:" in result.output


def test_advise_json_parses_and_matches_the_plan_shape(tmp_path):
    plan_path = tmp_path / "plan.yaml"
    result = run("advise", str(SUPPORT), "--json", "-o", str(plan_path), "--model-size", "7", "--gpu-gb", "24")
    assert result.exit_code == 0, result.output
    advice = json.loads(result.output)
    assert advice["ranking"][0]["technique"] == "rag_lora" and advice["what_if"]["options"]
    assert advice["estimate"]["methods"]["lora"]["fits"] is True        # 7B LoRA ≈ 16 GB on 24 GB
    assert advice["estimate"]["methods"]["full"]["fits"] is False
    assert advice["overridden"] == ["model_size_b", "gpu_gb"]
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    assert plan["plan_version"] == PLAN_VERSION and Plan.from_dict(plan, str(plan_path)).to_dict() == plan
    # the flags are answers: a 7B model on a 24 GB GPU, where RAG+LoRA is not reliably better than RAG
    assert plan["answers"]["model_size_b"] == 7 and plan["answers"]["gpu_gb"] == 24
    assert "rag-ft-large-model" in {c["id"] for c in plan["caveats"]}
    assert plan["candidates"] == ["prompt", "rag_lora", "rag", "lora"]
    assert plan["settings"] == {"train.precision": "mixed", "train.gradient_checkpointing": True}
    assert set(plan["ranking"][0]) == {"technique", "score", "rules", "reasons", "fits", "why_not", "fixes", "variant"}
    assert "fresh-knowledge-rag" in plan["ranking"][0]["rules"] and plan["ranking"][0]["fits"] is True
    for lang in ("en", "zh"):  # one sentence per rule, in both languages
        assert len(plan["ranking"][0]["reasons"][lang]) == len(plan["ranking"][0]["rules"])
    assert abs(sum(plan["priorities"].values()) - 1) < 1e-3
    assert {"privacy", "forgetting", "freshness"} <= set(plan["checks"])
    assert {c["id"] for c in plan["caveats"]} >= {"leakage", "forgetting"}
    assert plan["defaults_used"] == []
    assert not list(tmp_path.glob("*.tmp"))


def test_advise_in_chinese():
    result = run("advise", str(SUPPORT), "--lang", "zh")
    assert result.exit_code == 0
    assert "排名" in result.output and "每周变化的知识在训练好的权重中会过时" in result.output
    assert "用私有记录微调的模型" in result.output


def test_missing_answers_take_defaults_and_say_so(tmp_path):
    f = tmp_path / "partial.yaml"
    f.write_text("knowledge_change: daily\ndata: docs_only\n", encoding="utf-8")
    result = run("advise", str(f), "--json")
    advice = json.loads(result.output)
    assert "knowledge_change" not in advice["defaults_used"] and "gpu_gb" in advice["defaults_used"]
    assert advice["answers"]["gpu_gb"] == 24
    text = run("advise", str(f)).output
    assert "Not answered, default used: " in text and "gpu_gb=24" in text


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_bundled_example_advises(name):
    result = run("advise", str(EXAMPLES / name), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["defaults_used"] == []


# ---------------------------------------------------------------- bad input: one sentence, exit 2

@pytest.mark.parametrize("text,expected", [
    ("colour: blue\n", ["bad.yaml:1", "unknown question id 'colour'", "knowledge_change, must_cite"]),
    ("model_size_b: big\n", ["bad.yaml:1", "'model_size_b'", "a number from 0.001 to 2000"]),
    ("must_cite: maybe\n", ["'must_cite'", "yes or no"]),
    ("style_need: 7\n", ["'style_need'", "got 7", "an integer from 1 to 5"]),
    ("gpu_gb: 0\ndata: everything\n", ["bad.yaml:2", "'data'", "one of none, docs_only, few_pairs, pairs, many_pairs, corpus"]),
    ("gpu_count: 1.5\n", ["'gpu_count'", "a whole number from 1 to 4096"]),
    ("gpu: none\n", ["bad.yaml:1", "question 'gpu' is now two numbers", "gpu_gb", "gpu_count"]),
    ("latency_ms: -5\n", ["'latency_ms'", "from 1 to 600000"]),
    ("gpu_gb: [0\n", ["bad.yaml:2", "malformed YAML"]),
    ("", ["bad.yaml", "the file is empty", "rightfit ask"]),
    ("- gpu_gb\n", ["expected a mapping"]),
])
def test_bad_answers_file_is_one_sentence_and_exit_2(tmp_path, text, expected):
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    result = run("advise", str(f))
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith("rightfit: error:") and len(message.splitlines()) == 1, message
    assert "Traceback" not in result.output
    for part in expected:
        assert part in message, (part, message)


def test_missing_file_and_bad_options_exit_2(tmp_path):
    assert run("advise", str(tmp_path / "nope.yaml")).exit_code == 2
    assert run("advise", str(SUPPORT), "--model-size", "-1").exit_code == 2
    assert run("advise", str(SUPPORT), "--lang", "fr").exit_code == 2


# ---------------------------------------------------------------- start-up: no heavy imports

def test_advise_console_script_imports_no_heavy_module(tmp_path):
    """The real entry point, cold: Python's import log (-X importtime) must not name a heavy module."""
    exe = Path(sys.executable).parent / "rightfit"
    plan = tmp_path / "plan.yaml"
    out = subprocess.run([str(exe), "advise", str(SUPPORT), "--json", "-o", str(plan)], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines()
                if line.startswith("import time:")}
    assert "yaml" in imported and "advisor" in imported     # the log is really there
    assert not imported & set(HEAVY), imported & set(HEAVY)
    assert json.loads(out.stdout)["candidates"][0] == "prompt" and plan.exists()
