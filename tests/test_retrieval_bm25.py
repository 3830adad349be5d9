"""BM25 backends: bm25s ranks like rank-bm25 (English and Chinese), "auto" by corpus size, save/load of each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.techniques.rag import RagConfig

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("shopco-en", "shopco-zh")


@pytest.fixture(scope="module")
def corpora():
    """shopco-en/zh docs in 10-word chunks (240 English, 561 Chinese: a CJK character is a word)
    and their 240 test questions each."""
    from harness.retrieval.chunking import chunk_docs
    from harness.suites import load_suite
    suites = {name: load_suite(ROOT / "tasks" / name) for name in LANGS}
    return {name: (chunk_docs(s.docs, "words", 10, 2), [q["question"] for q in s.test]) for name, s in suites.items()}


def rag(backend: str, retriever: str = "bm25"):
    return RagConfig(retriever=retriever, index="flat", bm25_backend=backend)


def ranking(index, questions: list[str], k: int = 5) -> list[list[tuple[str, int, float]]]:
    return [[(c.doc_id, c.start, s) for c, s in index.search(q, k)] for q in questions]


@pytest.mark.parametrize("lang", LANGS)
def test_bm25s_backend_ranks_chunks_like_rank_bm25(corpora, lang):
    from harness.retrieval.retriever import Retriever
    chunks, questions = corpora[lang]
    assert len(chunks) == {"shopco-en": 240, "shopco-zh": 561}[lang] and len(questions) == 240
    ref = Retriever.from_chunks(chunks, rag("rank-bm25"))
    fast = Retriever.from_chunks(chunks, rag("bm25s"))
    assert (ref.bm25_backend, fast.bm25_backend) == ("rank-bm25", "bm25s")
    a, b = ranking(ref, questions), ranking(fast, questions)
    # measured: 240/240 top-1 chunks and 240/240 top-5 lists identical in both languages
    assert sum(x[0][:2] == y[0][:2] for x, y in zip(a, b)) == 240
    assert sum([h[:2] for h in x] == [h[:2] for h in y] for x, y in zip(a, b)) == 240
    # the same Okapi scores up to float32 rounding (bm25s stores float32)
    assert max(abs(h[2] - g[2]) / max(1.0, abs(h[2])) for x, y in zip(a, b) for h, g in zip(x, y)) < 1e-5


def test_stock_bm25s_variants_do_not_match_rank_bm25_on_this_fixture(corpora):
    """Why harness.retrieval.bm25 fills bm25s with Okapi's scores: its built-in IDFs miss rank-bm25's floor."""
    import bm25s
    import numpy as np

    from harness.retrieval.bm25 import bm25_tokens, build_bm25, top_indices
    chunks, questions = corpora["shopco-en"]
    tokens = [bm25_tokens(c.text) for c in chunks]
    _, ref = build_bm25(tokens, "rank-bm25")
    stock = bm25s.BM25(k1=1.5, b=0.75, method="robertson")
    stock.index(tokens, show_progress=False)
    same = [top_indices(ref.get_scores(bm25_tokens(q)), 1) == top_indices(stock.get_scores(bm25_tokens(q)), 1)
            for q in questions]
    assert 0.75 < np.mean(same) < 0.9  # measured 199/240 = 0.83 (lucene, atire: 209/240)


def test_auto_picks_bm25s_from_the_threshold_and_explicit_settings_win(corpora, monkeypatch):
    import harness.retrieval.bm25 as bm25
    from harness.retrieval.retriever import Retriever
    from rightfit.errors import UserError
    assert bm25.choose_backend("auto", bm25.AUTO_BM25S_FROM - 1) == "rank-bm25"
    assert bm25.choose_backend("auto", bm25.AUTO_BM25S_FROM) == "bm25s"
    assert bm25.choose_backend("bm25s", 10) == "bm25s" and bm25.choose_backend("rank-bm25", 10 ** 6) == "rank-bm25"
    with pytest.raises(UserError, match="rag.bm25_backend.*auto, rank-bm25, bm25s"):
        bm25.choose_backend("bm25x", 10)
    chunks, _ = corpora["shopco-zh"]
    assert Retriever.from_chunks(chunks, rag("auto")).bm25_backend == "rank-bm25"
    assert Retriever.from_chunks(chunks, RagConfig(retriever="bm25", index="flat", bm25_backend="auto")).bm25_backend == "rank-bm25"
    monkeypatch.setattr(bm25, "AUTO_BM25S_FROM", len(chunks))
    assert Retriever.from_chunks(chunks, rag("auto")).bm25_backend == "bm25s"


def test_top_indices_sorts_by_score_then_index():
    import numpy as np

    from harness.retrieval.bm25 import top_indices
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=300).astype("float32")  # many ties
    full = sorted(range(300), key=lambda i: (-scores[i], i))
    for k in (1, 7, 60, 300, 500):
        assert top_indices(scores, k) == full[:k]


@pytest.mark.parametrize("backend", ["bm25s", "rank-bm25"])
def test_saved_bm25_index_is_read_back_not_rebuilt(corpora, tmp_path, monkeypatch, backend):
    import harness.retrieval.bm25 as bm25
    from harness.retrieval.retriever import Retriever
    chunks, questions = corpora["shopco-zh"]
    index = Retriever.from_chunks(chunks, rag(backend))
    index.save(tmp_path / "index")
    assert json.loads((tmp_path / "index" / "chunks.json").read_text())["bm25_backend"] == backend
    assert (tmp_path / "index" / "bm25s").is_dir() == (backend == "bm25s")
    assert (tmp_path / "index" / "bm25.json").is_file() == (backend == "rank-bm25")

    def boom(*a, **k):
        raise AssertionError("the index was rebuilt")
    monkeypatch.setattr(bm25, "build_bm25", boom)
    monkeypatch.setattr(bm25, "_okapi_bm25s", boom)
    loaded = Retriever.load(tmp_path / "index")
    assert loaded.bm25_backend == backend
    assert ranking(loaded, questions) == ranking(index, questions)


def test_a_missing_bm25s_index_is_a_user_error(corpora, tmp_path):
    import shutil

    from harness.retrieval.retriever import Retriever
    from rightfit.errors import UserError
    Retriever.from_chunks(corpora["shopco-en"][0], rag("bm25s")).save(tmp_path)
    shutil.rmtree(tmp_path / "bm25s")
    with pytest.raises(UserError, match="bm25s index is missing or broken; rebuild with --force"):
        Retriever.load(tmp_path)
