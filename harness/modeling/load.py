"""Loading base models and artifacts safely: safetensors only, no remote code, no network.

A model is named by a local folder or a Hugging Face id. A folder must exist and hold
``*.safetensors`` weights; an id must already be in the local Hugging Face cache (nothing is
downloaded here). Remote code runs only with ``cfg.trust_remote_code``.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

from rightfit.errors import UserError

_HASH_FULL_LIMIT = 512 * 2**20  # bytes: hash whole weight files below this, else size + head/tail


def _looks_like_path(name: str) -> bool:
    """Hugging Face ids are `name` or `org/name`; anything else with a slash is a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def resolve_model(name: str) -> str:
    """A local folder (absolute) or a cached Hugging Face id; never downloads.

    Raises:
        UserError: the folder is missing or has no safetensors weights; the id is not cached.
    """
    if not name:
        raise UserError("no model given; set base_model (a local folder or a Hugging Face id).")
    path = Path(name).expanduser()
    if path.exists() or _looks_like_path(name):
        if not path.is_dir():
            raise UserError(f"model path '{name}' does not exist; check the path or run `rightfit base build`.")
        if not (path / "config.json").is_file():
            raise UserError(f"model path '{name}' has no config.json; point to a Hugging Face model folder.")
        weights = sorted(path.glob("*.safetensors"))
        if not weights:
            raise UserError(f"model path '{name}' has no .safetensors weights; rightfit loads safetensors only, "
                            f"convert the checkpoint first.")
        for f in weights:
            safetensors_header(f)
        return str(path.resolve())
    from huggingface_hub import try_to_load_from_cache
    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise UserError(f"model '{name}' is neither a local folder nor in the local Hugging Face cache; download "
                        f"it beforehand (rightfit never downloads) or pass a folder path.")
    return name


def model_folder(name: str) -> Path:
    """The folder holding the model's files: the path itself, or a cached hub id's snapshot folder."""
    resolved = resolve_model(name)
    if Path(resolved).is_dir():
        return Path(resolved)
    from huggingface_hub import try_to_load_from_cache
    return Path(try_to_load_from_cache(resolved, "config.json")).parent


_HEADER_MAX = 100 * 2**20  # bytes: the safetensors library refuses larger headers too


@lru_cache(maxsize=256)
def _header(path: str, size: int, mtime_ns: int) -> dict:
    broken = UserError(f"{path}: not a readable safetensors file (its header is damaged or the file is cut "
                       f"short); download or convert the weights again.")
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise broken
        (length,) = struct.unpack("<Q", head)  # safetensors: u64 header length, then a JSON header
        if not 2 <= length <= min(_HEADER_MAX, size - 8):
            raise broken
        try:
            header = json.loads(fh.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise broken from None
    if not isinstance(header, dict):
        raise broken
    end = 8 + length
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            begin, stop = info["data_offsets"]
            shape = [int(d) for d in info["shape"]]
        except (TypeError, KeyError, ValueError):
            raise broken from None
        if not 0 <= begin <= stop <= size - end or min(shape, default=0) < 0:
            raise broken
    return header


def safetensors_header(path: Path) -> dict:
    """The JSON header of a safetensors file, checked (offsets inside the file) without reading weights.

    Raises:
        UserError: the file is not a readable safetensors file (zeroed, random or cut short).
    """
    stat = path.stat()
    return _header(str(path), stat.st_size, stat.st_mtime_ns)


def params_on_disk(name: str) -> int:
    """Parameters stored in the model's safetensors files, summed from their headers (no weights read)."""
    total = 0
    for f in sorted(model_folder(name).glob("*.safetensors")):
        header = safetensors_header(f)
        total += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return total


def model_dtype(name: str, cfg=None) -> str | None:
    """The dtype a model's config.json says its weights are stored in (None when it says none)."""
    try:
        data = json.loads((model_folder(name) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("torch_dtype") or data.get("dtype")
    return value if isinstance(value, str) else None


def model_identity(name: str) -> str:
    """A stable identity for the cache key: the resolved path or id plus a hash of its weights."""
    resolved = resolve_model(name)
    path = Path(resolved)
    if not path.is_dir():  # a cached hub id: its snapshot folder name is the commit hash
        return f"hf:{resolved}@{model_folder(resolved).name}"
    files = sorted(path.glob("*.safetensors")) + sorted(path.glob("tokenizer*.json"))
    stats = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return f"{resolved}#{_weights_hash(stats)}"


@lru_cache(maxsize=64)
def _weights_hash(stats: tuple) -> str:
    digest = hashlib.sha256()
    for name, size, _ in stats:
        digest.update(f"{Path(name).name}:{size}".encode())
        with open(name, "rb") as f:
            if size <= _HASH_FULL_LIMIT:
                for block in iter(lambda: f.read(2**20), b""):
                    digest.update(block)
            else:  # large checkpoints: head and tail are enough to tell versions apart
                digest.update(f.read(16 * 2**20))
                f.seek(size - 16 * 2**20)
                digest.update(f.read())
    return digest.hexdigest()[:16]


def _hf_kwargs(cfg: Any) -> dict:
    return {"use_safetensors": True, "trust_remote_code": bool(getattr(cfg, "trust_remote_code", False)),
            "local_files_only": True}


def load_tokenizer(name: str, cfg: Any = None):
    """The model's tokenizer, with a pad token (EOS when the model has none)."""
    from transformers import AutoTokenizer
    kw = _hf_kwargs(cfg)
    kw.pop("use_safetensors")
    try:
        tok = AutoTokenizer.from_pretrained(resolve_model(name), **kw)
    except (OSError, ValueError) as e:
        raise UserError(f"model '{name}': its tokenizer could not be loaded ({str(e).splitlines()[0]}); "
                        f"check that the folder holds tokenizer files.") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(name: str, cfg: Any = None, four_bit: bool = False, dtype: str | None = None):
    """A causal LM in eval mode on the CPU (or GPU when present).

    Args:
        name: folder or cached id.
        cfg: RunConfig (dtype, trust_remote_code).
        four_bit: load with bitsandbytes NF4 weights (QLoRA); they compute in the load dtype.
        dtype: the dtype to load in, overriding the run's (full fine-tuning trains its master
            weights in fp32 under mixed precision).

    Raises:
        UserError: missing model, remote code needed, bitsandbytes missing, a dtype the device lacks.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from harness.modeling.precision import load_dtype
    kw = _hf_kwargs(cfg)
    dtype = dtype or load_dtype(getattr(cfg, "dtype", "auto"), model_dtype(name))
    if four_bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise UserError("QLoRA needs bitsandbytes, which is not installed; run "
                            "`pip install 'rightfit[qlora]'` or pick lora instead.") from None
        from transformers import BitsAndBytesConfig
        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=getattr(torch, dtype))
        kw["device_map"] = "cuda:0" if torch.cuda.is_available() else "cpu"
    kw["dtype"] = getattr(torch, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(resolve_model(name), **kw)
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise UserError(f"model '{name}' needs its own code to load; pass --trust-remote-code if you trust "
                            f"it.") from None
        raise
    if not four_bit and torch.cuda.is_available():
        model = model.cuda()
    if four_bit and not torch.cuda.is_available():
        generic_4bit_path(model)
    model.eval()
    return model


def generic_4bit_path(model: Any) -> int:
    """Route every 4-bit layer through bitsandbytes' dequantize-then-matmul path on the CPU.

    On CPUs with avx512_bf16 bitsandbytes repacks a 4-bit weight for a fused bf16 kernel the
    first time it runs in inference, which needs in_features a multiple of its 64-value
    quantization block and out_features a multiple of 32 (a 96-wide layer crashed inside the
    library) and computes in bf16 where other CPUs compute in fp32. The generic path takes any
    shape and gives the same numbers on every CPU. Returns the layers routed.
    """
    routed = 0
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            routed += 1
    return routed


def context_window(model: Any, tokenizer: Any) -> int:
    """Tokens the model attends over: config max positions, capped by the tokenizer's limit."""
    window = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < window:
        window = tok_max
    return window


def check_same_vocab(teacher: str, student: str, cfg: Any = None) -> None:
    """Distillation needs one vocabulary: same size and the same token -> id map.

    Raises:
        UserError: the vocabularies differ (before any training starts).
    """
    t_vocab, s_vocab = load_tokenizer(teacher, cfg).get_vocab(), load_tokenizer(student, cfg).get_vocab()
    if t_vocab != s_vocab:
        diff = len(set(t_vocab.items()) ^ set(s_vocab.items()))
        raise UserError(f"teacher '{teacher}' and student '{student}' have different vocabularies "
                        f"({len(t_vocab)} vs {len(s_vocab)} tokens, {diff} entries differ); distillation on soft "
                        f"targets needs one tokenizer: pick a student from the same model family, or set "
                        f"distill.mode=black (the student learns from the teacher's generated answers).")


def count_params(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters; 4-bit weights counted as their unpacked element count."""
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        if getattr(p, "quant_state", None) is not None:  # bitsandbytes packs two 4-bit values per byte
            n *= 2
        total += n
        trainable += n if p.requires_grad else 0
    return trainable, total


def write_manifest(folder: Path, data: dict) -> None:
    from rightfit.files import atomic_write
    atomic_write(folder / "artifact.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / "artifact.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{path}: missing or unreadable artifact manifest; rebuild with --force.") from None
