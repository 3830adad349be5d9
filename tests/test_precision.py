"""Precision is decided in one place and recorded: fp32 on any CPU unless bf16 is asked for, bf16
only where the device has bf16 kernels. `make test` runs this file with the CPU's bf16 kernels on
and again with them off (ONEDNN_MAX_CPU_ISA=AVX2), so both branches run on a bf16 machine."""

from __future__ import annotations

import pytest

from harness.modeling.precision import bf16_kernels, cuda, numerics, train_precision
from rightfit.errors import UserError

pytestmark = pytest.mark.numerics


def test_auto_is_fp32_on_a_cpu_and_fp32_is_always_fp32():
    assert train_precision("fp32") == "fp32"
    if not cuda():
        assert train_precision("auto") == "fp32"


def test_bf16_where_the_kernels_exist_and_refused_where_not():
    for setting in ("mixed", "bf16"):
        if bf16_kernels():
            assert train_precision(setting) == setting
        else:
            with pytest.raises(UserError, match="train.precision=auto or fp32"):
                train_precision(setting)


def test_weights_load_in_the_models_dtype_where_the_device_computes_it():
    from harness.modeling.precision import load_dtype
    if cuda():
        pytest.skip("the CPU rules")
    assert load_dtype("auto", "bfloat16") == ("bfloat16" if bf16_kernels() else "float32")
    assert load_dtype("auto", None) == load_dtype("auto", "float32") == load_dtype("auto", "float16") == "float32"
    assert load_dtype("float32", "bfloat16") == "float32"
    with pytest.raises(UserError, match="float16, which a CPU does not compute"):
        load_dtype("float16", None)
    if bf16_kernels():
        assert load_dtype("bfloat16", "float32") == "bfloat16"
    else:
        with pytest.raises(UserError, match="no bf16 kernels"):
            load_dtype("bfloat16", None)


def test_env_records_the_numerics():
    import torch  # noqa: F401  (numerics reads torch only once it is imported)
    info = numerics()
    assert info["device"] in ("cpu", "cuda") and info["cpu_capability"] and isinstance(info["bf16_kernels"], bool)


@pytest.mark.slow
def test_training_records_its_precision_and_bf16_lands_near_fp32(tmp_path):
    """The same 30 steps in fp32 and (where the kernels exist) mixed precision (bf16 autocast): the
    log says which ran, and mixed's final loss is within 5% of fp32's (bf16 keeps 8 bits of
    mantissa: 0.4% relative error per product, not a different optimum after 30 steps)."""
    import dataclasses

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.basemodels.random import make_tiny_llama
    from harness.config import TrainConfig
    from harness.modeling.train import pair_examples, train

    torch.set_num_threads(1)
    path = make_tiny_llama(tmp_path / "m", seed=0)
    tok = AutoTokenizer.from_pretrained(str(path))
    pairs = [{"instruction": f"What is item {i}?", "input": "", "output": f"item {i} costs ${10 + i}"}
             for i in range(16)]
    examples = pair_examples(tok, pairs, 64)
    cfg = TrainConfig(max_steps=30, batch_size=8, checkpoint_every=0, eval_every=0, precision="fp32")
    losses = {}
    for precision in ("fp32", "mixed") if bf16_kernels() else ("fp32",):
        model = AutoModelForCausalLM.from_pretrained(str(path))
        log = train(model, tok, examples, [], dataclasses.replace(cfg, precision=precision), 3e-3, 0,
                    tmp_path / precision)
        assert log["precision"] == precision
        losses[precision] = log["train_loss"][-1][1]
    if "mixed" in losses:
        assert losses["mixed"] == pytest.approx(losses["fp32"], rel=0.05), losses


@pytest.mark.slow
@pytest.mark.parametrize("technique, settings, saved, adapter", [
    ("full", ["train.precision=fp32"], "float32", None),
    ("full", ["train.precision=mixed"], "float32", None),     # fp32 master weights: saved as trained
    ("full", ["train.precision=bf16"], "bfloat16", None),     # pure bf16: half the bytes
    ("lora", ["dtype=bfloat16", "train.precision=mixed"], None, "float32"),  # a bf16 base, fp32 adapters
    ("lora", ["dtype=bfloat16", "train.precision=bf16"], None, "bfloat16"),
])
def test_artifacts_are_saved_in_the_dtype_they_trained_in(tmp_path, technique, settings, saved, adapter):
    """Each precision trains and saves as the advisor's rows describe; the record says which."""
    import json
    from pathlib import Path

    from safetensors import safe_open
    from tinymodels import make_tiny_llama

    from harness.cache import build_or_load
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques.protocol import BuildContext

    if not bf16_kernels() and any("bf16" in s or "mixed" in s for s in settings):
        with pytest.raises(UserError, match="no bf16 kernels"):
            train_precision(next(s.split("=")[1] for s in settings if s.startswith("train.precision")))
        return
    model = make_tiny_llama(tmp_path / "m", seed=0)
    cfg = load_config(None, ["train.max_steps=2", "train.batch_size=2", "train.eval_every=0",
                             f"cache_dir={tmp_path / 'c'}", *settings])
    ctx = BuildContext(base_model=str(model), suite=load_suite("shopco-en-tiny"), config=cfg, seed=0, out_dir=tmp_path)
    _, fields = build_or_load(technique, ctx)
    folder = Path(fields["artifact"]["path"])
    weights = folder / ("model/model.safetensors" if saved else "adapter/adapter_model.safetensors")
    with safe_open(str(weights), "pt") as f:
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
    assert dtypes == {{"float32": "F32", "bfloat16": "BF16"}[saved or adapter]}
    assert fields["train"]["precision"] == next(s.split("=")[1] for s in settings if s.startswith("train.precision"))
    if saved:
        assert json.loads((folder / "model" / "config.json").read_text()).get("dtype", saved) == saved
