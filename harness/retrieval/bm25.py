"""BM25 (Okapi) over pre-tokenised chunks with two backends: rank-bm25 (reference) and bm25s (fast).

    backend, index = build_bm25(token_lists, "auto")   # "rank-bm25" or "bm25s" by corpus size
    scores = index.get_scores(query_tokens)             # (n_chunks,) numpy array, same call on both
    best = top_indices(scores, k)                       # best first, ties by chunk order

Both backends score the same formula, rank-bm25's ``BM25Okapi`` with k1=1.5, b=0.75 and its IDF
``log((N - df + 0.5) / (df + 0.5))`` floored at ``epsilon * mean IDF`` (epsilon 0.25) for
terms in more than half the chunks. None of bm25s's built-in variants has that floor (its
"robertson" IDF clamps those terms to 0, "lucene"/"atire" use other IDFs; on shopco-en in 10-word
chunks they agree with rank-bm25 on only 83% / 87% / 87% of top-1 chunks), so the bm25s index
is filled with Okapi's own scores: bm25s's query side (a sparse column sum over the precomputed
per-term, per-chunk scores) is where its speed comes from, and it keeps its save/load format.
rank-bm25 scans every chunk per query term: 33 ms at 10k chunks and 377 ms at 100k vs
bm25s's 0.9 / 2.4 ms (bench/results/retrieval.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.evaluation.text import is_cjk_text, word_runs

K1, B, EPSILON = 1.5, 0.75, 0.25  # rank-bm25's BM25Okapi defaults
AUTO_BM25S_FROM = 4000  # chunks; see choose_backend
BACKENDS = ("auto", "rank-bm25", "bm25s")


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased words; CJK runs become single characters plus their bigrams."""
    out: list[str] = []
    for run in word_runs(text):
        if is_cjk_text(run):
            out += list(run) + [run[i:i + 2] for i in range(len(run) - 1)]
        else:
            out.append(run)
    return out


def choose_backend(setting: str, n_chunks: int) -> str:
    """The backend for rag.bm25_backend and a corpus size: "auto" picks bm25s from AUTO_BM25S_FROM chunks.

    rank-bm25's query time grows with the corpus (p50 on one thread, shopco-en-large: 1k chunks
    1.6 ms, 3k 4.8 ms, 4k 8.4 ms, 5k 13.1 ms, 10k 45 ms); the harness's bm25s path stays at
    0.1-0.3 ms up to 10k but costs a scipy import (about 0.6 s) per process. Below 4k chunks
    rank-bm25, the reference, stays under 10 ms per query, so "auto" keeps it there.
    """
    if setting not in BACKENDS:
        from rightfit.errors import UserError
        raise UserError(f"rag.bm25_backend is '{setting}'; pick one of {', '.join(BACKENDS)}.")
    if setting == "auto":
        return "bm25s" if n_chunks >= AUTO_BM25S_FROM else "rank-bm25"
    return setting


def build_bm25(token_lists: list[list[str]], setting: str = "auto") -> tuple[str, Any]:
    """Index tokenised chunks (each non-empty) with the chosen backend: (backend name, index)."""
    backend = choose_backend(setting, len(token_lists))
    if backend == "rank-bm25":
        from rank_bm25 import BM25Okapi
        return backend, BM25Okapi(token_lists, k1=K1, b=B, epsilon=EPSILON)
    return backend, _okapi_bm25s(token_lists)


def _okapi_bm25s(token_lists: list[list[str]]) -> Any:
    """A bm25s.BM25 whose score matrix holds BM25Okapi's per-(term, chunk) scores.

    bm25s stores a CSC matrix of shape (chunks, vocabulary): column t lists the chunks containing
    term t and each one's score ``idf[t] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``.
    """
    import bm25s
    import numpy as np

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in token_lists]
    n, n_vocab = len(ids), len(vocab)
    doc_len = np.fromiter(map(len, ids), dtype=np.int64, count=n)
    term = np.fromiter((t for doc in ids for t in doc), dtype=np.int64, count=int(doc_len.sum()))
    chunk = np.repeat(np.arange(n, dtype=np.int64), doc_len)
    pairs, tf = np.unique(term * n + chunk, return_counts=True)  # sorted by term, then chunk: CSC order
    col, row = pairs // n, pairs % n
    df = np.bincount(col, minlength=n_vocab)
    idf = np.log(n - df + 0.5) - np.log(df + 0.5)
    idf[idf < 0] = EPSILON * idf.mean()  # rank-bm25's floor: mean over all terms before flooring
    norm = K1 * (1 - B + B * doc_len[row] / doc_len.mean())
    index = bm25s.BM25(k1=K1, b=B, method="atire")  # atire's tf part is Okapi's; the idf is set above
    index.scores = {"data": (idf[col] * tf * (K1 + 1) / (tf + norm)).astype(index.dtype),
                    "indices": row.astype(index.int_dtype),
                    "indptr": np.concatenate([[0], np.cumsum(df)]).astype(np.int64), "num_docs": n}
    index.vocab_dict, index.unique_token_ids_set, index.nonoccurrence_array = vocab, set(vocab.values()), None
    return index


def top_indices(scores: Any, k: int) -> list[int]:
    """Indices of the `k` highest scores, best first, ties by index; O(n) plus a sort of the best."""
    import numpy as np
    scores = np.asarray(scores)
    n = len(scores)
    if k < n:  # every index scoring at least the k-th best (ties included), then sort only those
        cut = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= cut)
    else:
        candidates = np.arange(n)
    order = np.lexsort((candidates, -scores[candidates]))
    return [int(i) for i in candidates[order][:k]]


# ------------------------------------------------------------------------ disk
def save_bm25(index: Any, backend: str, folder: Path) -> None:
    """rank-bm25: bm25.json (its term statistics); bm25s: the bm25s/ folder (its own format)."""
    from rightfit.files import atomic_write
    if backend == "rank-bm25":
        b = index
        stats = {"k1": b.k1, "b": b.b, "epsilon": b.epsilon, "corpus_size": b.corpus_size, "avgdl": b.avgdl,
                 "average_idf": b.average_idf,
                 "doc_len": list(map(int, b.doc_len)), "doc_freqs": b.doc_freqs, "idf": b.idf}
        atomic_write(folder / "bm25.json", json.dumps(stats, ensure_ascii=False))
        return
    import os
    import shutil
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix=".bm25s.", dir=folder))  # bm25s writes file by file: publish whole
    try:
        index.save(tmp, show_progress=False)
        if (folder / "bm25s").exists():
            shutil.rmtree(folder / "bm25s")
        os.replace(tmp, folder / "bm25s")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_bm25(folder: Path, backend: str) -> Any:
    """The index save_bm25 wrote, read back without re-counting anything."""
    if backend == "bm25s":
        import bm25s
        return bm25s.BM25.load(folder / "bm25s", show_progress=False)
    from rank_bm25 import BM25Okapi
    stats = json.loads((folder / "bm25.json").read_text(encoding="utf-8"))
    index = BM25Okapi.__new__(BM25Okapi)  # restore the counted statistics, skip re-counting
    for key, value in stats.items():
        setattr(index, key, value)
    index.tokenizer = None
    return index
