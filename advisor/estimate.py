"""Peak memory and training time for adapting a decoder-only LLM: a pure function, no torch.

The advisor calls it with what a questionnaire knows (a parameter count, a GPU); the harness calls
it with what it will run (the model's config.json, the dtype it loads, the training precision,
activation checkpointing, the longest batch of the suite's real token lengths, the device), so
the estimate the guard checks is the one the run measures. Memory is built bottom-up:

    peak = max(loading, training step) + runtime

* weights, gradients, optimizer: bytes per parameter times the parameters stored, trained or
  frozen. Full fine-tuning in fp32 or mixed precision keeps fp32 weights (4 B), fp32 gradients
  (4 B) and Adam's two moments (8 B): 16 B per parameter (ZeRO, Rajbhandari et al. 2020); mixed
  precision adds the bf16 copies autocast makes of every linear weight for the step (2 B per
  linear parameter). Pure bf16 halves the rest: 8 B. LoRA keeps the frozen base in the dtype it
  loads (2 B in bf16, 4 B in fp32) and trains the adapters at 16 B (8 B in pure bf16). QLoRA
  stores the linear layers in 4-bit NF4 (0.5 B plus 0.127 bit of double-quantized constants,
  Dettmers et al. 2023) and, after peft's prepare_model_for_kbit_training, the embeddings, norms
  and output head in fp32.
* activations: what autograd keeps per token per layer, as bytes per unit of the hidden size,
  the key/value width and the MLP width (LAYER_BYTES: counted from what a Llama layer saves for
  the backward pass in each mode, checked with torch.autograd.graph.saved_tensors_hooks), times
  the rows x width of the largest batch; plus the logits at the positions the loss reads
  (12 B per position and vocabulary entry: fp32 logits, log-softmax, its gradient) and, when a
  batch holds padded rows, the (rows, width, width) fp32 attention mask each layer expands. With
  activation checkpointing each layer keeps only its input (the residual stream), and one layer
  at a time is recomputed with its full working set (Korthikanti et al. 2022).
* loading: a model stored in a narrower dtype than it trains in (bf16 safetensors trained in
  fp32) holds the file's pages and the converted weights at once.
* runtime: on a GPU the CUDA context and workspaces (0.5 GB) and 5 % fragmentation; on a CPU the
  Python process with torch, transformers and peft imported (0.45 GB resident), the Trainer's
  libraries (0.12 GB) and what glibc's allocator keeps of freed activations (CPU_RETENTION).

Checked against published figures (tests/test_advisor_estimate.py, ±25 %): LLaMA-Factory's 7B
table (full mixed precision 120 GB, full bf16 60 GB, LoRA 16 GB, QLoRA 8-bit 10 GB, QLoRA 4-bit
6 GB) and the QLoRA paper's 65B model on one 48 GB GPU; and against peak resident memory of the
harness's own builds at three model sizes (bench/memory.py, ±15 %).

Training time = FLOPs / (GPU throughput × MFU). FLOPs per token: 6N for full fine-tuning
(forward 2N, backward 4N), 4N for (Q)LoRA (no weight gradients for the frozen base), plus 2N
for recomputing the forward under checkpointing; QLoRA pays ~1.3× for dequantization
(torchtune: 3083 vs 2413 tokens/s on an RTX 4090). A rough figure, good to about 2×.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1e9                  # decimal gigabytes, as the published tables use
VOCAB = 32_000            # tokens; Llama-1/2 vocabulary, used when only n_params is known
FFN_RATIO = 11008 / 4096  # SwiGLU intermediate size / hidden (Llama)
HEAD_DIM = 128            # hidden / n_layers ≈ 128 in the Llama family: fixes the shape from N
RUNTIME_GB = {"cuda": 0.5, "cpu": 0.45}    # CUDA context; a CPU process with the libraries imported
FRAGMENTATION = {"cuda": 0.05, "cpu": 0.05}
MFU = 0.5                 # model FLOPs utilisation assumed for train_hours
QLORA_SLOWDOWN = 1.3      # dequantizing the 4/8-bit base on every matmul
NF4_BYTES = 0.5 + 0.127 / 8          # 4-bit weights + double-quantized block constants
INT8_BYTES = 1.0 + 4.0 / 4096        # int8 + one fp32 scale per 4096-wide row
LOGIT_BYTES = 12          # per loss position and vocabulary entry: fp32 logits, log-softmax, gradient
MASK_BYTES = 4            # fp32 attention mask per (row, query, key), expanded in every layer
# On a CPU, glibc's malloc keeps the blocks a forward pass frees in its heap, where the backward
# pass's differently sized blocks rarely fit: the resident set outgrows the live tensors by a
# share of the layers' activations. Measured (bench/memory.py, peak RSS with the default
# allocator vs with freed blocks unmapped at once): 0.4-0.55 x for full fine-tuning and LoRA,
# 1.3 x for QLoRA, whose dequantized weights churn through the heap on every matmul.
CPU_RETENTION = {"other": 0.5, "qlora": 1.3}
CPU_TRAINER_BYTES = 0.12 * GB   # transformers' Trainer and accelerate, imported by the first build

METHODS = ("full", "full_bf16", "lora", "qlora4", "qlora8", "inference")
PRECISIONS = ("fp32", "mixed", "bf16")

# Bytes autograd keeps per token in one decoder layer, as coefficients of (hidden, key/value
# width, MLP width), by what trains and the precision it trains in. E.g. full fp32: two RMSNorms
# keep their input, normalised value and output (3 x 4 B x hidden each), SDPA keeps q, k, v and
# its output, o_proj its (copied) input, the SwiGLU MLP four intermediate-wide tensors. Under
# autocast each linear saves its own bf16 copy of its input; a frozen linear saves nothing, but
# each LoRA adapter saves its input in the adapter's dtype.
LAYER_BYTES = {
    ("full", "fp32"): (36, 8, 16),
    ("full", "mixed"): (32, 4, 8),
    ("full", "bf16"): (22, 4, 8),
    ("adapter", "fp32", 4): (28, 8, 16),   # fp32 base, fp32 adapters
    ("adapter", "fp32", 2): (36, 4, 10),   # bf16 base, fp32 adapters: every adapter casts its input up
    ("adapter", "mixed", 2): (24, 4, 8),   # bf16 base under autocast
    ("adapter", "mixed", 4): (32, 4, 8),
    ("adapter", "bf16", 2): (18, 4, 8),
    ("qlora", "fp32"): (28, 8, 16),        # norms upcast to fp32 keep the residual stream in fp32
    ("qlora", "mixed"): (32, 4, 10),
    ("qlora", "bf16"): (32, 4, 10),
}


@dataclass(frozen=True)
class Shape:
    """The sizes memory depends on, of a decoder-only transformer."""

    n_params: float
    layers: int
    hidden: int
    intermediate: int
    vocab: int = VOCAB
    heads: int = 0            # 0: hidden // HEAD_DIM
    kv_heads: int = 0         # 0: as many as heads (no grouped-query attention)
    tied: bool = False        # output head shares the input embedding

    @classmethod
    def from_params(cls, n_params: float, n_layers: int | None = None, hidden: int | None = None) -> "Shape":
        """A Llama-proportioned shape for n_params parameters (see model_shape)."""
        layers, h = model_shape(n_params, n_layers, hidden)
        return cls(n_params, layers, h, int(FFN_RATIO * h))

    @classmethod
    def from_config(cls, config: dict, n_params: float) -> "Shape":
        """The shape in a Hugging Face config.json (num_hidden_layers, hidden_size, ...)."""
        h = int(config.get("hidden_size") or config.get("n_embd") or 0)
        layers = int(config.get("num_hidden_layers") or config.get("n_layer") or 0)
        if not h or not layers:
            return cls.from_params(n_params)
        heads = int(config.get("num_attention_heads") or config.get("n_head") or max(1, h // HEAD_DIM))
        return cls(n_params, layers, h, int(config.get("intermediate_size") or config.get("n_inner") or 4 * h),
                   int(config.get("vocab_size") or VOCAB), heads,
                   int(config.get("num_key_value_heads") or heads), bool(config.get("tie_word_embeddings", False)))

    @property
    def kv(self) -> int:
        """Width of the keys (and of the values): kv_heads x head_dim."""
        heads = self.heads or max(1, self.hidden // HEAD_DIM)
        return (self.kv_heads or heads) * (self.hidden // heads)

    @property
    def embedding_params(self) -> float:
        """Input embedding plus output head (one matrix when tied)."""
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def linear_params(self) -> float:
        """Parameters in linear layers (the ones autocast copies and bitsandbytes quantizes), head included."""
        return max(0.0, self.n_params - self.vocab * self.hidden)

    def adapter_params(self, r: int) -> float:
        """LoRA parameters at rank r on every linear layer of every block: r·(d_in + d_out) each."""
        attn = 2 * (self.hidden + self.hidden) + 2 * (self.hidden + self.kv)      # q, o; k, v
        return self.layers * r * (attn + 2 * (self.hidden + self.intermediate) + (self.intermediate + self.hidden))

    def layer_bytes(self, key: tuple) -> float:
        """Bytes one layer keeps per token for the backward pass (LAYER_BYTES)."""
        a, b, c = LAYER_BYTES[key]
        return a * self.hidden + b * self.kv + c * self.intermediate


@dataclass(frozen=True)
class Batch:
    """The largest training step: `rows` sequences padded to `width` tokens, with `loss_tokens`
    positions whose logits the loss reads (every position for continued pre-training, the answer
    tokens for instruction pairs)."""

    rows: int
    width: int
    loss_tokens: int

    @property
    def tokens(self) -> int:
        return self.rows * self.width


def model_shape(n_params: float, n_layers: int | None = None, hidden: int | None = None) -> tuple[int, int]:
    """(n_layers, hidden) of a Llama-shaped model with n_params parameters.

    A layer holds 4h² (attention) + 3·h·FFN_RATIO·h (SwiGLU MLP) ≈ 12h² parameters, and Llama
    models keep hidden ≈ 128 × n_layers, so N ≈ 12h³/128.
    """
    per_layer = 4 + 3 * FFN_RATIO
    if hidden is None and n_layers is None:
        hidden = int(round((n_params * HEAD_DIM / per_layer) ** (1 / 3) / 64) * 64) or 64
    if hidden is None:
        hidden = int(round((n_params / (per_layer * n_layers)) ** 0.5)) or 1
    if n_layers is None:
        n_layers = max(1, round(n_params / (per_layer * hidden * hidden)))
    return n_layers, hidden


def lora_params(n_layers: int, hidden: int, r: int = 8) -> float:
    """Adapter parameters for rank r on every linear layer of a Llama-proportioned model."""
    return Shape(0, n_layers, hidden, int(FFN_RATIO * hidden)).adapter_params(r)


def memory(shape: Shape, method: str, batch: Batch, *, precision: str = "mixed", base_bytes: float = 2.0,
           file_bytes: float | None = None, checkpointing: bool = False, lora_r: int = 8,
           device: str = "cuda") -> dict[str, float]:
    """The parts of one method's peak memory, in bytes (runtime excluded).

    Args:
        shape: the model's sizes.
        method: "full", "lora", "qlora4", "qlora8" or "inference" (a forward pass without
            gradients over `batch`: a teacher beside its student, or evaluation).
        batch: the largest step.
        precision: "fp32", "mixed" (bf16 autocast over fp32 trained weights) or "bf16"
            (everything in bf16) for the training methods.
        base_bytes: bytes per weight of the frozen base (LoRA) or of inference: 2 for bf16/fp16, 4 for fp32.
        file_bytes: bytes per weight in the safetensors files (default: as loaded); a narrower file
            than the loaded dtype is held beside the converted weights while loading.
        checkpointing: activation checkpointing.
        lora_r: adapter rank.
        device: "cuda" or "cpu" (the attention mask is expanded per layer on both).

    Returns:
        {"weights", "gradients", "optimizer", "activations", "logits", "allocator", "loading"}: all
        but "loading" coexist at the step's peak; "loading" is the peak while the weights load.
        "allocator" is what a CPU process holds beyond its live tensors (0 on a GPU).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    n, tokens = shape.n_params, batch.tokens
    mask = MASK_BYTES * shape.layers * batch.rows * batch.width ** 2 if batch.rows > 1 else 0.0
    logits = LOGIT_BYTES * batch.loss_tokens * shape.vocab
    if method == "inference":
        # no graph: one layer's working set at a time, the attention mask and the logits asked for
        work = tokens * shape.layer_bytes(("full", "fp32")) * base_bytes / 4
        weights = base_bytes * n
        act = work + mask / shape.layers + logits * 2 / 3      # no gradient of the logits
        return {"weights": weights, "gradients": 0.0, "optimizer": 0.0, "activations": act, "logits": 0.0,
                "allocator": 0.0, "loading": weights + _conversion(n, base_bytes, file_bytes)}
    if method == "full":
        per = 2.0 if precision == "bf16" else 4.0
        weights, grads, opt = per * n, per * n, 2 * per * n
        key: tuple = ("full", precision)
        cast = 2.0 * shape.linear_params if precision == "mixed" else 0.0   # autocast's bf16 weight copies
        resid = 2 if precision == "bf16" else 4
        loaded = per
    else:
        adapter = shape.adapter_params(lora_r)
        per = 2.0 if precision == "bf16" else 4.0         # adapters train in fp32 unless pure bf16
        if method == "lora":
            weights = base_bytes * n + per * adapter
            key = ("adapter", precision, 2 if base_bytes <= 2 else 4)
            resid = base_bytes
        elif method in ("qlora4", "qlora8"):
            quant = NF4_BYTES if method == "qlora4" else INT8_BYTES
            head = 0 if shape.tied else shape.vocab * shape.hidden
            weights = quant * (shape.linear_params - head) + 4.0 * shape.embedding_params + per * adapter
            key = ("qlora", precision)
            resid = 4
        else:
            raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
        grads, opt, cast, loaded = per * adapter, 2 * per * adapter, 0.0, base_bytes
    layer = shape.layer_bytes(key if key in LAYER_BYTES else ("full", precision))
    if checkpointing:
        act = tokens * (resid * shape.hidden * shape.layers + layer) + mask / shape.layers
    else:
        act = tokens * layer * shape.layers + mask
    retained = CPU_RETENTION["qlora" if method.startswith("qlora") else "other"] * tokens * layer * (
        1 if checkpointing else shape.layers) if device == "cpu" else 0.0
    loading = (loaded * n if method == "full" else weights) + _conversion(n, loaded, file_bytes)
    return {"weights": weights, "gradients": grads, "optimizer": opt, "activations": act + cast, "logits": logits,
            "allocator": retained + (CPU_TRAINER_BYTES if device == "cpu" else 0.0), "loading": loading}


def _conversion(n_params: float, loaded: float, file_bytes: float | None) -> float:
    """Bytes of the file held while converting it to a wider dtype (0 when it loads as stored)."""
    return file_bytes * n_params if file_bytes is not None and file_bytes < loaded else 0.0


def peak_gb(parts: dict[str, float]) -> float:
    """Peak of a memory() breakdown in GB, runtime excluded: the larger of loading and the step."""
    step = sum(v for k, v in parts.items() if k != "loading")
    return max(step, parts.get("loading", 0.0)) / GB


def runtime_gb(subtotal_gb: float, device: str = "cuda") -> float:
    """What the device needs beside the model: context or process, plus allocator fragmentation."""
    return RUNTIME_GB[device] + FRAGMENTATION[device] * subtotal_gb


def estimate(n_params: float, method: str, seq_len: int = 512, batch: int = 1, n_layers: int | None = None,
             hidden: int | None = None, gpu_gb: float | None = None, train_tokens: int | None = None,
             gpu_tflops: float | None = None, *, lora_r: int = 8, checkpointing: bool = True,
             shape: Shape | None = None, precision: str | None = None, base_bytes: float = 2.0,
             loss_tokens: int | None = None, device: str = "cuda") -> dict:
    """Peak memory (GB) and rough training time for one method.

    Args:
        n_params: parameter count of the base model (7e9 for a 7B model, not 7).
        method: one of METHODS: full (mixed precision + Adam), full_bf16, lora, qlora4, qlora8,
            inference (weights + KV cache, no training).
        seq_len, batch: tokens per sequence and sequences per step (every sequence full).
        n_layers, hidden: the model's shape; derived from n_params (Llama proportions) if None.
        gpu_gb: memory of the GPU(s); `fits` is None without it.
        train_tokens, gpu_tflops: tokens seen in training (all epochs) and the GPU's dense bf16
            TFLOPS; `train_hours` is None without both (and always None for inference).
        lora_r: adapter rank for lora/qlora.
        checkpointing: activation checkpointing (recompute each layer in the backward pass).
        shape: the model's exact shape (from its config.json), instead of n_params/n_layers/hidden.
        precision: training precision (fp32, mixed, bf16); default mixed, bf16 for full_bf16.
        base_bytes: bytes per frozen or inference weight (2 for bf16, 4 for fp32).
        loss_tokens: positions the loss reads per step; default every token.
        device: "cuda" or "cpu": what the runtime adds.

    Returns:
        {"total_gb", "breakdown": {weights, gradients, optimizer, activations, overhead} in GB,
         "fits": bool | None, "train_hours": float | None, "precision"}

    Raises:
        ValueError: unknown method or non-positive sizes (a programming error; the CLI checks
            user input before calling).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if n_params <= 0 or seq_len <= 0 or batch <= 0:
        raise ValueError("n_params, seq_len and batch must be positive")
    shape = shape or Shape.from_params(n_params, n_layers, hidden)
    precision = precision or ("bf16" if method == "full_bf16" else "mixed")
    core = "full" if method == "full_bf16" else method
    step = Batch(batch, seq_len, seq_len * batch if loss_tokens is None else loss_tokens)
    if core == "inference":
        parts = memory(shape, "inference", Batch(batch, seq_len, batch), base_bytes=base_bytes, device=device)
        kv_cache = 2 * shape.layers * step.tokens * shape.kv * base_bytes   # K and V of every layer
        parts["activations"] += kv_cache
    else:
        parts = memory(shape, core, step, precision=precision, base_bytes=base_bytes,
                       checkpointing=checkpointing, lora_r=lora_r, device=device)
    subtotal = peak_gb(parts)
    parts["activations"] += parts.pop("logits") + parts.pop("allocator")
    breakdown = {k: round(v / GB, 3) for k, v in parts.items() if k != "loading"}
    breakdown["overhead"] = round(runtime_gb(subtotal, device), 3)
    total = round(subtotal + breakdown["overhead"], 2)

    hours = None
    if train_tokens and gpu_tflops and core != "inference":
        per_token = 6 if core == "full" else 4
        per_token += 2 if checkpointing else 0
        flops = per_token * n_params * train_tokens * (QLORA_SLOWDOWN if core.startswith("qlora") else 1.0)
        hours = round(flops / (gpu_tflops * 1e12 * MFU) / 3600, 4)
    return {"total_gb": total, "breakdown": breakdown, "precision": None if core == "inference" else precision,
            "fits": None if gpu_gb is None else bool(total <= gpu_gb), "train_hours": hours}


def estimate_all(n_params: float, seq_len: int = 512, batch: int = 1, gpu_gb: float | None = None,
                 train_tokens: int | None = None, gpu_tflops: float | None = None) -> dict:
    """Every method for one model: the resource section of the advisor's output and plan."""
    return {"model_size_b": round(n_params / 1e9, 4), "seq_len": seq_len, "batch": batch, "gpu_gb": gpu_gb,
            "train_tokens": train_tokens, "gpu_tflops": gpu_tflops,
            "methods": {m: estimate(n_params, m, seq_len, batch, gpu_gb=gpu_gb, train_tokens=train_tokens,
                                    gpu_tflops=gpu_tflops) for m in METHODS}}
