"""Every registered technique on a tiny suite with tiny models, for real, on a model with a chat
template (as every instruct model has) and on one without.

build -> answer -> reload from disk with plain from_pretrained / PeftModel.from_pretrained and
prompt with the tokenizer's own apply_chat_template gives the same answers -> training loss went
down. A new technique is tested by being registered.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from tinymodels import make_tiny_pair

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "fixtures" / "suites" / "mini-en"
ADAPTERS = {"lora": False, "qlora": True, "rag_lora": False}   # technique -> 4-bit base
RETRIEVES = {"rag", "rag_lora"}

from harness.techniques import REGISTRY  # noqa: E402  (cheap: no torch at import)

pytestmark = pytest.mark.numerics  # make test runs it again with bf16 CPU kernels off


def _world(tmp_path_factory, chat: str | None) -> dict:
    import torch
    torch.set_num_threads(1)
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques.protocol import BuildContext
    suite = load_suite(SUITE)
    texts = list(suite.docs.values()) + [f"Question: {p['instruction']}\nAnswer: {p['output']}" for p in suite.train]
    root = tmp_path_factory.mktemp(f"matrix-{chat or 'plain'}")
    teacher, student = make_tiny_pair(root / "models", texts, chat=chat)
    cfg = load_config(None, ["train.max_steps=10", "train.batch_size=4", "train.lr=2e-3", "train.lora_lr=1e-2",
                             "train.eval_every=5", "train.checkpoint_every=0", f"cache_dir={root / 'cache'}",
                             f"student_model={student}", "decode.max_new_tokens=8", "rag.chunk_size=24",
                             "rag.chunk_overlap=8"])
    ctx = BuildContext(base_model=str(teacher), suite=suite, config=cfg, seed=0, out_dir=root / "unused")
    return {"ctx": ctx, "suite": suite, "cfg": cfg, "teacher": teacher, "student": student, "built": {}, "chat": chat}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A plain tiny teacher and student (no chat template)."""
    return _world(tmp_path_factory, None)


@pytest.fixture(scope="module")
def chat_world(tmp_path_factory):
    """The same with a ChatML chat template in the tokenizer, as an instruct model has."""
    return _world(tmp_path_factory, "chatml")


def built(world, technique):
    """Build once per module (distill reuses the cached `full` teacher)."""
    from harness.cache import build_or_load
    if technique not in world["built"]:
        start = time.perf_counter()
        candidate, fields = build_or_load(technique, world["ctx"])
        world["built"][technique] = (candidate, fields, time.perf_counter() - start)
    return world["built"][technique]


def plain_reload(technique: str, artifact: Path, world):
    """(model, tokenizer) read back with nothing but transformers / peft."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
    base = world["student"] if technique == "distill_control" else world["teacher"]
    if (artifact / "model").is_dir():
        path = artifact / "model"
        return AutoModelForCausalLM.from_pretrained(path, use_safetensors=True).eval(), AutoTokenizer.from_pretrained(path)
    kw = {}
    if ADAPTERS.get(technique):
        kw = {"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                        bnb_4bit_use_double_quant=True,
                                                        bnb_4bit_compute_dtype=torch.float32), "device_map": "cpu"}
    model = AutoModelForCausalLM.from_pretrained(base, use_safetensors=True, **kw)
    for module in model.modules():  # bitsandbytes' generic 4-bit path, as rightfit runs it on any CPU
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    if technique in ADAPTERS:
        model = PeftModel.from_pretrained(model, artifact / "adapter")
    return model.eval(), AutoTokenizer.from_pretrained(base)


def plain_prompts(technique: str, artifact: Path, tokenizer, questions, cfg, window: int):
    """The prompts written by hand: "Question: q" as the user's turn through the tokenizer's own
    apply_chat_template, or "Question: q\nAnswer:" without a template; RAG through fit_context."""
    from harness.modeling.prompts import Prompter, fit_context
    from harness.retrieval.retriever import Retriever
    if technique not in RETRIEVES:
        if tokenizer.chat_template:
            return [tokenizer.apply_chat_template([{"role": "user", "content": f"Question: {q}"}], tokenize=False,
                                                  add_generation_prompt=True) for q in questions], \
                [[] for _ in questions]
        return [f"Question: {q}\nAnswer:" for q in questions], [[] for _ in questions]
    index = Retriever.load(artifact / "index")
    out = [fit_context(Prompter(tokenizer), q, index.search(q, cfg.rag.top_k), window, cfg.decode.max_new_tokens)
           for q in questions]
    return [p for p, _, _ in out], [ids for _, ids, _ in out]


def test_registry_names_are_the_config_names():
    import dataclasses

    from harness.config import RunConfig
    choices = next(f for f in dataclasses.fields(RunConfig) if f.name == "candidates").metadata["choices"]
    assert list(REGISTRY) == choices
    assert {t.name for t in REGISTRY.values() if t.trains} == {"lora", "qlora", "full", "distill", "distill_control",
                                                               "rag_lora"}


@pytest.mark.slow
@pytest.mark.parametrize("technique", list(REGISTRY))
@pytest.mark.parametrize("fmt", ["plain", "chat"])
def test_build_answer_reload_and_learn(world, chat_world, fmt, technique):
    from harness.modeling.generate import generate
    from harness.modeling.load import context_window
    world = chat_world if fmt == "chat" else world
    candidate, fields, _ = built(world, technique)
    suite, cfg = world["suite"], world["cfg"]
    questions = [q["question"] for q in suite.test[:4]]
    answers = candidate.answer(questions, cfg.decode)

    assert [set(a) >= {"text", "sources", "prompt_tokens", "generated_tokens", "seconds", "retrieval_seconds",
                       "prompt"} for a in answers] == [True] * 4
    assert all(1 <= a["generated_tokens"] <= cfg.decode.max_new_tokens and a["prompt_tokens"] > 5 for a in answers)
    if fmt == "plain":  # one line, up to the newline; a chat answer is its whole turn
        assert all("\n" not in a["text"] for a in answers)
    else:
        assert all(a["prompt"].startswith("<|im_start|>user\n") and a["prompt"].endswith("<|im_start|>assistant\n")
                   for a in answers)
    if technique in RETRIEVES:
        assert all(a["sources"] and set(a["sources"]) <= set(suite.docs) for a in answers)
        assert all(a["retrieval_seconds"] > 0 for a in answers)
    else:
        assert all(a["sources"] == [] and a["retrieval_seconds"] == 0 for a in answers)

    # The artifact on disk alone reproduces the answers.
    artifact = Path(fields["artifact"]["path"])
    model, tokenizer = plain_reload(technique, artifact, world)
    prompts, sources = plain_prompts(technique, artifact, tokenizer, questions, cfg, context_window(model, tokenizer))
    assert prompts == [a["prompt"] for a in answers]  # the record keeps exactly what the model read
    again = generate(model, tokenizer, prompts, cfg.decode)
    assert [g["text"] for g in again] == [a["text"] for a in answers]
    assert sources == [a["sources"] for a in answers] or technique not in RETRIEVES

    info, log = fields["artifact"], fields["train"]
    assert info["cache_hit"] is False and info["size_bytes"] > 0 and info["total_params"] > 0
    if REGISTRY[technique].trains:
        losses = [loss for _, loss in log["train_loss"]]
        assert len(losses) == log["steps"] == 10
        assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.05, losses
        assert 0 < info["trainable_params"] <= info["total_params"]
        assert [s for s, _ in log["eval_loss"]] == [5, 10]
    else:
        assert info["trainable_params"] == 0 and log.get("train_loss") is None


@pytest.mark.slow
def test_second_build_is_a_cache_hit_and_force_rebuilds(world):
    from harness.cache import build_or_load
    _, first, _ = built(world, "full")
    _, second = build_or_load("full", world["ctx"])  # how much faster a hit is: bench/rerun.py
    assert second["artifact"]["cache_hit"] is True and second["artifact"]["key"] == first["artifact"]["key"]
    assert second["train"] == first["train"]
    assert second["artifact"]["path"] == first["artifact"]["path"]
    _, forced = build_or_load("full", dataclasses.replace(world["ctx"], force=True))
    assert forced["artifact"]["cache_hit"] is False and forced["train"]["train_loss"] == first["train"]["train_loss"]


@pytest.mark.slow
def test_cache_key_changes_with_config_seed_and_suite_version(world):
    from harness.cache import cache_key
    from harness.config import load_config
    ctx, lora = world["ctx"], REGISTRY["lora"]
    key = cache_key(lora, ctx)
    other_cfg = dataclasses.replace(world["cfg"], lora=dataclasses.replace(world["cfg"].lora, r=4))
    assert cache_key(lora, dataclasses.replace(ctx, config=other_cfg)) != key
    assert cache_key(lora, dataclasses.replace(ctx, seed=1)) != key
    assert cache_key(lora, dataclasses.replace(ctx, suite=dataclasses.replace(ctx.suite, version="9"))) != key
    # decoding settings are not part of a build
    decode_cfg = dataclasses.replace(world["cfg"], decode=load_config(None, ["decode.max_new_tokens=3"]).decode)
    assert cache_key(lora, dataclasses.replace(ctx, config=decode_cfg)) == key
    assert cache_key(REGISTRY["prompt"], dataclasses.replace(ctx, seed=7)) == cache_key(REGISTRY["prompt"], ctx)
    # a learning rate only rebuilds the techniques that train at it
    for field, uses, ignores in (("lr", ["full", "distill", "distill_control"], ["lora", "qlora", "rag_lora"]),
                                 ("lora_lr", ["lora", "qlora", "rag_lora"], ["full", "distill", "distill_control"])):
        lr_cfg = dataclasses.replace(world["cfg"], train=dataclasses.replace(world["cfg"].train, **{field: 0.5}))
        changed = {t for t in uses + ignores
                   if cache_key(REGISTRY[t], dataclasses.replace(ctx, config=lr_cfg)) != cache_key(REGISTRY[t], ctx)}
        assert changed == set(uses), field


@pytest.mark.slow
def test_with_docs_reindexes_rag_and_keeps_finetuned(world):
    rag, _, _ = built(world, "rag")
    full, _, _ = built(world, "full")
    assert full.with_docs({"x": "new"}) is full
    new = rag.with_docs({"fresh": "Lumen now ships to Mars for 99 euros."})
    assert new is not rag
    (answer,) = new.answer(["How much is shipping to Mars?"], world["cfg"].decode)
    assert answer["sources"] == ["fresh"]


@pytest.mark.slow
def test_black_box_distillation_trains_on_the_teachers_answers(world):
    from harness.cache import build_or_load
    from harness.modeling.prompts import pair_question
    from harness.techniques.distill import teacher_answers
    teacher, _, _ = built(world, "full")
    _, control, _ = built(world, "distill_control")
    cfg = world["cfg"]
    black_cfg = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, mode="black"))
    _, fields = build_or_load("distill", dataclasses.replace(world["ctx"], config=black_cfg))
    pairs = teacher_answers(teacher, world["suite"].train[:3], cfg.decode)
    longest = max(len(teacher.language_model()[1](p["output"], add_special_tokens=False)["input_ids"])
                  for p in world["suite"].train[:3])
    greedy = dataclasses.replace(cfg.decode, max_new_tokens=longest + 8)
    assert [p["output"] for p in pairs] == [a["text"] for a in teacher.answer(
        [pair_question(p) for p in world["suite"].train[:3]], greedy)]
    assert any(p["output"] != gold["output"] for p, gold in zip(pairs, world["suite"].train))
    losses = [loss for _, loss in fields["train"]["train_loss"]]
    assert sum(losses[-3:]) < sum(losses[:3])
    assert losses[0] != control["train"]["train_loss"][0][1]   # other targets than the gold answers


@pytest.mark.slow
def test_both_mode_adds_the_teachers_soft_targets_to_black_box(world):
    """mode=both (Kim & Rush 2016: word-level KD on the teacher's own answers): with alpha 0 it
    is black-box exactly; with alpha > 0 the teacher's logits change what the student learns."""
    from harness.cache import build_or_load
    from harness.modeling.load import load_model
    built(world, "full")
    cfg = world["cfg"]

    def build(mode, alpha):
        c = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, mode=mode, alpha=alpha))
        _, fields = build_or_load("distill", dataclasses.replace(world["ctx"], config=c))
        return fields, load_model(str(Path(fields["artifact"]["path"]) / "model")).state_dict()

    black, black_w = build("black", 0.5)
    both0, both0_w = build("both", 0.0)
    both, both_w = build("both", 0.5)
    assert black["train"]["train_loss"] == both0["train"]["train_loss"]
    assert all(bool((black_w[k] == both0_w[k]).all()) for k in black_w)
    assert both["train"]["train_loss"][0][1] != black["train"]["train_loss"][0][1]
    assert max(float((both_w[k] - black_w[k]).abs().max()) for k in black_w) > 1e-4

def test_training_data_pairs_docs_both(world):
    from harness.modeling.load import load_tokenizer
    from harness.modeling.train import IGNORE
    from harness.techniques.finetune import training_data
    tok, cfg = load_tokenizer(str(world["teacher"])), world["cfg"]

    def data(kind):
        ctx = dataclasses.replace(world["ctx"], config=dataclasses.replace(
            cfg, train=dataclasses.replace(cfg.train, data=kind)))
        return training_data(ctx, tok)
    pairs, heldout = data("pairs")
    docs, _ = data("docs")
    both, _ = data("both")
    assert len(pairs) == len(world["suite"].train) and all(IGNORE in e["labels"] for e in pairs)
    assert docs and all(e["labels"] == e["input_ids"] for e in docs)
    assert len(both) == len(pairs) + len(docs)
    assert heldout and all(e["labels"] == e["input_ids"] for e in heldout)  # the suite's heldout.txt


@pytest.mark.slow
def test_a_cached_artifact_loads_its_model_only_when_used(world, monkeypatch):
    from harness.cache import build_or_load
    built(world, "full")
    calls = []
    monkeypatch.setattr(REGISTRY["full"], "load", lambda folder, ctx: calls.append(folder) or pytest.fail("loaded"),
                        raising=False)
    candidate, fields = build_or_load("full", world["ctx"])
    assert fields["artifact"]["cache_hit"] and calls == [] and candidate.name == "full"
    with pytest.raises(pytest.fail.Exception):
        candidate.language_model()
    assert calls == [Path(fields["artifact"]["path"])]


@pytest.mark.parametrize("technique", ["lora", "rag_lora"])
def test_adapter_build_does_not_depend_on_the_processes_rng_state(world, technique, tmp_path):
    """A rebuild gives the same adapter bytes whatever the process drew from torch's generator
    before (LoRA's A matrices are drawn when the adapter is created; torch seeds its default
    generator randomly per process, and a run builds candidates after other work)."""
    import torch

    from harness.cache import build_or_load
    files = []
    for i, state in enumerate((11, 12)):
        torch.manual_seed(state)
        torch.rand(7)
        ctx = dataclasses.replace(world["ctx"], config=dataclasses.replace(world["cfg"], cache_dir=str(tmp_path / str(i))))
        _, fields = build_or_load(technique, ctx)
        files.append((Path(fields["artifact"]["path"]) / "adapter" / "adapter_model.safetensors").read_bytes())
    assert files[0] == files[1]
