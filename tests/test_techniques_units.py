"""Distillation loss by hand, user errors before training, generation settings, data order."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import pytest
from tinymodels import make_tiny_llama

pytestmark = pytest.mark.numerics  # make test runs it again with bf16 CPU kernels off

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "fixtures" / "suites" / "mini-en"


# ---------------------------------------------------------------- distillation loss

def test_kd_loss_matches_hand_computed_values():
    import torch

    from harness.modeling.train import IGNORE, kd_loss
    # one answer position (logits[0] predicts labels[1] = 0); position 1 predicts an IGNOREd label
    student = torch.tensor([[[0.0, 0.0], [5.0, -5.0], [0.0, 0.0]]])
    teacher = torch.tensor([[[2 * math.log(3), 0.0], [-9.0, 9.0], [0.0, 0.0]]])
    labels = torch.tensor([[IGNORE, 0, IGNORE]])
    T = 2.0
    # soft targets at T=2: teacher [3/4, 1/4], student [1/2, 1/2]
    kl = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)     # 0.130812
    ce = math.log(2)                                                    # student at T=1, label 0
    assert kd_loss(student, teacher, labels, T, 0.0).item() == pytest.approx(ce, abs=1e-6)
    assert kd_loss(student, teacher, labels, T, 1.0).item() == pytest.approx(T * T * kl, abs=1e-6)
    assert kd_loss(student, teacher, labels, T, 0.5).item() == pytest.approx(0.608198, abs=1e-6)
    assert kd_loss(student, None, labels, T, 0.5).item() == pytest.approx(ce, abs=1e-6)


def test_kd_loss_is_zero_kl_when_student_equals_teacher():
    import torch

    from harness.modeling.train import kd_loss
    logits = torch.randn(2, 5, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 7, (2, 5), generator=torch.Generator().manual_seed(1))
    assert kd_loss(logits, logits, labels, 3.0, 1.0).item() == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- data

def test_pair_examples_mask_the_prompt_and_end_with_eos(tmp_path):
    from tinymodels import make_tiny_tokenizer
    from transformers import AutoTokenizer

    from harness.modeling.train import IGNORE, pair_examples, schedule, text_examples
    tok = AutoTokenizer.from_pretrained(make_tiny_tokenizer(tmp_path / "tok"))
    (ex,) = pair_examples(tok, [{"instruction": "How long?", "input": "", "output": "14 days"}], 64)
    answer = [t for t in ex["labels"] if t != IGNORE]
    assert tok.decode(answer[:-1]) == " 14 days" and answer[-1] == tok.eos_token_id
    assert tok.decode(ex["input_ids"][:len(ex["labels"]) - len(answer)]) == "Question: How long?\nAnswer:"
    (short,) = pair_examples(tok, [{"instruction": "word " * 50, "input": "", "output": "14 days"}], 16)
    assert len(short["input_ids"]) == 16 and [t for t in short["labels"] if t != IGNORE] == answer
    windows = text_examples(tok, ["abc " * 40], 16)
    assert all(len(w["input_ids"]) <= 16 and w["labels"] == w["input_ids"] for w in windows) and len(windows) > 2
    cfg = type("C", (), {"batch_size": 4, "max_steps": -1, "epochs": 2.5})()
    order = schedule(10, cfg, seed=0)
    assert len(order) == 4 * math.ceil(2.5 * 3) and sorted(order[:10]) == list(range(10))
    assert order == schedule(10, cfg, seed=0) and order != schedule(10, cfg, seed=1)


# ---------------------------------------------------------------- user errors

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    import torch
    torch.set_num_threads(1)
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques.protocol import BuildContext
    root = tmp_path_factory.mktemp("units")
    model = make_tiny_llama(root / "model", seed=0)
    cfg = load_config(None, ["train.max_steps=2", "train.batch_size=2", f"cache_dir={root / 'cache'}"])
    ctx = BuildContext(base_model=str(model), suite=load_suite(SUITE), config=cfg, seed=0, out_dir=root / "x")
    return {"root": root, "model": model, "ctx": ctx, "cfg": cfg}


def _error(technique, ctx):
    from harness.cache import build_or_load
    from rightfit.errors import UserError
    with pytest.raises(UserError) as e:
        build_or_load(technique, ctx)
    assert "\n" not in e.value.message
    return e.value.message


def test_vocab_mismatch_is_refused_before_any_training(base):
    other = make_tiny_llama(base["root"] / "other-vocab", ["completely different words only here"], seed=1)
    ctx = dataclasses.replace(base["ctx"], student_model=str(other))
    for mode in ("white", "both"):
        cfg = dataclasses.replace(base["cfg"], distill=dataclasses.replace(base["cfg"].distill, mode=mode))
        message = _error("distill", dataclasses.replace(ctx, config=cfg))
        assert "different vocabularies" in message and str(other) in message and "distill.mode=black" in message
    cache = Path(base["cfg"].cache_dir)
    assert not (cache / "full").exists() and not list(cache.glob("distill/*"))


def test_black_box_distillation_takes_a_student_with_another_tokenizer(base, tmp_path):
    """The teacher's answers pass as text, so a student from another family is fine."""
    from harness.cache import build_or_load
    other = make_tiny_llama(base["root"] / "other-family", ["completely different words only here"], seed=2)
    cfg = dataclasses.replace(base["cfg"], cache_dir=str(tmp_path / "cache"),  # the module's cache stays unbuilt
                              distill=dataclasses.replace(base["cfg"].distill, mode="black"))
    ctx = dataclasses.replace(base["ctx"], config=cfg, student_model=str(other))
    candidate, fields = build_or_load("distill", ctx)
    _, tokenizer = candidate.language_model()
    from harness.modeling.load import read_manifest
    assert read_manifest(Path(fields["artifact"]["path"]))["student_model"] == str(other)
    assert fields["train"]["steps"] == 2
    assert tokenizer.get_vocab() != build_or_load("full", ctx)[0].language_model()[1].get_vocab()


def test_missing_and_wrong_model_paths(base, tmp_path):
    assert "does not exist" in _error("lora", dataclasses.replace(base["ctx"], base_model=str(tmp_path / "nope")))
    assert "does not exist" in _error("prompt", dataclasses.replace(base["ctx"], base_model="./models/nope"))
    assert "beforehand" in _error("full", dataclasses.replace(base["ctx"], base_model="no-such-org/no-such-model"))
    pickled = tmp_path / "bin-only"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}")
    (pickled / "pytorch_model.bin").write_bytes(b"\0")
    assert "safetensors" in _error("lora", dataclasses.replace(base["ctx"], base_model=str(pickled)))
    assert "student" in _error("distill_control", dataclasses.replace(
        base["ctx"], config=dataclasses.replace(base["cfg"], student_model="")))


def test_fine_tuning_without_train_jsonl_is_refused(base):
    ctx = dataclasses.replace(base["ctx"], suite=dataclasses.replace(base["ctx"].suite, train=[]))
    for technique in ("lora", "full", "rag_lora"):
        assert "no train.jsonl" in _error(technique, ctx)


def test_memory_estimate_over_budget_is_refused(base):
    ctx = dataclasses.replace(base["ctx"], config=dataclasses.replace(base["cfg"], max_memory_gb=0.01))
    message = _error("full", ctx)
    assert "needs an estimated" in message and "max_memory_gb is 0.01 GB" in message
    assert not list(Path(base["cfg"].cache_dir).glob("full/*"))


def test_qlora_without_bitsandbytes_is_one_sentence(base, monkeypatch):
    from harness.modeling.load import load_model
    from rightfit.errors import UserError
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import now raises ImportError
    with pytest.raises(UserError, match="needs bitsandbytes"):
        load_model(str(base["model"]), base["cfg"], four_bit=True)


# ---------------------------------------------------------------- generation

def test_decoding_strategies_and_stops(base):
    from harness.config import DecodeConfig
    from harness.modeling.generate import cut_answer, generate
    from harness.modeling.load import load_model, load_tokenizer
    model, tok = load_model(str(base["model"])), load_tokenizer(str(base["model"]))
    prompts = ["Question: How long?\nAnswer:", "Question: What is the capital of France and why?\nAnswer:"]
    greedy = generate(model, tok, prompts, DecodeConfig(max_new_tokens=6, batch_size=2))
    one_by_one = generate(model, tok, prompts, DecodeConfig(max_new_tokens=6, batch_size=1))
    assert [g["text"] for g in greedy] == [g["text"] for g in one_by_one]  # left padding changes nothing
    assert [g["prompt_tokens"] for g in greedy] == [len(tok(p)["input_ids"]) for p in prompts]
    sample = DecodeConfig(strategy="sample", max_new_tokens=6, temperature=1.5)
    assert [g["text"] for g in generate(model, tok, prompts, sample, seed=4)] == \
        [g["text"] for g in generate(model, tok, prompts, sample, seed=4)]
    beam = generate(model, tok, prompts, DecodeConfig(strategy="beam", num_beams=3, max_new_tokens=6))
    assert all(1 <= g["generated_tokens"] <= 6 for g in beam)
    ids = tok(" 14 days\nQuestion", add_special_tokens=False)["input_ids"]
    assert cut_answer(tok, ids) == ("14 days", len(tok(" 14 days\n", add_special_tokens=False)["input_ids"]))
    eos_ids = tok(" 9 years", add_special_tokens=False)["input_ids"] + [tok.eos_token_id, 5, 6]
    assert cut_answer(tok, eos_ids) == ("9 years", len(eos_ids) - 2)
    long = generate(model, tok, ["word " * 600], DecodeConfig(max_new_tokens=8))[0]
    assert long["truncated"] and long["prompt_tokens"] == 512 - 8


def test_an_artifact_being_built_by_a_live_process_is_not_built_twice(base):
    import json
    import socket

    from harness.cache import cache_key
    from harness.techniques import REGISTRY
    from rightfit.files import FileLock
    work = Path(base["cfg"].cache_dir) / "prompt" / f"{cache_key(REGISTRY['prompt'], base['ctx'])}.partial"
    work.mkdir(parents=True)
    live = FileLock(work / ".lock").acquire("is building this artifact", "wait")  # a live builder
    assert "is building this artifact" in _error("prompt", base["ctx"])
    live.release()
    (work / ".lock").write_text(json.dumps({"pid": 2**22 + 7, "host": socket.gethostname()}))  # a dead builder's file
    from harness.cache import build_or_load
    _, fields = build_or_load("prompt", base["ctx"])
    assert fields["artifact"]["cache_hit"] is False and not work.exists()
    assert not (Path(fields["artifact"]["path"]) / ".lock").exists()
