"""The resource estimate against published figures (LLaMA-Factory's table, the QLoRA paper, torchtune)."""

from __future__ import annotations

import pytest

from advisor.estimate import METHODS, estimate, estimate_all, model_shape


@pytest.mark.parametrize("method,published_gb", [
    ("full", 120), ("full_bf16", 60), ("lora", 16), ("qlora8", 10), ("qlora4", 6)])
def test_7b_memory_within_25_percent_of_llama_factory(method, published_gb):
    got = estimate(7e9, method)["total_gb"]
    assert abs(got - published_gb) <= 0.25 * published_gb, (method, got)


def test_qlora_fits_65b_in_48gb_but_lora_does_not():
    q = estimate(65e9, "qlora4", gpu_gb=48)
    assert q["fits"] is True and 0.75 * 48 <= q["total_gb"] <= 48
    assert estimate(65e9, "lora", gpu_gb=48)["fits"] is False


def test_breakdown_sums_to_total_and_follows_bytes_per_parameter():
    e = estimate(7e9, "full", n_layers=32, hidden=4096)
    assert sum(e["breakdown"].values()) == pytest.approx(e["total_gb"], abs=0.02)
    b = e["breakdown"]  # mixed precision + Adam: fp32 master 4 B, fp32 grads 4 B, Adam moments 8 B per parameter
    assert (b["weights"], b["gradients"], b["optimizer"]) == (28.0, 28.0, 56.0)
    lora = estimate(7e9, "lora", n_layers=32, hidden=4096)["breakdown"]
    assert lora["weights"] == pytest.approx(14.0, abs=0.2) and lora["gradients"] < 0.2


def test_memory_grows_with_sequence_and_batch_and_checkpointing_saves_it():
    short, long = estimate(7e9, "lora", seq_len=512), estimate(7e9, "lora", seq_len=4096, batch=4)
    assert long["breakdown"]["activations"] > 20 * short["breakdown"]["activations"]
    no_ckpt = estimate(7e9, "lora", seq_len=4096, batch=4, checkpointing=False)
    assert no_ckpt["total_gb"] > long["total_gb"] + 5


def test_llama_shape_derived_from_parameter_count():
    layers, hidden = model_shape(7e9)
    assert 28 <= layers <= 36 and 3840 <= hidden <= 4608   # Llama-2-7B: 32 x 4096
    layers, hidden = model_shape(65e9)
    assert 64 <= layers <= 84 and 7680 <= hidden <= 9216   # LLaMA-65B: 80 x 8192


def test_training_time_within_2x_of_torchtune_on_a_4090():
    # torchtune, Llama-3.1-8B on an RTX 4090 (165 dense bf16 TFLOPS): full 1650, LoRA 3083, QLoRA 2413 tokens/s
    for method, tokens_per_s in (("full", 1650), ("lora", 3083), ("qlora4", 2413)):
        hours = estimate(8e9, method, train_tokens=10_000_000, gpu_tflops=165)["train_hours"]
        measured = 10_000_000 / tokens_per_s / 3600
        assert measured / 2 <= hours <= measured * 2, (method, hours, measured)


def test_fits_and_hours_are_none_without_their_inputs_and_inference_never_trains():
    e = estimate(1e9, "inference", train_tokens=10**6, gpu_tflops=100)
    assert e["fits"] is None and e["train_hours"] is None and e["breakdown"]["optimizer"] == 0
    assert estimate_all(1e9, gpu_gb=8)["methods"].keys() == set(METHODS)


def test_bad_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        estimate(7e9, "adapter")
