"""Retrieval latency at 1k, 10k and 100k chunks: BM25 (rank-bm25, bm25s) and dense FAISS flat / IVF.

The corpus is the generated world's ``large`` ShopCo suite (one product sheet per document,
about one chunk each), written to a temporary folder. Queries are the suite's own test
questions. Dense vectors come from the offline all-MiniLM-L6-v2 (384-d), normalised, searched
by inner product; query embedding time is reported separately from index search time, since
the index is what grows with the corpus. The ``retriever_bm25s`` row is the harness's own
``Retriever`` with its bm25s backend (tokenising the query, top-k, chunks returned): build, save
+ load, query latency, and its top-1 agreement with rank-bm25 on the first 50 questions.

    .venv/bin/python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200] [--threads 1]
                                        [--bm25-only] [--out PATH]

Only a full run (default sizes, dense included) replaces bench/results/retrieval.json; a partial
run prints its rows and writes them to --out when given.

Targets at 100k chunks: BM25 p50 <= 10 ms, dense p50 <= 15 ms (search, not embedding).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import peer, write_result  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def rounded(row: dict) -> dict:
    """A result row with its floats to 3 decimals, for printing."""
    return {k: rounded(v) if isinstance(v, dict) else round(v, 3) if isinstance(v, float) else v
            for k, v in row.items()}


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

    from harness.retrieval.bm25 import bm25_tokens
    from harness.retrieval.dense import embed as _embed
    from harness.retrieval.dense import faiss_index as _faiss_index
    from harness.world import generate_suite

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bm25-only", action="store_true", help="skip dense retrieval (no embedding)")
    ap.add_argument("--out", default="", help="write the result here instead of bench/results/retrieval.json")
    args = ap.parse_args()
    full_run = args.sizes == ap.get_default("sizes") and not args.bm25_only
    BM25Okapi = peer("rank_bm25", "rank-bm25").BM25Okapi  # the peers every size is compared with
    bm25s = peer("bm25s", "bm25s")
    torch.set_num_threads(args.threads)
    import faiss
    faiss.omp_set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]

    folder = Path(tempfile.mkdtemp(prefix="rightfit-retrieval-")) / "shopco-en-large"
    t0 = time.perf_counter()
    generate_suite(folder, "en", "large", 0, "shopco-en-large")
    paths = sorted((folder / "docs").iterdir())
    texts = [p.read_text(encoding="utf-8") for p in paths]
    gen_s = time.perf_counter() - t0
    import json
    questions = [json.loads(line)["question"] for line in (folder / "test.jsonl").read_text().splitlines()]
    questions = (questions * (args.queries // max(1, len(questions)) + 1))[:args.queries]
    if len(texts) < max(sizes):
        raise SystemExit(f"the large suite has {len(texts)} documents, fewer than {max(sizes)}")

    results = {"corpus": "shopco-en-large (generated)", "documents": len(texts), "threads": args.threads,
               "queries": len(questions), "generate_seconds": round(gen_s, 1), "sizes": {}}
    if not args.bm25_only:
        t0 = time.perf_counter()
        vectors = _embed(texts[:max(sizes)])  # (n, 384) float32, normalised
        embed_s = time.perf_counter() - t0
        query_vectors = _embed(questions)
        t0 = time.perf_counter()
        for q in questions[:50]:
            _embed([q])
        results.update(embed_docs_per_s=round(max(sizes) / embed_s, 1),
                       query_embed_ms=round((time.perf_counter() - t0) / 50 * 1000, 2))
    for n in sizes:
        docs = texts[:n]
        row: dict = {}
        tokenized = [bm25_tokens(d) for d in docs]
        t0 = time.perf_counter()
        bm = BM25Okapi(tokenized)
        row["rank_bm25"] = {"index_s": round(time.perf_counter() - t0, 2),
                            **timed_queries(lambda q: np.argsort(-bm.get_scores(bm25_tokens(q)))[:5],
                                            questions[:min(len(questions), 50 if n >= 100000 else 200)])}
        t0 = time.perf_counter()
        retr = bm25s.BM25()
        retr.index(tokenized, show_progress=False)
        row["bm25s"] = {"index_s": round(time.perf_counter() - t0, 2),
                        **timed_queries(lambda q: retr.retrieve([bm25_tokens(q)], k=5, show_progress=False,
                                                                n_threads=1), questions)}
        row["retriever_bm25s"] = harness_retriever_row(paths[:n], docs, questions, lambda q: bm.get_scores(
            bm25_tokens(q)))
        row["speedup_bm25s_vs_rank_bm25"] = row["rank_bm25"]["p50_ms"] / row["bm25s"]["p50_ms"]
        results["sizes"][str(n)] = row
        if args.bm25_only:
            print(n, rounded(row), flush=True)
            continue
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
        print(n, rounded(row), flush=True)
    big = results["sizes"].get("100000")
    if big and not args.bm25_only:
        results["targets_at_100k"] = {
            "bm25_p50_ms<=10": min(big["bm25s"]["p50_ms"], big["rank_bm25"]["p50_ms"]) <= 10,
            "dense_p50_ms<=15": min(big["dense_flat"]["p50_ms"], big["dense_ivf"]["p50_ms"]) <= 15}
    if args.out:
        from rightfit.files import atomic_write
        atomic_write(args.out, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    elif full_run:
        print(f"wrote {write_result('retrieval', results)}")
    else:
        print("partial run: bench/results/retrieval.json left as it is (pass --out to keep these rows)")


def harness_retriever_row(paths: list, docs: list[str], questions: list[str], reference) -> dict:
    """The harness Retriever on the bm25s backend, one chunk per document: timings and agreement.

    Args:
        reference: query -> rank-bm25 scores over the same documents (top-1 agreement on 50 questions).
    """
    import shutil

    import numpy as np

    from harness.retrieval.chunking import Chunk
    from harness.retrieval.retriever import Retriever
    from harness.techniques.rag import RagConfig
    chunks = [Chunk(p.stem, text, 0, len(text)) for p, text in zip(paths, docs)]
    rag = RagConfig(retriever="bm25", index="flat", bm25_backend="bm25s")
    t0 = time.perf_counter()
    retriever = Retriever.from_chunks(chunks, rag)
    index_s = time.perf_counter() - t0
    folder = Path(tempfile.mkdtemp(prefix="rightfit-retriever-"))
    t0 = time.perf_counter()
    retriever.save(folder)
    loaded = Retriever.load(folder)
    load_s = time.perf_counter() - t0
    shutil.rmtree(folder, ignore_errors=True)
    position = {id(c): i for i, c in enumerate(loaded.chunks)}
    same = [position[id(loaded.search(q, 1)[0][0])] == int(np.argmax(reference(q))) for q in questions[:50]]
    return {"backend": loaded.bm25_backend, "index_s": round(index_s, 2), "save_load_s": round(load_s, 2),
            "top1_agreement_vs_rank_bm25": sum(same) / len(same),
            **timed_queries(lambda q: loaded.search(q, 5), questions)}


if __name__ == "__main__":
    main()
