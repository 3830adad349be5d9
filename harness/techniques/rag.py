"""RAG: the base model with retrieved chunks in the prompt; the index is saved in the artifact."""

from __future__ import annotations

from pathlib import Path

from harness.protocols import BuildContext


class Rag:
    name = "rag"
    trains = False
    config_sections = ("rag",)

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def build(self, ctx: BuildContext) -> dict:
        from harness.modeling import load_tokenizer
        from harness.retrieval import Retriever
        index = Retriever.build(ctx.suite.docs, load_tokenizer(ctx.base_model, ctx.config), ctx.config.rag)
        index.save(ctx.out_dir / "index")
        return {"chunks": len(index.chunks), "bm25_backend": index.bm25_backend}

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.modeling import load_model, load_tokenizer, read_manifest
        from harness.retrieval import Retriever
        from harness.techniques.common import ModelCandidate
        base = read_manifest(artifact_dir)["base_model"]
        return ModelCandidate(self.name, load_model(base, ctx.config), load_tokenizer(base, ctx.config),
                              Retriever.load(artifact_dir / "index"), ctx.config.rag, seed=ctx.seed)


TECHNIQUE = Rag()
