"""Full fine-tuning: every weight of the base model trained on the suite (learning rate cfg.train.lr)."""

from __future__ import annotations

from pathlib import Path

from harness.protocols import BuildContext


class Full:
    name = "full"
    trains = True
    config_sections = ("train",)
    config_ignores = ("train.lora_lr",)

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.common import build_full
        return build_full(ctx, ctx.base_model)

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.common import load_full
        return load_full(self.name, artifact_dir, ctx)


TECHNIQUE = Full()
