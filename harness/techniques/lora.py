"""LoRA (Hu et al. 2021, https://arxiv.org/abs/2106.09685): a low-rank adapter on every linear layer.

The same class serves QLoRA (harness/techniques/qlora.py) with a 4-bit base.
"""

from __future__ import annotations

from pathlib import Path

from harness.protocols import BuildContext


class Lora:
    trains = True
    config_sections = ("train", "lora")
    config_ignores = ("train.lr",)  # adapters train at train.lora_lr

    def __init__(self, name: str = "lora", four_bit: bool = False):
        self.name, self.four_bit = name, four_bit

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.common import build_adapter
        return build_adapter(ctx, four_bit=self.four_bit)

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.common import ModelCandidate, load_adapter
        model, tokenizer = load_adapter(artifact_dir, ctx, four_bit=self.four_bit)
        return ModelCandidate(self.name, model, tokenizer, seed=ctx.seed)


TECHNIQUE = Lora()
