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
    return RagConfig(**{"chunk_unit": "words", "chunk_size": 12, "chunk_overlap": 3, **kw})


def top1_hits(index, suite) -> list[bool]:
    return [index.search(q["question"], 1)[0][0].doc_id in q["sources"] for q in suite.test if q["sources"]]


def test_bm25_tokens_split_chinese_into_characters_and_bigrams():
    from harness.retrieval.bm25 import bm25_tokens
    assert bm25_tokens("退货期限 is 15 Days!") == ["退", "货", "期", "限", "退货", "货期", "期限", "is", "15", "days"]


@pytest.mark.parametrize("unit, size, overlap", [("words", 12, 3), ("chars", 40, 10), ("sentences", 2, 1)])
def test_chunks_are_text_windows_with_overlap(suites, unit, size, overlap):
    from harness.retrieval.chunking import chunk_docs, sentence_spans, word_spans
    for lang in ("en", "zh"):
        docs = suites[lang].docs
        chunks = chunk_docs(docs, unit, size, overlap)
        assert {c.doc_id for c in chunks} == set(docs)
        for c in chunks:
            doc = docs[c.doc_id]
            assert c.text == doc[c.start:c.end] == c.text.strip() and c.text
            words = word_spans(c.text)
            if unit == "words":
                assert len(words) <= size
            elif unit == "chars":
                assert len(c.text) <= size
                # whole words: the chunk starts and ends at a word boundary of its document
                assert c.start == 0 or not doc[c.start - 1].strip() or len(word_spans(doc[c.start - 1:c.start + 1])) == 2
            else:
                assert len(sentence_spans(c.text)) <= size
        doc = max(docs, key=lambda d: len(docs[d]))
        mine = [c for c in chunks if c.doc_id == doc]
        assert len(mine) >= 2 and all(a.end > b.start for a, b in zip(mine, mine[1:]))  # consecutive windows overlap
        assert mine[0].start == 0 and mine[-1].end == len(docs[doc].rstrip())


def test_chunks_count_chinese_characters_as_words_and_end_sentences_at_cjk_marks():
    from harness.retrieval.chunking import chunk_text, sentence_spans
    text = "雀舌是一种绿茶。每罐125克！Returns take 30 days. Ask us?\n\nNew paragraph without a stop"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "雀舌是一种绿茶。", "每罐125克！", "Returns take 30 days.", "Ask us?", "New paragraph without a stop"]
    seven = "一二三四五六七"
    assert [seven[a:b] for a, b in chunk_text(seven, "words", 3, 1)] == ["一二三", "三四五", "五六七"]
    # a word longer than a chars window is cut into window-sized pieces; the rest stays whole
    long = "x" * 25 + " yz"
    assert [long[a:b] for a, b in chunk_text(long, "chars", 10, 2)] == ["x" * 10, "x" * 10, "x" * 5 + " yz"]
    with pytest.raises(ValueError):
        chunk_text(seven, "tokens", 3, 1)


@pytest.mark.slow
@pytest.mark.parametrize("retriever,kind", [("dense", "flat"), ("dense", "hnsw"), ("hybrid", "ivf")])
def test_dense_and_hybrid_retrieval_find_the_right_document(suites, retriever, kind):
    from harness.retrieval.retriever import Retriever
    index = Retriever.build(suites["en"].docs, rag_cfg(retriever=retriever, index=kind))
    hits = top1_hits(index, suites["en"])
    assert sum(hits) >= len(hits) - 1, hits


@pytest.mark.slow
def test_saved_index_is_read_back_not_rebuilt(suites, tmp_path, monkeypatch):
    import rank_bm25

    import harness.retrieval.dense as dense
    import harness.retrieval.retriever as retrieval
    index = retrieval.Retriever.build(suites["en"].docs, rag_cfg(retriever="hybrid", index="ivf"))
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


def test_context_keeps_whole_chunks_within_the_window_and_counts_the_rest(suites):
    from harness.modeling.prompts import Prompter, fit_context
    from harness.retrieval.retriever import Retriever
    tok = suites["tok"]
    index = Retriever.build(suites["en"].docs, rag_cfg(chunk_size=40, chunk_overlap=0))
    question = suites["en"].test[0]["question"]
    hits = index.search(question, 3)
    sizes = [len(tok(c.text, add_special_tokens=False)["input_ids"]) for c, _ in hits]
    prompt, ids, lost = fit_context(Prompter(tok), question, hits, window=1024, max_new_tokens=8)
    assert lost == 0 and ids == list(dict.fromkeys(c.doc_id for c, _ in hits))
    assert all(c.text in prompt for c, _ in hits)
    bare = len(tok(Prompter(tok).render(question, ["x"]), add_special_tokens=False)["input_ids"])
    # room for the best chunk only: it goes in whole, the other two are dropped and counted
    window = bare + 8 + 1 + sizes[0] + 2 + min(sizes[1:]) // 2
    prompt, ids, lost = fit_context(Prompter(tok), question, hits, window=window, max_new_tokens=8)
    assert lost == 2 and hits[0][0].text in prompt and ids == [hits[0][0].doc_id]
    assert not any(c.text in prompt for c, _ in hits[1:])
    assert len(tok(prompt, add_special_tokens=False)["input_ids"]) <= window - 8
    # not even one chunk fits whole: the best one is cut to the tokens left, all three counted
    prompt, ids, lost = fit_context(Prompter(tok), question, hits, window=bare + 8 + 1 + sizes[0] // 2, max_new_tokens=8)
    assert lost == 3 and ids == [hits[0][0].doc_id] and hits[0][0].text not in prompt
    assert hits[0][0].text[:10] in prompt
    assert prompt.endswith(f"Question: {question}\nAnswer:")
