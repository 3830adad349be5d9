"""Retrieval: chunking, Chinese BM25, dense and hybrid search, index reload without rebuild, context budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinymodels import make_tiny_tokenizer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "suites"


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    from transformers import AutoTokenizer

    from harness.suites import load_suite
    en, zh = load_suite(FIXTURES / "mini-en"), load_suite(FIXTURES / "mini-zh")
    texts = list(en.docs.values()) + list(zh.docs.values())
    tok = AutoTokenizer.from_pretrained(make_tiny_tokenizer(tmp_path_factory.mktemp("tok"), texts))
    return {"en": en, "zh": zh, "tok": tok}


def rag_cfg(**kw):
    from harness.techniques.rag import RagConfig
    return RagConfig(**{"chunk_tokens": 32, "chunk_overlap": 8, **kw})


def top1_hits(index, suite) -> list[bool]:
    return [index.search(q["question"], 1)[0][0].doc_id in q["sources"] for q in suite.test if q["sources"]]


def test_bm25_tokens_split_chinese_into_characters_and_bigrams():
    from harness.retrieval.bm25 import bm25_tokens
    assert bm25_tokens("退货期限 is 15 Days!") == ["退", "货", "期", "限", "退货", "货期", "期限", "is", "15", "days"]


def test_chunks_are_token_windows_with_overlap_and_whole_characters(suites):
    from harness.retrieval.chunking import chunk_docs
    tok, zh = suites["tok"], suites["zh"]
    chunks = chunk_docs(zh.docs, tok, size=16, overlap=4)
    assert {c.doc_id for c in chunks} == set(zh.docs)
    for c in chunks:
        assert c.text in zh.docs[c.doc_id] and "\ufffd" not in c.text
        # a window starting inside a multi-byte character is widened to the whole character
        assert len(tok(c.text, add_special_tokens=False)["input_ids"]) <= 16 + 4
    doc = max(zh.docs, key=lambda d: len(zh.docs[d]))
    mine = [c for c in chunks if c.doc_id == doc]
    assert len(mine) >= 2 and all(a.end > b.start for a, b in zip(mine, mine[1:]))  # consecutive windows overlap
    assert mine[0].start == 0 and mine[-1].end >= len(zh.docs[doc].rstrip())


def test_chinese_bm25_finds_the_right_document(suites):
    from harness.retrieval.retriever import Retriever
    index = Retriever.build(suites["zh"].docs, suites["tok"], rag_cfg())
    hits = top1_hits(index, suites["zh"])
    assert len(hits) >= 4 and sum(hits) == len(hits), hits
    assert index.search("雀舌一罐的重量是多少？", 1)[0][0].doc_id == "teas"


@pytest.mark.slow
@pytest.mark.parametrize("retriever,kind", [("dense", "flat"), ("dense", "hnsw"), ("hybrid", "ivf")])
def test_dense_and_hybrid_retrieval_find_the_right_document(suites, retriever, kind):
    from harness.retrieval.retriever import Retriever
    index = Retriever.build(suites["en"].docs, suites["tok"], rag_cfg(retriever=retriever, index=kind))
    hits = top1_hits(index, suites["en"])
    assert sum(hits) >= len(hits) - 1, hits


@pytest.mark.slow
def test_saved_index_is_read_back_not_rebuilt(suites, tmp_path, monkeypatch):
    import rank_bm25

    import harness.retrieval.dense as dense
    import harness.retrieval.retriever as retrieval
    index = retrieval.Retriever.build(suites["en"].docs, suites["tok"], rag_cfg(retriever="hybrid", index="ivf"))
    index.save(tmp_path / "index")
    questions = [q["question"] for q in suites["en"].test]
    before = [[(c.doc_id, c.start, round(s, 5)) for c, s in index.search(q, 3)] for q in questions]

    def boom(*a, **k):
        raise AssertionError("the index was rebuilt")
    monkeypatch.setattr(retrieval, "chunk_docs", boom)
    monkeypatch.setattr(dense, "faiss_index", boom)
    monkeypatch.setattr(rank_bm25.BM25Okapi, "__init__", boom)
    loaded = retrieval.Retriever.load(tmp_path / "index")
    after = [[(c.doc_id, c.start, round(s, 5)) for c, s in loaded.search(q, 3)] for q in questions]
    assert after == before


def test_context_is_cut_to_the_window_and_counted(suites):
    from harness.modeling.prompts import Prompter, fit_context
    from harness.retrieval.retriever import Retriever
    tok = suites["tok"]
    index = Retriever.build(suites["en"].docs, tok, rag_cfg(chunk_tokens=64, chunk_overlap=0))
    question = suites["en"].test[0]["question"]
    hits = index.search(question, 3)
    prompt, ids, cut = fit_context(Prompter(tok), question, hits, window=1024, max_new_tokens=8)
    assert cut == 0 and ids == list(dict.fromkeys(c.doc_id for c, _ in hits))
    assert all(c.text in prompt for c, _ in hits)
    prompt, ids, cut = fit_context(Prompter(tok), question, hits, window=90, max_new_tokens=8)
    assert cut >= 1 and ids and ids[0] == hits[0][0].doc_id
    assert len(tok(prompt, add_special_tokens=False)["input_ids"]) <= 90 - 8
    assert prompt.endswith(f"Question: {question}\nAnswer:")
