"""Memory: the estimate is computed from what the harness will run, the guard refuses before
anything loads and names a setting that fits, and every record carries estimate and measurement
per phase. The estimate against measured peaks at three model sizes is bench/memory.py."""

from __future__ import annotations

import dataclasses

import pytest

from advisor.estimate import Batch, Shape, memory
from harness.modeling.precision import bf16_kernels

pytestmark = pytest.mark.numerics  # which modes run depends on the CPU's bf16 kernels


def _model(family: str, dtype):
    """A 4-layer model with distinct hidden, key/value and MLP widths (grouped-query attention)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    config = AutoConfig.for_model(family, vocab_size=512, hidden_size=128, intermediate_size=352,
                                  num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                                  tie_word_embeddings=False)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).to(dtype), config


def _saved_per_token(model, autocast: bool) -> float:
    """Bytes autograd saves per extra token: the difference between a (2, 128) and a (1, 128)
    batch, so what does not grow with tokens (autocast's weight copies) cancels."""
    import torch
    out = []
    for rows in (1, 2):
        ids = torch.randint(3, 500, (rows, 128))
        keep = torch.zeros_like(ids, dtype=torch.bool)
        keep[:, 100:116] = True
        seen: dict[int, int] = {}

        def pack(t):
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                model(input_ids=ids, attention_mask=torch.ones_like(ids), logits_to_keep=keep)
        params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        out.append(sum(v for k, v in seen.items() if k not in params))
    return (out[1] - out[0]) / 128


MODES = [  # (label, what trains, base dtype, autocast, adapters in fp32, LAYER_BYTES key)
    ("full fp32", "full", "float32", False, None, ("full", "fp32")),
    ("full mixed", "full", "float32", True, None, ("full", "mixed")),
    ("full bf16", "full", "bfloat16", False, None, ("full", "bf16")),
    ("lora fp32", "lora", "float32", False, True, ("adapter", "fp32", 4)),
    ("lora bf16 base, fp32 adapters", "lora", "bfloat16", False, True, ("adapter", "fp32", 2)),
    ("lora mixed", "lora", "bfloat16", True, True, ("adapter", "mixed", 2)),
    ("lora bf16", "lora", "bfloat16", False, False, ("adapter", "bf16", 2)),
]


@pytest.mark.parametrize("family", ["llama", "qwen2"])
@pytest.mark.parametrize("label, trains, dtype, autocast, adapters32, key", MODES, ids=[m[0] for m in MODES])
def test_layer_bytes_are_what_autograd_saves(family, label, trains, dtype, autocast, adapters32, key):
    """The estimate's per-layer activation bytes (LAYER_BYTES) against what autograd really saves
    per token for a Llama and a Qwen2 (biases, grouped-query attention), within 12 % (the final
    norm and the embedding's output are outside the layers)."""
    import torch
    if (dtype == "bfloat16" or autocast) and not bf16_kernels():
        pytest.skip("this CPU computes no bf16; the AVX512-bf16 pass of make test runs it")
    model, config = _model(family, getattr(torch, dtype))
    if trains == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=8, target_modules="all-linear", task_type="CAUSAL_LM"),
                               autocast_adapter_dtype=adapters32)
    model.train()
    measured = _saved_per_token(model, autocast) / config.num_hidden_layers
    shape = Shape.from_config(config.to_dict(), sum(p.numel() for p in model.parameters()))
    assert measured == pytest.approx(shape.layer_bytes(key), rel=0.12), (label, measured, shape.layer_bytes(key))


def test_the_largest_batch_is_the_widest_step_training_takes():
    """largest_batches reads the examples in the trainer's order and pads each step as collate does."""
    from types import SimpleNamespace

    from harness.modeling.memory import largest_batches
    from harness.modeling.train import IGNORE, collate, schedule
    examples = [{"input_ids": [1] * n, "labels": [IGNORE] * (n // 2) + [1] * (n - n // 2)}
                for n in (5, 40, 7, 12, 90, 3, 33, 8)]
    train = SimpleNamespace(batch_size=3, max_steps=0, epochs=2.0)
    batches = largest_batches(examples, train, seed=4)
    order = schedule(len(examples), train, 4)
    widths = {collate(0)([examples[i] for i in order[s:s + 3]])["input_ids"].shape for s in range(0, len(order), 3)}
    assert {(b.rows, b.width) for b in batches} == set(widths)
    widest = max(batches, key=lambda b: b.tokens)
    assert widest.width == 90 and widest.loss_tokens > 45 - 1


def test_memory_grows_as_the_settings_say():
    """Each setting moves the estimate the way the bytes say: pure bf16 halves full fine-tuning's
    states; checkpointing keeps one layer's activations; LoRA's frozen base costs its dtype; the
    CPU adds what its allocator keeps, a GPU nothing."""
    shape = Shape.from_params(1e9)
    batch = Batch(4, 1024, 1024)
    mixed = memory(shape, "full", batch, precision="mixed", device="cuda")
    bf16 = memory(shape, "full", batch, precision="bf16", device="cuda")
    assert (mixed["weights"] + mixed["gradients"] + mixed["optimizer"]) == pytest.approx(16e9, rel=1e-9)
    assert (bf16["weights"] + bf16["gradients"] + bf16["optimizer"]) == pytest.approx(8e9, rel=1e-9)
    ckpt = memory(shape, "full", batch, precision="mixed", checkpointing=True, device="cuda")
    assert ckpt["activations"] < mixed["activations"] / 3
    lora_bf16 = memory(shape, "lora", batch, precision="mixed", base_bytes=2, device="cuda")
    lora_fp32 = memory(shape, "lora", batch, precision="fp32", base_bytes=4, device="cuda")
    assert lora_fp32["weights"] - lora_bf16["weights"] == pytest.approx(2e9, rel=0.01)
    assert memory(shape, "lora", batch, device="cpu")["allocator"] > 0 == mixed["allocator"]
    converted = memory(shape, "full", batch, precision="fp32", file_bytes=2, device="cuda")
    assert converted["loading"] == pytest.approx(6e9, rel=1e-9)   # the bf16 file beside fp32 weights


# ---------------------------------------------------------------- the guard and the record

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tinymodels import make_tiny_llama
    return make_tiny_llama(tmp_path_factory.mktemp("mem") / "m", seed=0)


def _ctx(tiny, tmp_path, *overrides):
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques.protocol import BuildContext
    cfg = load_config(None, ["train.max_steps=2", "train.batch_size=4", "train.eval_every=0",
                             f"cache_dir={tmp_path / 'c'}", *overrides])
    return BuildContext(base_model=str(tiny), suite=load_suite("shopco-en-tiny"), config=cfg, seed=0,
                        out_dir=tmp_path / "c")


def test_the_guard_refuses_before_loading_and_names_a_setting_that_fits(tiny, tmp_path):
    from harness.cache import check_memory
    from harness.techniques import REGISTRY
    from rightfit.errors import UserError
    full = REGISTRY["full"]
    ctx = _ctx(tiny, tmp_path)
    need = check_memory(full, ctx)["build"]["total_gb"]
    halved = check_memory(full, dataclasses.replace(ctx, config=dataclasses.replace(
        ctx.config, train=dataclasses.replace(ctx.config.train, batch_size=2))))["build"]["total_gb"]
    assert halved < need
    budget = round((need + halved) / 2, 4)
    over = dataclasses.replace(ctx, config=dataclasses.replace(ctx.config, max_memory_gb=budget))
    with pytest.raises(UserError) as e:
        check_memory(full, over)
    message = e.value.message
    assert f"needs an estimated {need:g} GB for training" in message and "train.batch_size=2" in message
    assert not (tmp_path / "c").exists()  # refused before anything was built or written
    fixed = dataclasses.replace(over, config=dataclasses.replace(
        over.config, train=dataclasses.replace(over.config.train, batch_size=2)))
    assert check_memory(full, fixed)["build"]["total_gb"] <= budget  # the named setting does fit


def test_the_alternatives_follow_what_a_technique_holds(tiny, tmp_path):
    from harness.cache import _alternatives
    from harness.modeling.precision import bf16_kernels
    from harness.techniques import REGISTRY
    ctx = _ctx(tiny, tmp_path)  # no student model: distill cannot be built, and is no twin of anything
    assert "the qlora candidate instead" in [label for label, gb in _alternatives(REGISTRY["lora"], ctx, "build")]
    ctx = _ctx(tiny, tmp_path, f"student_model={tiny}")

    def labels(name):
        return [label for label, gb in _alternatives(REGISTRY[name], ctx, "build")]
    # the base trained in full or through LoRA: QLoRA trains the same base in 4 bits
    assert "the qlora candidate instead" in labels("full") and "the qlora candidate instead" in labels("lora")
    # QLoRA already is; a distilled student is not the base; rag_lora's context has no 4-bit twin
    for name in ("qlora", "distill", "rag_lora"):
        assert not any("instead" in label for label in labels(name)), name
    # bf16 weights and optimizer states for whatever is trained in full, where the CPU can
    for name in ("full", "distill"):
        assert ("train.precision=bf16" in labels(name)) == bf16_kernels(), name
    assert "train.precision=bf16" not in labels("lora")


def test_evaluation_is_guarded_too(tiny, tmp_path):
    """A technique that trains nothing still loads a model and scores: its evaluation is guarded."""
    from harness.cache import check_memory
    from harness.techniques import REGISTRY
    from rightfit.errors import UserError
    prompt = REGISTRY["prompt"]
    ctx = _ctx(tiny, tmp_path)
    est = check_memory(prompt, ctx)
    assert est["build"] is None and est["eval"]["total_gb"] > 0
    with pytest.raises(UserError, match="for evaluation but max_memory_gb is 0.05 GB"):
        check_memory(prompt, dataclasses.replace(ctx, config=dataclasses.replace(ctx.config, max_memory_gb=0.05)))


def test_records_carry_the_estimate_and_the_measured_peak_of_each_phase(tiny, tmp_path):
    from harness.config import load_config
    from harness.records import RunDir
    from harness.runner import run_plan
    cfg = load_config(None, ["suite=shopco-en-tiny", f"base_model={tiny}", "candidates=prompt,lora",
                             "train.max_steps=2", "train.batch_size=4", "train.eval_every=0", "eval.bootstrap=50",
                             f"cache_dir={tmp_path / 'c'}", f"runs_dir={tmp_path / 'runs'}"])
    with RunDir(tmp_path / "runs", "mem") as rd:
        records = {r["candidate"]: r for r in run_plan(cfg, rd)}
    lora, prompt = records["lora"]["memory"], records["prompt"]["memory"]
    assert prompt["build"] is None
    assert lora["build"]["estimate"]["peak_gb"] > 0 and lora["build"]["estimate"]["batch"]["rows"] == 4
    assert lora["build"]["measured"]["added_mb"] > 0
    assert lora["build"]["measured"]["peak_mb"] >= lora["build"]["measured"]["start_mb"]
    for phase in (lora["eval"], prompt["eval"]):
        assert phase["estimate"]["peak_gb"] > 0 and phase["measured"]["added_mb"] >= 0
    assert records["lora"]["artifact"]["peak_memory_mb"] == lora["build"]["measured"]["added_mb"]
    from reports.render import build_report
    out = build_report(tmp_path / "runs" / "mem", tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    est = lora["build"]["estimate"]["peak_gb"]
    assert 'id="memory"' in html and f"{est:.2f} GB" in html and out is not None
