"""Prompt-only: the base model as it is, optionally with few-shot examples before each question.

The untouched base is the run's reference: every other candidate's forgetting is measured
against it. The few-shot examples are the first `few_shot` training pairs, shown as earlier
turns of the conversation (or earlier question/answer blocks for a model without a chat
template) in the model's own format.
"""

from __future__ import annotations

from pathlib import Path

from harness.techniques.protocol import BuildContext, Held
from rightfit.settings import opt


def few_shots(ctx: BuildContext) -> list[tuple[str, str]]:
    """(question, answer) of the first `few_shot` training pairs."""
    from harness.modeling.prompts import pair_question
    return [(pair_question(p), p["output"]) for p in ctx.suite.train[:ctx.config.few_shot]]


class PromptOnly:
    name = "prompt"
    trains = False
    reference = True
    requires = ()
    config_sections = ("few_shot",)
    config_ignores = ()
    settings = {"few_shot": (int, opt(0, "Prompt-only: training pairs shown as examples before each question.",
                                      min=0, max=64))}

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {}

    def memory(self, ctx: BuildContext) -> list[Held]:
        return []

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        import json

        from harness.modeling.load import resolve_model
        from rightfit.files import atomic_write
        resolve_model(ctx.base_model)  # a wrong path fails here, at build time
        atomic_write(ctx.out_dir / "few_shot.json", json.dumps(few_shots(ctx), ensure_ascii=False))
        return {}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        import json

        from harness.modeling.load import load_model, load_tokenizer, read_manifest
        from harness.techniques.candidate import candidate_for
        base = read_manifest(artifact_dir)["base_model"]
        shots = [tuple(s) for s in json.loads((artifact_dir / "few_shot.json").read_text(encoding="utf-8"))]
        return candidate_for(self.name, load_model(base, ctx.config), load_tokenizer(base, ctx.config), ctx,
                             shots=shots)


TECHNIQUE = PromptOnly()
