"""Typed run configuration: defaults, a help string per field, validation, YAML in and out.

Every field is declared with :func:`opt`, which stores its help text and its constraints
(``choices``, ``min``, ``max``) in the dataclass field metadata. Validation reads that
metadata, so a new knob is one line. A config is built from, in order: the defaults, a user
YAML file, and ``key=value`` overrides from the command line (``train.lr=1e-4``).

Errors a user can cause raise :class:`~harness.errors.UserError` naming the file, the line
(when it came from YAML) or the field path, and what to do.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UserError


def opt(default: Any, help: str, *, choices: list | None = None, min: float | None = None,
        max: float | None = None) -> Any:
    """A config field with its help text and constraints."""
    meta = {"help": help, "choices": choices, "min": min, "max": max}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


TECHNIQUES = ["prompt", "rag", "lora", "qlora", "full", "distill", "distill_control", "rag_lora"]


@dataclass
class TrainConfig:
    lr: float = opt(1e-3, "Peak learning rate of full fine-tuning (and the distillation student). 1e-3 for the "
                          "self-built base: on shopco-en it learns the trained facts asked in new words (84.7%), "
                          "3e-4 only 24.3%, 1e-4 nothing; real 1-8B models usually want 1e-5..1e-4.", min=0.0, max=1.0)
    lora_lr: float = opt(3e-3, "Peak learning rate for LoRA/QLoRA adapters (LoRA usually wants ~10x full "
                               "fine-tuning's; on the self-built base 3e-4 learned nothing, 1e-2 little more "
                               "than 3e-3).", min=0.0, max=1.0)
    epochs: float = opt(12.0, "Passes over the training data (fractional allowed). 12 on the bundled 732 pairs: "
                        "3 left the house style garbled; at 8 the distillation student and its control had "
                        "learnt half of what they learn by 11 (EM .26 vs .51).",
                        min=0.0, max=1000.0)
    max_steps: int = opt(-1, "Stop after this many optimizer steps; -1 = use epochs.", min=-1)
    batch_size: int = opt(16, "Sequences per optimizer step.", min=1, max=65536)
    seq_len: int = opt(256, "Maximum tokens per training sequence.", min=8, max=131072)
    warmup_ratio: float = opt(0.05, "Share of steps with linear learning-rate warm-up.", min=0.0, max=1.0)
    weight_decay: float = opt(0.0, "AdamW weight decay.", min=0.0, max=1.0)
    data: str = opt("pairs", "Training data: supervised pairs (train.jsonl) or the documents (continued pre-training).",
                    choices=["pairs", "docs", "both"])
    checkpoint_every: int = opt(50, "Save a resumable checkpoint every N steps (0 = never).", min=0)
    eval_every: int = opt(25, "Compute held-out loss every N steps (0 = never).", min=0)
    bf16: bool = opt(True, "bf16 autocast where the hardware supports it.")


@dataclass
class LoraConfig:
    r: int = opt(8, "LoRA rank.", min=1, max=4096)
    alpha: int = opt(16, "LoRA scaling alpha (effective scale alpha/r).", min=1, max=65536)
    dropout: float = opt(0.0, "Dropout on the LoRA branch.", min=0.0, max=1.0)
    targets: str = opt("all-linear", "Modules to adapt: 'all-linear' or a comma list (q_proj,v_proj).")


@dataclass
class RagConfig:
    retriever: str = opt("bm25", "Retriever: BM25, dense (MiniLM + FAISS) or hybrid (reciprocal-rank fusion).",
                         choices=["bm25", "dense", "hybrid"])
    index: str = opt("flat", "FAISS index for dense retrieval; IVF/HNSW for large corpora.",
                     choices=["flat", "ivf", "hnsw"])
    bm25_backend: str = opt("auto", "BM25 scorer: rank-bm25 (reference) or bm25s (same tokens and Okapi scores, "
                            "precomputed sparse index: 0.3 ms vs 45 ms per query at 10k chunks); "
                            "auto picks bm25s from 4000 chunks.", choices=["auto", "rank-bm25", "bm25s"])
    chunk_tokens: int = opt(96, "Chunk size in tokens.", min=8, max=32768)
    chunk_overlap: int = opt(16, "Overlap between consecutive chunks in tokens.", min=0, max=16384)
    top_k: int = opt(1, "Chunks put in the prompt. 1 for the self-built base (it reads one sheet reliably: "
                         "97.1% with the gold sheet alone, 39.2% beside a second sheet); real models usually take 3-5.",
                     min=1, max=100)
    train_with_context: bool = opt(True, "RAG+LoRA: train the adapter with retrieved context in the prompt.")


@dataclass
class DistillConfig:
    mode: str = opt("black", "black: the student learns the teacher's generated answers (sequence-level, any "
                    "tokenizer); white: KL to the teacher's soft targets on the reference answers (same tokenizer); "
                    "both: that KL on the teacher's answers. On shopco-en (3 seeds, 12 epochs) black beat the "
                    "hard-label control (+0.018 EM), both matched it (+0.007), white trailed it (-0.010).",
                    choices=["white", "black", "both"])
    temperature: float = opt(1.0, "Softmax temperature T for soft targets (loss scaled by T^2). T=2 on a "
                             "4,000-token vocabulary put 47% of the teacher's mass outside its top 10 (EM -0.132 "
                             "vs -0.029 at T=1).", min=0.05, max=100.0)
    alpha: float = opt(0.5, "Weight of the soft-target KL term; 1-alpha goes to hard-label cross-entropy.",
                       min=0.0, max=1.0)


@dataclass
class DecodeConfig:
    strategy: str = opt("greedy", "Decoding: greedy, beam search or sampling.", choices=["greedy", "beam", "sample"])
    max_new_tokens: int = opt(24, "Tokens generated per answer at most.", min=1, max=8192)
    num_beams: int = opt(4, "Beams for beam search.", min=1, max=64)
    temperature: float = opt(1.0, "Sampling temperature.", min=0.01, max=100.0)
    top_k: int = opt(0, "Sampling top-k (0 = off).", min=0)
    top_p: float = opt(1.0, "Sampling nucleus top-p.", min=0.0, max=1.0)
    batch_size: int = opt(16, "Questions answered per batch.", min=1, max=4096)


@dataclass
class EvalConfig:
    bootstrap: int = opt(1000, "Bootstrap resamples for 95% confidence intervals.", min=10, max=1000000)
    ppl_stride: int = opt(128, "Stride of the rolling perplexity window in tokens.", min=1)
    max_questions: int = opt(0, "Evaluate at most N questions per part (0 = all).", min=0)


@dataclass
class RunConfig:
    suite: str = opt("shopco-en", "Suite name under tasks/ or a path to a suite folder.")
    base_model: str = opt("default", "Base model: 'default'/'tiny' (self-built) or a Hugging Face id or local path.")
    student_model: str = opt("", "Smaller student for distillation (same tokenizer); empty = the self-built student.")
    candidates: list = opt(["prompt", "rag", "lora", "full"], "Techniques to build and compare.", choices=TECHNIQUES)
    seed: int = opt(0, "Base random seed.", min=0)
    seeds: int = opt(1, "Repeat training with this many seeds and aggregate.", min=1, max=100)
    runs_dir: str = opt("runs", "Where run records are written.")
    cache_dir: str = opt(".rightfit/cache", "Where built artifacts are cached.")
    max_memory_gb: float = opt(0.0, "Refuse to train when the estimated peak exceeds this (0 = no limit).", min=0.0)
    trust_remote_code: bool = opt(False, "Allow model repositories to run their own code.")
    few_shot: int = opt(0, "Prompt-only: training pairs shown as examples before each question.", min=0, max=64)
    train: TrainConfig = field(default_factory=TrainConfig, metadata={"help": "Training settings."})
    lora: LoraConfig = field(default_factory=LoraConfig, metadata={"help": "LoRA settings."})
    rag: RagConfig = field(default_factory=RagConfig, metadata={"help": "Retrieval settings."})
    distill: DistillConfig = field(default_factory=DistillConfig, metadata={"help": "Distillation settings."})
    decode: DecodeConfig = field(default_factory=DecodeConfig, metadata={"help": "Decoding settings."})
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "Evaluation settings."})

    def __post_init__(self):
        if self.rag.chunk_overlap >= self.rag.chunk_tokens:
            raise UserError(f"field 'rag.chunk_overlap' ({self.rag.chunk_overlap}) must be smaller than "
                            f"'rag.chunk_tokens' ({self.rag.chunk_tokens}); lower the overlap.")


# ---------------------------------------------------------------- building from plain data

def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotated type; ints are accepted for floats, nothing else."""
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise UserError(f"{where} must be true or false, not {value!r}; fix the value.")
    if tp in (int, float) and (isinstance(value, bool) or not isinstance(value, tp)):
        raise UserError(f"{where} must be {_type_name(tp)}, not {value!r}; fix the value.")
    if tp is str and not isinstance(value, str):
        raise UserError(f"{where} must be a string, not {value!r}; quote it or fix the value.")
    if tp is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise UserError(f"{where} must be a list, not {value!r}; write it as [a, b] or a,b.")
    return value


def _check(value: Any, meta: dict, where: str) -> None:
    choices, lo, hi = meta.get("choices"), meta.get("min"), meta.get("max")
    items = value if isinstance(value, list) else [value]
    if choices:
        for item in items:
            if item not in choices:
                raise UserError(f"{where} has {item!r}, which is not one of {', '.join(map(str, choices))}; "
                                f"pick one of those.")
    if lo is not None and value < lo:
        raise UserError(f"{where} is {value}, below its minimum {lo}; raise it.")
    if hi is not None and value > hi:
        raise UserError(f"{where} is {value}, above its maximum {hi}; lower it.")


def from_dict(cls: type, data: Any, source: str = "config", lines: dict | None = None, prefix: str = "",
              overridden: frozenset = frozenset()) -> Any:
    """Build dataclass `cls` from nested dicts, validating every field.

    Args:
        cls: the dataclass type.
        data: a mapping (from YAML or JSON).
        source: the file the data came from, for messages.
        lines: field path -> line number in `source` (from :func:`load_yaml`).
        prefix: field path of `cls` inside the root config.
        overridden: field paths set by `key=value` on the command line.

    Raises:
        UserError: unknown field, wrong type, out-of-range value.
    """
    lines = lines or {}

    def where(path: str) -> str:
        if path in overridden:
            return f"command-line override '{path}'"
        line = lines.get(path)
        return f"{source}{f':{line}' if line else ''}: field '{path}'"

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{where(prefix or '<root>')} must be a mapping of field: value; fix the YAML.")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known:
            raise UserError(f"{where(path)} is unknown; valid fields here are {', '.join(known)}.")
        tp = hints[key]
        if _is_dataclass_type(tp):
            kwargs[key] = from_dict(tp, value, source, lines, f"{path}.", overridden)
            continue
        value = _coerce(value, tp, where(path))
        _check(value, dict(known[key].metadata), where(path))
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except UserError as e:
        if source != "config" and not e.message.startswith(source):
            raise UserError(f"{source}: {e.message}") from None
        raise


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)


# ---------------------------------------------------------------- YAML with line numbers

def _line_map(node: yaml.Node, prefix: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
            out[path] = key_node.start_mark.line + 1
            _line_map(value_node, f"{path}.", out)
    return out


def load_yaml(path: str | os.PathLike) -> tuple[Any, dict]:
    """Read a YAML file; return (data, field path -> line number).

    Raises:
        UserError: missing file, unreadable bytes, malformed YAML.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found; check the path.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start}); save the file as UTF-8.") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UserError(f"{path}{line}: malformed YAML ({problem}); fix the syntax there.") from None
    return data, (_line_map(node) if node is not None else {})


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
                base: dict | None = None) -> RunConfig:
    """Defaults <- `base` <- YAML file <- `key=value` overrides, validated."""
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
    return from_dict(RunConfig, data, source=source, lines=lines, overridden=overridden)


def dump_yaml(data: Any, path: str | os.PathLike) -> None:
    atomic_write(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def atomic_write(path: str | os.PathLike, text: str | bytes) -> None:
    """Write to a temp file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(text, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def describe(cls: type = RunConfig, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(field path, default, help) for every field: the source of `rightfit run --help-config`."""
    rows = []
    defaults = cls()
    for f in dataclasses.fields(cls):
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            rows += describe(type(value), f"{prefix}{f.name}.")
        else:
            rows.append((f"{prefix}{f.name}", value, f.metadata.get("help", "")))
    return rows

