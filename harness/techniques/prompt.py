"""Prompt-only: the base model as it is, optionally with few-shot examples before each question.

The untouched base is the run's reference: every other candidate's forgetting is measured
against it. The few-shot examples are the first `few_shot` training pairs, formatted exactly
like the question that follows.
"""

from __future__ import annotations

from pathlib import Path

from harness.techniques.protocol import BuildContext
from rightfit.settings import opt


def few_shot_text(ctx: BuildContext) -> str:
    from harness.modeling.train import pair_question
    from harness.world.template import format_example
    shots = []
    for pair in ctx.suite.train[:ctx.config.few_shot]:
        prompt, completion = format_example(pair_question(pair), pair["output"])
        shots.append(prompt + completion + "\n\n")
    return "".join(shots)


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

    def memory(self, ctx: BuildContext) -> list[tuple[str, str]]:
        return []

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        from harness.modeling.load import resolve_model
        from rightfit.files import atomic_write
        resolve_model(ctx.base_model)  # a wrong path fails here, at build time
        atomic_write(ctx.out_dir / "few_shot.txt", few_shot_text(ctx))
        return {}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.modeling.load import load_model, load_tokenizer, read_manifest
        from harness.techniques.candidate import ModelCandidate
        base = read_manifest(artifact_dir)["base_model"]
        shots = (artifact_dir / "few_shot.txt").read_text(encoding="utf-8")
        return ModelCandidate(self.name, load_model(base, ctx.config), load_tokenizer(base, ctx.config),
                              shots=shots, seed=ctx.seed)


TECHNIQUE = PromptOnly()
