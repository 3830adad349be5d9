"""The words a plan is written in and a run is judged by: priorities and checks.

The advisor's rule table gives each priority a weight and asks for checks (advisor/rules.yaml);
a run records the weights it is scored under and which checks its suite can measure; the report
scores every candidate per priority and shows each check. This is the one place the names live.

Priorities (what the measured winner is chosen by):
Each priority is measured by record metrics (harness/evaluation/metrics.py keys), in groups
tried in order: the first group with any measurement in the run is used (accuracy on trained
facts falls back to overall accuracy when the suite has no trained facts; "{acc}" is the suite's
accuracy metric: exact match for short answers, the reference contained for free ones). ``na`` is the
score a candidate gets where the metric does not apply: 0 for what it cannot do (it cites
nothing), 1 where n/a means no risk (it trains on nothing, so it can neither forget nor leak).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Priority:
    name: str
    label: tuple[str, str]                 # (English, Chinese)
    metrics: tuple[tuple[str, ...], ...]   # groups of record keys, first group with data wins
    na: float
    needs: str = "test"                    # the suite part that makes it measurable (tasks/FORMAT.md)
    default: bool = True                   # weighed in a run without a plan (when its part is there)


PRIORITIES: dict[str, Priority] = {p.name: p for p in (
    Priority("accuracy_fresh", ("accuracy on fresh facts", "新事实准确率"),
             (("fresh.{acc}", "test.docs_only.{acc}"), ("test.f1",)), 0.0),
    Priority("accuracy_seen", ("accuracy on trained facts", "已训练事实准确率"),
             (("test.seen.{acc}",), ("test.{acc}",)), 0.0),
    Priority("style", ("house style", "风格"), (("test.style",),), 0.0, needs="style"),
    # per generated token (tokens/s), so a short answer is not mistaken for a fast model; per
    # question only for records without it
    Priority("latency", ("latency", "延迟"), (("latency.tokens_per_s",), ("latency.p50_s",), ("latency.p95_s",)), 0.0,
             default=False),
    # the knowledge (likelihood probes) first: greedy probe answers fall with a change of answer format
    Priority("forgetting", ("keeping general knowledge", "保留通用知识"),
             (("forgetting.probes.mc_acc",), ("forgetting.probes.em",), ("probes.em",)), 1.0, needs="probes"),
    Priority("privacy", ("privacy", "隐私"), (("privacy.leak_rate", "privacy.exposure"),), 1.0, needs="canaries"),
    Priority("traceability", ("traceability", "可追溯性"), (("test.traceability",),), 0.0, needs="docs"),
    Priority("cost", ("cost", "成本"), (("artifact.build_seconds", "artifact.peak_memory_mb"),), 0.0,
             default=False),
)}

def priority_metrics(name: str, accuracy: str = "em") -> tuple[tuple[str, ...], ...]:
    """The metric groups of a priority, with "{acc}" made the suite's accuracy metric (em for short
    answers, contains for free-form ones)."""
    return tuple(tuple(m.format(acc=accuracy) for m in group) for group in PRIORITIES[name].metrics)


def default_weights(has: Callable[[str], bool]) -> dict[str, float]:
    """The weights of a run without a plan: what the suite can measure, each counting the same.

    A priority counts when the suite has the part that measures it (``has(part)``, e.g.
    harness.suites.Suite.has): a documents-only suite is judged on answer quality, traceability
    and keeping general knowledge (every suite is probed), one with a house style on its style
    too, one with canaries on privacy. Latency and cost depend on the hardware and the budget, not
    on the suite; they count when a plan says they matter.
    """
    return {name: 1.0 for name, p in PRIORITIES.items() if p.default and has(p.needs)}


def priority_label(name: str, lang: str = "en") -> str:
    p = PRIORITIES.get(name)
    return name.replace("_", " ") if p is None else p.label[1 if lang == "zh" else 0]


@dataclass(frozen=True)
class Check:
    name: str
    label: tuple[str, str]                 # (English, Chinese)
    needs: str                             # the suite part that makes it measurable (tasks/FORMAT.md)
    metrics: tuple[str, ...]               # record keys (or the train log's series) that show it


# Checks (measurements a plan requires the run to include), each with what measures it.
CHECKS: dict[str, Check] = {c.name: c for c in (
    Check("privacy", ("privacy leakage", "隐私泄露"), "canaries", ("privacy.leak_rate",)),
    Check("forgetting", ("forgetting", "遗忘"), "probes", ("forgetting.probes.mc_acc", "forgetting.probes.em")),
    Check("freshness", ("freshness after an update", "更新后的时效性"), "updates", ("fresh.em",)),
    Check("citations", ("cited sources", "引用来源"), "test", ("test.traceability",)),
    Check("style", ("house style", "风格"), "style", ("test.style",)),
    Check("latency", ("latency", "延迟"), "test", ("latency.p50_s",)),
    Check("overfitting", ("over-fitting", "过拟合"), "heldout", ("train.eval_loss",)),
)}
