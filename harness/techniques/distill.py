"""Distillation: a small student learns from a fine-tuned larger teacher.

Teacher: the larger base (ctx.base_model) fully fine-tuned on the suite -- the `full` artifact,
which this technique requires (the cache builds or reads it first). Student: ctx.student().

- white-box (Hinton et al. 2015, https://arxiv.org/abs/1503.02531): alpha * T^2 * KL(teacher ||
  student) on temperature-T soft targets + (1 - alpha) * cross-entropy, on answer tokens only
  (harness.modeling.train.kd_loss);
- black-box (sequence-level, Kim & Rush 2016, https://arxiv.org/abs/1606.07947): the student is
  fine-tuned on the teacher's greedy answers to the training questions;
- both: the white-box loss on the teacher's answers instead of the references (Kim & Rush's
  sequence-level plus word-level distillation).

White-box and `both` need one vocabulary; it is compared before anything trains. Black-box
passes text, so the student may come from another model family.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from harness.techniques.protocol import BuildContext, Held
from rightfit.settings import opt

TEACHER = "full"  # the technique whose artifact is the teacher


@dataclass
class DistillConfig:
    mode: str = opt("black", "black: the student learns the teacher's generated answers (sequence-level, any "
                    "tokenizer); white: KL to the teacher's soft targets on the reference answers (same tokenizer); "
                    "both: that KL on the teacher's answers. On shopco-en (3 seeds, 12 epochs) black beat the "
                    "hard-label control (+0.018 EM), both matched it (+0.007), white trailed it (-0.010).",
                    choices=["white", "black", "both"])
    temperature: float = opt(1.0, "Softmax temperature T for soft targets (loss scaled by T^2). At T=2 a "
                             "4,000-token vocabulary held 47% of the teacher's mass outside its top 10.",
                             min=0.05, max=100.0)
    alpha: float = opt(0.5, "Weight of the soft-target KL term; 1-alpha goes to hard-label cross-entropy.",
                       min=0.0, max=1.0)


def teacher_answers(teacher, pairs: list[dict], decode) -> list[dict]:
    """The training pairs with their outputs replaced by the teacher's greedy answers.

    Decoding is fixed here (greedy, up to the longest reference answer + 8 tokens, batches of
    16) so the student's training data does not depend on the evaluation's decode settings,
    which are not part of the cache key.
    """
    from harness.modeling.prompts import pair_question
    _, tokenizer = teacher.language_model()
    longest = max(len(tokenizer(p["output"], add_special_tokens=False)["input_ids"]) for p in pairs)
    greedy = dataclasses.replace(decode, strategy="greedy", max_new_tokens=longest + 8, batch_size=16)
    answers = teacher.answer([pair_question(p) for p in pairs], greedy)
    return [{**p, "output": a["text"]} for p, a in zip(pairs, answers)]


class Distill:
    name = "distill"
    trains = True
    reference = False
    requires = (TEACHER,)
    config_sections = ("train", "distill")
    config_ignores = ("train.lora_lr",)
    settings = {"distill": (DistillConfig, field(default_factory=DistillConfig,
                                                 metadata={"help": "Distillation settings."}))}

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model  # the teacher's base; the student is part of the cache key too

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {"student": ctx.student()}

    def memory(self, ctx: BuildContext) -> list[Held]:
        # the fine-tuned teacher is loaded beside the student for the whole build
        return [Held(ctx.student(), "full"), Held(ctx.base_model, "inference", trained=True)]

    def check(self, ctx: BuildContext) -> None:
        """Soft targets need one vocabulary: compared before the teacher is built."""
        from harness.modeling.load import check_same_vocab
        if ctx.config.distill.mode != "black":  # black-box passes text, so any tokenizer will do
            check_same_vocab(ctx.base_model, ctx.student(), ctx.config)

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.finetune import build_full
        cfg = ctx.config
        student = ctx.student()
        teacher, teacher_fields = ctx.inputs[TEACHER]
        extra = {"teacher": {"path": teacher_fields["artifact"]["path"], "key": teacher_fields["artifact"]["key"]},
                 "student_model": student}
        mode = cfg.distill.mode
        pairs = teacher_answers(teacher, ctx.suite.train, cfg.decode) if mode in ("black", "both") else None
        soft = None if mode == "black" else teacher.language_model()[0]  # None: hard labels only
        return {**build_full(ctx, student, pairs=pairs, teacher=soft, temperature=cfg.distill.temperature,
                             alpha=cfg.distill.alpha), **extra}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.finetune import load_full
        return load_full(self.name, artifact_dir, ctx)


TECHNIQUE = Distill()
