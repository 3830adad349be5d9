"""RAG + LoRA: a LoRA adapter answering with retrieved chunks in the prompt.

With cfg.rag.train_with_context the adapter is trained on prompts that carry the chunks
retrieved for each training question (retrieval-aware fine-tuning, as in RAFT, Zhang et al.
2024, https://arxiv.org/abs/2403.10131); otherwise it is a plain LoRA used with retrieval.
"""

from __future__ import annotations

from pathlib import Path

from harness.techniques.protocol import BuildContext, Held


class RagLora:
    name = "rag_lora"
    trains = True
    reference = False
    requires = ()
    config_sections = ("train", "lora", "rag")
    config_ignores = ("train.lr",)  # adapters train at train.lora_lr
    settings: dict = {}  # reads lora's and rag's sections

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {}

    def memory(self, ctx: BuildContext) -> list[Held]:
        return [Held(ctx.base_model, "lora", context=bool(ctx.config.rag.train_with_context))]

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        from harness.techniques.finetune import build_adapter
        from harness.techniques.rag import build_index
        index, fields = build_index(ctx)
        return {**build_adapter(ctx, four_bit=False, retriever=index), **fields}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.retrieval.retriever import Retriever
        from harness.techniques.candidate import candidate_for
        from harness.techniques.finetune import load_adapter
        model, tokenizer = load_adapter(artifact_dir, ctx, four_bit=False)
        return candidate_for(self.name, model, tokenizer, ctx,
                             retriever=Retriever.load(artifact_dir / "index", ctx.config.rag), rag=ctx.config.rag)


TECHNIQUE = RagLora()
