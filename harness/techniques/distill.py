"""Distillation: a small student learns from a fine-tuned larger teacher.

Teacher: the larger base (ctx.base_model) fully fine-tuned on the suite -- the cached `full`
artifact, built first if needed. Student: ctx.student_model / cfg.student_model.

- white-box (Hinton et al. 2015, https://arxiv.org/abs/1503.02531): alpha * T^2 * KL(teacher ||
  student) on temperature-T soft targets + (1 - alpha) * cross-entropy, on answer tokens only
  (harness.training.kd_loss);
- black-box (sequence-level, Kim & Rush 2016, https://arxiv.org/abs/1606.07947): the student is
  fine-tuned on the teacher's greedy answers to the training questions;
- both: the white-box loss on the teacher's answers instead of the references (Kim & Rush's
  sequence-level plus word-level distillation).

White-box and `both` need one vocabulary; it is compared before anything trains. Black-box
passes text, so the student may come from another model family.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.protocols import BuildContext


def teacher_answers(teacher, pairs: list[dict]) -> list[dict]:
    """The training pairs with their outputs replaced by the teacher's greedy answers.

    Decoding is fixed here (greedy, up to the longest reference answer + 8 tokens, batches of
    16) so the student's training data does not depend on the evaluation's decode settings,
    which are not part of the cache key.
    """
    from harness.config import DecodeConfig
    from harness.training import pair_question
    _, tokenizer = teacher.language_model()
    longest = max(len(tokenizer(p["output"], add_special_tokens=False)["input_ids"]) for p in pairs)
    decode = DecodeConfig(strategy="greedy", max_new_tokens=longest + 8, batch_size=16)
    answers = teacher.answer([pair_question(p) for p in pairs], decode)
    return [{**p, "output": a["text"]} for p, a in zip(pairs, answers)]


class Distill:
    name = "distill"
    trains = True
    config_sections = ("train", "distill")
    config_ignores = ("train.lora_lr",)

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model  # the teacher's base; the student is part of the cache key too

    def build(self, ctx: BuildContext) -> dict:
        from harness.artifacts import build_or_load, student_of
        from harness.modeling import check_same_vocab
        from harness.techniques.common import build_full
        cfg = ctx.config
        student = student_of(ctx)
        if cfg.distill.mode != "black":  # black-box passes text, so any tokenizer will do
            check_same_vocab(ctx.base_model, student, cfg)
        teacher, teacher_fields = build_or_load("full", dataclasses.replace(ctx, force=False))
        extra = {"teacher": {"path": teacher_fields["artifact"]["path"], "key": teacher_fields["artifact"]["key"]},
                 "student_model": student}
        mode = cfg.distill.mode
        pairs = teacher_answers(teacher, ctx.suite.train) if mode in ("black", "both") else None  # None: references
        soft = None if mode == "black" else teacher.language_model()[0]  # None: hard labels only
        return {**build_full(ctx, student, pairs=pairs, teacher=soft, temperature=cfg.distill.temperature,
                             alpha=cfg.distill.alpha), **extra}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.common import load_full
        return load_full(self.name, artifact_dir, ctx)


TECHNIQUE = Distill()
