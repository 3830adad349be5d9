"""How well a retriever finds the page that answers a question: hit@k and MRR over a suite's
test questions, each judged by its gold sources (the ``sources`` of a test row).

    ranks = gold_ranks(index, suite.test)          # 1-based rank of the first gold chunk, None if absent
    quality(ranks, ks=(1, 5))                      # {"hit@1": .., "hit@5": .., "mrr": .., "n": ..}

A chunk counts as found when it comes from one of the question's gold documents: what a prompt
of ``top_k`` chunks would carry. Used by bench/retrieval_quality.py and its test.
"""

from __future__ import annotations

from typing import Any

DEPTH = 100  # chunks ranked per question; a gold page below this rank counts as not found (MRR 0)


def gold_ranks(index: Any, rows: list[dict], depth: int = DEPTH) -> list[int | None]:
    """Per question, the 1-based rank of the first chunk from a gold document in the top `depth`."""
    ranks = []
    for row in rows:
        gold = set(row["sources"])
        hits = index.search(row["question"], depth)
        ranks.append(next((r for r, (chunk, _) in enumerate(hits, 1) if chunk.doc_id in gold), None))
    return ranks


def quality(ranks: list[int | None], ks: tuple[int, ...] = (1, 5)) -> dict:
    """hit@k (share of questions with a gold chunk in the top k) for each k, MRR and n."""
    n = len(ranks) or 1
    out: dict = {f"hit@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out["mrr"] = sum(1.0 / r for r in ranks if r is not None) / n
    out["n"] = len(ranks)
    return out
