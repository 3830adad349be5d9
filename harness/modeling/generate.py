"""Batched answer generation: left padding, greedy / beam / seeded sampling, stopped where the
model's format ends an answer.

A chat model's answer is its whole assistant turn: generation stops at the template's end of
turn (or EOS) and the text may span lines. A plain model (no chat template) continues with the
next "Question:" after its answer, so its answer is one line: generation stops at a newline or
EOS. The stop rule comes from harness.modeling.prompts.Prompter. Timings are per question (its
share of the batch wall time) and token counts are exact (prompt tokens without padding;
generated tokens up to and including the stop token).
"""

from __future__ import annotations

import time
from typing import Any

from harness.techniques.protocol import Answer


class _StopAtNewline:
    """StoppingCriteria: a row is done once its new text holds a newline after some content (a
    newline before any content does not end an answer). Per-row bools."""

    def __init__(self, tokenizer: Any, prompt_len: int):
        self.tokenizer, self.prompt_len = tokenizer, prompt_len

    def __call__(self, input_ids, scores, **kwargs):
        import torch
        done = [self._ended(row[self.prompt_len:].tolist()) for row in input_ids]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def _ended(self, ids: list[int]) -> bool:
        return "\n" in self.tokenizer.decode(ids, skip_special_tokens=True).lstrip("\n")


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


def cut_answer(tokenizer: Any, new_ids: list[int], stop_ids: list[int] | None = None,
               newline: bool = True) -> tuple[str, int]:
    """(answer text up to the first stop token -- or newline when `newline` --, tokens generated
    including the stop token). `stop_ids` defaults to EOS."""
    stops = set(stop_ids) if stop_ids is not None else {tokenizer.eos_token_id}
    kept: list[int] = []
    for i, t in enumerate(new_ids):
        if t in stops:
            return tokenizer.decode(kept, skip_special_tokens=True).strip(), i + 1
        kept.append(t)
        if newline:
            text = tokenizer.decode(kept, skip_special_tokens=True)
            if "\n" in text.lstrip("\n"):
                return text.lstrip("\n").split("\n", 1)[0].strip(), i + 1
    return tokenizer.decode(kept, skip_special_tokens=True).strip(), len(kept)


def fit_prompt(tokenizer: Any, prompt: str, budget: int, add_bos: bool = True) -> tuple[list[int], bool]:
    """Prompt token ids, left-truncated to `budget` tokens; (ids, truncated). `add_bos`: put the
    tokenizer's BOS in front when it asks for one (a chat template writes its own)."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if add_bos and tokenizer.bos_token_id is not None and getattr(tokenizer, "add_bos_token", False):
        ids = [tokenizer.bos_token_id] + ids
    if len(ids) > budget:
        return ids[len(ids) - budget:], True
    return ids, False


def generate(model: Any, tokenizer: Any, prompts: list[str], decode: Any, seed: int = 0,
             window: int | None = None, prompter: Any = None) -> list[dict]:
    """Answer each prompt; returns dicts with text, prompt_tokens, generated_tokens, seconds, truncated.

    Args:
        model: a causal LM (or PeftModel) in eval mode.
        tokenizer: its tokenizer (pad token set).
        prompts: fully rendered prompts (harness.modeling.prompts.Prompter.render).
        decode: DecodeConfig.
        seed: sampling seed (per batch: seed + batch index).
        window: context window; prompts longer than window - max_new_tokens are left-truncated
            and flagged (never silently overflowing the position embeddings).
        prompter: the model's Prompter: its stop tokens end an answer, and a chat model's answer
            is not cut at a newline. Default: the tokenizer's own (Prompter(tokenizer)).
    """
    import torch
    from transformers import StoppingCriteriaList

    from harness.modeling.load import context_window
    from harness.modeling.prompts import Prompter
    prompter = prompter or Prompter(tokenizer)
    newline = not prompter.chat
    window = window or context_window(model, tokenizer)
    budget = max(1, window - int(decode.max_new_tokens))
    device = next(model.parameters()).device
    out: list[dict] = []
    size = int(decode.batch_size)
    for b in range(0, len(prompts), size):
        batch = [fit_prompt(tokenizer, p, budget, add_bos=not prompter.chat) for p in prompts[b:b + size]]
        width = max(len(ids) for ids, _ in batch)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in batch], device=device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in batch], device=device)
        criteria = StoppingCriteriaList([_StopAtNewline(tokenizer, width)] if newline else [])
        start = time.perf_counter()
        with torch.inference_mode():
            seqs = model.generate(input_ids=input_ids, attention_mask=attention, pad_token_id=pad,
                                  eos_token_id=prompter.stop_ids or None, stopping_criteria=criteria,
                                  **_decode_kwargs(decode, seed + b // size))
        share = (time.perf_counter() - start) / len(batch)
        for (ids, truncated), row in zip(batch, seqs):
            text, n_new = cut_answer(tokenizer, row[width:].tolist(), prompter.stop_ids, newline)
            out.append({"text": text, "prompt_tokens": len(ids), "generated_tokens": n_new, "seconds": share,
                        "truncated": truncated})
    return out


def to_answers(generated: list[dict], sources: list[list[str]] | None = None,
               retrieval_seconds: list[float] | None = None, truncated: list[int] | None = None,
               prompts: list[str] | None = None) -> list[Answer]:
    """Answer dicts (harness.techniques.protocol.Answer) from :func:`generate` output.

    `truncated` counts, per question, context chunks cut or dropped to fit the window; it is
    added under the extra key ``context_truncated`` next to the protocol's fields. `prompts`
    are the exact texts the model read.
    """
    answers = []
    for i, g in enumerate(generated):
        answer = Answer(text=g["text"], sources=list(sources[i]) if sources else [],
                        prompt_tokens=g["prompt_tokens"], generated_tokens=g["generated_tokens"],
                        seconds=g["seconds"] + (retrieval_seconds[i] if retrieval_seconds else 0.0),
                        retrieval_seconds=retrieval_seconds[i] if retrieval_seconds else 0.0)
        answer["context_truncated"] = (truncated[i] if truncated else 0) + int(g["truncated"])
        answer["prompt"] = prompts[i] if prompts else ""
        answers.append(answer)
    return answers
