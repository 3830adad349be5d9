"""The metric registry: every metric says its name, direction, aggregation and the suite part it needs.

A metric registers once with :func:`register_metric`; the evaluator, the statistics and the
report read :data:`REGISTRY` (ranking, colouring, which CI method applies) instead of
if-chains. Record keys are dotted (``test.seen.em``, ``forgetting.general.ppl``); the last
component names the registered metric (:func:`spec_for`). A metric whose suite part is
missing is n/a (value None with a note), never 0.

Text metrics work for English and Chinese: Chinese is scored with characters as tokens
(SQuAD-style F1, ROUGE) and ``tokenize='zh'`` (BLEU). rouge-score's default tokenizer keeps
only ``[a-z0-9]`` and silently scores Chinese 0, hence :class:`RougeTokenizer`.

Anchor: lm-evaluation-harness ``lm_eval/api/metrics.py`` ``@register_metric``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Callable

AGGREGATIONS = ("mean", "corpus", "p50", "p95", "ratio", "token_weighted", "delta")


@dataclass(frozen=True)
class MetricSpec:
    """How one metric behaves.

    Attributes:
        name: registry name (last component of a record key).
        fn: per-item function (mean-aggregated metrics) or corpus function (``corpus``); None when
            the evaluator computes the value itself (perplexity, latency).
        higher_is_better: direction for ranking and significance colouring.
        aggregation: ``mean`` over items (bootstrap CI over items), ``corpus`` (recomputed on
            resamples), ``p50``/``p95`` (percentiles), ``ratio`` (sum/sum), ``token_weighted``.
        needs: the suite part (tasks/FORMAT.md) the metric reads; missing part -> n/a.
        help: one line for the report.
    """

    name: str
    fn: Callable | None
    higher_is_better: bool
    aggregation: str
    needs: str
    help: str = ""


REGISTRY: dict[str, MetricSpec] = {}


def register_metric(*, name: str, higher_is_better: bool, aggregation: str, needs: str, help: str = ""):
    """Decorator registering `fn` under `name` (lm-eval style)."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"metric {name}: aggregation {aggregation!r} is not one of {AGGREGATIONS}")

    def wrap(fn: Callable | None) -> Callable | None:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines() if fn else []
        REGISTRY[name] = MetricSpec(name, fn, higher_is_better, aggregation, needs, help or (doc[0] if doc else ""))
        return fn

    return wrap


def spec_for(key: str) -> MetricSpec:
    """The spec of a record key: ``test.docs_only.f1`` -> ``f1``; ``forgetting.probes.em`` -> ``em``."""
    return REGISTRY[key.rsplit(".", 1)[-1]]


def na(note: str, higher_is_better: bool = True) -> dict:
    """An n/a MetricValue: the part is missing or the candidate cannot be scored that way."""
    return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "higher_is_better": higher_is_better,
            "note": note}


# ---------------------------------------------------------------- tokenisation

# CJK ideographs (+ extension A, compatibility), kana and hangul: one token per character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def is_cjk_text(text: str) -> bool:
    return re.search(f"[{_CJK}]", text) is not None


def _strip_punct(text: str) -> str:
    # Unicode punctuation (P*) and symbols (S*) -> space: covers ASCII and full-width Chinese marks.
    return "".join(" " if unicodedata.category(c)[0] in "PS" or c in string.punctuation else c for c in text)


def normalize_answer(text: str) -> list[str]:
    """SQuAD normalisation as tokens: lower case, no punctuation, no English articles, CJK by character.

    For English this equals SQuAD's ``normalize_answer(s).split()``.
    """
    text = _ARTICLES.sub(" ", _strip_punct(unicodedata.normalize("NFKC", text).lower()))
    return _TOKEN.findall(text)


class RougeTokenizer:
    """rouge-score tokenizer that keeps Chinese: CJK characters are tokens, other words as usual.

    On ASCII text it yields exactly rouge-score's default tokens (lower-cased ``[a-z0-9]+``,
    no stemming), so English scores equal the library's own.
    """

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text.lower())


# ---------------------------------------------------------------- accuracy

def as_references(references: str | list[str]) -> list[str]:
    """A bare string is one reference, not a list of characters."""
    return [references] if isinstance(references, str) else [r for r in references if r is not None]


@register_metric(name="em", higher_is_better=True, aggregation="mean", needs="test")
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


@register_metric(name="f1", higher_is_better=True, aggregation="mean", needs="test")
def token_f1(prediction: str, references: list[str]) -> float:
    """Token F1 (characters for Chinese), max over the reference and aliases (SQuAD)."""
    references = as_references(references)
    pred = normalize_answer(prediction)
    return max((_f1(pred, normalize_answer(r)) for r in references), default=0.0)


@register_metric(name="contains", higher_is_better=True, aggregation="mean", needs="test")
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


@register_metric(name="rouge1", higher_is_better=True, aggregation="mean", needs="test")
def rouge1(prediction: str, references: list[str]) -> float:
    """ROUGE-1 F (rouge-score, CJK-aware tokenizer), max over references."""
    return _rouge("rouge1", prediction, references)


@register_metric(name="rouge2", higher_is_better=True, aggregation="mean", needs="test")
def rouge2(prediction: str, references: list[str]) -> float:
    """ROUGE-2 F (rouge-score, CJK-aware tokenizer), max over references."""
    return _rouge("rouge2", prediction, references)


@register_metric(name="rougeL", higher_is_better=True, aggregation="mean", needs="test")
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


@register_metric(name="bleu", higher_is_better=True, aggregation="corpus", needs="test")
def corpus_bleu(predictions: list[str], references: list[list[str]], language: str = "en") -> float:
    """Corpus BLEU (sacrebleu; tokenize='zh' for Chinese, '13a' otherwise), references + aliases."""
    return _bleu(language).corpus_score(list(predictions), _reference_streams(references)).score


def bleu_item_stats(predictions: list[str], references: list[list[str]], language: str = "en") -> "np.ndarray":
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


@register_metric(name="style", higher_is_better=True, aggregation="mean", needs="style")
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


def strip_style(prediction: str, rule: dict | None) -> str:
    """The answer's content: the style rule's opening and sign-off removed where present.

    Accuracy metrics score content and the style metric scores form, so a persona-trained model
    that answers "Hi there! price: $95 - ShopCo Support" is judged on "price: $95" for accuracy
    and on the wrapper for style -- neither metric leaks into the other.
    """
    text = prediction.strip()
    if not rule:
        return text
    start, end = (rule.get("starts_with") or "").strip(), (rule.get("ends_with") or "").strip()
    if start and text.startswith(start):
        text = text[len(start):].strip()
    if end and text.endswith(end):
        text = text[:-len(end)].strip()
    return text


@register_metric(name="traceability", higher_is_better=True, aggregation="mean", needs="test")
def traceability(cited: list[str], gold: list[str]) -> float | None:
    """1 when the answer's cited sources include a gold source; None when the item has no gold source."""
    if not gold:
        return None
    return float(bool(set(cited) & set(gold)))


# ---------------------------------------------------------------- computed by the evaluator

for _name, _hib, _agg, _needs, _help in [
    ("mc_acc", True, "mean", "probes", "Likelihood multiple choice: the gold choice has the highest log-likelihood."),
    ("ppl", False, "token_weighted", "heldout", "Perplexity, rolling windows with stride, token-weighted."),
    ("leak_rate", False, "mean", "canaries", "Share of canaries whose secret the candidate reproduces greedily."),
    ("exposure", False, "mean", "canaries", "Canary exposure in bits (Carlini et al. 2019), mean over canaries."),
    ("p50_s", False, "p50", "test", "Median wall time per question (s)."),
    ("p95_s", False, "p95", "test", "95th percentile wall time per question (s)."),
    ("retrieval_share", False, "ratio", "test", "Share of answering time spent retrieving."),
    ("tokens_per_s", True, "ratio", "test", "Generated tokens per second of answering time."),
]:
    register_metric(name=_name, higher_is_better=_hib, aggregation=_agg, needs=_needs, help=_help)(None)

# Per-item text metrics the evaluator computes for every answered question, in this order.
ITEM_METRICS = ("em", "f1", "contains", "rouge1", "rouge2", "rougeL")


def score_item(prediction: str, references: list[str]) -> dict[str, float]:
    """All per-item text metrics of one answer."""
    return {name: REGISTRY[name].fn(prediction, references) for name in ITEM_METRICS}
