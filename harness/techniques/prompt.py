"""Prompt-only: the base model with the instruction template, optionally with few-shot examples.

The few-shot examples are the first `few_shot` training pairs (a config field read with a
default of 0 until RunConfig carries it), formatted exactly like the question that follows.
"""

from __future__ import annotations

from pathlib import Path

from harness.protocols import BuildContext


def few_shot_text(ctx: BuildContext) -> str:
    from harness.training import pair_question
    from harness.world.template import format_example
    n = int(getattr(ctx.config, "few_shot", 0) or 0)
    shots = []
    for pair in ctx.suite.train[:n]:
        prompt, completion = format_example(pair_question(pair), pair["output"])
        shots.append(prompt + completion + "\n\n")
    return "".join(shots)


class PromptOnly:
    name = "prompt"
    trains = False
    config_sections = ("few_shot",)

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def build(self, ctx: BuildContext) -> dict:
        from harness.config import atomic_write
        from harness.modeling import resolve_model
        resolve_model(ctx.base_model)  # a wrong path fails here, at build time
        atomic_write(ctx.out_dir / "few_shot.txt", few_shot_text(ctx))
        return {}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.modeling import load_model, load_tokenizer, read_manifest
        from harness.techniques.common import ModelCandidate
        base = read_manifest(artifact_dir)["base_model"]
        shots = (artifact_dir / "few_shot.txt").read_text(encoding="utf-8")
        return ModelCandidate(self.name, load_model(base, ctx.config), load_tokenizer(base, ctx.config),
                              shots=shots, seed=ctx.seed)


TECHNIQUE = PromptOnly()
