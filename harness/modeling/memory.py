"""Memory: what a build or an evaluation will need (estimated from the settings the harness runs
with) and what it took (measured per phase), so the guard, the record and the report agree.

    est = build_estimate(tech, ctx)           # before anything loads: the guard's number
    with Window() as w:
        tech.build(ctx)
    w.result                                  # {"start_mb", "peak_mb", "added_mb"}

The estimate is advisor.estimate.memory() fed with the model's config.json, the dtype it loads
in, the training precision, activation checkpointing, the device, and the largest batch of the
suite's own token lengths in the order training reads them (harness.modeling.train.schedule).
The measurement is the phase's growth: the resident set (CPU) or CUDA allocations above what
the process held when the phase began, after freed memory was handed back, so one candidate's
peak does not include what an earlier one left behind.
"""

from __future__ import annotations

import gc
import json
import resource
from pathlib import Path
from typing import Any

MB = 2**20
EMBEDDER_GB = 0.12   # the bundled MiniLM (22.7M fp32 parameters) and its batch of 64 chunks


# ---------------------------------------------------------------- measuring

def reset_peak_memory() -> None:
    """Start a new peak-memory window (Linux: writing 5 to clear_refs resets VmHWM; CUDA: its counter)."""
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """Peak memory since reset_peak_memory(), MB: GPU allocations on CUDA, else resident set (VmHWM).

    Without /proc it falls back to the process-lifetime peak (ru_maxrss, KiB on Linux).
    """
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / MB
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_memory_mb() -> float:
    """Memory held now, MB: GPU allocations on CUDA, else the resident set (VmRSS)."""
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.memory_allocated() / MB
    return _status("VmRSS")


def _status(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def release_freed() -> None:
    """Hand freed memory back: collect cycles (models hold some), return glibc's free heap pages
    to the system, empty the CUDA cache. Without it a phase would start on an earlier phase's
    high-water mark and measure nothing of its own."""
    import ctypes
    import sys
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class Window:
    """Measure one phase: `result` = {"start_mb", "peak_mb", "added_mb"} after the block."""

    def __enter__(self) -> "Window":
        release_freed()
        reset_peak_memory()
        self.start = current_memory_mb()
        self.result: dict = {}
        return self

    def __exit__(self, *exc: Any) -> None:
        peak = max(peak_memory_mb(), self.start)
        self.result = {"start_mb": round(self.start, 1), "peak_mb": round(peak, 1),
                       "added_mb": round(peak - self.start, 1)}


# ---------------------------------------------------------------- estimating

def device() -> str:
    from harness.modeling.precision import cuda
    return "cuda" if cuda() else "cpu"


def shape_of(model: str) -> Any:
    """advisor.estimate.Shape of a model folder, from config.json and its safetensors headers."""
    from advisor.estimate import Shape
    from harness.modeling.load import model_folder, params_on_disk
    config = json.loads((model_folder(model) / "config.json").read_text())
    config = config.get("text_config", config)  # multimodal wrappers keep the LM's sizes inside
    return Shape.from_config(config, params_on_disk(model))


def _bytes(dtype: str) -> float:
    return 4.0 if dtype == "float32" else 2.0


def largest_batches(examples: list[dict], train: Any, seed: int, processes: int = 1,
                    width: int | None = None) -> list[Any]:
    """The distinct (rows, width, loss tokens) steps training will take, in the order it reads
    `examples` (schedule()): each row padded to the step's longest, per process.

    Args:
        width: every row as long as this (prompts that fill the window with retrieved chunks).
    """
    from advisor.estimate import Batch
    from harness.modeling.train import IGNORE, device_batch, schedule
    if not examples:
        return []
    rows = device_batch(int(train.batch_size), processes)
    order = schedule(len(examples), train, seed)
    seen = set()
    for start in range(0, len(order), rows):
        step = [examples[i] for i in order[start:start + rows]]
        w = width or max(len(e["input_ids"]) for e in step)
        loss = sum(sum(1 for t in e["labels"][1:] if t != IGNORE) for e in step)
        seen.add((len(step), w, loss))
    return [Batch(r, w, n) for r, w, n in sorted(seen)]


def build_estimate(tech: Any, ctx: Any) -> dict | None:
    """The estimated peak of building `tech` (None when it holds no model to train).

    Every model the technique holds while building (Held entries of its memory()) is estimated
    at the worst step of the suite's training data and summed.

    Returns:
        {"peak_gb": the build's own memory, "total_gb": with the runtime, "breakdown": GB by part,
         "batch": {rows, width, loss_tokens}, "precision", "checkpointing", "device"}
    """
    from advisor.estimate import GB, memory, peak_gb, runtime_gb
    from harness.modeling.distributed import world_size
    from harness.modeling.load import load_tokenizer, model_dtype
    from harness.modeling.precision import load_dtype, train_precision
    from harness.techniques.finetune import train_settings, training_data
    held = tech.memory(ctx)
    if not held:
        return None
    cfg = ctx.config
    trainer = next(h for h in held if h.method != "inference")
    train = train_settings(cfg, trainer.model)   # "auto" epochs decide how many steps are read
    precision = train_precision(train.precision)
    dev = device()
    tokenizer = load_tokenizer(trainer.model, cfg)
    examples, _ = training_data(ctx, tokenizer)
    batches = largest_batches(examples, train, ctx.seed, world_size(), train.seq_len if trainer.context else None)

    def parts_for(batch: Any) -> dict:
        total: dict[str, float] = {}
        for h in held:
            shape = shape_of(h.model)
            stored = model_dtype(h.model)
            if h.method == "inference" and h.trained:   # a fine-tuned teacher, saved in its training dtype
                stored = "bfloat16" if precision == "bf16" else "float32"
            loaded = load_dtype(cfg.dtype, stored)
            parts = memory(shape, h.method, batch, precision=precision, base_bytes=_bytes(loaded),
                           file_bytes=_bytes(stored or "float32"), checkpointing=bool(train.gradient_checkpointing),
                           lora_r=int(getattr(cfg, "lora").r) if h.method != "full" else 8, device=dev)
            for k, v in parts.items():
                total[k] = total.get(k, 0.0) + v
        return total

    worst, worst_batch = None, None
    for batch in batches or []:
        parts = parts_for(batch)
        if worst is None or peak_gb(parts) > peak_gb(worst):
            worst, worst_batch = parts, batch
    if worst is None:
        return None
    peak = peak_gb(worst)
    return {"peak_gb": round(peak, 3), "total_gb": round(peak + runtime_gb(peak, dev), 3),
            "breakdown": {k: round(v / GB, 3) for k, v in worst.items()},
            "batch": {"rows": worst_batch.rows, "width": worst_batch.width, "loss_tokens": worst_batch.loss_tokens},
            "precision": precision, "checkpointing": bool(train.gradient_checkpointing), "device": dev}


def eval_estimate(tech: Any, ctx: Any) -> dict:
    """The estimated peak of evaluating a candidate: its weights as they load for evaluation, the
    larger of a scoring pass (eval.memory_gb of activations, log-softmax in LOGIT_ROWS blocks) and
    a generation batch (decode.batch_size rows of the longest prompt plus the answer: K/V cache
    of every layer and one layer's working set), and the embedding model when the suite's
    answers or retrieval need it.
    """
    from advisor.estimate import GB, LOGIT_BYTES, Batch, memory, runtime_gb
    from harness.modeling.load import load_tokenizer, model_dtype
    from harness.modeling.precision import load_dtype, train_precision
    from harness.modeling.prompts import Prompter, system_message
    from harness.modeling.score import LOGIT_ROWS
    cfg = ctx.config
    held = tech.memory(ctx)
    full = next((h for h in held if h.method == "full"), None)
    adapter = next((h for h in held if h.method in ("lora", "qlora4", "qlora8")), None)
    model = full.model if full else tech.base_of(ctx)
    shape = shape_of(model)
    stored = model_dtype(model)
    if full is not None:  # a fully fine-tuned model is evaluated from the weights it saved
        stored = "bfloat16" if train_precision(cfg.train.precision) == "bf16" else "float32"
    loaded = _bytes(load_dtype(cfg.dtype, stored))
    one = Batch(1, 1, 1)
    weights = memory(shape, adapter.method if adapter else "inference", one, base_bytes=loaded,
                     precision="fp32", lora_r=int(cfg.lora.r) if adapter else 8)["weights"]
    window = int(json.loads((_folder(model) / "config.json").read_text()).get("max_position_embeddings") or 2048)
    if "rag" in tech.name:
        width = window  # retrieved chunks fill the window
    else:
        prompter = Prompter(load_tokenizer(model, cfg), system_message(ctx.suite, cfg))
        longest = max((len(prompter.tokenizer(prompter.render(q["question"]), add_special_tokens=False)["input_ids"])
                       for q in ctx.suite.test), default=0)
        width = min(window, longest + int(cfg.decode.max_new_tokens or 256))
    per_token = 2 * shape.layers * shape.kv + 6 * shape.hidden + 3 * shape.intermediate   # K/V + one layer
    generate = int(cfg.decode.batch_size) * width * per_token * loaded
    # a scoring pass holds at most eval.memory_gb of activations (score.batch_tokens), and no more
    # than a batch of full windows
    scored = 2 * (6 * shape.hidden + 3 * shape.intermediate) * max(loaded, 2) * int(cfg.decode.batch_size) * window
    score = min(cfg.eval.memory_gb * GB, scored) + LOGIT_ROWS * shape.vocab * LOGIT_BYTES
    embedder = EMBEDDER_GB * GB if (getattr(ctx.suite, "answers", "short") == "free" or "rag" in tech.name) else 0.0
    peak = (weights + max(generate, score) + embedder) / GB
    dev = device()
    return {"peak_gb": round(peak, 3), "total_gb": round(peak + runtime_gb(peak, dev), 3),
            "breakdown": {"weights": round(weights / GB, 3), "generation": round(generate / GB, 3),
                          "scoring": round(score / GB, 3), "embedder": round(embedder / GB, 3)},
            "device": dev}


def _folder(model: str) -> Path:
    from harness.modeling.load import model_folder
    return model_folder(model)
