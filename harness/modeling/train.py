"""Training on the Hugging Face Trainer: answer-only loss, distillation loss, deterministic resume.

    examples = pair_examples(tokenizer, pairs, seq_len)        # loss on answer tokens only
    log = train(model, tokenizer, examples, heldout, cfg.train, lr, seed, out_dir)

The Trainer brings checkpoints with optimizer, scheduler and RNG state, bf16 autocast and
``accelerate launch`` for several GPUs. We fix the data order ourselves (a seeded permutation per
epoch, read sequentially), so a run killed with SIGKILL and resumed from its last checkpoint
ends with the same weights as an uninterrupted one.

Under ``accelerate launch`` (N processes) cfg.batch_size stays the global batch of one step:
each process reads its 1/N slice of it in the same order, and each process's loss is weighted
by its share of the step's answer tokens, so the run ends with the weights of one process
(see harness/modeling/distributed.py and tests/test_training_accelerate.py).
"""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path
from typing import Any

from harness.modeling import distributed
from harness.records import TrainLog
from rightfit import ui
from rightfit.errors import UserError

IGNORE = -100  # label id the loss skips (prompt tokens, padding)


# ---------------------------------------------------------------- examples

def pair_examples(tokenizer: Any, pairs: list[dict], seq_len: int, contexts: list[list[str]] | None = None,
                  prompter: Any = None) -> list[dict]:
    """Tokenised (prompt, completion) pairs; labels mask the prompt so loss is on the completion only.

    The completion is what the model must produce: the answer and its end (a chat template's end
    of turn, or EOS for a plain model), rendered by the model's Prompter.

    Args:
        pairs: rows with instruction/input/output.
        seq_len: maximum tokens; the prompt is cut from the left so the answer survives.
        contexts: per pair, retrieved chunks to put in the prompt (retrieval-aware training).
        prompter: harness.modeling.prompts.Prompter of the model (default: its tokenizer's own).
    """
    from harness.modeling.prompts import Prompter, pair_question
    prompter = prompter or Prompter(tokenizer)
    out = []
    for i, pair in enumerate(pairs):
        prompt, completion = prompter.example(pair_question(pair), pair["output"], contexts[i] if contexts else None)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        if not prompter.chat:
            a_ids = a_ids + [tokenizer.eos_token_id]
        a_ids = a_ids[:seq_len - 1]
        p_ids = p_ids[max(0, len(p_ids) - (seq_len - len(a_ids))):]
        out.append({"input_ids": p_ids + a_ids, "labels": [IGNORE] * len(p_ids) + a_ids})
    return out


def text_examples(tokenizer: Any, texts: list[str], seq_len: int) -> list[dict]:
    """Continued pre-training windows: each text cut into seq_len-token pieces, loss on every token."""
    out = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        for start in range(0, len(ids), seq_len):
            piece = ids[start:start + seq_len]
            if len(piece) > 1:
                out.append({"input_ids": piece, "labels": list(piece)})
    return out


def schedule(n_examples: int, cfg: Any, seed: int) -> list[int]:
    """Example indices in training order: one seeded permutation per epoch, steps * batch long."""
    batch = int(cfg.batch_size)
    steps = int(cfg.max_steps) if cfg.max_steps > 0 else max(1, math.ceil(cfg.epochs * math.ceil(n_examples / batch)))
    order: list[int] = []
    epoch = 0
    while len(order) < steps * batch:
        perm = list(range(n_examples))
        random.Random(seed * 1000 + epoch).shuffle(perm)
        order += perm
        epoch += 1
    return order[:steps * batch]


class _Ordered:
    """A map-style dataset reading `examples` in the fixed `order`."""

    def __init__(self, examples: list[dict], order: list[int]):
        self.examples, self.order = examples, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int) -> dict:
        return self.examples[self.order[i]]


def collate(pad_id: int):
    def fn(rows: list[dict]) -> dict:
        import torch
        width = max(len(r["input_ids"]) for r in rows)
        ids = [r["input_ids"] + [pad_id] * (width - len(r["input_ids"])) for r in rows]
        labels = [r["labels"] + [IGNORE] * (width - len(r["labels"])) for r in rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}
    return fn


# ---------------------------------------------------------------- losses

def kd_loss(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    """Hinton et al. 2015 (https://arxiv.org/abs/1503.02531) on answer tokens only.

    loss = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, labels),
    both averaged over the positions whose next-token label is not IGNORE.

    Args:
        student_logits, teacher_logits: (batch, seq, vocab), position i predicts token i+1.
        labels: (batch, seq) token ids with IGNORE on prompt and padding.
        temperature: T; alpha: weight of the soft term (alpha = 0 -> plain cross-entropy).
    """
    return token_kd_loss(student_logits[:, :-1], None if teacher_logits is None else teacher_logits[:, :-1],
                         labels[:, 1:], temperature, alpha)


def token_kd_loss(student_logits, teacher_logits, targets, temperature: float, alpha: float):
    """:func:`kd_loss` on logits already aligned with their targets: (batch, n, vocab) predicts
    targets (batch, n); positions whose target is IGNORE are left out."""
    import torch.nn.functional as F
    keep = targets != IGNORE
    logits = student_logits.float()[keep]           # (tokens, vocab)
    ce = F.cross_entropy(logits, targets[keep])
    if teacher_logits is None or alpha == 0:
        return ce
    t = teacher_logits.float()[keep] / temperature
    s = logits / temperature
    kl = F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), log_target=True, reduction="sum") / s.shape[0]
    return alpha * temperature ** 2 * kl + (1 - alpha) * ce


def answer_positions(labels):
    """(batch, seq) bool: the positions whose next token is trained, the only places a logit is
    needed for the loss (transformers' `logits_to_keep` takes this mask and returns their
    logits flattened to (tokens, vocab), in row-major order)."""
    import torch
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE
    return keep


def accepts_logits_to_keep(model: Any) -> bool:
    """Whether the model's forward takes `logits_to_keep` (most transformers causal LMs do)."""
    import inspect
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def _trainer_class():
    import torch
    from torch.utils.data import SequentialSampler
    from transformers import Trainer

    class AnswerTrainer(Trainer):
        """Trainer with our data order and the answer-only / distillation loss."""

        teacher = None
        temperature, alpha = 1.0, 0.0
        slice_logits = False  # set when the model (and teacher) accept logits_to_keep

        def _get_train_sampler(self, train_dataset=None):
            return SequentialSampler(train_dataset if train_dataset is not None else self.train_dataset)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            """Loss on answer tokens; logits are computed only where a label needs them (the
            vocabulary projection over every prompt token was most of a step's cost with
            retrieved context in the prompt), for the model and for the teacher."""
            labels = inputs.pop("labels")
            pos = answer_positions(labels)
            sliced = self.slice_logits and not return_outputs
            kwargs = {"logits_to_keep": pos} if sliced else {}
            outputs = model(**inputs, **kwargs)
            teacher_logits = None
            if self.teacher is not None and model.training and self.alpha > 0:
                with torch.no_grad():
                    teacher_logits = self.teacher(**inputs, **kwargs).logits
            alpha = self.alpha if model.training else 0.0  # held-out loss is plain CE
            if sliced:
                targets = labels[:, 1:][pos[:, :-1]]       # row-major, as the logits
                loss = token_kd_loss(outputs.logits, teacher_logits, targets, self.temperature, alpha)
            else:
                loss = kd_loss(outputs.logits, teacher_logits, labels, self.temperature, alpha)
            if model.training and distributed.world_size() > 1:
                loss = loss * distributed.token_share(int(pos.sum()), loss.device)
            return (loss, outputs) if return_outputs else loss

    return AnswerTrainer


def _progress_callback(advance):
    """Advance a rightfit.ui progress bar once per optimizer step, showing the latest loss."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            loss = next((h["loss"] for h in reversed(state.log_history) if "loss" in h), None)
            advance(1, status=f"loss {loss:.3f}" if loss is not None else "")

    return Progress()


# ---------------------------------------------------------------- checkpoints

_CHECKPOINT_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint-N folder (a kill mid-save leaves an incomplete one)."""
    if not folder.is_dir():
        return None
    found = []
    for d in folder.glob("checkpoint-*"):
        step = d.name.split("-")[-1]
        if step.isdigit() and list(d.glob("*.safetensors")) and all((d / f).is_file() for f in _CHECKPOINT_FILES):
            try:  # the Trainer writes trainer_state.json last: when it parses, the checkpoint is whole
                json.loads((d / "trainer_state.json").read_text())
            except ValueError:
                continue
            found.append((int(step), d))
    return max(found)[1] if found else None


def device_batch(batch_size: int, processes: int) -> int:
    """Sequences per process and step: cfg.train.batch_size is the global batch of one optimizer
    step, split evenly over the processes of a launch (accelerate hands process r the r-th
    slice of each global batch, read in our fixed order), so N processes train on the same
    examples per step as one.

    Raises:
        UserError: the batch does not split evenly.
    """
    if batch_size % processes:
        raise UserError(f"field 'train.batch_size' ({batch_size}) must be a multiple of the {processes} processes "
                        f"of this launch; set train.batch_size={max(1, batch_size // processes) * processes} "
                        f"or launch {processes} processes that divide it.")
    return batch_size // processes


def train(model: Any, tokenizer: Any, examples: list[dict], heldout: list[dict], cfg: Any, lr: float, seed: int,
          work_dir: Path, teacher: Any = None, temperature: float = 1.0, alpha: float = 0.0,
          callbacks: tuple = ()) -> TrainLog:
    """Train `model` in place; checkpoints go to work_dir/checkpoints and resume from there.

    Args:
        model: a causal LM or PeftModel (only parameters with requires_grad train).
        examples, heldout: from pair_examples / text_examples; heldout may be [] (no eval loss).
        cfg: TrainConfig (steps, batch, seq_len, warm-up, checkpoint_every, eval_every, precision).
        lr: peak learning rate (cfg.lr or cfg.lora_lr, chosen by the technique).
        teacher, temperature, alpha: distillation (see kd_loss); teacher None -> cross-entropy.
        callbacks: more transformers TrainerCallbacks (the training benchmark times steps with one).

    Returns:
        TrainLog with per-step train loss, held-out loss and the step resumed from (or None).
    """
    import torch
    from transformers import PrinterCallback, TrainingArguments, set_seed

    from harness.modeling.precision import train_precision
    set_seed(seed)
    precision = train_precision(cfg.precision)
    order = schedule(len(examples), cfg, seed)
    steps = len(order) // int(cfg.batch_size)
    per_device = device_batch(int(cfg.batch_size), distributed.world_size())
    ckpt_dir = work_dir / "checkpoints"
    evaluate = bool(heldout) and cfg.eval_every > 0
    args = TrainingArguments(
        output_dir=str(ckpt_dir), max_steps=steps, per_device_train_batch_size=per_device,
        per_device_eval_batch_size=int(cfg.batch_size), learning_rate=lr, weight_decay=cfg.weight_decay,
        warmup_steps=math.ceil(cfg.warmup_ratio * steps), lr_scheduler_type="linear", logging_steps=1,
        eval_strategy="steps" if evaluate else "no", eval_steps=cfg.eval_every if evaluate else None,
        save_strategy="steps" if cfg.checkpoint_every > 0 else "no", save_steps=max(1, cfg.checkpoint_every),
        save_total_limit=2, report_to="none", seed=seed, data_seed=seed, use_cpu=not torch.cuda.is_available(),
        bf16=precision == "mixed", dataloader_num_workers=0, disable_tqdm=True,
        activation_checkpointing=bool(cfg.gradient_checkpointing),
        activation_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        remove_unused_columns=False, max_grad_norm=1.0)
    trainer = _trainer_class()(model=model, args=args, train_dataset=_Ordered(examples, order),
                               eval_dataset=heldout or None, data_collator=collate(tokenizer.pad_token_id))
    trainer.remove_callback(PrinterCallback)  # progress belongs to the CLI, not stdout prints per step
    for callback in callbacks:
        trainer.add_callback(callback)
    trainer.slice_logits = accepts_logits_to_keep(model) and (teacher is None or accepts_logits_to_keep(teacher))
    if teacher is not None:
        trainer.teacher = teacher.to(args.device).eval()
        trainer.temperature, trainer.alpha = temperature, alpha
    resume = latest_checkpoint(ckpt_dir)
    with ui.progress(f"training ({steps} steps)", total=steps) as advance:
        if distributed.is_main():  # one bar per launch, not one per process
            trainer.add_callback(_progress_callback(advance))
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if evaluate and steps % cfg.eval_every:  # always end with the final held-out loss
        trainer.evaluate()
    history = trainer.state.log_history
    model.eval()
    distributed.barrier()  # every process is past its last checkpoint write
    if distributed.is_main():
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return TrainLog(steps=steps, precision=precision, lr=float(lr),
                    epochs=None if isinstance(cfg.epochs, str) else float(cfg.epochs),
                    train_loss=[[h["step"], round(float(h["loss"]), 6)] for h in history if "loss" in h],
                    eval_loss=[[h["step"], round(float(h["eval_loss"]), 6)] for h in history if "eval_loss" in h],
                    resumed_from_step=int(resume.name.split("-")[-1]) if resume else None)
