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
    if bf16_kernels():
        assert train_precision("bf16") == "bf16-mixed"
    else:
        with pytest.raises(UserError, match="train.precision=auto or fp32"):
            train_precision("bf16")


def test_env_records_the_numerics():
    import torch  # noqa: F401  (numerics reads torch only once it is imported)
    info = numerics()
    assert info["device"] in ("cpu", "cuda") and info["cpu_capability"] and isinstance(info["bf16_kernels"], bool)


@pytest.mark.slow
def test_training_records_its_precision_and_bf16_lands_near_fp32(tmp_path):
    """The same 30 steps in fp32 and (where the kernels exist) bf16 autocast: the log says which
    ran, and bf16's final loss is within 5% of fp32's (bf16 keeps 8 bits of mantissa: 0.4%
    relative error per product, not a different optimum after 30 steps)."""
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
    for precision in ("fp32", "bf16") if bf16_kernels() else ("fp32",):
        model = AutoModelForCausalLM.from_pretrained(str(path))
        log = train(model, tok, examples, [], dataclasses.replace(cfg, precision=precision), 3e-3, 0,
                    tmp_path / precision)
        assert log["precision"] == {"fp32": "fp32", "bf16": "bf16-mixed"}[precision]
        losses[precision] = log["train_loss"][-1][1]
    if "bf16" in losses:
        assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05), losses
