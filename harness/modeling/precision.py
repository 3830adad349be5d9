"""Numeric precision: what a run computes in, decided in one place and written into its records.

``train.precision``:

- ``auto``: bf16 mixed precision (bf16 autocast, fp32 master weights) on a CUDA GPU with bf16
  support; fp32 on a CPU. Some CPUs have bf16 kernels (avx512_bf16, AMX) and others do not; with
  autocast the same run gives different numbers on two machines of the same kind (2-process vs
  1-process training drifted 2.8e-3 apart under CPU bf16, 7e-9 in fp32), and CPU runs here train
  models small enough that fp32 costs little. A CPU run is reproducible by default.
- ``fp32``: full precision everywhere.
- ``bf16``: bf16 autocast wherever the device has bf16 kernels (a CPU included); refused where
  it has none, instead of silently training in fp32.
"""

from __future__ import annotations

import os
import sys

from rightfit.errors import UserError

TRAIN_PRECISIONS = ("auto", "fp32", "bf16")


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
    """The precision training runs in: "fp32" or "bf16-mixed".

    Raises:
        UserError: bf16 asked for on a device without bf16 kernels.
    """
    if setting == "fp32" or (setting == "auto" and not cuda()):
        return "fp32"
    if bf16_kernels():
        return "bf16-mixed"
    if setting == "auto":
        return "fp32"
    device = "GPU" if cuda() else "CPU"
    raise UserError(f"field 'train.precision' is bf16 but this {device} has no bf16 kernels; set "
                    f"train.precision=auto or fp32.")


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
