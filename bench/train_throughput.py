"""Training step throughput: the harness (HF Trainer, harness.modeling.train.train) vs a bare PyTorch loop.

Same model (a Llama of the default teacher's width), same examples, batch, learning-rate
schedule, gradient clipping and dtype (fp32: this CPU has no native bf16), same loss
(harness.modeling.train.kd_loss on answer tokens); runs interleaved, median of --repeats. The
ratio is harness steps/s over bare-loop steps/s (target >= 0.95), setup included, and the two
final losses are reported to show that both loops did the same work.

    .venv/bin/python bench/train_throughput.py [--hidden 256] [--layers 4] [--steps 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import write_result  # noqa: E402


def main() -> None:
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    from harness.basemodels.random import make_tiny_llama
    from harness.config import TrainConfig
    from harness.modeling.train import _Ordered, collate, kd_loss, schedule, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    tmp = Path(tempfile.mkdtemp(prefix="rightfit-train-bench-"))
    path = make_tiny_llama(tmp / "m", hidden=args.hidden, layers=args.layers, seed=0)
    tok = AutoTokenizer.from_pretrained(path)
    g = torch.Generator().manual_seed(0)
    n = args.batch * 4
    examples = [{"input_ids": (ids := torch.randint(4, 400, (args.seq,), generator=g).tolist()), "labels": ids}
                for _ in range(n)]
    cfg = TrainConfig(max_steps=args.steps, batch_size=args.batch, checkpoint_every=0, eval_every=0, precision="fp32")

    def harness_run() -> tuple[float, float]:
        model = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)
        t0 = time.perf_counter()
        log = train(model, tok, examples, [], cfg, 1e-3, 0, tmp / "work")
        return time.perf_counter() - t0, log["train_loss"][-1][1]

    def bare_run() -> tuple[float, float]:
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)
        model.train()
        t0 = time.perf_counter()
        data, fn = _Ordered(examples, schedule(len(examples), cfg, 0)), collate(tok.pad_token_id)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
        sched = get_linear_schedule_with_warmup(opt, math.ceil(cfg.warmup_ratio * args.steps), args.steps)
        for step in range(args.steps):
            batch = fn([data[i] for i in range(step * args.batch, (step + 1) * args.batch)])
            labels = batch.pop("labels")
            loss = kd_loss(model(**batch).logits, None, labels, 1.0, 0.0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
        return time.perf_counter() - t0, float(loss.item())

    times = {"harness": [], "bare": []}
    losses = {}
    for _ in range(args.repeats):
        for name, fn in (("harness", harness_run), ("bare", bare_run)):
            secs, loss = fn()
            times[name].append(secs)
            losses[name] = loss
    med = {k: statistics.median(v) for k, v in times.items()}
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(path).parameters())
    out = {"model": {"hidden": args.hidden, "layers": args.layers, "params": params}, "steps": args.steps,
           "batch": args.batch, "seq": args.seq, "dtype": "fp32", "threads": args.threads,
           "median_s": med, "steps_per_s": {k: args.steps / v for k, v in med.items()},
           "final_loss": losses, "ratio_harness_over_bare": med["bare"] / med["harness"], "target": 0.95}
    out["meets_target"] = out["ratio_harness_over_bare"] >= 0.95
    print({k: v for k, v in out.items() if k != "model"})
    print(f"wrote {write_result('train_throughput', out)}")


if __name__ == "__main__":
    main()
