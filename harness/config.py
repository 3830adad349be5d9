"""The run configuration: run-wide settings, plus the sections the registered techniques bring.

A config is built from, in order: the defaults, a user YAML file, and ``key=value`` overrides
from the command line (``train.lr=1e-4``); every field is typed, documented and validated
(rightfit/settings.py). Run-wide sections live here (training, decoding, evaluation); a
technique's own section lives in its module (``lora`` in harness/techniques/lora.py, ``rag`` in
rag.py, ...) and joins :class:`RunConfig` through the registry, so adding a technique never
touches this file.

Errors a user can cause raise :class:`~rightfit.errors.UserError` naming the file, the line
(when it came from YAML) or the field path, and what to do.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from harness.techniques import REGISTRY, settings_fields
from rightfit.errors import UserError
from rightfit.files import load_yaml
from rightfit.settings import from_dict, opt, to_dict

__all__ = ["RunConfig", "TrainConfig", "DecodeConfig", "EvalConfig", "load_config", "parse_override",
           "apply_overrides", "from_dict", "to_dict", "config_section"]


@dataclass
class TrainConfig:
    lr: float = opt("auto", "Peak learning rate of full fine-tuning and the distillation student; auto = by the model "
                            "(harness/techniques/finetune.py train_settings): 1e-3 for the self-built bases, 2e-5 "
                            "below 3B parameters, 1e-5 up to 15B, 5e-6 above.", min=0.0, max=1.0, auto=True)
    lora_lr: float = opt("auto", "Peak learning rate of LoRA/QLoRA adapters; auto = 3e-3 for the self-built bases, "
                                 "2e-4 up to 20B parameters, 1e-4 above (the QLoRA paper's).", min=0.0, max=1.0,
                         auto=True)
    epochs: float = opt("auto", "Passes over the training data (fractional allowed); auto = 12 for the self-built "
                                "bases (their 732 pairs need them: at 8 the distillation student had learnt half of "
                                "what it learns by 11), 3 for other models.", min=0.0, max=1000.0, auto=True)
    max_steps: int = opt(-1, "Stop after this many optimizer steps; -1 = use epochs.", min=-1)
    batch_size: int = opt(16, "Sequences per optimizer step.", min=1, max=65536)
    seq_len: int = opt(256, "Maximum tokens per training sequence.", min=8, max=131072)
    warmup_ratio: float = opt(0.05, "Share of steps with linear learning-rate warm-up.", min=0.0, max=1.0)
    weight_decay: float = opt(0.0, "AdamW weight decay.", min=0.0, max=1.0)
    data: str = opt("pairs", "Training data: supervised pairs (train.jsonl) or the documents (continued pre-training).",
                    choices=["pairs", "docs", "both"])
    checkpoint_every: int = opt(50, "Save a resumable checkpoint every N steps (0 = never).", min=0)
    eval_every: int = opt(25, "Compute held-out loss every N steps (0 = never).", min=0)
    precision: str = opt("auto", "Training precision: auto = mixed on a GPU with bf16, fp32 on a CPU (the same "
                         "numbers on any CPU); fp32; mixed = fp32 master weights with bf16 autocast (16 bytes per "
                         "trained parameter); bf16 = pure bf16 weights and optimizer states (8 bytes).",
                         choices=["auto", "fp32", "mixed", "bf16"])
    gradient_checkpointing: bool = opt(False, "Recompute each layer's activations in the backward pass: less memory "
                                       "(one layer's working set instead of every layer's), about a third more compute.")


@dataclass
class DecodeConfig:
    strategy: str = opt("greedy", "Decoding: greedy, beam search or sampling.", choices=["greedy", "beam", "sample"])
    max_new_tokens: int = opt(0, "Tokens generated per answer at most; 0 = the suite's (its card's max_new_tokens, "
                                 "else 24 for short answers and 256 for free-form ones).", min=0, max=8192)
    num_beams: int = opt(4, "Beams for beam search.", min=1, max=64)
    temperature: float = opt(1.0, "Sampling temperature.", min=0.01, max=100.0)
    top_k: int = opt(0, "Sampling top-k (0 = off).", min=0)
    top_p: float = opt(1.0, "Sampling nucleus top-p.", min=0.0, max=1.0)
    batch_size: int = opt(16, "Questions answered per batch.", min=1, max=4096)


@dataclass
class EvalConfig:
    bootstrap: int = opt(1000, "Bootstrap resamples for 95% confidence intervals.", min=10, max=1000000)
    ppl_stride: int = opt(128, "Stride of the rolling perplexity window in tokens.", min=1)
    memory_gb: float = opt(1.0, "Activation memory one scoring pass (perplexity, likelihood) may take: fewer "
                                "windows per pass when they are long.", min=0.05, max=1024.0)
    max_questions: int = opt(0, "Evaluate at most N questions per part (0 = all).", min=0)


def _section(cls: type, help: str) -> Any:
    return field(default_factory=cls, metadata={"help": help})


# Run-wide fields, then the training section, the techniques' own sections (registry order) and
# decoding/evaluation: the order config.resolved.yaml is written in.
_RUN_FIELDS = [
    ("suite", str, opt("shopco-en", "Suite name under tasks/ or a path to a suite folder.")),
    ("base_model", str, opt("default", "Base model: 'default'/'tiny' (self-built) or a Hugging Face id or local path.")),
    ("student_model", str, opt("", "Smaller student for distillation; empty = the self-built student.")),
    ("candidates", list, opt(["prompt", "rag", "lora", "full"], "Techniques to build and compare.",
                             choices=list(REGISTRY))),
    ("seed", int, opt(0, "Base random seed.", min=0)),
    ("seeds", int, opt(1, "Repeat training with this many seeds and aggregate.", min=1, max=100)),
    ("runs_dir", str, opt("runs", "Where run records are written.")),
    ("cache_dir", str, opt(".rightfit/cache", "Where built artifacts are cached.")),
    ("max_memory_gb", float, opt(0.0, "Refuse to train when the estimated peak exceeds this (0 = no limit).", min=0.0)),
    ("trust_remote_code", bool, opt(False, "Allow model repositories to run their own code.")),
    ("dtype", str, opt("auto", "Dtype the weights load in (a LoRA base, every model at evaluation): auto = the "
                               "model's own where the device computes it natively (bf16 on a GPU or a CPU with bf16 "
                               "kernels), else float32; or float32, bfloat16, float16.",
                       choices=["auto", "float32", "bfloat16", "float16"])),
    ("train", TrainConfig, _section(TrainConfig, "Training settings.")),
    *settings_fields(),
    ("decode", DecodeConfig, _section(DecodeConfig, "Decoding settings.")),
    ("eval", EvalConfig, _section(EvalConfig, "Evaluation settings.")),
]
RunConfig = dataclasses.make_dataclass("RunConfig", _RUN_FIELDS, namespace={
    "__doc__": "Everything a run reads: see each field's help (harness/config.py and the techniques' sections).",
    "__module__": __name__})


def config_section(cfg: Any, name: str) -> Any:
    """A section (or top-level field) of a config as plain data, for records and cache keys."""
    value = getattr(cfg, name, None)
    return to_dict(value) if dataclasses.is_dataclass(value) else value


# ---------------------------------------------------------------- file + overrides

def parse_override(text: str) -> tuple[str, Any]:
    """`train.lr=1e-4` -> ("train.lr", 0.0001); the value is parsed as YAML."""
    if "=" not in text:
        raise UserError(f"override '{text}' must look like key=value (e.g. train.lr=1e-4).")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    # YAML reads 1e-4 as a string; numbers matter more than strings here.
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value.lower() for c in ".e") else int(value)
        except ValueError:
            pass
    return key.strip(), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    data = dict(data or {})
    for text in overrides:
        key, value = parse_override(text)
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
            node[part] = child = dict(child)
            node = child
        node[parts[-1]] = value
    return data


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None,
                base: dict | None = None, base_source: str = "config") -> Any:
    """Defaults <- `base` (read from `base_source`, e.g. a plan) <- YAML file <- `key=value`
    overrides, validated: a RunConfig."""
    data, lines, source = dict(base or {}), {}, "config"
    if path is not None:
        file_data, lines = load_yaml(path)
        if file_data is None:
            file_data = {}
        if not isinstance(file_data, dict):
            raise UserError(f"{path}: expected a mapping of field: value at the top level; fix the YAML.")
        data.update(file_data)
        source = str(path)
    overridden = frozenset(parse_override(t)[0] for t in overrides or [])
    data = apply_overrides(data, overrides or [])
    origins = {key: base_source for key in (base or {})}
    return from_dict(RunConfig, data, source=source, lines=lines, overridden=overridden, origins=origins)
