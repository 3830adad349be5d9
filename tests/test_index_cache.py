"""The retrieval index cache: keyed on what builds the index (documents, chunking, retriever,
embedding model), so changing rag.top_k, the fusion or the base model reuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinymodels import make_tiny_llama

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "fixtures" / "suites" / "mini-en"


def _ctx(tmp_path: Path, model: Path, *overrides: str):
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques.protocol import BuildContext
    cfg = load_config(None, [f"cache_dir={tmp_path / 'cache'}", "rag.chunk_size=24", "rag.chunk_overlap=4",
                             *overrides])
    return BuildContext(base_model=str(model), suite=load_suite(SUITE), config=cfg, seed=0, out_dir=tmp_path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return make_tiny_llama(root / "a", seed=0), make_tiny_llama(root / "b", seed=1)


@pytest.mark.parametrize("retriever", ["bm25", "hybrid"])
def test_changing_top_k_reuses_the_index(tmp_path, models, monkeypatch, retriever):
    import harness.retrieval.dense as dense
    import harness.retrieval.retriever as retrieval
    from harness import cache
    first, fields = cache.build_or_load("rag", _ctx(tmp_path, models[0], f"rag.retriever={retriever}", "rag.top_k=1"))
    assert fields["artifact"]["index"]["cache_hit"] is False and fields["artifact"]["index"]["chunks"] >= 4

    def boom(*a, **k):
        raise AssertionError("the index was built again")
    embed = dense.embed

    def queries_only(texts, dtype="auto", label=None):  # a query is embedded alone; indexing embeds every chunk
        return embed(texts, dtype, label) if len(texts) == 1 else boom()
    monkeypatch.setattr(retrieval, "chunk_docs", boom)
    monkeypatch.setattr(dense, "embed", queries_only)
    changed = [("rag.top_k=3",), ("rag.top_k=3", "rag.fusion=rrf", "rag.hybrid_bm25_weight=0.5")]
    keys = {fields["artifact"]["key"]}
    for extra in changed:
        ctx = _ctx(tmp_path, models[0], f"rag.retriever={retriever}", *extra)
        candidate, again = cache.build_or_load("rag", ctx)
        keys.add(again["artifact"]["key"])
        assert again["artifact"]["cache_hit"] is False  # a new RAG artifact (its settings differ) ...
        assert again["artifact"]["index"] == {**fields["artifact"]["index"], "cache_hit": True,
                                             "seconds": again["artifact"]["index"]["seconds"]}  # ... same index
        hits = candidate.loaded().retriever.search("How long is the warranty?", ctx.config.rag.top_k)
        assert len(hits) == 3
    assert len(keys) == 3
    # another base model reads the same documents the same way: the same index
    _, other = cache.build_or_load("rag", _ctx(tmp_path, models[1], f"rag.retriever={retriever}", "rag.top_k=1"))
    assert other["artifact"]["index"]["cache_hit"] is True


def test_the_index_key_follows_what_builds_the_index(tmp_path, models):
    from harness.retrieval import index_cache
    from harness.suites import load_suite
    docs = load_suite(SUITE).docs

    def key(*overrides: str, docs=docs) -> str:
        return index_cache.index_key(docs, _ctx(tmp_path, models[0], *overrides).config.rag)
    base = key("rag.retriever=hybrid")
    assert key("rag.retriever=hybrid", "rag.top_k=5", "rag.fusion=rrf", "rag.hybrid_bm25_weight=0.7",
               "rag.train_with_context=false") == base
    changed = [key("rag.retriever=bm25"), key("rag.retriever=hybrid", "rag.chunk_size=30"),
               key("rag.retriever=hybrid", "rag.chunk_overlap=2"), key("rag.retriever=hybrid", "rag.chunk_unit=chars"),
               key("rag.retriever=hybrid", "rag.index=hnsw"), key("rag.retriever=hybrid", "rag.embed_dtype=float32"),
               key("rag.retriever=hybrid", docs={**docs, "extra": "A new page."}),
               key("rag.retriever=hybrid", docs={**docs, "returns": docs["returns"] + " Changed."})]
    # embed_dtype auto resolves to float32 on a CPU without bf16 kernels: then it is the same key
    from harness.retrieval.dense import embed_dtype
    expected = len(changed) - (embed_dtype("auto") == "float32")
    assert len({base, *changed}) == expected + 1
    # a BM25 index does not depend on the embedding model or the FAISS index type
    assert key("rag.retriever=bm25", "rag.index=hnsw", "rag.embed_dtype=float32") == key("rag.retriever=bm25")
