"""Retrieval quality on real prose, and how fast the dense index is built.

Quality: the bundled real-documents suite tasks/gitdocs-en (64 git manual pages, 77 questions,
each with its gold page) in the default chunks (rag.chunk_unit/chunk_size/chunk_overlap); per
retriever (bm25, dense, hybrid with the default convex fusion, hybrid with rrf) hit@1, hit@5 and
MRR (harness/retrieval/quality.py), index seconds and chunks indexed per second (the encoder is
loaded before the clock starts; its load time is reported apart). The hybrid rows fuse the BM25
and dense indexes built for their own rows, so their index time is the sum of both.

Throughput: the same chunks embedded by the encoder as main had it (sentence-transformers,
batches of 64, fp32, on the threads the process has: one in a run with the self-built models,
both cores otherwise) and as harness/retrieval/dense.py embeds them now (every core, batches of
8, bf16 autocast where the CPU has bf16 kernels), each timed once after a warm-up; also as tokens/s
(the encoder's own word pieces, up to its 256-token limit), which does not depend on the chunk size.

    .venv/bin/python bench/retrieval_quality.py [--suite gitdocs-en] [--throughput-sample 256]
                                                [--chunk-unit words --chunk-size 120 --chunk-overlap 20]

Only a run with the default chunking writes bench/results/retrieval_quality.json; another one
prints its rows and writes them to --out when given.

The result asserts nothing (tests/test_retrieval_quality.py
checks hybrid >= max(bm25, dense) at k = 1 and 5).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import write_result  # noqa: E402

KS = (1, 5)


def quality_rows(suite, rag) -> dict:
    """{retriever: {hit@1, hit@5, mrr, n, index_seconds, chunks, chunks_per_s}} on `suite` per `rag`."""
    from dataclasses import replace

    from harness.retrieval.chunking import chunk_docs
    from harness.retrieval.quality import gold_ranks, quality
    from harness.retrieval.retriever import Retriever
    chunks = chunk_docs(suite.docs, rag.chunk_unit, rag.chunk_size, rag.chunk_overlap)
    built, seconds = {}, {}
    for kind in ("bm25", "dense"):
        start = time.perf_counter()
        built[kind] = Retriever.from_chunks(chunks, replace(rag, retriever=kind))
        seconds[kind] = time.perf_counter() - start
    bm25, dense = built["bm25"], built["dense"]
    for fusion in ("convex", "rrf"):
        built[f"hybrid-{fusion}"] = Retriever(chunks, "hybrid", bm25.bm25, dense.faiss_index, bm25.bm25_backend,
                                              dense.embed_dtype, replace(rag, fusion=fusion))
        seconds[f"hybrid-{fusion}"] = seconds["bm25"] + seconds["dense"]
    rows = {}
    for name, index in built.items():
        rows[name] = {**{k: round(v, 3) for k, v in quality(gold_ranks(index, suite.test), KS).items()},
                      "index_seconds": round(seconds[name], 2), "chunks": len(chunks),
                      "chunks_per_s": round(len(chunks) / seconds[name], 1)}
    return rows


def throughput(texts: list[str]) -> dict:
    """chunks/s of main's encoder call (1 and all threads) and of dense.embed (fp32, auto)."""
    import os

    import torch

    from harness.retrieval import dense
    model = dense.embedder()
    model.encode(texts[:8])  # warm-up: weights paged in, kernels chosen

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return round(len(texts) / (time.perf_counter() - start), 1)
    tokens = sum(min(len(ids), model.max_seq_length) for ids in model.tokenizer(texts)["input_ids"])
    out = {"chunks": len(texts), "tokens_per_chunk": round(tokens / len(texts), 1), "cores": os.cpu_count(),
           "cpu_bf16": dense.embed_dtype("auto") == "bfloat16", "chunks_per_s": {}}
    threads = torch.get_num_threads()
    for n in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(n)
        out["chunks_per_s"][f"before_{n}_threads"] = timed(lambda: model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False))
    torch.set_num_threads(1)  # as a run with the self-built models leaves it: embed() takes every core itself
    out["chunks_per_s"]["after_float32"] = timed(lambda: dense.embed(texts, "float32"))
    out["chunks_per_s"]["after_auto"] = timed(lambda: dense.embed(texts, "auto"))
    torch.set_num_threads(threads)
    out["tokens_per_s"] = {k: round(v * tokens / len(texts)) for k, v in out["chunks_per_s"].items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="gitdocs-en", help="a bundled suite name or a suite folder")
    ap.add_argument("--throughput-sample", type=int, default=256,
                    help="chunks (a seeded sample) embedded by each encoder variant; 0 skips the comparison")
    ap.add_argument("--chunk-unit", help="rag.chunk_unit (default: the config's)")
    ap.add_argument("--chunk-size", type=int, help="rag.chunk_size (default: the config's)")
    ap.add_argument("--chunk-overlap", type=int, help="rag.chunk_overlap (default: the config's)")
    ap.add_argument("--out", default="", help="write the result here instead of bench/results/retrieval_quality.json")
    args = ap.parse_args()

    from harness.retrieval import dense
    from harness.retrieval.chunking import chunk_docs
    from harness.suites import load_suite
    from harness.techniques.rag import RagConfig
    chosen = {"chunk_unit": args.chunk_unit, "chunk_size": args.chunk_size, "chunk_overlap": args.chunk_overlap}
    suite, rag = load_suite(args.suite), RagConfig(**{k: v for k, v in chosen.items() if v is not None})
    start = time.perf_counter()
    dense.embedder()
    result = {"suite": args.suite, "questions": len(suite.test), "documents": len(suite.docs),
              "chunking": {"unit": rag.chunk_unit, "size": rag.chunk_size, "overlap": rag.chunk_overlap},
              "hybrid_bm25_weight": rag.hybrid_bm25_weight,
              "encoder_load_seconds": round(time.perf_counter() - start, 2), "retrievers": quality_rows(suite, rag)}
    for name, row in result["retrievers"].items():
        print(f"{name:<14} hit@1 {row['hit@1']:.3f}  hit@5 {row['hit@5']:.3f}  MRR {row['mrr']:.3f}  "
              f"index {row['index_seconds']:.1f} s  {row['chunks_per_s']:.0f} chunks/s")
    if args.throughput_sample:
        texts = [c.text for c in chunk_docs(suite.docs, rag.chunk_unit, rag.chunk_size, rag.chunk_overlap)]
        random.Random(0).shuffle(texts)
        result["throughput"] = throughput(texts[:args.throughput_sample])
        print("dense indexing, chunks/s:", result["throughput"])
    rows = result["retrievers"]
    result["headline"] = " ".join(f"{n} hit@1 {rows[n]['hit@1']:.3f} hit@5 {rows[n]['hit@5']:.3f};"
                                  for n in ("bm25", "dense", "hybrid-convex"))
    if "throughput" in result:
        result["headline"] += f" dense {result['throughput']['chunks_per_s']['after_auto']:.0f} chunks/s"
    if args.out:
        import json
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(args.out)
    elif all(v is None for v in chosen.values()) and args.suite == ap.get_default("suite"):
        print(write_result("retrieval_quality", result))


if __name__ == "__main__":
    main()
