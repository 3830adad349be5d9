"""Retrieval latency at 1k, 10k and 100k chunks: BM25 (rank-bm25, bm25s) and dense FAISS flat / IVF.

The corpus is the generated world's ``large`` ShopCo suite (one product sheet per document,
about one chunk each), written to a temporary folder. Queries are the suite's own test
questions. Dense vectors come from the offline all-MiniLM-L6-v2 (384-d), normalised, searched
by inner product; query embedding time is reported separately from index search time, since
the index is what grows with the corpus.

    .venv/bin/python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200] [--threads 1]

Targets (issue #6) at 100k chunks: BM25 p50 <= 10 ms, dense p50 <= 15 ms (search, not embedding).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import write_result  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def timed_queries(fn, queries: list) -> dict:
    fn(queries[0])  # warm-up
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "mean_ms": statistics.fmean(times)}


def main() -> None:
    import numpy as np
    import torch

    from harness.retrieval import _embed, _faiss_index, bm25_tokens
    from harness.world import generate_suite

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import faiss
    faiss.omp_set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]

    folder = Path(tempfile.mkdtemp(prefix="rightfit-retrieval-")) / "shopco-en-large"
    t0 = time.perf_counter()
    generate_suite(folder, "en", "large", 0, "shopco-en-large")
    texts = [p.read_text(encoding="utf-8") for p in sorted((folder / "docs").iterdir())]
    gen_s = time.perf_counter() - t0
    import json
    questions = [json.loads(line)["question"] for line in (folder / "test.jsonl").read_text().splitlines()]
    questions = (questions * (args.queries // max(1, len(questions)) + 1))[:args.queries]
    if len(texts) < max(sizes):
        raise SystemExit(f"the large suite has {len(texts)} documents, fewer than {max(sizes)}")

    t0 = time.perf_counter()
    vectors = _embed(texts[:max(sizes)])  # (n, 384) float32, normalised
    embed_s = time.perf_counter() - t0
    query_vectors = _embed(questions)
    t0 = time.perf_counter()
    for q in questions[:50]:
        _embed([q])
    query_embed_ms = (time.perf_counter() - t0) / 50 * 1000

    results = {"corpus": "shopco-en-large (generated)", "documents": len(texts), "threads": args.threads,
               "queries": len(questions), "generate_seconds": round(gen_s, 1),
               "embed_docs_per_s": round(max(sizes) / embed_s, 1), "query_embed_ms": round(query_embed_ms, 2),
               "sizes": {}}
    for n in sizes:
        docs = texts[:n]
        row: dict = {}
        tokenized = [bm25_tokens(d) for d in docs]
        from rank_bm25 import BM25Okapi
        t0 = time.perf_counter()
        bm = BM25Okapi(tokenized)
        row["rank_bm25"] = {"index_s": round(time.perf_counter() - t0, 2),
                            **timed_queries(lambda q: np.argsort(-bm.get_scores(bm25_tokens(q)))[:5],
                                            questions[:min(len(questions), 50 if n >= 100000 else 200)])}
        import bm25s
        t0 = time.perf_counter()
        retr = bm25s.BM25()
        retr.index(tokenized, show_progress=False)
        row["bm25s"] = {"index_s": round(time.perf_counter() - t0, 2),
                        **timed_queries(lambda q: retr.retrieve([bm25_tokens(q)], k=5, show_progress=False,
                                                                n_threads=1), questions)}
        for kind in ("flat", "ivf"):
            t0 = time.perf_counter()
            index = _faiss_index(vectors[:n], kind)
            build = time.perf_counter() - t0
            qi = iter(range(10 ** 9))
            row[f"dense_{kind}"] = {"index_s": round(build, 2), **timed_queries(
                lambda q: index.search(query_vectors[next(qi) % len(query_vectors)][None, :], 5), questions)}
        # recall of IVF against flat on these queries: what the speed costs
        flat, ivf = _faiss_index(vectors[:n], "flat"), _faiss_index(vectors[:n], "ivf")
        _, a = flat.search(query_vectors, 5)
        _, b = ivf.search(query_vectors, 5)
        row["ivf_recall_at_5_vs_flat"] = float(np.mean([len(set(x) & set(y)) / 5 for x, y in zip(a, b)]))
        row["speedup_bm25s_vs_rank_bm25"] = row["rank_bm25"]["p50_ms"] / row["bm25s"]["p50_ms"]
        results["sizes"][str(n)] = row
        print(n, {k: (v if not isinstance(v, dict) else {kk: round(vv, 3) for kk, vv in v.items()})
                  for k, v in row.items()}, flush=True)
    big = results["sizes"].get("100000")
    if big:
        results["targets_at_100k"] = {
            "bm25_p50_ms<=10": min(big["bm25s"]["p50_ms"], big["rank_bm25"]["p50_ms"]) <= 10,
            "dense_p50_ms<=15": min(big["dense_flat"]["p50_ms"], big["dense_ivf"]["p50_ms"]) <= 15}
    print(f"wrote {write_result('retrieval', results)}")


if __name__ == "__main__":
    main()
