"""Batched answer generation: left padding, greedy / beam / seeded sampling, stop at newline or EOS.

An answer is one line: generation stops for a row once it produced a newline or EOS, and the
text is cut there. Timings are per question (its share of the batch wall time) and token
counts are exact (prompt tokens without padding; generated tokens up to and including the
stop token).
"""

from __future__ import annotations

import time
from typing import Any

from harness.techniques.protocol import Answer


class _StopAtNewline:
    """StoppingCriteria: a row is done once its new tokens contain a newline (per-row bools)."""

    def __init__(self, tokenizer: Any, prompt_len: int):
        self.tokenizer, self.prompt_len = tokenizer, prompt_len
        self._newline_ids: dict[int, bool] = {}

    def _has_newline(self, token_id: int) -> bool:
        if token_id not in self._newline_ids:
            self._newline_ids[token_id] = "\n" in self.tokenizer.decode([token_id])
        return self._newline_ids[token_id]

    def __call__(self, input_ids, scores, **kwargs):
        import torch
        done = [any(self._has_newline(int(t)) for t in row[self.prompt_len:]) for row in input_ids]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _decode_kwargs(decode: Any, seed: int) -> dict:
    import torch
    kw: dict = {"max_new_tokens": int(decode.max_new_tokens)}
    if decode.strategy == "greedy":
        kw.update(do_sample=False, num_beams=1)
    elif decode.strategy == "beam":
        kw.update(do_sample=False, num_beams=int(decode.num_beams), early_stopping=True)
    else:
        torch.manual_seed(seed)  # sampling is reproducible: same seed, same answers
        kw.update(do_sample=True, temperature=float(decode.temperature), top_k=int(decode.top_k) or None,
                  top_p=float(decode.top_p))
    return kw


def cut_answer(tokenizer: Any, new_ids: list[int]) -> tuple[str, int]:
    """(answer text up to the first newline/EOS, tokens generated including the stop token)."""
    kept: list[int] = []
    for i, t in enumerate(new_ids):
        if t == tokenizer.eos_token_id:
            return tokenizer.decode(kept, skip_special_tokens=True).strip(), i + 1
        kept.append(t)
        text = tokenizer.decode(kept, skip_special_tokens=True)
        if "\n" in text:
            return text.split("\n", 1)[0].strip(), i + 1
    return tokenizer.decode(kept, skip_special_tokens=True).strip(), len(kept)


def fit_prompt(tokenizer: Any, prompt: str, budget: int) -> tuple[list[int], bool]:
    """Prompt token ids, left-truncated to `budget` tokens; (ids, truncated)."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if tokenizer.bos_token_id is not None and getattr(tokenizer, "add_bos_token", False):
        ids = [tokenizer.bos_token_id] + ids
    if len(ids) > budget:
        return ids[len(ids) - budget:], True
    return ids, False


def generate(model: Any, tokenizer: Any, prompts: list[str], decode: Any, seed: int = 0,
             window: int | None = None) -> list[dict]:
    """Answer each prompt; returns dicts with text, prompt_tokens, generated_tokens, seconds, truncated.

    Args:
        model: a causal LM (or PeftModel) in eval mode.
        tokenizer: its tokenizer (pad token set).
        prompts: fully formatted prompts (see harness.world.template.format_prompt).
        decode: DecodeConfig.
        seed: sampling seed (per batch: seed + batch index).
        window: context window; prompts longer than window - max_new_tokens are left-truncated
            and flagged (never silently overflowing the position embeddings).
    """
    import torch
    from transformers import StoppingCriteriaList

    from harness.modeling.load import context_window
    window = window or context_window(model, tokenizer)
    budget = max(1, window - int(decode.max_new_tokens))
    device = next(model.parameters()).device
    out: list[dict] = []
    size = int(decode.batch_size)
    for b in range(0, len(prompts), size):
        batch = [fit_prompt(tokenizer, p, budget) for p in prompts[b:b + size]]
        width = max(len(ids) for ids, _ in batch)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in batch], device=device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in batch], device=device)
        start = time.perf_counter()
        with torch.inference_mode():
            seqs = model.generate(input_ids=input_ids, attention_mask=attention, pad_token_id=pad,
                                  eos_token_id=tokenizer.eos_token_id,
                                  stopping_criteria=StoppingCriteriaList([_StopAtNewline(tokenizer, width)]),
                                  **_decode_kwargs(decode, seed + b // size))
        share = (time.perf_counter() - start) / len(batch)
        for (ids, truncated), row in zip(batch, seqs):
            text, n_new = cut_answer(tokenizer, row[width:].tolist())
            out.append({"text": text, "prompt_tokens": len(ids), "generated_tokens": n_new, "seconds": share,
                        "truncated": truncated})
    return out


def to_answers(generated: list[dict], sources: list[list[str]] | None = None,
               retrieval_seconds: list[float] | None = None, truncated: list[int] | None = None) -> list[Answer]:
    """Answer dicts (harness.techniques.protocol.Answer) from :func:`generate` output.

    `truncated` counts, per question, context chunks cut or dropped to fit the window; it is
    added under the extra key ``context_truncated`` next to the protocol's fields.
    """
    answers = []
    for i, g in enumerate(generated):
        answer = Answer(text=g["text"], sources=list(sources[i]) if sources else [],
                        prompt_tokens=g["prompt_tokens"], generated_tokens=g["generated_tokens"],
                        seconds=g["seconds"] + (retrieval_seconds[i] if retrieval_seconds else 0.0),
                        retrieval_seconds=retrieval_seconds[i] if retrieval_seconds else 0.0)
        answer["context_truncated"] = (truncated[i] if truncated else 0) + int(g["truncated"])  # type: ignore
        answers.append(answer)
    return answers
