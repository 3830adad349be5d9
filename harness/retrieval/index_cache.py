"""The retrieval index cache: an index is built once per (documents, chunking, retriever,
embedding model) under ``<cache_dir>/index/<key>`` and read back by every run and candidate that
indexes the same documents the same way, whatever their rag.top_k or base model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from rightfit.errors import UserError
from rightfit.files import FileLock, publish_dir

BUILDING = "is building this index"  # what a process that finds the index being built is told

INDEX_FORMAT = 1  # bump when the saved index layout or what goes into an index changes


def index_key(docs: dict[str, str], rag: Any) -> str:
    """sha256 of what builds a retrieval index: the documents, the chunking, the retriever and its
    index settings, and the embedding model for dense ones. Not rag.top_k (how many chunks a
    prompt takes from the index) and not the base model (chunks are measured in text)."""
    dense = rag.retriever in ("dense", "hybrid")
    data = {"format": INDEX_FORMAT,
            "docs": hashlib.sha256(json.dumps(sorted(docs.items()), ensure_ascii=False).encode()).hexdigest(),
            "chunking": [rag.chunk_unit, rag.chunk_size, rag.chunk_overlap], "retriever": rag.retriever,
            "bm25_backend": rag.bm25_backend if rag.retriever in ("bm25", "hybrid") else None,
            "faiss": rag.index if dense else None}
    if dense:
        from harness.retrieval.dense import embedder_identity
        data["embedder"] = embedder_identity(rag.embed_dtype)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]


def index_for(docs: dict[str, str], rag: Any, cache_dir: str | Path) -> tuple[Any, Path | None, dict]:
    """The Retriever over `docs` per `rag`: read from ``<cache_dir>/index/<key>`` when built
    before, else built, saved there and published by rename.

    A process that finds another one building the same index builds its own copy in memory and
    leaves the cache to the other (under a launcher every process re-indexes updated docs).

    Returns:
        (retriever, the folder it is saved in or None when it was built in memory only,
        {"index": {"key", "cache_hit", "seconds", "chunks"}}).
    """
    from harness.retrieval.retriever import Retriever
    key = index_key(docs, rag)
    final = Path(cache_dir) / "index" / key
    start = time.perf_counter()
    if (final / "chunks.json").is_file():
        index = Retriever.load(final, rag)
        return index, final, _index_info(key, True, start, index)
    lock = FileLock(Path(cache_dir) / "index" / f"{key}.lock")
    try:
        lock.acquire(BUILDING, "")
    except UserError:
        index = Retriever.build(docs, rag)
        return index, None, _index_info(key, False, start, index)
    try:
        if (final / "chunks.json").is_file():  # built by another process while we waited
            index = Retriever.load(final, rag)
            return index, final, _index_info(key, True, start, index)
        work = final.with_name(f"{key}.partial")
        shutil.rmtree(work, ignore_errors=True)
        index = Retriever.build(docs, rag)
        index.save(work)
        publish_dir(work, final)
        return index, final, _index_info(key, False, start, index)
    finally:
        lock.release()


def _index_info(key: str, hit: bool, start: float, index: Any) -> dict:
    return {"index": {"key": key, "cache_hit": hit, "seconds": round(time.perf_counter() - start, 3),
                      "chunks": len(index.chunks)}}


def link_tree(source: Path, dest: Path) -> None:
    """`dest` as a copy of the folder `source` made of hard links (a real copy where links are refused)."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    shutil.copytree(source, dest, copy_function=link, dirs_exist_ok=True)
