"""Batched evaluation vs one question at a time: the speed ratio (target >= 4x).

The same candidate (prompt-only: the base model with the project's prompt template) answers
the same test questions of a suite through :func:`harness.evaluation.evaluate.score_part`, once with
``decode.batch_size = B`` and once with ``decode.batch_size = 1``, greedy. The runs are
interleaved and each timed as a median; the JSON also records how many answers agree between
the two (left padding can flip a near-tie of the greedy argmax, rarely).

    .venv/bin/python bench/batched_eval.py [--model PATH] [--suite shopco-en] [--questions 64] [--batch-size 16]
"""

from __future__ import annotations

import argparse

from eval_common import REPO, interleaved, load_model, write_result


def main() -> None:
    import torch

    from harness.config import RunConfig
    from harness.evaluation.evaluate import score_part
    from harness.suites import load_suite
    from harness.techniques.candidate import ModelCandidate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--suite", default="shopco-en")
    ap.add_argument("--questions", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    suite = load_suite(args.suite)
    rows = suite.test[:args.questions]
    texts = [(REPO / "tasks" / "shopco-en" / "probes" / "heldout.txt").read_text(encoding="utf-8")]
    model, tok, desc = load_model(args.model, texts)
    candidate = ModelCandidate("prompt", model, tok)

    max_new_tokens = suite.answer_tokens  # as a run decodes this suite (decode.max_new_tokens 0 = the suite's)

    def run(batch_size: int):
        cfg = RunConfig()
        cfg.decode.batch_size, cfg.decode.max_new_tokens = batch_size, max_new_tokens
        return lambda: score_part(candidate, rows, "test", suite, cfg)

    (batched, batched_s), (single, single_s) = interleaved([run(args.batch_size), run(1)], repeats=args.repeats)
    agree = sum(a["answer"] == b["answer"] for a, b in zip(batched, single))
    em = [sum(e["scores"]["em"] for e in x) / len(x) for x in (batched, single)]
    tokens = [sum(e["generated_tokens"] for e in x) for x in (batched, single)]
    out = {"model": desc, "suite": args.suite, "questions": len(rows), "batch_size": args.batch_size,
           "max_new_tokens": max_new_tokens, "timing": f"median of {args.repeats} interleaved runs",
           "batched": {"seconds": batched_s, "questions_per_s": len(rows) / batched_s, "em": em[0],
                       "generated_tokens": tokens[0]},
           "one_at_a_time": {"seconds": single_s, "questions_per_s": len(rows) / single_s, "em": em[1],
                             "generated_tokens": tokens[1]},
           "speed_ratio": single_s / batched_s, "target": 4.0, "answers_agree": agree / len(rows)}
    out["meets_target"] = out["speed_ratio"] >= 4.0
    print(f"wrote {write_result('batched_eval', out)}")
    print({k: out[k] for k in ("speed_ratio", "answers_agree", "batched", "one_at_a_time")})


if __name__ == "__main__":
    main()
