"""Scoring text at scale: rightfit's perplexity vs the naive full-vocabulary computation it replaced,
on a ~134M-parameter Llama (hidden 768, 12 layers, a 32k vocabulary, bf16 weights, a chat template).

Both score the same text with the same 2048-token windows at stride 128 (each token read with
up to 2048 tokens of context, the setting that made one candidate's evaluation take minutes).
The baseline is what the harness did: float32 weights, 16 windows per forward pass, logits at
every position ((16, 2048, 32000) float32), log-softmax over all of them. Rightfit: the model's
own dtype where this machine computes it, logits only at the scored positions, log-softmax in
blocks, batches within eval.memory_gb, and the threads its evaluation uses. Each side runs in a
fresh process so its peak memory (VmHWM) is its own; the NLL of the two must agree (to 1e-4
relative in the same dtype; the bf16 run is also compared with the fp32 one).

    .venv/bin/python bench/eval_scaling.py [--tokens 4096]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from eval_common import REPO, write_result

CHILD = r"""
import json, math, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
side, model_dir, n_tokens, dtype, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
torch.set_num_threads(threads)
tok = AutoTokenizer.from_pretrained(model_dir)
text = open(sys.argv[6]).read()
ids = tok(text, add_special_tokens=False)["input_ids"][:n_tokens]
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
open("/proc/self/clear_refs", "w").write("5")
start = time.perf_counter()
if side == "naive":
    from harness.modeling.score import rolling_windows
    seq = [tok.bos_token_id] + ids
    jobs = sorted(([seq[b:e], n] for b, e, n in rolling_windows(len(seq), 2048, 128)), key=lambda j: -len(j[0]))
    nll = 0.0
    for i in range(0, len(jobs), 16):
        batch = jobs[i:i + 16]
        width = max(len(j) for j, _ in batch) - 1
        inp = torch.full((len(batch), width), tok.pad_token_id or 0)
        mask = torch.zeros_like(inp); target = torch.full_like(inp, -100)
        for r, (j, n) in enumerate(batch):
            inp[r, :len(j) - 1] = torch.tensor(j[:-1]); mask[r, :len(j) - 1] = 1
            target[r, len(j) - 1 - n:len(j) - 1] = torch.tensor(j[len(j) - n:])
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=inp, attention_mask=mask).logits.float(), -1)
        picked = logp.gather(-1, target.clamp(min=0)[..., None])[..., 0]
        nll -= float((picked * (target != -100)).sum())
    tokens = len(seq) - 1
else:
    from harness.modeling.score import perplexity
    res = perplexity(model, tok, tok.decode(ids), max_length=2048, stride=128, batch_size=16, memory_gb=1.0)
    nll, tokens = res.nll, res.tokens
seconds = time.perf_counter() - start
from harness.modeling.memory import peak_memory_mb
peak = peak_memory_mb()  # the child's whole life: VmHWM, never reset here
print(json.dumps({"side": side, "dtype": dtype, "threads": threads, "nll": nll, "tokens": tokens,
                  "ppl": math.exp(nll / tokens), "seconds": round(seconds, 2), "peak_mb": round(peak)}))
"""


def run(side: str, model: Path, tokens: int, dtype: str, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, side, str(model), str(tokens), dtype, str(threads),
                          str(REPO / "tasks" / "shopco-en" / "probes" / "heldout.txt")],
                         capture_output=True, text=True, cwd=REPO, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{side} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=4096, help="tokens of the general text scored (16 windows of 2048 at stride 128)")
    args = ap.parse_args()
    import os

    import torch

    from harness.basemodels.random import make_random_model
    from harness.modeling.precision import load_dtype
    with tempfile.TemporaryDirectory() as tmp:
        model = make_random_model(Path(tmp) / "llama-134m", "llama-134m", chat="chatml", dtype="bfloat16")
        threads = os.cpu_count() or 1
        ours_dtype = load_dtype("auto", "bfloat16")       # what rightfit loads this bf16 model in here
        naive = run("naive", model, args.tokens, "float32", 1)
        ours = run("ours", model, args.tokens, ours_dtype, threads)
        same_dtype = run("ours", model, args.tokens, "float32", 1)
    rel = abs(same_dtype["nll"] - naive["nll"]) / abs(naive["nll"])
    result = {
        "model": "llama-134m (hidden 768, 12 layers, vocab 32000, bf16 safetensors, ChatML)",
        "tokens": naive["tokens"], "window": 2048, "stride": 128, "naive": naive, "ours": ours,
        "ours_float32_1_thread": same_dtype,
        "speedup": round(naive["seconds"] / ours["seconds"], 2),
        "speedup_same_dtype_and_threads": round(naive["seconds"] / same_dtype["seconds"], 2),
        "peak_ratio": round(ours["peak_mb"] / naive["peak_mb"], 3),
        "nll_rel_diff_same_dtype": rel, "nll_rel_diff_bf16_vs_fp32": abs(ours["nll"] - naive["nll"]) / abs(naive["nll"]),
        "targets": {"speedup": ">= 5", "peak_mb": "<= 2048", "nll_rel_diff_same_dtype": "<= 1e-4"},
        "met": bool(naive["seconds"] / ours["seconds"] >= 5 and ours["peak_mb"] <= 2048 and rel <= 1e-4),
        "torch_threads": torch.get_num_threads()}
    print(json.dumps(result, indent=1))
    write_result("eval_scaling", result)
    if not result["met"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
