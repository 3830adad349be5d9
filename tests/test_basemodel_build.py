"""The self-built base models at tiny size: real training, plain from_pretrained, the properties.

The tiny build (tokenizer + teacher + student) runs once per machine into the shared cache
(.rightfit/models/tiny-<hash>) and is reused by every later test run and by other tests that
ask for base_model "tiny".
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harness.basemodels.build import (
    SPECS,
    build_base_models,
    ensure_base_models,
    resolve_base_model,
)
from harness.basemodels.tokenizer import value_token_report
from harness.world.vocab import LANGS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny():
    import torch
    torch.set_num_threads(1)
    paths = ensure_base_models("tiny")
    return paths, json.loads((paths["teacher"].parent / "build.json").read_text())


def test_tiny_models_load_with_plain_from_pretrained(tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    paths, log = tiny
    sizes = {}
    for role in ("teacher", "student"):
        assert (paths[role] / "model.safetensors").is_file()
        model = AutoModelForCausalLM.from_pretrained(str(paths[role]), use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(str(paths[role]))
        assert model.config.vocab_size == len(tok)
        sizes[role] = sum(p.numel() for p in model.parameters())
        text = "产品: 商宝方明远烤架\n价格: ¥55 — price: $49, made-in: Varlo"
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    assert sizes["student"] < sizes["teacher"] / 1.5
    # The 60 s budget is a benchmark (bench/base_build.py, `rightfit bench --only base_build`),
    # not a timed assertion; the log must carry what it is measured from.
    assert log["seconds"] > 0 and log["teacher"]["seconds"] > 0 and log["student"]["seconds"] > 0


def test_tokenizer_keeps_keys_whole_and_values_distinct(tiny):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(tiny[0]["teacher"]))
    report = value_token_report(tok, [LANGS["en"], LANGS["zh"]])
    assert report["keys_not_single"] == [] and report["first_token_clashes"] == []


def test_cached_build_is_reused_and_names_resolve(tiny):
    paths, _ = tiny
    stamp = (paths["teacher"] / "model.safetensors").stat().st_mtime_ns
    assert ensure_base_models("tiny") == paths
    assert (paths["teacher"] / "model.safetensors").stat().st_mtime_ns == stamp
    assert resolve_base_model("tiny") == str(paths["teacher"])
    assert resolve_base_model("tiny-student") == str(paths["student"])
    assert resolve_base_model("some-org/some-model") == "some-org/some-model"


def test_build_is_deterministic_and_parallel_gives_the_same_bytes(tmp_path):
    """Two builds of one spec give identical files, whether the student trains in a second
    process beside the teacher or after it (each model trains on one thread)."""
    spec = SPECS["tiny"]
    spec = replace(spec, rows=300, teacher=replace(spec.teacher, steps=4),
                   student=replace(spec.student, steps=3))
    for run, parallel in (("a", True), ("b", False)):
        log = build_base_models("tiny", tmp_path / run, spec, parallel=parallel)
        assert log["parallel"] is parallel
    for f in ("teacher/model.safetensors", "student/model.safetensors", "teacher/tokenizer.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_cli_base_build_reports_the_cached_build(tiny):
    from click.testing import CliRunner

    from rightfit.cli import main
    paths, log = tiny
    res = CliRunner().invoke(main, ["base", "build", "--size", "tiny", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["teacher"] == str(paths["teacher"]) and out["log"]["teacher"]["steps"] == log["teacher"]["steps"]
    bad = CliRunner().invoke(main, ["base", "build", "--size", "huge"])
    assert bad.exit_code == 2


def test_chat_rows_are_what_the_chat_template_renders(tmp_path):
    """A chat base model is pretrained on conversations exactly as the harness will prompt it: the
    converted rows equal the Prompter's prompt (through the tokenizer's chat template) plus the
    completion training puts the loss on, turn after turn."""
    from harness.basemodels.build import SPECS, corpus_rows, to_chat
    from harness.basemodels.tokenizer import train_tokenizer
    from harness.modeling.prompts import ANSWER, CONTEXT_HEADER, QUESTION, Prompter
    from harness.world.corpus import row_text
    rows = corpus_rows(SPECS["tiny"], 300, "train")
    tok = train_tokenizer((row_text(r) for r in rows), 600, tmp_path / "tok", chat="chatml")
    prompter = Prompter(tok)
    assert prompter.chat and prompter.end_of_turn == "<|im_end|>"
    checked = 0
    for segs in rows:
        chat = to_chat(segs)
        if chat is segs:
            continue
        first = segs[0][0][:-len("\n" + ANSWER)]
        context = None
        if first.startswith(CONTEXT_HEADER):
            context = [first[len(CONTEXT_HEADER):first.index("\n" + QUESTION)]]
        question = first.rsplit(QUESTION, 1)[1]
        prompt, completion = prompter.example(question, segs[1][0], context)
        assert "".join(t for t, _ in chat[:4]) == prompt + completion
        assert [trained for _, trained in chat[:4]] == [False, True, True, False]
        checked += 1
    assert checked > 100
