"""LoRA (Hu et al. 2021, https://arxiv.org/abs/2106.09685): a low-rank adapter on every linear layer.

The same class serves QLoRA (harness/techniques/qlora.py) with a 4-bit base. Owns the ``lora``
config section, which QLoRA and RAG+LoRA read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.techniques.protocol import BuildContext, Held
from rightfit.settings import opt


@dataclass
class LoraConfig:
    r: int = opt(8, "LoRA rank.", min=1, max=4096)
    alpha: int = opt(16, "LoRA scaling alpha (effective scale alpha/r).", min=1, max=65536)
    dropout: float = opt(0.0, "Dropout on the LoRA branch.", min=0.0, max=1.0)
    targets: str = opt("all-linear", "Modules to adapt: 'all-linear' or a comma list (q_proj,v_proj).")


SETTINGS = {"lora": (LoraConfig, field(default_factory=LoraConfig, metadata={"help": "LoRA settings."}))}


class Lora:
    trains = True
    reference = False
    requires = ()
    config_sections = ("train", "lora")
    config_ignores = ("train.lr",)  # adapters train at train.lora_lr
    settings = SETTINGS

    def __init__(self, name: str = "lora", four_bit: bool = False):
        self.name, self.four_bit = name, four_bit

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {}

    def memory(self, ctx: BuildContext) -> list[Held]:
        return [Held(ctx.base_model, "qlora4" if self.four_bit else "lora")]

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.finetune import build_adapter
        return build_adapter(ctx, four_bit=self.four_bit)

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.techniques.candidate import candidate_for
        from harness.techniques.finetune import load_adapter
        model, tokenizer = load_adapter(artifact_dir, ctx, four_bit=self.four_bit)
        return candidate_for(self.name, model, tokenizer, ctx)


TECHNIQUE = Lora()
