"""Sizing: what fits the stated hardware, in which variant, and what would make the rest fit.

Every size comes from the answers (model_size_b, student_size_b, gpu_gb, gpu_count, seq_len,
batch, device_memory_gb; `rightfit advise` flags override the same answers), so the ranking,
the estimate table and the plan read one set of numbers. Memory comes from advisor/estimate.py:

* on a GPU, a technique fits when its peak memory per GPU is at most `gpu_gb`. Several GPUs hold
  one model only when the run shards weights, gradients and optimizer states across them (FSDP,
  DeepSpeed ZeRO-3): each GPU keeps 1/gpu_count of those plus its own activations;
* full fine-tuning fits in mixed precision (16 bytes per parameter) or, failing that, in pure
  bf16 (8 bytes); the variant that fits is the one the plan builds;
* distillation fine-tunes the teacher (model_size_b) in full first, as `rightfit run` builds it,
  then trains the student (student_size_b) in full with the teacher answering beside it;
* without a GPU, memory is not the limit but time is: training a model above CPU_TRAIN_MAX_B
  takes weeks;
* on a device (deployment: edge) the deployed model must fit device_memory_gb at 4-bit with its
  working memory; distillation deploys the student, every other technique the model itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from advisor.estimate import estimate

CPU_TRAIN_MAX_B = 3.0    # billions; above it CPU training takes weeks (7B LoRA on 3,000 pairs: ~10^17 FLOPs)
SHARD_MARGIN = 1.05      # the estimate's allocator margin, kept on what sharding leaves on each GPU
DEVICE_BYTES = 0.25      # 4-bit weights on a device: a quarter of the estimate's bf16 bytes
GPU_SIZES = (16, 24, 40, 48, 80, 141)   # GB; the GPUs a fix proposes
MAX_SHARDS = 64          # the largest GPU count a fix proposes
TRAINED = ("lora", "qlora", "rag_lora", "full", "distill")
# technique -> the estimate's methods, leanest variant last (full: mixed precision, then pure bf16)
METHODS = {"lora": ("lora",), "rag_lora": ("lora",), "qlora": ("qlora4",), "full": ("full", "full_bf16"),
           "distill": ("full", "full_bf16")}


@dataclass(frozen=True)
class Sizing:
    model_b: float        # the model adapted; the teacher of a distillation
    student_b: float
    gpu_gb: float         # one GPU; 0 = none
    gpu_count: int
    seq_len: int
    batch: int            # per GPU per step
    device_gb: float | None   # None unless the model runs on a device

    @property
    def cpu(self) -> bool:
        return self.gpu_gb <= 0


def sizing_of(answers: dict[str, Any]) -> Sizing:
    return Sizing(float(answers["model_size_b"]), float(answers["student_size_b"]), float(answers["gpu_gb"]),
                  int(answers["gpu_count"]), int(answers["seq_len"]), int(answers["batch"]),
                  float(answers["device_memory_gb"]) if answers["deployment"] == "edge" else None)


@functools.lru_cache(maxsize=4096)
def per_gpu(size_b: float, method: str, seq_len: int, batch: int, gpus: int) -> float:
    """Peak GB on each GPU: the estimate's total, less the shards the other GPUs hold."""
    e = estimate(size_b * 1e9, method, seq_len=seq_len, batch=batch)
    b = e["breakdown"]
    sharded = b["weights"] + b["gradients"] + b["optimizer"]
    if gpus <= 1:
        return e["total_gb"]
    scale = min(e["total_gb"] / (sharded + b["activations"]), SHARD_MARGIN)
    return round(e["total_gb"] - (1 - 1 / gpus) * sharded * scale, 2)


@functools.lru_cache(maxsize=4096)
def on_device(size_b: float, seq_len: int) -> float:
    """GB a model needs on a device: 4-bit weights plus the working memory of one answer."""
    b = estimate(size_b * 1e9, "inference", seq_len=seq_len, batch=1)["breakdown"]
    return round(SHARD_MARGIN * (DEVICE_BYTES * b["weights"] + b["activations"]), 2)


def training(technique: str, s: Sizing, gpu_gb: float | None = None, gpus: int | None = None,
             model_b: float | None = None, student_b: float | None = None) -> dict:
    """How `technique` trains on the GPU(s): {"fits", "method" (the variant), "gb" (per GPU)}.

    The keyword arguments ask "what if" (another GPU, count, model or student) for the fixes.
    """
    gpu_gb = s.gpu_gb if gpu_gb is None else gpu_gb
    gpus = s.gpu_count if gpus is None else gpus
    model_b = s.model_b if model_b is None else model_b
    student_b = s.student_b if student_b is None else student_b
    if technique not in METHODS:
        return {"fits": True, "method": None, "gb": None}
    if gpu_gb <= 0:
        sizes = (model_b, student_b) if technique == "distill" else (model_b,)
        return {"fits": max(sizes) <= CPU_TRAIN_MAX_B, "method": "full" if technique in ("full", "distill")
                else METHODS[technique][0], "gb": None}
    if technique == "distill":
        teacher = training("full", s, gpu_gb, gpus, model_b)
        beside = per_gpu(model_b, "inference", s.seq_len, 1, gpus)
        options = [(m, per_gpu(student_b, m, s.seq_len, s.batch, gpus) + beside) for m in METHODS["distill"]]
        method, gb = next(((m, g) for m, g in options if g <= gpu_gb), options[-1])
        return {"fits": teacher["fits"] and gb <= gpu_gb, "method": method, "gb": round(gb, 2),
                "teacher": teacher}
    options = [(m, per_gpu(model_b, m, s.seq_len, s.batch, gpus)) for m in METHODS[technique]]
    method, gb = next(((m, g) for m, g in options if g <= gpu_gb), options[-1])
    return {"fits": gb <= gpu_gb, "method": method, "gb": gb}


def device(technique: str, s: Sizing, device_gb: float | None = None, model_b: float | None = None,
           student_b: float | None = None) -> dict:
    """Whether the model `technique` deploys fits the device: {"fits", "gb" needed or None}."""
    device_gb = s.device_gb if device_gb is None else device_gb
    if device_gb is None:
        return {"fits": True, "gb": None}
    size = (s.student_b if student_b is None else student_b) if technique in ("distill", "distill_control") \
        else (s.model_b if model_b is None else model_b)
    gb = on_device(size, s.seq_len)
    return {"fits": gb <= device_gb, "gb": gb}


@functools.lru_cache(maxsize=1024)
def facts(s: Sizing) -> dict[str, bool]:
    """The yes/no facts the rules read (advisor/rules.yaml: fits_*, student_fits_device)."""
    return {"fits_full": training("full", s)["fits"], "fits_lora": training("lora", s)["fits"],
            "fits_qlora": training("qlora", s)["fits"], "fits_distill": training("distill", s)["fits"],
            "fits_device": device("lora", s)["fits"], "student_fits_device": device("distill", s)["fits"]}


def settings(candidates: list[str], s: Sizing) -> dict[str, Any]:
    """The run settings the estimate assumed, for the candidates that train (dotted config keys).

    On a GPU: gradient checkpointing (every estimate assumes it) and the precision of the leanest
    variant built (pure bf16 when a full fine-tune, a teacher or a student fits only so; the
    setting is run-wide, so LoRA then trains its adapters in bf16 too, in less memory than its
    estimate). On a CPU nothing:
    `train.precision: auto` already trains in fp32 there.
    """
    trained = [t for t in candidates if t in METHODS]
    if s.cpu or not trained:
        return {}
    runs = [training(t, s) for t in trained]
    bf16 = any(r["method"] == "full_bf16" or r.get("teacher", {}).get("method") == "full_bf16" for r in runs)
    return {"train.precision": "bf16" if bf16 else "mixed", "train.gradient_checkpointing": True}


def largest(fits, low: float, high: float) -> float | None:
    """The largest size in (low, high] (billions) for which fits(size) holds, to 2 significant
    digits, rounded down; None when not even `low` fits."""
    if not fits(low):
        return None
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    digits = max(0, 1 - int(f"{low:e}".split("e")[1]))
    step = 10 ** -digits
    return round(int(low / step) * step, digits)
