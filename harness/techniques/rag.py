"""RAG (Lewis et al. 2020, https://arxiv.org/abs/2005.11401): the base model with retrieved chunks
in the prompt; the index is saved in the artifact. Owns the ``rag`` config section, which RAG+LoRA
reads too."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.techniques.protocol import BuildContext, Held
from rightfit.errors import UserError
from rightfit.settings import opt


@dataclass
class RagConfig:
    retriever: str = opt("bm25", "Retriever: BM25, dense (MiniLM + FAISS) or hybrid (both, fused by rag.fusion).",
                         choices=["bm25", "dense", "hybrid"])
    fusion: str = opt("convex", "Hybrid fusion: convex = hybrid_bm25_weight x BM25 + the rest x cosine, each scaled "
                      "by the query's best score (on gitdocs-en hit@1 .805 vs BM25 .727 and dense .727); rrf = "
                      "reciprocal-rank fusion (k = 60; .766 there, and on Chinese, where the English MiniLM ranks "
                      "badly, .67 vs BM25's 1.00).", choices=["convex", "rrf"])
    hybrid_bm25_weight: float = opt(0.2, "BM25's weight in the convex fusion (0 = dense only, 1 = BM25 only); 0.2 "
                                    "by cross-validation on gitdocs-en (harness/retrieval/retriever.py).",
                                    min=0.0, max=1.0)
    index: str = opt("flat", "FAISS index for dense retrieval; IVF/HNSW for large corpora.",
                     choices=["flat", "ivf", "hnsw"])
    embed_dtype: str = opt("auto", "Dtype of the dense encoder (MiniLM, always on the CPU): auto = bfloat16 where the "
                           "CPU has bf16 kernels (about twice as fast; vectors at a mean cosine of 0.99998 to fp32's), "
                           "else float32.", choices=["auto", "float32", "bfloat16"])
    bm25_backend: str = opt("auto", "BM25 scorer: rank-bm25 (reference) or bm25s (same tokens and Okapi scores, "
                            "precomputed sparse index: 0.3 ms vs 45 ms per query at 10k chunks); "
                            "auto picks bm25s from 4000 chunks.", choices=["auto", "rank-bm25", "bm25s"])
    chunk_unit: str = opt("words", "What chunk_size and chunk_overlap count: words (a CJK character is a word), "
                          "chars (whole words up to that many characters) or sentences. Measured in text, not "
                          "in the model's tokens: the index is the same whatever model reads it.",
                          choices=["words", "chars", "sentences"])
    chunk_size: int = opt(120, "Chunk size in chunk_unit.", min=1, max=100000)
    chunk_overlap: int = opt(20, "Overlap between consecutive chunks in chunk_unit.", min=0, max=100000)
    top_k: int = opt(1, "Chunks put in the prompt. 1 for the self-built base (it reads one sheet reliably: "
                         "97.1% with the gold sheet alone, 39.2% beside a second sheet); real models usually take 3-5.",
                     min=1, max=100)
    train_with_context: bool = opt(True, "RAG+LoRA: train the adapter with retrieved context in the prompt.")

    def __post_init__(self):
        if self.chunk_overlap >= self.chunk_size:
            raise UserError(f"field 'rag.chunk_overlap' ({self.chunk_overlap}) must be smaller than "
                            f"'rag.chunk_size' ({self.chunk_size}); lower the overlap.")


SETTINGS = {"rag": (RagConfig, field(default_factory=RagConfig, metadata={"help": "Retrieval settings."}))}


def build_index(ctx: BuildContext) -> tuple[Any, dict]:
    """The suite's documents chunked and indexed into ctx.out_dir/index, read from the index cache
    when the same documents were indexed the same way before (harness.retrieval.index_cache.index_for: the key
    is what builds the index, never rag.top_k or the model).

    Returns:
        (the Retriever, record fields: chunks, bm25_backend, index_key, index_cache_hit, index_seconds).
    """
    from harness.retrieval.index_cache import index_for, link_tree
    index, folder, info = index_for(ctx.suite.docs, ctx.config.rag, ctx.config.cache_dir)
    if folder is None:  # another process is writing the cached copy: this artifact keeps its own
        index.save(ctx.out_dir / "index")
    else:
        link_tree(folder, ctx.out_dir / "index")
    return index, {"chunks": len(index.chunks), "bm25_backend": index.bm25_backend, **info}


class Rag:
    name = "rag"
    trains = False
    reference = False
    requires = ()
    config_sections = ("rag",)
    config_ignores = ()
    settings = SETTINGS

    def base_of(self, ctx: BuildContext) -> str:
        return ctx.base_model

    def models(self, ctx: BuildContext) -> dict[str, str]:
        return {}

    def memory(self, ctx: BuildContext) -> list[Held]:
        return []

    def check(self, ctx: BuildContext) -> None:
        pass

    def build(self, ctx: BuildContext) -> dict:
        return build_index(ctx)[1]

    def load(self, artifact_dir: Path, ctx: BuildContext):
        from harness.modeling.load import load_model, load_tokenizer, read_manifest
        from harness.retrieval.retriever import Retriever
        from harness.techniques.candidate import candidate_for
        base = read_manifest(artifact_dir)["base_model"]
        return candidate_for(self.name, load_model(base, ctx.config), load_tokenizer(base, ctx.config), ctx,
                             retriever=Retriever.load(artifact_dir / "index", ctx.config.rag), rag=ctx.config.rag)


TECHNIQUE = Rag()
