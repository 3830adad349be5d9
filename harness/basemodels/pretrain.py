"""Pretraining loop of the self-built base models: rows -> token ids -> a tiny Llama.

One item per row (a row holding several items kept a small model from learning to copy),
batches grouped by length, loss on the trained segments only, AdamW with a
linear warm-up and cosine decay. Every `eval_every` steps the held-out reading-drill and
closed-book accuracies (teacher-forced: every answer token argmax-right) are logged, so the
log shows when copying switches on.
"""

from __future__ import annotations

import math
import random
import time

from harness.world.corpus import EOS
from rightfit import ui


def encode_rows(tok, rows: list[list], max_len: int, bos: bool = True) -> list[tuple[list[int], list[int]]]:
    """Segments -> (input ids, labels with -100 on untrained tokens), truncated to `max_len`.

    `bos`: start each row with BOS. Pretraining always does; prompts without BOS, as
    harness.modeling.generate builds them for this tokenizer, work as well (the default teacher
    reads 97.1% of domain questions with the gold sheet, without BOS)."""
    texts = sorted({t for segs in rows for t, _ in segs if t != EOS})
    enc = tok._tokenizer.encode_batch(texts, add_special_tokens=False)
    ids_of = {t: e.ids for t, e in zip(texts, enc)}
    eos = tok.eos_token_id
    out = []
    for i, segs in enumerate(rows):
        ids = [tok.bos_token_id] if bos else []
        labels = [-100] * len(ids)
        for text, trained in segs:
            piece = [eos] if text == EOS else ids_of[text]
            ids += piece
            labels += piece if trained else [-100] * len(piece)
        out.append((ids[:max_len], labels[:max_len]))
    return out


def batches(encoded: list, batch_size: int, rng: random.Random) -> list[list]:
    """Length-grouped batches: sort within windows of 50 batches, then shuffle the batches."""
    order = list(range(len(encoded)))
    rng.shuffle(order)
    out = []
    window = batch_size * 50
    for i in range(0, len(order), window):
        chunk = sorted(order[i:i + window], key=lambda j: len(encoded[j][0]))
        out += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return [b for b in out if len(b) == batch_size]


def collate(encoded: list, idx: list[int], pad_id: int):
    import torch
    n = max(len(encoded[j][0]) for j in idx)
    ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
    labels = torch.full((len(idx), n), -100, dtype=torch.long)
    att = torch.zeros((len(idx), n), dtype=torch.long)
    for r, j in enumerate(idx):
        a, b = encoded[j]
        ids[r, :len(a)] = torch.tensor(a)
        labels[r, :len(b)] = torch.tensor(b)
        att[r, :len(a)] = 1
    return ids, labels, att


def answer_accuracy(model, encoded: list, pad_id: int, batch_size: int = 64) -> float:
    """Share of rows whose every trained token is the argmax prediction (teacher-forced)."""
    import torch
    right = 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(encoded), batch_size):
            idx = list(range(i, min(i + batch_size, len(encoded))))
            ids, labels, att = collate(encoded, idx, pad_id)
            pred = model(input_ids=ids, attention_mask=att).logits[:, :-1].argmax(-1)
            tgt = labels[:, 1:]
            ok = ((pred == tgt) | (tgt == -100)).all(dim=1)
            right += int(ok.sum())
    model.train()
    return right / max(1, len(encoded))


def answer_loss(model, ids, labels, att):
    """Cross-entropy over the trained tokens, with logits computed at those positions only
    (harness.modeling.train's answer-position mask): the same value as ``model(..., labels=labels).loss``,
    about 30% less compute per step for these tiny models."""
    from harness.modeling.train import answer_positions, token_kd_loss
    keep = answer_positions(labels)
    logits = model(input_ids=ids, attention_mask=att, logits_to_keep=keep).logits
    return token_kd_loss(logits, None, labels[:, 1:][keep[:, :-1]], 1.0, 0.0)


def train_lm(model, encoded: list, steps: int, batch_size: int, lr: float, seed: int, pad_id: int,
             evals: dict | None = None, eval_every: int = 0, label: str = "pretraining",
             flat_share: float = 0.0) -> dict:
    """Train `model` in place for `steps` optimizer steps; return the training log.

    Args:
        encoded: rows from :func:`encode_rows` (cycled when exhausted).
        evals: name -> encoded held-out rows, scored with :func:`answer_accuracy`.
        flat_share: share of the steps at the full learning rate before the cosine decay
            (0 = cosine over the whole run; 0.7 = warm-up-stable-decay).

    Returns:
        {"steps", "seconds", "tokens", "tokens_per_s", "final_loss", "curve": [{step, loss, <evals>}]}.
    """
    import torch
    torch.manual_seed(seed)
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.0)
    warm = max(1, steps // 20)
    flat = int(steps * flat_share)  # warm-up, then constant until `flat`, then cosine to 10%

    def lr_at(s: int) -> float:
        done = min(1.0, max(0, s - flat) / max(1, steps - flat))
        return min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    plan: list = []
    curve, tokens, losses = [], 0, []
    t0 = time.time()
    model.train()
    with ui.progress(label, steps) as advance:
        for step in range(1, steps + 1):
            if not plan:
                plan = batches(encoded, batch_size, rng)
            ids, labels, att = collate(encoded, plan.pop(), pad_id)
            loss = answer_loss(model, ids, labels, att)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            tokens += int(att.sum())
            losses.append(loss.item())
            if evals and eval_every and (step % eval_every == 0 or step == steps):
                point = {"step": step, "loss": round(sum(losses[-eval_every:]) / len(losses[-eval_every:]), 4),
                         "seconds": round(time.time() - t0, 1)}
                point.update({k: round(answer_accuracy(model, v, pad_id), 4) for k, v in evals.items()})
                curve.append(point)
                ui.info(f"  {label} step {step}: " + ", ".join(f"{k}={v}" for k, v in point.items() if k != "step"))
            advance(1, status=f"loss {losses[-1]:.3f}")
    seconds = time.time() - t0
    return {"steps": steps, "seconds": round(seconds, 1), "tokens": tokens,
            "tokens_per_s": round(tokens / max(seconds, 1e-9)), "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
            "curve": curve}
