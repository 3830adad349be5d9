"""Our rolling-window perplexity vs lm-evaluation-harness's ``loglikelihood_rolling``.

Same model, same text, same window (``max_length``), same batch size. lm-eval's rolling
convention is disjoint windows with one prefix token (BOS, else EOS) in front, which is ours
with ``stride = max_length``; the two perplexities must agree within 0.5%. Also reported: an
independent one-window-at-a-time reference written here, the strided variant (more context per
token, lower perplexity, more compute), and the speed ratio (lm-eval seconds / ours).

lm-eval is the peer (pinned in requirements.txt, which `make bench` installs); without it the
benchmark stops with that reason instead of writing a row without its comparison.

    .venv/bin/python bench/perplexity_vs_lmeval.py [--model PATH] [--max-length 256]
"""

from __future__ import annotations

import argparse
import math

from eval_common import REPO, interleaved, load_model, peer, write_result


def reference_ppl(model, tok, text: str, max_length: int) -> tuple[float, int]:
    """Disjoint windows one at a time with the model's own loss: no code shared with harness.modeling.score."""
    import torch
    ids = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id] + \
        tok(text, add_special_tokens=False)["input_ids"]
    nll, n = 0.0, 0
    for start in range(0, len(ids) - 1, max_length):
        end = min(start + max_length + 1, len(ids))
        begin = max(0, end - 1 - max_length)  # the last, short chunk still reads a full window
        window = torch.tensor([ids[begin:end]])
        labels = window.clone()
        labels[0, :start + 1 - begin] = -100   # score only ids[start+1:end]
        with torch.inference_mode():
            loss = model(input_ids=window, labels=labels).loss
        k = end - start - 1
        nll, n = nll + float(loss) * k, n + k
    return math.exp(nll / n), n


def lmeval_rolling(model, tok, text: str, max_length: int, batch_size: int):
    """A function returning lm-eval's (ppl, tokens) for `text`."""
    peer("lm_eval", "lm-eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=batch_size, max_length=max_length)
    request = [Instance(request_type="loglikelihood_rolling", doc={}, arguments=(text,), idx=0)]
    n = len(lm.tok_encode(text))

    def run():
        (loglik,) = lm.loglikelihood_rolling(request, disable_tqdm=True)
        return math.exp(-loglik / n), n
    return run


def main() -> None:
    import torch

    from harness.modeling.score import perplexity

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5, help="Timed runs per contender, interleaved; medians.")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    text = (REPO / "tasks" / "shopco-en" / "probes" / "heldout.txt").read_text(encoding="utf-8")
    model, tok, desc = load_model(args.model, [text])
    L = args.max_length
    theirs = lmeval_rolling(model, tok, text, L, args.batch_size)
    contenders = [lambda: perplexity(model, tok, text, max_length=L, stride=L, batch_size=args.batch_size),
                  lambda: perplexity(model, tok, text, max_length=L, stride=L // 2, batch_size=args.batch_size),
                  lambda: reference_ppl(model, tok, text, L), theirs]
    timings = interleaved(contenders, repeats=args.repeats)
    (ours, ours_s), (strided, strided_s), ((ref, ref_n), ref_s), ((ppl, n), seconds) = timings
    import lm_eval
    out = {"model": desc, "text": "tasks/shopco-en/probes/heldout.txt", "text_chars": len(text),
           "max_length": L, "batch_size": args.batch_size, "timing": f"median of {args.repeats} interleaved runs",
           "ours": {"ppl": ours.ppl, "tokens": ours.tokens, "seconds": ours_s},
           "ours_stride_half": {"ppl": strided.ppl, "tokens": strided.tokens, "seconds": strided_s},
           "reference_one_window_at_a_time": {"ppl": ref, "tokens": ref_n, "seconds": ref_s},
           "rel_diff_vs_reference": abs(ours.ppl - ref) / ref,
           "lm_eval": {"version": lm_eval.__version__, "ppl": ppl, "tokens": n, "seconds": seconds},
           "rel_diff_vs_lm_eval": abs(ours.ppl - ppl) / ppl, "speed_ratio_lm_eval_over_ours": seconds / ours_s}
    out["within_0.5pct"] = out["rel_diff_vs_lm_eval"] <= 0.005
    out["headline"] = (f"perplexity {ours.ppl:.3f} vs lm-eval {ppl:.3f} ({out['rel_diff_vs_lm_eval']:.2%} apart), "
                       f"lm-eval takes {out['speed_ratio_lm_eval_over_ours']:.2f}x our time")
    path = write_result("perplexity_vs_lmeval", out)
    print(f"wrote {path}")
    for k in ("ours", "ours_stride_half", "reference_one_window_at_a_time", "lm_eval"):
        print(k, out[k])
    for k in ("rel_diff_vs_reference", "rel_diff_vs_lm_eval", "speed_ratio_lm_eval_over_ours"):
        print(k, out.get(k))


if __name__ == "__main__":
    main()
