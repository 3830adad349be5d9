"""Training step throughput: the harness vs the same work in a bare loop, and vs a plain HF Trainer.

Three contenders fine-tune the same model (the committed default teacher, the model `make demo`
trains: a Llama of hidden 128, 3 layers and a 4,000-token vocabulary; every weight trains, fp32,
one thread) on the same examples, batch, learning-rate schedule (AdamW, linear warm-up) and
gradient clipping:

- ``harness``: harness.modeling.train.train -- the HF Trainer with the harness's loss, computing
  logits only at the positions whose next token is an answer token (``logits_to_keep``);
- ``bare_same_work``: a plain PyTorch loop computing that same loss the same way, in the same
  order: ``harness / bare_same_work`` is the harness's overhead (target >= 0.95);
- ``plain_trainer``: ``transformers.Trainer`` as it comes, with the standard causal-LM loss (the
  labels passed to the model, which projects every position onto the vocabulary):
  ``harness / plain_trainer`` is what the harness's choices gain.

Two workloads: ``pairs``, the suite's question/answer pairs as LoRA and full fine-tuning train
them (short prompts), and ``context``, the same pairs with their gold document in the prompt, as
retrieval-aware fine-tuning (rag_lora) trains them (long prompts, short answers: most positions
need no logit). Each run is timed twice: its steady steps (steps/s from the end of step
--warmup to the end of the last, which is what a run of hundreds of steps is made of) and from
loading the model to its last step (setup included, as a short run feels it). The contenders run
interleaved after one untimed round, and the median of --repeats counts. Ratios are throughputs
(steps/s over steps/s). The final losses show the work was the same: the harness and the bare
loop end within float noise of each other (same order, same loss); the plain Trainer reads the
examples in its own shuffled order, so its loss is the same quantity at another point.

    .venv/bin/python bench/train_throughput.py [--steps 60] [--warmup 10] [--batch 16] [--repeats 3]
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
from eval_common import REPO, write_result  # noqa: E402


def workloads(tokenizer, seq_len: int) -> dict[str, list[dict]]:
    """name -> tokenised training examples of the bundled English suite (loss on the answers)."""
    from harness.modeling.prompts import Prompter
    from harness.modeling.train import pair_examples
    from harness.suites import load_suite
    suite = load_suite(REPO / "tasks" / "shopco-en")
    prompter = Prompter(tokenizer, suite.system)
    pairs = suite.train
    contexts = [[suite.docs[d] for d in p.get("doc_ids", []) if d in suite.docs] for p in pairs]
    return {"pairs": pair_examples(tokenizer, pairs, seq_len, prompter=prompter),
            "context": pair_examples(tokenizer, pairs, seq_len, contexts, prompter)}


def main() -> None:
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from harness.basemodels.build import resolve_base_model
    from harness.config import TrainConfig
    from harness.modeling.train import (
        _Ordered,
        answer_positions,
        collate,
        schedule,
        token_kd_loss,
        train,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10, help="steps left out of the steady rate (first batches, caches)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256, help="train.seq_len: longest example in tokens")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds, after one untimed warm-up round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    path = resolve_base_model("default", "teacher")  # the committed copy; never a build
    tok = AutoTokenizer.from_pretrained(path)
    tmp = Path(tempfile.mkdtemp(prefix="rightfit-train-bench-"))
    cfg = TrainConfig(max_steps=args.steps, batch_size=args.batch, checkpoint_every=0, eval_every=0, precision="fp32")
    warmup = math.ceil(cfg.warmup_ratio * args.steps)

    def load():
        torch.manual_seed(0)
        return AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)

    class StepClock(TrainerCallback):
        """perf_counter at the end of every optimizer step (seconds), into `ends`."""

        def __init__(self, ends: list[float]):
            self.ends = ends

        def on_step_end(self, targs, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    def harness_run(examples, ends):
        model = load()
        log = train(model, tok, examples, [], cfg, args.lr, 0, tmp / "harness", callbacks=(StepClock(ends),))
        return log["train_loss"][-1][1]

    def bare_run(examples, ends):
        model = load()
        model.train()
        data, fn = _Ordered(examples, schedule(len(examples), cfg, 0)), collate(tok.pad_token_id)
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, fused=True)  # the Trainer's default
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warmup) if s < warmup
                                                  else max(0.0, (args.steps - s) / max(1, args.steps - warmup)))
        for step in range(args.steps):
            batch = fn([data[i] for i in range(step * args.batch, (step + 1) * args.batch)])
            labels = batch.pop("labels")
            pos = answer_positions(labels)                   # (batch, seq) where a logit is needed
            logits = model(**batch, logits_to_keep=pos).logits  # (answer tokens, vocab)
            loss = token_kd_loss(logits, None, labels[:, 1:][pos[:, :-1]], 1.0, 0.0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            ends.append(time.perf_counter())
        return float(loss.item())

    def plain_trainer_run(examples, ends):
        model = load()
        targs = TrainingArguments(output_dir=str(tmp / "plain"), max_steps=args.steps,
                                  per_device_train_batch_size=args.batch, learning_rate=args.lr, weight_decay=0.0,
                                  warmup_steps=warmup, lr_scheduler_type="linear", max_grad_norm=1.0, logging_steps=1,
                                  save_strategy="no", report_to="none", seed=0, use_cpu=True, disable_tqdm=True,
                                  dataloader_num_workers=0, remove_unused_columns=False)
        trainer = Trainer(model=model, args=targs, train_dataset=examples, data_collator=collate(tok.pad_token_id))
        trainer.remove_callback(PrinterCallback)  # its per-step prints are output, not the work measured
        trainer.add_callback(StepClock(ends))
        trainer.train()
        return next(h["loss"] for h in reversed(trainer.state.log_history) if "loss" in h)

    contenders = {"harness": harness_run, "bare_same_work": bare_run, "plain_trainer": plain_trainer_run}
    rows = {}
    for workload, examples in workloads(tok, args.seq).items():
        total: dict[str, list[float]] = {k: [] for k in contenders}   # s, model load to last step
        steady: dict[str, list[float]] = {k: [] for k in contenders}  # steps/s after --warmup steps
        losses: dict[str, float] = {}
        for repeat in range(args.repeats + 1):  # round 0 warms up (imports, allocator, caches): not timed
            for name, run in contenders.items():
                ends: list[float] = []
                t0 = time.perf_counter()
                losses[name] = round(float(run(examples, ends)), 5)
                if repeat == 0:
                    continue
                total[name].append(time.perf_counter() - t0)
                assert len(ends) == args.steps, (name, len(ends))
                steady[name].append((args.steps - args.warmup) / (ends[-1] - ends[args.warmup - 1]))
        med = {k: statistics.median(v) for k, v in total.items()}
        rate = {k: statistics.median(v) for k, v in steady.items()}
        lengths = [len(e["input_ids"]) for e in examples]
        answer = [sum(1 for x in e["labels"] if x != -100) for e in examples]
        rows[workload] = {
            "examples": len(examples), "mean_tokens": round(statistics.fmean(lengths), 1),
            "mean_answer_tokens": round(statistics.fmean(answer), 1),
            "steady_steps_per_s": {k: round(v, 3) for k, v in rate.items()},
            "median_s_load_to_last_step": {k: round(v, 3) for k, v in med.items()}, "final_loss": losses,
            "ratio_harness_over_bare_same_work": round(rate["harness"] / rate["bare_same_work"], 3),
            "ratio_harness_over_plain_trainer": round(rate["harness"] / rate["plain_trainer"], 3),
            "ratio_harness_over_bare_same_work_with_setup": round(med["bare_same_work"] / med["harness"], 3),
            "ratio_harness_over_plain_trainer_with_setup": round(med["plain_trainer"] / med["harness"], 3),
            "final_loss_gap_harness_vs_bare": abs(losses["harness"] - losses["bare_same_work"])}
        print(workload, rows[workload], flush=True)
    model = load()
    worst = min(r["ratio_harness_over_bare_same_work"] for r in rows.values())
    out = {"model": {"path": str(path), "params": sum(p.numel() for p in model.parameters()),
                     "hidden": model.config.hidden_size, "layers": model.config.num_hidden_layers,
                     "vocab": model.config.vocab_size},
           "steps": args.steps, "warmup_steps": args.warmup, "batch": args.batch, "seq_len": args.seq, "dtype": "fp32",
           "threads": args.threads, "timing": f"median of {args.repeats} interleaved runs: steady steps/s after "
                                              f"{args.warmup} steps, and seconds from model load to the last step",
           "workloads": rows, "target_harness_over_bare_same_work": 0.95, "meets_target": worst >= 0.95,
           "headline": "steady steps/s, harness / same-work loop " + ", ".join(
               f"{w} {r['ratio_harness_over_bare_same_work']:.2f}x" for w, r in rows.items())
           + "; harness / plain Trainer " + ", ".join(
               f"{w} {r['ratio_harness_over_plain_trainer']:.2f}x" for w, r in rows.items())
           + " (setup included: " + ", ".join(
               f"{r['ratio_harness_over_bare_same_work_with_setup']:.2f}x / "
               f"{r['ratio_harness_over_plain_trainer_with_setup']:.2f}x" for r in rows.values()) + ")"}
    print(f"wrote {write_result('train_throughput', out)}")
    print(out["headline"])


if __name__ == "__main__":
    main()
