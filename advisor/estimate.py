"""GPU memory and training time for adapting a decoder-only LLM: a pure function, no torch.

Memory is built bottom-up, not read off a table:

    total = weights + gradients + optimizer + activations + overhead

* weights/gradients/optimizer come from bytes per parameter (below) times the parameters that
  are stored, trained, or frozen. Mixed precision with Adam keeps fp32 master weights (4 B),
  fp32 gradients (4 B) and Adam's two moments (8 B): 16 B per parameter (ZeRO, Rajbhandari et
  al. 2020). Pure bf16 halves every term: 8 B. LoRA freezes the base in bf16 (2 B) and trains
  only the adapters at 16 B; QLoRA stores the frozen base in 4-bit NF4 (0.5 B) plus
  double-quantized constants (0.127 bit, Dettmers et al. 2023) and keeps the embeddings and the
  output head in bf16, as bitsandbytes does.
* activations: with activation checkpointing (the default for every method here, as in the
  QLoRA paper) each layer keeps its bf16 input, 2·s·b·h bytes, and one layer at a time is
  recomputed with its full working set, 34·s·b·h bytes with a fused attention kernel
  (Korthikanti et al. 2022, "Reducing Activation Recomputation"). The logits add s·b·V·10 bytes
  (bf16 logits, fp32 softmax and its gradient).
* overhead: 0.5 GB CUDA context and workspaces, plus 5% of the rest for allocator fragmentation.

Checked against the published figures (tests/test_advisor_estimate.py, ±25%): LLaMA-Factory's
7B table (full mixed precision 120 GB, full bf16 60 GB, LoRA 16 GB, QLoRA 8-bit 10 GB, QLoRA
4-bit 6 GB) and the QLoRA paper's 65B model on one 48 GB GPU.

Training time = FLOPs / (GPU throughput × MFU). FLOPs per token: 6N for full fine-tuning
(forward 2N, backward 4N), 4N for (Q)LoRA (no weight gradients for the frozen base), plus 2N
for recomputing the forward under checkpointing; QLoRA pays ~1.3× for dequantization
(torchtune: 3083 vs 2413 tokens/s on an RTX 4090). A rough figure, good to about 2×.
"""

from __future__ import annotations

GB = 1e9                  # decimal gigabytes, as the published tables use
VOCAB = 32_000            # tokens; Llama-1/2 vocabulary, used when only n_params is known
FFN_RATIO = 11008 / 4096  # SwiGLU intermediate size / hidden (Llama)
HEAD_DIM = 128            # hidden / n_layers ≈ 128 in the Llama family: fixes the shape from N
CUDA_CONTEXT_GB = 0.5
FRAGMENTATION = 0.05
MFU = 0.5                 # model FLOPs utilisation assumed for train_hours
QLORA_SLOWDOWN = 1.3      # dequantizing the 4/8-bit base on every matmul

# bytes per parameter: (stored weights of trained params, gradients, optimizer) and frozen base
_FULL = {"full": (4.0, 4.0, 8.0), "full_bf16": (2.0, 2.0, 4.0)}
_FROZEN = {"lora": 2.0, "qlora4": 0.5 + 0.127 / 8, "qlora8": 1.0 + 4.0 / 4096,
           "inference": 2.0}  # NF4 + double-quant constants; int8 + one fp32 scale per 4096-row
METHODS = ("full", "full_bf16", "lora", "qlora4", "qlora8", "inference")


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
    """Adapter parameters for rank r on every linear layer: r·(d_in + d_out) per matrix."""
    ffn = FFN_RATIO * hidden
    return n_layers * r * (4 * 2 * hidden + 3 * (hidden + ffn))


def estimate(n_params: float, method: str, seq_len: int = 512, batch: int = 1, n_layers: int | None = None,
             hidden: int | None = None, gpu_gb: float | None = None, train_tokens: int | None = None,
             gpu_tflops: float | None = None, *, lora_r: int = 8, checkpointing: bool = True) -> dict:
    """Peak GPU memory (GB) and rough training time for one method.

    Args:
        n_params: parameter count of the base model (7e9 for a 7B model, not 7).
        method: one of METHODS: full (mixed precision + Adam), full_bf16, lora, qlora4, qlora8,
            inference (bf16 weights + KV cache, no training).
        seq_len, batch: tokens per sequence and sequences per step.
        n_layers, hidden: the model's shape; derived from n_params (Llama proportions) if None.
        gpu_gb: memory of the GPU(s); `fits` is None without it.
        train_tokens, gpu_tflops: tokens seen in training (all epochs) and the GPU's dense bf16
            TFLOPS; `train_hours` is None without both (and always None for inference).
        lora_r: adapter rank for lora/qlora.
        checkpointing: activation checkpointing (recompute each layer in the backward pass).

    Returns:
        {"total_gb", "breakdown": {weights, gradients, optimizer, activations, overhead} in GB,
         "fits": bool | None, "train_hours": float | None}

    Raises:
        ValueError: unknown method or non-positive sizes (a programming error; the CLI checks
            user input before calling).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if n_params <= 0 or seq_len <= 0 or batch <= 0:
        raise ValueError("n_params, seq_len and batch must be positive")
    layers, h = model_shape(n_params, n_layers, hidden)
    tokens = seq_len * batch
    embed = min(2 * VOCAB * h, 0.5 * n_params)  # input embeddings + output head (untied)

    if method in _FULL:
        w, g, o = (b * n_params for b in _FULL[method])
    else:
        frozen = _FROZEN[method]
        # quantized methods keep embeddings and head in bf16; inference and lora store all in bf16
        w = frozen * (n_params - embed) + 2.0 * embed if method.startswith("qlora") else frozen * n_params
        adapters = lora_params(layers, h, lora_r) if method != "inference" else 0.0
        w, g, o = w + 4.0 * adapters, 4.0 * adapters, 8.0 * adapters

    if method == "inference":
        kv_cache = 2 * layers * tokens * h * 2         # K and V, bf16, every layer
        act = kv_cache + 34 * tokens * h + 2 * tokens * VOCAB
    elif checkpointing:
        act = 2 * tokens * h * layers + 34 * tokens * h + 10 * tokens * VOCAB
    else:
        act = 34 * tokens * h * layers + 10 * tokens * VOCAB

    parts = {"weights": w, "gradients": g, "optimizer": o, "activations": act}
    subtotal = sum(parts.values()) / GB
    breakdown = {k: round(v / GB, 3) for k, v in parts.items()}
    breakdown["overhead"] = round(CUDA_CONTEXT_GB + FRAGMENTATION * subtotal, 3)
    total = round(subtotal + breakdown["overhead"], 2)

    hours = None
    if train_tokens and gpu_tflops and method != "inference":
        per_token = 6 if method.startswith("full") else 4
        per_token += 2 if checkpointing else 0
        flops = per_token * n_params * train_tokens * (QLORA_SLOWDOWN if method.startswith("qlora") else 1.0)
        hours = round(flops / (gpu_tflops * 1e12 * MFU) / 3600, 4)
    return {"total_gb": total, "breakdown": breakdown,
            "fits": None if gpu_gb is None else bool(total <= gpu_gb), "train_hours": hours}


def estimate_all(n_params: float, seq_len: int = 512, batch: int = 1, gpu_gb: float | None = None,
                 train_tokens: int | None = None, gpu_tflops: float | None = None) -> dict:
    """Every method for one model: the resource section of the advisor's output and plan."""
    return {"model_size_b": round(n_params / 1e9, 4), "seq_len": seq_len, "batch": batch, "gpu_gb": gpu_gb,
            "train_tokens": train_tokens, "gpu_tflops": gpu_tflops,
            "methods": {m: estimate(n_params, m, seq_len, batch, gpu_gb=gpu_gb, train_tokens=train_tokens,
                                    gpu_tflops=gpu_tflops) for m in METHODS}}
