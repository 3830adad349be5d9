"""Cutting documents into the chunks a retriever indexes and a prompt carries.

Chunks are measured in text, never in a model's tokens, so the same documents make the same
chunks (and the same index) whatever model reads them:

    chunk_docs(docs, unit="words", size=120, overlap=20)    # windows of 120 words, 20 shared
    chunk_docs(docs, unit="chars", size=800, overlap=100)   # at most 800 characters, whole words
    chunk_docs(docs, unit="sentences", size=5, overlap=1)   # 5 sentences, 1 shared

A word is a run of non-space characters, or one CJK character (Chinese has no spaces: 120
"words" of Chinese are 120 characters). A sentence ends at . ! ? (followed by a space or line
end), at 。！？ or at a blank line. Every chunk is a slice of its document (``text[start:end]``),
so its offsets point back into the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = ("words", "chars", "sentences")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
# a sentence's end: Latin punctuation (plus closing quotes/brackets) before whitespace, CJK
# punctuation anywhere, or a blank line
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)|[。！？][”’」』）]*|\n\s*\n")


@dataclass
class Chunk:
    doc_id: str
    text: str
    start: int   # character offsets in the document
    end: int


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every word of `text`."""
    return [m.span() for m in WORD.finditer(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text`, surrounding whitespace excluded."""
    spans, begin = [], 0
    for m in SENTENCE_END.finditer(text):
        end = m.end() if not m.group().startswith("\n") else m.start()
        spans.append((begin, end))
        begin = m.end()
    spans.append((begin, len(text)))
    out = []
    for a, b in spans:  # trim whitespace; drop empty pieces
        piece = text[a:b]
        lead, trail = len(piece) - len(piece.lstrip()), len(piece) - len(piece.rstrip())
        if b - trail > a + lead:
            out.append((a + lead, b - trail))
    return out


def _windows(spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Windows of `size` spans stepping by size - overlap, as (start, end) character offsets."""
    out = []
    for first in range(0, len(spans), size - overlap):
        window = spans[first:first + size]
        out.append((window[0][0], window[-1][1]))
        if first + size >= len(spans):
            break
    return out


def _char_windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Windows of at most `size` characters made of whole words (a word longer than `size` is
    cut), each next one starting at the first word within `overlap` characters of the end."""
    words = []
    for a, b in word_spans(text):  # a word longer than a chunk is split into chunk-sized pieces
        words += [(i, min(i + size, b)) for i in range(a, b, size)]
    out, first = [], 0
    while first < len(words):
        last = first
        while last + 1 < len(words) and words[last + 1][1] - words[first][0] <= size:
            last += 1
        out.append((words[first][0], words[last][1]))
        if last + 1 >= len(words):
            break
        end, nxt = words[last][1], last + 1
        while nxt - 1 > first and end - words[nxt - 1][0] <= overlap:  # step back into the overlap
            nxt -= 1
        first = nxt
    return out


def chunk_text(text: str, unit: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) character offsets of the chunks of one document.

    Raises:
        ValueError: an unknown unit, or overlap >= size (the config refuses both first).
    """
    if unit not in UNITS or not 0 <= overlap < size:
        raise ValueError(f"chunking needs a unit in {UNITS} and 0 <= overlap < size, got {unit}, {size}, {overlap}")
    if unit == "chars":
        return _char_windows(text, size, overlap)
    spans = word_spans(text) if unit == "words" else sentence_spans(text)
    return _windows(spans, size, overlap) if spans else []


def chunk_docs(docs: dict[str, str], unit: str = "words", size: int = 120, overlap: int = 20) -> list[Chunk]:
    """The chunks of every document (sorted by doc id, then position), none empty."""
    chunks = []
    for doc_id in sorted(docs):
        text = docs[doc_id]
        chunks += [Chunk(doc_id, text[a:b], a, b) for a, b in chunk_text(text, unit, size, overlap)]
    return [c for c in chunks if c.text.strip()]
