"""Full fine-tuning: every weight of the base model trained on the suite (learning rate cfg.train.lr)."""

from __future__ import annotations

from pathlib import Path

from harness.techniques.protocol import BuildContext, Held


class Full:
    name = "full"
    trains = True
    reference = False
    requires = ()
    config_sections = ("train",)
    config_ignores = ("train.lora_lr",)
    settings: dict = {}

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {}

    def memory(self, ctx: BuildContext) -> list[Held]:
        return [Held(ctx.base_model, "full")]

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.finetune import build_full
        return build_full(ctx, ctx.base_model)

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.finetune import load_full
        return load_full(self.name, artifact_dir, ctx)


TECHNIQUE = Full()
