"""Scoring text with a causal LM: rolling-window perplexity and continuation log-likelihoods.

Perplexity follows the Hugging Face "Perplexity of fixed-length models" method: the token
sequence is cut into windows of at most ``max_length`` tokens that advance by ``stride``;
each token is scored exactly once, with up to ``max_length`` tokens of context, and the
result is token-weighted: ``exp(sum NLL / scored tokens)`` over all texts. A prefix token
(BOS, else EOS) is put in front of each text so its first token is scored too — the same
convention as lm-evaluation-harness's ``loglikelihood_rolling``, which equals ours with
``stride = max_length``. A smaller stride gives each token more context and a lower (better)
perplexity at more compute.

Torch is imported inside the functions: this module is imported by the CLI's run path only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from harness.modeling.load import context_window


@dataclass
class PerplexityResult:
    ppl: float          # exp(nll / tokens)
    nll: float          # summed negative log-likelihood, nats
    tokens: int         # tokens scored
    windows: list[tuple[float, int]] = field(default_factory=list)  # (nll, tokens) per window, for CIs


def prefix_token_id(tokenizer: Any) -> int | None:
    for name in ("bos_token_id", "eos_token_id"):
        tid = getattr(tokenizer, name, None)
        if tid is not None:
            return int(tid)
    return None


def rolling_windows(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """Windows ``(begin, end, n_targets)`` over ``n_tokens`` token positions.

    The model reads positions ``[begin, end - 1)`` (at most ``max_length``) and predicts
    positions ``[end - n_targets, end)``; every position from 1 on is predicted exactly once.
    The first window predicts everything it can; each later one advances by ``stride``
    predictions and so gives its first target ``max_length - stride + 1`` tokens of context
    (``stride = max_length``: disjoint windows, lm-eval's rolling convention).
    """
    if max_length < 1 or stride < 1:
        raise ValueError("max_length and stride must be at least 1")
    stride = min(stride, max_length)
    windows, done = [], min(max_length + 1, n_tokens)
    if n_tokens >= 2:
        windows.append((0, done, done - 1))
    while done < n_tokens:
        end = min(done + stride, n_tokens)
        windows.append((max(0, end - 1 - max_length), end, end - done))
        done = end
    return windows


def _window_nll(model: Any, batch: list[tuple[list[int], int]], pad_id: int) -> list[tuple[float, int]]:
    """Summed NLL of the last n targets of each window ``ids``, in one padded forward pass.

    The model reads ``ids[:-1]`` and is scored on ``ids[1:]``.
    """
    import torch

    width = max(len(ids) for ids, _ in batch) - 1
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    target = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, (ids, n_targets) in enumerate(batch):
        n = len(ids) - 1
        input_ids[row, :n] = torch.tensor(ids[:-1])
        mask[row, :n] = 1
        target[row, n - n_targets:n] = torch.tensor(ids[len(ids) - n_targets:])
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=mask).logits.float()  # (batch, width, vocab)
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (batch, width)
    scored = target != -100
    nll = -(picked * scored).sum(dim=1)
    return [(float(nll[r]), int(scored[r].sum())) for r in range(len(batch))]


def perplexity(model: Any, tokenizer: Any, texts: str | Sequence[str], *, max_length: int | None = None,
               stride: int | None = None, batch_size: int = 8, add_prefix: bool = True) -> PerplexityResult:
    """Token-weighted perplexity of `texts` with rolling windows.

    Args:
        model: a causal LM returning ``.logits`` (batch, seq, vocab).
        tokenizer: its tokenizer (special tokens are not added; the prefix token is).
        texts: one text or several (scored separately, pooled by tokens).
        max_length: tokens the model reads per window; the model's context by default.
        stride: tokens predicted per window after the first; ``max_length`` (disjoint windows,
            lm-eval's convention) by default. Smaller = more context per token, more compute.
        batch_size: windows per forward pass.
        add_prefix: put BOS (else EOS) in front so that the first token is scored too.

    Returns:
        PerplexityResult (ppl is nan when nothing could be scored).
    """
    max_length = max_length or context_window(model, tokenizer)
    stride = stride or max_length
    prefix = prefix_token_id(tokenizer) if add_prefix else None
    pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = pad_id if pad_id is not None else (prefix or 0)
    jobs: list[tuple[list[int], int]] = []
    for text in [texts] if isinstance(texts, str) else texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if prefix is not None:
            ids = [prefix] + ids
        jobs += [(ids[b:e], n) for b, e, n in rolling_windows(len(ids), max_length, stride)]
    # Longest first: windows of similar length share a batch, less padding.
    jobs.sort(key=lambda j: -len(j[0]))
    windows: list[tuple[float, int]] = []
    for i in range(0, len(jobs), batch_size):
        windows += _window_nll(model, jobs[i:i + batch_size], pad_id)
    nll, tokens = sum(w[0] for w in windows), sum(w[1] for w in windows)
    return PerplexityResult(math.exp(nll / tokens) if tokens else float("nan"), nll, tokens, windows)


def loglikelihoods(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], *, batch_size: int = 8,
                   max_length: int | None = None) -> list[tuple[float, int]]:
    """Log-likelihood of each continuation given its context: [(sum log p, continuation tokens)].

    The continuation's tokens are those of ``context + continuation`` beyond the context's
    (so a merge across the boundary is scored as the model would see it); trailing spaces of
    the context move to the continuation, as lm-evaluation-harness does. Over-long inputs keep
    their last ``max_length + 1`` tokens (the model reads ``max_length``).
    """
    max_length = max_length or context_window(model, tokenizer)
    prefix = prefix_token_id(tokenizer)
    pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = pad_id if pad_id is not None else (prefix or 0)
    jobs = []
    for context, continuation in pairs:
        stripped = context.rstrip(" ")
        continuation = context[len(stripped):] + continuation
        ctx = ([prefix] if prefix is not None else []) + tokenizer(stripped, add_special_tokens=False)["input_ids"]
        whole = ([prefix] if prefix is not None else []) + tokenizer(stripped + continuation,
                                                                     add_special_tokens=False)["input_ids"]
        common = 0  # the context's tokens that survive in the joint tokenisation
        while common < min(len(ctx), len(whole)) and ctx[common] == whole[common]:
            common += 1
        common = max(1, min(common, len(whole) - 1))
        jobs.append((whole[-(max_length + 1):], min(len(whole) - common, max_length)))
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(jobs)
    for i in range(0, len(order), batch_size):
        chunk = order[i:i + batch_size]
        for j, (nll, n) in zip(chunk, _window_nll(model, [jobs[k] for k in chunk], pad_id)):
            out[j] = (-nll, n)
    return out


def choose(model: Any, tokenizer: Any, context: str, choices: Sequence[str], *, batch_size: int = 8) -> int:
    """Index of the choice with the highest log-likelihood after `context` (lm-eval ``acc``)."""
    scores = loglikelihoods(model, tokenizer, [(context, c) for c in choices], batch_size=batch_size)
    return max(range(len(choices)), key=lambda i: scores[i][0])
