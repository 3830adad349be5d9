"""The metric registry: the one vocabulary of metrics, for the evaluator, the statistics and the report.

A metric registers once with :func:`register_metric`: its name, direction, aggregation, the
suite part it needs, its label (English, Chinese) and how its values read (``kind``). Record
keys are dotted, a scope then the metric (``test.seen.em``, ``forgetting.general.ppl``); the
scope's label template (:data:`SCOPES`) and the metric's label make the key's label, and the
``forgetting.`` scope turns a value into a difference. Nothing else keeps names, directions or
formats of metrics. A metric whose suite part is missing is n/a (value None with a note), never 0.

Text metrics work for English and Chinese: Chinese is scored with characters as tokens
(SQuAD-style F1, ROUGE; harness/evaluation/text.py) and ``tokenize='zh'`` (BLEU).

Anchor: lm-evaluation-harness ``lm_eval/api/metrics.py`` ``@register_metric``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from harness.evaluation.text import RougeTokenizer, normalize_answer

# mean over items (bootstrap CI over items), corpus (recomputed on resamples), percentiles,
# ratio (sum/sum), token-weighted (perplexity), single (one measured figure, no interval)
AGGREGATIONS = ("mean", "corpus", "p50", "p95", "ratio", "token_weighted", "single")
# how a value reads: prop 0..1, delta (a signed difference), seconds (shown in ms), seconds_long,
# ppl, score, count, bytes, mb
KINDS = ("prop", "delta", "seconds", "seconds_long", "ppl", "score", "count", "bytes", "mb")


@dataclass(frozen=True)
class MetricSpec:
    """How one metric behaves.

    Attributes:
        name: registry name (last component of a record key).
        fn: per-item function (mean-aggregated metrics) or corpus function (``corpus``); None when
            the evaluator computes the value itself (perplexity, latency).
        higher_is_better: direction for ranking and significance colouring.
        aggregation: one of AGGREGATIONS (which confidence interval applies).
        needs: the suite part (tasks/FORMAT.md) the metric reads; missing part -> n/a.
        label: (English, Chinese) name a stakeholder reads.
        kind: one of KINDS: how a value is written.
        help: one line for the report.
    """

    name: str
    fn: Callable | None
    higher_is_better: bool
    aggregation: str
    needs: str
    label: tuple[str, str]
    kind: str
    help: str = ""


REGISTRY: dict[str, MetricSpec] = {}


def register_metric(*, name: str, higher_is_better: bool, aggregation: str, needs: str, label: tuple[str, str],
                    kind: str = "prop", help: str = ""):
    """Decorator registering `fn` under `name` (lm-eval style)."""
    if aggregation not in AGGREGATIONS or kind not in KINDS:
        raise ValueError(f"metric {name}: aggregation {aggregation!r} / kind {kind!r} not in {AGGREGATIONS} / {KINDS}")

    def wrap(fn: Callable | None) -> Callable | None:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines() if fn else []
        REGISTRY[name] = MetricSpec(name, fn, higher_is_better, aggregation, needs, tuple(label), kind,
                                    help or (doc[0] if doc else ""))
        return fn

    return wrap


# record-key scope -> (English, Chinese) label template; {m} is the metric's label
SCOPES: dict[str, tuple[str, str]] = {
    "test": ("{m}", "{m}"),
    "test.seen": ("{m}, seen facts", "{m}（见过的事实）"),
    "test.docs_only": ("{m}, docs-only facts", "{m}（仅文档中的事实）"),
    "test.general": ("{m}, general questions", "{m}（通用问题）"),
    "stale": ("{m}, changed facts before the update", "{m}（更新前，已变化的事实）"),
    "fresh": ("{m}, updated facts", "{m}（更新后的事实）"),
    "fresh.unchanged": ("{m}, facts the update kept", "{m}（更新后未变的事实）"),
    "probes": ("{m}, general probes", "{m}（通用探针）"),
    "general": ("{m}, general text", "{m}（通用文本）"),
    "domain": ("{m}, domain text", "{m}（领域文本）"),
    "forgetting.probes": ("Forgetting Δ {m}, general probes", "遗忘：{m}变化（通用探针）"),
    "forgetting.general": ("Forgetting Δ {m}, general text", "遗忘：{m}变化（通用文本）"),
    "latency": ("{m}", "{m}"),
    "privacy": ("{m}", "{m}"),
    "artifact": ("{m}", "{m}"),
}
DIFFERENCE_SCOPE = "forgetting."  # keys under it are candidate - base

# Whole record keys whose scope + metric label would blur what they measure. The general probes are
# asked two ways: likelihood multiple choice (does the model still rank the right answer first: the
# knowledge, as Biderman et al. measure forgetting) and greedy answers scored by exact match, which
# fall as soon as a fine-tuned model answers in its house style (the answer's format).
KEY_LABELS: dict[str, tuple[str, str]] = {
    "forgetting.probes.mc_acc": ("Forgetting Δ knowledge (likelihood MC), general probes",
                                 "遗忘：知识变化（似然选择题，通用探针）"),
    "forgetting.probes.em": ("Answer-format retention Δ (greedy EM), general probes",
                             "答案格式保持变化（贪心精确匹配，通用探针）"),
}


def spec_for(key: str) -> MetricSpec:
    """The spec of a record key: ``test.docs_only.f1`` -> ``f1``; ``forgetting.probes.em`` -> ``em``.

    Raises:
        KeyError: no registered metric ends the key.
    """
    return REGISTRY[key.rsplit(".", 1)[-1]]


def known(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in REGISTRY


def higher_is_better(key: str) -> bool:
    """Direction of a record key (a difference keeps its metric's direction). Raises KeyError."""
    return spec_for(key).higher_is_better


def metric_kind(key: str) -> str:
    """How the key's values read: its metric's kind, "delta" under the forgetting scope. Raises KeyError."""
    return "delta" if key.startswith(DIFFERENCE_SCOPE) else spec_for(key).kind


def metric_label(key: str, lang: str = "en") -> str:
    """The key's label in `lang` ("test.seen.em" -> "Exact match, seen facts"); the key itself when unknown."""
    if key in KEY_LABELS:
        return KEY_LABELS[key][1 if lang == "zh" else 0]
    if not known(key):
        return key
    m = spec_for(key).label[1 if lang == "zh" else 0]
    if "." not in key:
        return m
    scope = key.rsplit(".", 1)[0]
    template = SCOPES.get(scope, (f"{{m}} ({scope})", f"{{m}}（{scope}）"))[1 if lang == "zh" else 0]
    if not template.startswith("{m}") and lang != "zh" and not m[1:2].isupper():
        m = m[0].lower() + m[1:]  # "Forgetting Δ exact match", but "Forgetting Δ EM"
    return template.format(m=m)


def format_value(key: str, value: float | None, na: str = "n/a") -> str:
    """A value as a stakeholder reads it (latency in ms, proportions with 2 decimals)."""
    if value is None:
        return na
    kind = metric_kind(key) if known(key) else "generic"
    if kind == "prop":
        return f"{value:.2f}"
    if kind == "delta":
        return f"{value:+.2f}"
    if kind == "seconds":
        return f"{value * 1000:.0f} ms"
    if kind == "seconds_long":
        return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"
    if kind == "mb":
        return f"{value:.0f} MB" if value < 1024 else f"{value / 1024:.2f} GB"
    if kind == "ppl":
        return f"{value:.2f}"
    if kind == "score":
        return f"{value:.1f}"
    if kind == "count":
        return human_count(value)
    if kind == "bytes":
        return human_bytes(value)
    return f"{value:.3g}"


def human_count(n: float) -> str:
    """18874368 -> '18.9M'."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


def human_bytes(n: float) -> str:
    for div, unit in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "kB")):
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} B"


def na(note: str, higher_is_better: bool = True) -> dict:
    """An n/a MetricValue: the part is missing or the candidate cannot be scored that way."""
    return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "higher_is_better": higher_is_better,
            "note": note}


# ---------------------------------------------------------------- accuracy

def as_references(references: str | list[str]) -> list[str]:
    """A bare string is one reference, not a list of characters."""
    return [references] if isinstance(references, str) else [r for r in references if r is not None]


@register_metric(name="em", higher_is_better=True, aggregation="mean", needs="test", label=("Exact match", "精确匹配"))
def exact_match(prediction: str, references: list[str]) -> float:
    """Normalised exact match against the reference or any alias (SQuAD)."""
    references = as_references(references)
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(r) for r in references))


def _f1(pred: list[str], ref: list[str]) -> float:
    from collections import Counter
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref:
        return float(pred == ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@register_metric(name="f1", higher_is_better=True, aggregation="mean", needs="test", label=("Token F1", "词元 F1"))
def token_f1(prediction: str, references: list[str]) -> float:
    """Token F1 (characters for Chinese), max over the reference and aliases (SQuAD)."""
    references = as_references(references)
    pred = normalize_answer(prediction)
    return max((_f1(pred, normalize_answer(r)) for r in references), default=0.0)


@register_metric(name="contains", higher_is_better=True, aggregation="mean", needs="test", label=("Contains the reference", "包含参考答案"))
def contains_answer(prediction: str, references: list[str]) -> float:
    """The normalised reference or an alias occurs in the normalised answer (verbose answers)."""
    references = as_references(references)
    pred = " " + " ".join(normalize_answer(prediction)) + " "
    return float(any(" " + " ".join(normalize_answer(r)) + " " in pred
                     for r in references if normalize_answer(r)))


# ---------------------------------------------------------------- overlap

_ROUGE_SCORERS: dict[str, object] = {}


def _rouge(kind: str, prediction: str, references: list[str]) -> float:
    from rouge_score import rouge_scorer
    scorer = _ROUGE_SCORERS.get(kind)
    if scorer is None:
        scorer = _ROUGE_SCORERS[kind] = rouge_scorer.RougeScorer([kind], tokenizer=RougeTokenizer())
    refs = [r for r in as_references(references) if r] or [""]
    return scorer.score_multi(refs, prediction)[kind].fmeasure


@register_metric(name="rouge1", higher_is_better=True, aggregation="mean", needs="test", label=("ROUGE-1", "ROUGE-1"))
def rouge1(prediction: str, references: list[str]) -> float:
    """ROUGE-1 F (rouge-score, CJK-aware tokenizer), max over references."""
    return _rouge("rouge1", prediction, references)


@register_metric(name="rouge2", higher_is_better=True, aggregation="mean", needs="test", label=("ROUGE-2", "ROUGE-2"))
def rouge2(prediction: str, references: list[str]) -> float:
    """ROUGE-2 F (rouge-score, CJK-aware tokenizer), max over references."""
    return _rouge("rouge2", prediction, references)


@register_metric(name="rougeL", higher_is_better=True, aggregation="mean", needs="test", label=("ROUGE-L", "ROUGE-L"))
def rouge_l(prediction: str, references: list[str]) -> float:
    """ROUGE-L F (rouge-score, CJK-aware tokenizer), max over references."""
    return _rouge("rougeL", prediction, references)


def _bleu(language: str):
    from sacrebleu.metrics import BLEU
    # effective_order: n-gram orders with no match in the whole corpus are left out, so a corpus
    # of short factoid answers (no 4-grams) is not scored 0 outright.
    return BLEU(tokenize="zh" if language == "zh" else "13a", effective_order=True)


def _reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    # sacrebleu wants one stream per reference slot; None marks "no reference here".
    width = max((len(r) for r in references), default=1)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


@register_metric(name="bleu", higher_is_better=True, aggregation="corpus", needs="test", label=("BLEU", "BLEU"), kind="score")
def corpus_bleu(predictions: list[str], references: list[list[str]], language: str = "en") -> float:
    """Corpus BLEU (sacrebleu; tokenize='zh' for Chinese, '13a' otherwise), references + aliases."""
    return _bleu(language).corpus_score(list(predictions), _reference_streams(references)).score


def bleu_item_stats(predictions: list[str], references: list[list[str]], language: str = "en") -> Any:
    """Per-item BLEU sufficient statistics (n, 2 + 2 * 4): lengths, n-gram matches and totals.

    Summing rows over any multiset of items and :func:`bleu_from_stats` gives that subset's
    corpus BLEU without re-tokenising: how sacrebleu's own paired bootstrap resamples.
    """
    import numpy as np
    return np.array(_bleu(language)._extract_corpus_statistics(list(predictions), _reference_streams(references)))


def bleu_from_stats(summed, language: str = "en") -> float:
    """Corpus BLEU from summed :func:`bleu_item_stats` rows."""
    return _bleu(language)._compute_score_from_stats([int(x) for x in summed]).score


# ---------------------------------------------------------------- style and traceability

def style_rule_is_empty(rule: dict | None) -> bool:
    rule = rule or {}
    return not any(rule.get(k) for k in ("starts_with", "ends_with", "required_terms", "forbidden_terms"))


@register_metric(name="style", higher_is_better=True, aggregation="mean", needs="style", label=("Style adherence", "风格符合度"))
def style_adherence(prediction: str, rule: dict) -> float:
    """1 when the answer follows the suite's style rule (starts/ends with, required/forbidden terms)."""
    text = prediction.strip()
    ok = True
    if rule.get("starts_with"):
        ok &= text.startswith(rule["starts_with"].strip())
    if rule.get("ends_with"):
        ok &= text.endswith(rule["ends_with"].strip())
    ok &= all(term in text for term in rule.get("required_terms") or [])
    ok &= not any(term in text for term in rule.get("forbidden_terms") or [])
    return float(ok)


@register_metric(name="traceability", higher_is_better=True, aggregation="mean", needs="test", label=("Traceability", "可追溯性"))
def traceability(cited: list[str], gold: list[str]) -> float | None:
    """1 when the answer's cited sources include a gold source; None when the item has no gold source."""
    if not gold:
        return None
    return float(bool(set(cited) & set(gold)))


# ---------------------------------------------------------------- computed by the evaluator

for _name, _hib, _agg, _needs, _label, _kind, _help in [
    ("semantic", True, "mean", "test", ("Semantic similarity", "语义相似度"), "prop",
     "Cosine similarity of the answer to its closest reference (all-MiniLM-L6-v2), free-form suites."),
    ("mc_acc", True, "mean", "probes", ("MC accuracy", "选择题准确率"), "prop",
     "Likelihood multiple choice: the gold choice has the highest log-likelihood."),
    ("ppl", False, "token_weighted", "heldout", ("Perplexity", "困惑度"), "ppl",
     "Perplexity, rolling windows with stride, token-weighted."),
    ("leak_rate", False, "mean", "canaries", ("Canary leak rate", "金丝雀泄露率"), "prop",
     "Share of canaries whose secret the candidate reproduces greedily."),
    ("exposure", False, "mean", "canaries", ("Canary exposure", "金丝雀暴露度"), "score",
     "Canary exposure in bits (Carlini et al. 2019), mean over canaries."),
    ("p50_s", False, "p50", "test", ("Latency p50", "延迟 p50"), "seconds", "Median wall time per question (s)."),
    ("p95_s", False, "p95", "test", ("Latency p95", "延迟 p95"), "seconds",
     "95th percentile wall time per question (s)."),
    ("retrieval_share", False, "ratio", "test", ("Retrieval share of time", "检索耗时占比"), "prop",
     "Share of answering time spent retrieving."),
    ("context_cut", False, "mean", "test", ("Context cut", "上下文被截断"), "prop",
     "Share of questions whose prompt lost retrieved chunks (or text) to fit the model's context window."),
    ("tokens_per_s", True, "ratio", "test", ("Tokens / s", "词元/秒"), "score",
     "Generated tokens per second of answering time."),
    # what building the artifact cost (record key artifact.<name>, from the record's artifact)
    ("build_seconds", False, "single", "artifact", ("Build time", "构建时间"), "seconds_long",
     "Wall time to build the artifact (s)."),
    ("peak_memory_mb", False, "single", "artifact", ("Peak memory", "峰值内存"), "mb",
     "Memory the build took at its peak, above what the process held when it began (MB): resident "
     "set on a CPU, CUDA allocations on a GPU."),
    ("trainable_params", False, "single", "artifact", ("Trainable parameters", "可训练参数"), "count",
     "Parameters the technique trains."),
    ("size_bytes", False, "single", "artifact", ("Artifact size", "产物大小"), "bytes", "Size of the artifact on disk."),
]:
    register_metric(name=_name, higher_is_better=_hib, aggregation=_agg, needs=_needs, label=_label, kind=_kind,
                    help=_help)(None)

# Per-item text metrics the evaluator computes for every answered question, in this order.
ITEM_METRICS = ("em", "f1", "contains", "rouge1", "rouge2", "rougeL")


def score_item(prediction: str, references: list[str]) -> dict[str, float]:
    """All per-item text metrics of one answer."""
    return {name: REGISTRY[name].fn(prediction, references) for name in ITEM_METRICS}
