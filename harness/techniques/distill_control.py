"""The distillation control: the same student, same data and settings, hard labels only.

Comparing `distill` with this candidate shows what the teacher added (alpha = 0 in
harness.training.kd_loss is plain cross-entropy on the reference answers).
"""

from __future__ import annotations

from pathlib import Path

from harness.protocols import BuildContext


class DistillControl:
    name = "distill_control"
    trains = True
    config_sections = ("train",)
    config_ignores = ("train.lora_lr",)

    def base_of(self, ctx: BuildContext) -> str:
        from harness.artifacts import student_of
        return student_of(ctx)

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.common import build_full
        return build_full(ctx, self.base_of(ctx))

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.common import load_full
        return load_full(self.name, artifact_dir, ctx)


TECHNIQUE = DistillControl()
