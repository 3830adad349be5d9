"""The distillation control: the same student, same data and settings, hard labels only.

Comparing `distill` with this candidate shows what the teacher added (alpha = 0 in
harness.modeling.train.kd_loss is plain cross-entropy on the reference answers).
"""

from __future__ import annotations

from pathlib import Path

from harness.techniques.protocol import BuildContext, Held


class DistillControl:
    name = "distill_control"
    trains = True
    reference = False
    requires = ()
    config_sections = ("train",)
    config_ignores = ("train.lora_lr",)
    settings: dict = {}

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.student()

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {}

    def memory(self, ctx: BuildContext) -> list[Held]:
        return [Held(ctx.student(), "full")]

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.finetune import build_full
        return build_full(ctx, ctx.student())

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.finetune import load_full
        return load_full(self.name, artifact_dir, ctx)


TECHNIQUE = DistillControl()
