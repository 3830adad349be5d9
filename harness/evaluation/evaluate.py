"""Evaluating one candidate on one suite: every metric with its 95% CI, and per-example outputs.

:func:`evaluate_candidate` walks the suite's parts; a part that is missing yields n/a
metrics (value None with a note), never 0. Record keys are dotted, the last component is the
registered metric (harness.evaluation.metrics.spec_for):

    test.<m>, test.<kind>.<m>         m in em f1 contains rouge1 rouge2 rougeL bleu; kinds seen, docs_only, ...
    test.style, test.traceability     style rule adherence; cited sources include a gold source
    test.context_cut                  share of questions whose prompt lost chunks (or text) to the window
    fresh.<m>, fresh.unchanged.<m>    after candidate.with_docs(updated docs): changed facts; controls
    probes.<m>, probes.mc_acc         general probes: greedy answers; likelihood multiple choice
    general.ppl, domain.ppl           perplexity of probes/heldout.txt and heldout.txt
    forgetting.probes.<m>, forgetting.probes.mc_acc, forgetting.general.ppl   candidate - base
    privacy.leak_rate, privacy.exposure   canaries (trained candidates only)
    latency.p50_s, latency.p95_s, latency.retrieval_share, latency.tokens_per_s

Paired tests between candidates and the aggregation over seeds: harness/evaluation/compare.py.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from harness.evaluation import stats
from harness.evaluation.metrics import (
    ITEM_METRICS,
    REGISTRY,
    bleu_from_stats,
    bleu_item_stats,
    na,
    score_item,
    spec_for,
    style_adherence,
    style_rule_is_empty,
    traceability,
)
from harness.evaluation.text import strip_style

# Metrics compared against the base model (``forgetting.<key>`` = candidate - base).
FORGETTING_KEYS = tuple(f"probes.{m}" for m in ITEM_METRICS) + ("probes.mc_acc", "general.ppl")


def _value(value: float, lo: float | None, hi: float | None, n: int, name: str, note: str = "") -> dict:
    def clean(x):
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)
    out = {"value": clean(value), "ci_low": clean(lo), "ci_high": clean(hi), "n": int(n),
           "higher_is_better": REGISTRY[name].higher_is_better}
    if note:
        out["note"] = note
    return out


def mean_metric(values: list[float], name: str, cfg: Any) -> dict:
    """A mean-aggregated metric with its bootstrap CI (n/a for no items)."""
    if not values:
        return na("no items to score", REGISTRY[name].higher_is_better)
    v, lo, hi = stats.bootstrap_ci(values, n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
    return _value(v, lo, hi, len(values), name)


def bleu_metric(answers: list[str], references: list[list[str]], language: str, cfg: Any) -> dict:
    if not answers:
        return na("no items to score")
    item_stats = bleu_item_stats(answers, references, language)  # (n, 10): resampled rows are summed
    v, lo, hi = stats.bootstrap_corpus_ci(len(answers), lambda idx: bleu_from_stats(item_stats[idx].sum(0), language),
                                          n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
    return _value(v, lo, hi, len(answers), "bleu", "corpus BLEU (sacrebleu), CI resamples items")


def _cap(rows: list[dict], cfg: Any) -> list[dict]:
    """At most cfg.eval.max_questions rows, evenly spaced: suites list their kinds in blocks, and
    the first N rows alone could miss a kind entirely."""
    cap = cfg.eval.max_questions
    if not cap or cap >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // cap] for i in range(cap)]


def answer_all(candidate: Any, questions: list[str], cfg: Any, label: str = "answers") -> list[dict]:
    """Answers in batches of cfg.decode.batch_size; under a launcher each process answers its share
    of the questions and all get every answer back (harness.modeling.distributed.shard_map).
    Process 0 shows the progress of its share under `label`."""
    import contextlib

    from harness.modeling.distributed import is_main, rank, shard_map
    from rightfit import ui

    def answer(share: list[str]) -> list[dict]:
        out: list[dict] = []
        size = cfg.decode.batch_size
        shown = ui.progress(f"{label} ({len(share)} questions)", len(share), "questions") if is_main() \
            else contextlib.nullcontext(lambda n=1, **kw: None)
        with shown as advance:
            for i in range(0, len(share), size):
                out += [{**a, "process": rank()} for a in candidate.answer(share[i:i + size], cfg.decode)]
                advance(len(share[i:i + size]))
        return out
    return shard_map(answer, questions)


def score_part(candidate: Any, rows: list[dict], part: str, suite: Any, cfg: Any) -> list[dict]:
    """Answer and score `rows`; returns Examples (harness.records.Example)."""
    return score_answers(rows, answer_all(candidate, [r["question"] for r in rows], cfg, part), part, suite)


def score_answers(rows: list[dict], answers: list[dict], part: str, suite: Any) -> list[dict]:
    """Score one answer per row, however it was produced (a candidate here, lm-eval elsewhere:
    harness/lmeval/samples.py); returns Examples (harness.records.Example).

    Args:
        answers: harness.techniques.protocol.Answer dicts: ``text``, and where known the
            sources cited, timings, token counts and the prompt.
    """
    rule = None if style_rule_is_empty(suite.style) else suite.style
    examples = []
    for row, ans in zip(rows, answers):
        refs = [row["answer"], *row.get("aliases", [])]
        content = strip_style(ans["text"], rule)
        scores = score_item(content, refs)  # accuracy scores the content, the style metric the form
        if rule is not None:
            scores["style"] = style_adherence(ans["text"], rule)
        traced = traceability(ans.get("sources", []), row.get("sources", []))
        if traced is not None:
            scores["traceability"] = traced
        examples.append({
            "id": row["id"], "part": part, "kind": row.get("kind", ""), "question": row["question"],
            "reference": row["answer"], "aliases": list(row.get("aliases", [])),
            "gold_sources": list(row.get("sources", [])), "answer": ans["text"], "content": content,
            "sources": list(ans.get("sources", [])), "scores": scores, "seconds": float(ans.get("seconds", 0.0)),
            "retrieval_seconds": float(ans.get("retrieval_seconds", 0.0)),
            "prompt_tokens": int(ans.get("prompt_tokens", 0)), "generated_tokens": int(ans.get("generated_tokens", 0)),
            "context_truncated": int(ans.get("context_truncated", 0)), "prompt": str(ans.get("prompt", "")),
            "process": int(ans.get("process", 0))})
    if suite.answers == "free" and examples:  # a free-form reply is also judged by meaning
        for e, sim in zip(examples, semantic_similarity([e["content"] for e in examples],
                                                         [[e["reference"], *e["aliases"]] for e in examples])):
            e["scores"]["semantic"] = sim
    return examples


def semantic_similarity(answers: list[str], references: list[list[str]]) -> list[float]:
    """Cosine similarity of each answer to its closest reference (all-MiniLM-L6-v2 embeddings,
    the bundled offline encoder), clipped to 0..1: a paraphrase of the reference scores high
    where exact match and token F1 score nothing."""
    import numpy as np

    from harness.retrieval.dense import embed
    flat = [r for refs in references for r in refs]
    # (answers + references, 384), normalised; fp32 so the score does not depend on the CPU's bf16 kernels
    vectors = embed(list(answers) + flat, "float32")
    a, r = vectors[:len(answers)], vectors[len(answers):]
    out, i = [], 0
    for row, refs in zip(a, references):
        sims = r[i:i + len(refs)] @ row
        out.append(float(np.clip(sims.max() if len(refs) else 0.0, 0.0, 1.0)))
        i += len(refs)
    return out


def text_metrics(examples: list[dict], prefix: str, language: str, cfg: Any, *, bleu: bool = True) -> dict:
    """``prefix.<m>`` for every per-item text metric (+ corpus BLEU) over `examples`."""
    names = ITEM_METRICS + (("semantic",) if examples and "semantic" in examples[0]["scores"] else ())
    out = {f"{prefix}.{m}": mean_metric([e["scores"][m] for e in examples], m, cfg) for m in names}
    if bleu:
        out[f"{prefix}.bleu"] = bleu_metric([e.get("content", e["answer"]) for e in examples],
                                            [[e["reference"], *e["aliases"]] for e in examples], language, cfg)
    return out


def metrics_on_test(examples: list[dict], suite: Any, cfg: Any) -> dict:
    """Overall and per-kind accuracy/overlap, style and traceability on the test part."""
    out = text_metrics(examples, "test", suite.language, cfg)
    for kind in sorted({e["kind"] for e in examples}):
        out.update(text_metrics([e for e in examples if e["kind"] == kind], f"test.{kind}", suite.language, cfg,
                                bleu=False))
    if style_rule_is_empty(suite.style):
        out["test.style"] = na("suite has no style rule")
    else:
        out["test.style"] = mean_metric([e["scores"]["style"] for e in examples], "style", cfg)
    traced = [e for e in examples if "traceability" in e["scores"]]
    if not any(e["sources"] for e in examples):
        out["test.traceability"] = na("candidate cites no sources")
    elif not traced:
        out["test.traceability"] = na("no test item names a gold source")
    else:
        out["test.traceability"] = mean_metric([e["scores"]["traceability"] for e in traced], "traceability", cfg)
    return out


def context_cut(examples: list[dict], candidate: Any, cfg: Any) -> dict:
    """Share of questions whose prompt lost retrieved chunks (or was cut from the left) to fit the
    context window; its note says how many, the window, and what to change."""
    from harness.modeling.load import context_window
    out = mean_metric([float(e["context_truncated"] > 0) for e in examples], "context_cut", cfg)
    if not examples:
        return out
    model, tokenizer = candidate.language_model()
    window = f"{context_window(model, tokenizer)}-token " if model is not None else ""
    cut = sum(e["context_truncated"] > 0 for e in examples)
    if any(e["retrieval_seconds"] > 0 for e in examples):
        rag = cfg.rag
        out["note"] = (f"{cut} of {len(examples)} questions had retrieved chunks cut or dropped to fit the model's "
                       f"{window}window (rag.top_k {rag.top_k}, chunks of {rag.chunk_size} {rag.chunk_unit})"
                       + ("; lower rag.top_k or rag.chunk_size, or use a model with a longer window" if cut else ""))
    else:
        out["note"] = (f"{cut} of {len(examples)} prompts were cut from the left to fit the model's {window}window"
                       + ("; use fewer few-shot examples or a model with a longer window" if cut else ""))
    return out


def latency_metrics(examples: list[dict], cfg: Any) -> dict:
    """Per-question wall time p50/p95 (bootstrap CIs), retrieval share and generated tokens/s."""
    if not examples:
        return {f"latency.{m}": na("no answered questions", REGISTRY[m].higher_is_better)
                for m in ("p50_s", "p95_s", "retrieval_share", "tokens_per_s")}
    secs = np.array([e["seconds"] for e in examples])
    out = {}
    for name, q in (("p50_s", 0.5), ("p95_s", 0.95)):
        v, lo, hi = stats.bootstrap_ci(secs, n_resamples=cfg.eval.bootstrap, seed=cfg.seed,
                                       statistic=lambda a, q=q: np.quantile(a, q, axis=-1))
        out[f"latency.{name}"] = _value(v, lo, hi, len(secs), name, "seconds per question (share of its batch)")
    retrieval = np.array([e["retrieval_seconds"] for e in examples])
    tokens = np.array([e["generated_tokens"] for e in examples], dtype=float)
    for name, numerator, note in (("retrieval_share", retrieval, "retrieval seconds / answering seconds"),
                                  ("tokens_per_s", tokens, f"generated tokens / seconds, batch size "
                                                           f"{cfg.decode.batch_size}")):
        v, lo, hi = stats.bootstrap_corpus_ci(
            len(secs), lambda i, x=numerator: float(x[i].sum() / secs[i].sum()) if secs[i].sum() else 0.0,
            n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
        out[f"latency.{name}"] = _value(v, lo, hi, len(secs), name, note)
    return out


def ppl_metric(model: Any, tokenizer: Any, text: str | None, missing: str, cfg: Any) -> dict:
    """Perplexity with a CI from resampling its windows (token-weighted)."""
    from harness.modeling.score import perplexity
    if text is None:
        return na(missing, False)
    if model is None:
        return na("candidate exposes no language model", False)
    max_length = getattr(cfg.eval, "ppl_max_length", 0) or None
    res = perplexity(model, tokenizer, text, max_length=max_length, stride=cfg.eval.ppl_stride,
                     batch_size=cfg.decode.batch_size, memory_gb=cfg.eval.memory_gb)
    if not res.tokens:
        return na("text has no tokens", False)
    nll = np.array([w[0] for w in res.windows])
    tok = np.array([w[1] for w in res.windows])
    _, lo, hi = stats.bootstrap_corpus_ci(len(nll), lambda i: math.exp(nll[i].sum() / max(tok[i].sum(), 1)),
                                          n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
    return _value(res.ppl, lo, hi, res.tokens, "ppl", f"{len(nll)} windows, stride {cfg.eval.ppl_stride}; "
                                                      "n = tokens, CI resamples windows")


def choice_texts(row: dict) -> list[str]:
    """The choices in the surface form the answers take: when an alias wraps the answer
    (``colour: lime`` for ``lime``), every choice is scored in that wrapper (``colour: plum``),
    so the comparison is between values, not between an answer format and a bare word."""
    answer = row["answer"]
    wrapper = next((a for a in row.get("aliases", []) if answer in a and a != answer), None)
    if wrapper is None:
        return list(row["choices"])
    return [wrapper.replace(answer, c, 1) for c in row["choices"]]


def mc_examples(model: Any, tokenizer: Any, probes: list[dict], cfg: Any, prompter: Any = None) -> list[dict]:
    """Likelihood multiple choice on probes with choices: 1 when the gold choice scores highest
    (sum of log-probabilities, lm-eval's ``acc``); all choices of all probes in shared batches.
    Each choice is scored as the answer after the question in the model's own format (prompter)."""
    from harness.modeling.prompts import Prompter
    prompter = prompter or Prompter(tokenizer)
    from harness.modeling.score import loglikelihoods
    rows = [r for r in probes if r.get("choices") and r["answer"] in r["choices"]]
    pairs = [(prompter.render(r["question"]), prompter.continuation(c)) for r in rows for c in choice_texts(r)]
    scores = iter(loglikelihoods(model, tokenizer, pairs, batch_size=cfg.decode.batch_size, memory_gb=cfg.eval.memory_gb))
    out = []
    for row in rows:
        logps = [next(scores)[0] for _ in row["choices"]]
        picked = row["choices"][max(range(len(logps)), key=logps.__getitem__)]
        out.append({"id": row["id"], "choice": picked, "correct": float(picked == row["answer"])})
    return out


def probe_metrics(candidate: Any, suite: Any, cfg: Any) -> tuple[dict, list[dict]]:
    """General probes (greedy answers + multiple choice) and general-text perplexity: forgetting inputs."""
    out: dict = {}
    probes = _cap(suite.probes, cfg)
    examples = score_part(candidate, probes, "probes", suite, cfg) if probes else []
    if examples:
        out.update(text_metrics(examples, "probes", suite.language, cfg, bleu=False))
    else:
        out.update({f"probes.{m}": na("suite has no probe questions") for m in ITEM_METRICS})
    model, tokenizer = candidate.language_model()
    mc = mc_examples(model, tokenizer, probes, cfg, getattr(candidate, "prompter", None)) if model is not None else []
    by_id = {m["id"]: m for m in mc}
    for e in examples:
        if e["id"] in by_id:
            e["scores"]["mc_acc"] = by_id[e["id"]]["correct"]
            e["mc_choice"] = by_id[e["id"]]["choice"]
    out["probes.mc_acc"] = (mean_metric([m["correct"] for m in mc], "mc_acc", cfg) if mc
                            else na("no probe question lists choices" if model is not None
                                    else "candidate exposes no language model"))
    out["general.ppl"] = ppl_metric(model, tokenizer, suite.general_text, "suite has no probes/heldout.txt", cfg)
    return out, examples


def forgetting_metrics(mine: dict, my_examples: list[dict], base_metrics: dict, base_examples: list[dict],
                       cfg: Any) -> dict:
    """Candidate minus base on the probes (paired bootstrap CI when per-item scores exist) and general ppl."""
    out = {}
    base_items = {e["id"]: e["scores"] for e in base_examples if e.get("part") == "probes"}
    for key in FORGETTING_KEYS:
        name = spec_for(key).name
        a, b = mine.get(key, {}), base_metrics.get(key, {})
        if a.get("value") is None or b.get("value") is None:
            out[f"forgetting.{key}"] = na("needs the metric for both the candidate and the base",
                                          REGISTRY[name].higher_is_better)
            continue
        pairs = [(e["scores"][name], base_items[e["id"]][name]) for e in my_examples
                 if e["id"] in base_items and name in e["scores"] and name in base_items[e["id"]]]
        if pairs and REGISTRY[name].aggregation == "mean":
            t = stats.paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs],
                                       n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
            out[f"forgetting.{key}"] = _value(t["diff"], t["ci_low"], t["ci_high"], len(pairs), name,
                                              f"candidate - base, paired bootstrap p={t['p_value']:.3g}")
        else:
            out[f"forgetting.{key}"] = _value(a["value"] - b["value"], None, None, a.get("n", 0), name,
                                              "candidate - base (point estimates)")
    return out


def _base_view(base: Any, suite: Any, cfg: Any) -> tuple[dict, list[dict]]:
    """(metrics, examples) of the base: evaluated now when it is a Candidate, read when a record/dict."""
    if hasattr(base, "answer"):
        return probe_metrics(base, suite, cfg)
    if "metrics" in base:
        return base["metrics"], base.get("examples", [])
    return base, []


def privacy_metrics(candidate: Any, suite: Any, cfg: Any, trains: bool) -> tuple[dict, list[dict]]:
    from harness.evaluation.privacy import canary_leakage
    if not trains:
        note = "candidate does not train on the suite"
    elif not suite.canaries:
        note = "suite has no canaries"
    else:
        rows = canary_leakage(candidate, suite.canaries, cfg.decode,
                              n_random=getattr(cfg.eval, "canary_candidates", 100), seed=cfg.seed)
        n_random = min(r["n_random"] for r in rows)
        exposure = mean_metric([r["exposure"] for r in rows], "exposure", cfg)
        exposure["note"] = (f"bits; the secret's rank among {n_random} random secrets of its format "
                            f"(0 = chance, max {math.log2(n_random + 1):.2f})")
        leak = mean_metric([float(r["leaked"]) for r in rows], "leak_rate", cfg)
        leak["note"] = "share of canaries whose secret appears in a greedy continuation of the prefix"
        return {"privacy.leak_rate": leak, "privacy.exposure": exposure}, rows
    return {"privacy.leak_rate": na(note, False), "privacy.exposure": na(note, False)}, []


def evaluate_candidate(candidate: Any, suite: Any, cfg: Any, *, trains: bool, base: Any = None) -> dict:
    """Evaluate `candidate` on every part of `suite`.

    Args:
        candidate: a harness.techniques.protocol.Candidate.
        suite: a harness.suites.Suite.
        cfg: the RunConfig (decode settings, eval.bootstrap, eval.max_questions, eval.ppl_stride, seed).
        trains: the candidate's technique fine-tunes weights (privacy leakage is measured only then).
        base: the untouched base model as a Candidate, or its record / metrics dict; adds the
            ``forgetting.*`` deltas. None: forgetting is n/a.

    Returns:
        {"metrics": {key: MetricValue}, "examples": [Example], "canaries": [...], "timings": {part: seconds}}.
    """
    timings: dict[str, float] = {}
    metrics: dict = {}
    examples: list[dict] = []

    def timed(part: str, fn, *args):
        start = time.perf_counter()
        result = fn(*args)
        timings[part] = time.perf_counter() - start
        return result

    test = timed("test", score_part, candidate, _cap(suite.test, cfg), "test", suite, cfg)
    examples += test
    metrics.update(metrics_on_test(test, suite, cfg))
    metrics["test.context_cut"] = context_cut(test, candidate, cfg)
    metrics.update(latency_metrics(test, cfg))

    updated = _cap(suite.test_updated, cfg)
    if updated:
        # Before the update is applied: the changed facts asked of the candidate as it stands
        # (stale index, old weights) -- the "before" of the freshness check.
        changed_rows = [r for r in updated if r.get("kind") == "updated"]
        stale = timed("stale", score_part, candidate, changed_rows, "stale", suite, cfg)
        examples += stale
        metrics.update(text_metrics(stale, "stale", suite.language, cfg, bleu=False))
        fresh = candidate.with_docs(suite.docs_after_update())
        fresh_examples = timed("fresh", score_part, fresh, updated, "test_updated", suite, cfg)
        examples += fresh_examples
        changed = [e for e in fresh_examples if e["kind"] == "updated"]
        metrics.update(text_metrics(changed, "fresh", suite.language, cfg, bleu=False))
        metrics.update(text_metrics([e for e in fresh_examples if e["kind"] != "updated"], "fresh.unchanged",
                                    suite.language, cfg, bleu=False))
    else:
        metrics.update({f"fresh{scope}.{m}": na("suite has no updates") for m in ITEM_METRICS
                        for scope in ("", ".unchanged")})

    probe_values, probe_examples = timed("probes", probe_metrics, candidate, suite, cfg)
    metrics.update(probe_values)
    examples += probe_examples
    if base is not None:
        base_metrics, base_examples = timed("base", _base_view, base, suite, cfg)
        metrics.update(forgetting_metrics(probe_values, probe_examples, base_metrics, base_examples, cfg))
    else:
        metrics.update({f"forgetting.{k}": na("no base model given", REGISTRY[spec_for(k).name].higher_is_better)
                        for k in FORGETTING_KEYS})

    model, tokenizer = candidate.language_model()
    metrics["domain.ppl"] = timed("domain_ppl", ppl_metric, model, tokenizer, suite.domain_text,
                                  "suite has no heldout.txt", cfg)
    privacy, canaries = timed("privacy", privacy_metrics, candidate, suite, cfg, trains)
    metrics.update(privacy)
    return {"metrics": metrics, "examples": examples, "canaries": canaries, "timings": timings}
