"""RAG + LoRA: a LoRA adapter answering with retrieved chunks in the prompt.

With cfg.rag.train_with_context the adapter is trained on prompts that carry the chunks
retrieved for each training question (retrieval-aware fine-tuning, as in RAFT, Zhang et al.
2024, https://arxiv.org/abs/2403.10131); otherwise it is a plain LoRA used with retrieval.
"""

from __future__ import annotations

from pathlib import Path

from harness.protocols import BuildContext


class RagLora:
    name = "rag_lora"
    trains = True
    config_sections = ("train", "lora", "rag")
    config_ignores = ("train.lr",)  # adapters train at train.lora_lr

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def build(self, ctx: BuildContext) -> dict:
        from harness.modeling import load_tokenizer
        from harness.retrieval import Retriever
        from harness.techniques.common import build_adapter
        index = Retriever.build(ctx.suite.docs, load_tokenizer(ctx.base_model, ctx.config), ctx.config.rag)
        index.save(ctx.out_dir / "index")
        return {**build_adapter(ctx, four_bit=False, retriever=index), "chunks": len(index.chunks),
                "bm25_backend": index.bm25_backend}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.retrieval import Retriever
        from harness.techniques.common import ModelCandidate, load_adapter
        model, tokenizer = load_adapter(artifact_dir, ctx, four_bit=False)
        return ModelCandidate(self.name, model, tokenizer, Retriever.load(artifact_dir / "index"), ctx.config.rag,
                              seed=ctx.seed)


TECHNIQUE = RagLora()
