"""Numeric precision: what a run loads, trains and saves in, decided in one place and recorded.

``dtype`` (how weights are loaded: the frozen base of LoRA/QLoRA, every candidate at evaluation):

- ``auto``: the model's own dtype (config.json's torch_dtype) where the device computes it
  natively, float32 where it does not: a bf16 model runs in bf16 on a GPU with bf16 and on a CPU
  with bf16 kernels (avx512_bf16, AMX), in fp32 on other CPUs; fp16 only on a GPU. A float32
  model (the self-built ones) is float32 everywhere, so its runs give the same numbers on any CPU.
  The record of every candidate states the dtype it ran in.
- ``float32``, ``bfloat16``, ``float16``: that dtype (bf16/fp16 refused on a device without it).

``train.precision`` (how weights train):

- ``auto``: ``mixed`` on a GPU with bf16, ``fp32`` on a CPU (2-process vs 1-process training
  drifted 2.8e-3 apart under CPU bf16 autocast, 7e-9 in fp32).
- ``fp32``: trainable weights, gradients and optimizer states in fp32, no autocast.
- ``mixed``: fp32 master weights, bf16 autocast for the compute (the advisor's "full": 16 bytes
  per trained parameter); refused where the device has no bf16 kernels.
- ``bf16``: pure bf16: trainable weights and optimizer states in bf16, no master copy (the
  advisor's "full_bf16": 8 bytes per parameter); refused without bf16 kernels.

A fully fine-tuned model is saved in the dtype it trained in (fp32 for fp32/mixed, bf16 for
bf16); an adapter in its own dtype.
"""

from __future__ import annotations

import os
import sys

from rightfit.errors import UserError

TRAIN_PRECISIONS = ("auto", "fp32", "mixed", "bf16")
DTYPES = ("auto", "float32", "bfloat16", "float16")


def cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def bf16_kernels() -> bool:
    """Whether this device computes bf16 natively (CUDA: Ampere or newer; CPU: oneDNN bf16 kernels)."""
    import torch
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def train_precision(setting: str) -> str:
    """The precision training runs in: "fp32", "mixed" (bf16 autocast, fp32 master weights) or
    "bf16" (pure bf16).

    Raises:
        UserError: mixed or bf16 asked for on a device without bf16 kernels.
    """
    if setting == "fp32" or (setting == "auto" and not cuda()):
        return "fp32"
    if bf16_kernels():
        return "mixed" if setting == "auto" else setting
    if setting == "auto":
        return "fp32"
    device = "GPU" if cuda() else "CPU"
    raise UserError(f"field 'train.precision' is {setting} but this {device} has no bf16 kernels; set "
                    f"train.precision=auto or fp32.")


def load_dtype(setting: str, model_dtype: str | None) -> str:
    """The dtype weights load in, by the run's `dtype` setting and the model's own (config.json).

    Raises:
        UserError: bfloat16/float16 asked for where the device cannot compute it.
    """
    if setting == "auto":
        if model_dtype == "bfloat16" and bf16_kernels():
            return "bfloat16"
        if model_dtype in ("float16", "bfloat16") and cuda():
            return "float16" if model_dtype == "float16" or not bf16_kernels() else "bfloat16"
        return "float32"
    if setting == "bfloat16" and not bf16_kernels():
        device = "GPU" if cuda() else "CPU"
        raise UserError(f"field 'dtype' is bfloat16 but this {device} has no bf16 kernels; set dtype=auto or "
                        f"float32.")
    if setting == "float16" and not cuda():
        raise UserError("field 'dtype' is float16, which a CPU does not compute; set dtype=auto, float32 or "
                        "bfloat16.")
    return setting


def numerics() -> dict:
    """What decides the numbers on this machine, for env.json: device, the CPU kernels torch
    dispatches to, whether bf16 kernels exist, and the variables that pin them."""
    torch = sys.modules.get("torch")
    out: dict = {"env": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR",
                                                     "MKL_ENABLE_INSTRUCTIONS") if k in os.environ}}
    if torch is not None:
        out.update(cpu_capability=torch.backends.cpu.get_cpu_capability(), bf16_kernels=bf16_kernels(),
                   device="cuda" if torch.cuda.is_available() else "cpu")
    return out
