"""Cutting documents into the chunks a retriever indexes and a prompt carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Chunk:
    doc_id: str
    text: str
    start: int   # character offsets in the document
    end: int


def chunk_docs(docs: dict[str, str], tokenizer: Any, size: int, overlap: int) -> list[Chunk]:
    """Windows of `size` model tokens stepping by size - overlap, cut at token character offsets.

    Slicing the original text by offsets (instead of decoding token windows) keeps multi-byte
    characters whole.
    """
    step = size - overlap
    chunks: list[Chunk] = []
    for doc_id in sorted(docs):
        text = docs[doc_id]
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if not offsets:
            continue
        for begin in range(0, len(offsets), step):
            window = offsets[begin:begin + size]
            start, end = window[0][0], window[-1][1]
            chunks.append(Chunk(doc_id, text[start:end].strip(), start, end))
            if begin + size >= len(offsets):
                break
    return [c for c in chunks if c.text]
