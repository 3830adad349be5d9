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


LOGIT_ROWS = 512  # positions whose log-softmax is taken at once: (512, vocab) fp32, 64 MB at a 32k vocabulary


def _window_nll(model: Any, batch: list[tuple[list[int], int]], pad_id: int) -> list[tuple[float, int]]:
    """Summed NLL of the last n targets of each window ``ids``, in one padded forward pass.

    The model reads ``ids[:-1]`` and is scored on ``ids[1:]``. Logits are computed at the scored
    positions only (transformers' ``logits_to_keep`` with a boolean mask: (scored, vocab) instead
    of (batch, width, vocab)), and their log-softmax in blocks of LOGIT_ROWS, so no full
    (batch, width, vocab) float32 tensor ever exists.
    """
    import torch

    from harness.modeling.train import accepts_logits_to_keep
    width = max(len(ids) for ids, _ in batch) - 1
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    target = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, (ids, n_targets) in enumerate(batch):
        n = len(ids) - 1
        input_ids[row, :n] = torch.tensor(ids[:-1])
        mask[row, :n] = 1
        target[row, n - n_targets:n] = torch.tensor(ids[len(ids) - n_targets:])
    scored = target != -100                                   # (batch, width)
    device = next(model.parameters()).device
    with torch.inference_mode():
        if accepts_logits_to_keep(model):
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                           logits_to_keep=scored.to(device)).logits    # (scored, vocab), row-major
        else:  # a model without logits_to_keep (remote code): all positions, then the scored ones
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits[scored.to(device)]
        wanted = target[scored].to(device)                     # (scored,)
        picked = torch.empty(len(wanted), dtype=torch.float32, device=device)
        for i in range(0, len(wanted), LOGIT_ROWS):
            block = logits[i:i + LOGIT_ROWS].float()           # (<= LOGIT_ROWS, vocab)
            picked[i:i + LOGIT_ROWS] = block.gather(-1, wanted[i:i + LOGIT_ROWS, None])[:, 0] - block.logsumexp(-1)
    per_row = torch.zeros(len(batch), dtype=torch.float64)
    per_row.index_add_(0, scored.nonzero()[:, 0], picked.double().cpu())
    return [(float(-per_row[r]), int(scored[r].sum())) for r in range(len(batch))]


def token_batches(jobs: list[tuple[list[int], int]], max_tokens: int, max_rows: int) -> list[list[int]]:
    """Indices of `jobs` (longest first) in batches of at most `max_rows` rows and `max_tokens`
    padded tokens (rows x the longest): the memory of a forward pass grows with its tokens."""
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
    out: list[list[int]] = []
    for i in order:
        if out and len(out[-1]) < max_rows and len(jobs[out[-1][0]][0]) * (len(out[-1]) + 1) <= max_tokens:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def batch_tokens(model: Any, memory_gb: float) -> int:
    """Tokens a scoring forward pass may hold within `memory_gb` of activations.

    Without gradients a layer's working set is its input, the attention's q/k/v/output and the
    MLP's up/gate/down intermediates: about (6 * hidden + 3 * intermediate) values per token in
    the model's dtype (attention itself is SDPA, without a seq x seq matrix); doubled for what
    the allocator keeps between layers.
    """
    cfg = getattr(model, "config", None)
    hidden = int(getattr(cfg, "hidden_size", 0) or 1024)
    ffn = int(getattr(cfg, "intermediate_size", 0) or 4 * hidden)
    width = next(model.parameters()).element_size()
    per_token = 2 * (6 * hidden + 3 * ffn) * max(width, 2)
    return max(256, int(memory_gb * 1e9 // per_token))


def perplexity(model: Any, tokenizer: Any, texts: str | Sequence[str], *, max_length: int | None = None,
               stride: int | None = None, batch_size: int = 8, add_prefix: bool = True,
               memory_gb: float = 1.0) -> PerplexityResult:
    """Token-weighted perplexity of `texts` with rolling windows.

    Args:
        model: a causal LM returning ``.logits`` (batch, seq, vocab).
        tokenizer: its tokenizer (special tokens are not added; the prefix token is).
        texts: one text or several (scored separately, pooled by tokens).
        max_length: tokens the model reads per window; the model's context by default.
        stride: tokens predicted per window after the first; ``max_length`` (disjoint windows,
            lm-eval's convention) by default. Smaller = more context per token, more compute.
        batch_size: windows per forward pass at most.
        add_prefix: put BOS (else EOS) in front so that the first token is scored too.
        memory_gb: activation memory a forward pass may take (fewer windows per pass when long).

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
    windows = _nll_of(model, jobs, pad_id, batch_size, memory_gb, "perplexity")
    nll, tokens = sum(w[0] for w in windows), sum(w[1] for w in windows)
    return PerplexityResult(math.exp(nll / tokens) if tokens else float("nan"), nll, tokens, windows)


def loglikelihoods(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], *, batch_size: int = 8,
                   max_length: int | None = None, memory_gb: float = 1.0) -> list[tuple[float, int]]:
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
    return [(-nll, n) for nll, n in _nll_of(model, jobs, pad_id, batch_size, memory_gb, "likelihoods")]


def _nll_of(model: Any, jobs: list[tuple[list[int], int]], pad_id: int, batch_size: int,
            memory_gb: float, label: str = "scoring") -> list[tuple[float, int]]:
    """(summed NLL, scored tokens) of every job, in the jobs' order; under a launcher each process
    scores its share of the batches (process 0 shows the progress of its share)."""
    from harness.modeling.distributed import is_main, shard_map
    from rightfit import ui
    batches = token_batches(jobs, batch_tokens(model, memory_gb), batch_size)

    def score(share: list) -> list:
        items = ui.track(share, f"{label} ({len(jobs)} sequences)", unit="batches") if is_main() else share
        return [_window_nll(model, [jobs[i] for i in b], pad_id) for b in items]
    scored = shard_map(score, batches)
    out: list[tuple[float, int]] = [(0.0, 0)] * len(jobs)
    for batch, results in zip(batches, scored):
        for i, result in zip(batch, results):
            out[i] = result
    return out


def choose(model: Any, tokenizer: Any, context: str, choices: Sequence[str], *, batch_size: int = 8) -> int:
    """Index of the choice with the highest log-likelihood after `context` (lm-eval ``acc``)."""
    scores = loglikelihoods(model, tokenizer, [(context, c) for c in choices], batch_size=batch_size)
    return max(range(len(choices)), key=lambda i: scores[i][0])
