"""Risks (the advisor's caveats checked against the measurements) and literature findings.

A risk is *confirmed* when a measurement shows it happened in this run, *not confirmed* when the
measurement exists and shows it did not, and *not measured* when the run has no data for it.
Thresholds are stated here, in one place, and shown in the evidence sentences.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.evaluation.metrics import format_value as fmt
from harness.evaluation.metrics import metric_label
from reports.i18n import strings
from reports.scoring import higher_is_better, p_value, value

FORGETTING_DROP = 0.02     # probe-accuracy drop (absolute) that counts as forgetting
STALENESS_DROP = 0.10      # accuracy drop from before to after the update that counts as stale
OVERFIT_RISE = 0.05        # held-out loss rise above its minimum (relative) that counts as over-fitting
# Accuracy before the update, first one present: the same questions scored before the docs changed
# if the run recorded it, else accuracy on the original test set.
BEFORE_UPDATE = ("stale.{acc}", "test.{acc}", "test.docs_only.{acc}")
# The first measured is checked: the knowledge (likelihood multiple choice on the general probes, as
# Biderman et al. measure forgetting), else greedy answers to them, which also fall when only the
# answer format changed (FORMAT, reported beside the knowledge).
FORGETTING = ("forgetting.probes.mc_acc", "forgetting.probes.em")
FORMAT = "forgetting.probes.em"

# risk id -> the check (rightfit.vocabulary.CHECKS) whose caveats raise it
RISK_CHECK = {"forgetting": "forgetting", "leakage": "privacy", "staleness": "freshness", "overfitting": "overfitting"}


def _measured(records: list[dict], metric: str) -> list[tuple[float, dict]]:
    """(value, record) for the candidates where `metric` was measured."""
    return [(v, r) for v, r in ((value(r, metric), r) for r in records) if v is not None]


def _forgetting(records: list[dict], s: dict, accuracy: str) -> tuple[str, str]:
    key = next((k for k in FORGETTING if _measured(records, k)), None)
    if key is None:
        return "not_measured", s["ev_missing"].format(what=FORGETTING[0])
    v, r = min(_measured(records, key), key=lambda t: t[0])
    m = r["metrics"][key]
    kind = "" if key != FORMAT else "_greedy"  # the knowledge, or only greedy answers when no likelihood probes
    greedy = value(r, FORMAT) if key != FORMAT else None
    aside = "" if greedy is None else s["sentence_sep"] + s["ev_forgetting_format"].format(
        cand=r["candidate"], delta=fmt(FORMAT, greedy))
    if v <= -FORGETTING_DROP:
        return "confirmed", s[f"ev_forgetting{kind}"].format(
            cand=r["candidate"], delta=fmt(key, v), lo=fmt(key, m.get("ci_low")), hi=fmt(key, m.get("ci_high"))) + aside
    return "not_confirmed", s[f"ev_forgetting_none{kind}"].format(thr=FORGETTING_DROP, cand=r["candidate"],
                                                                  delta=fmt(key, v)) + aside


def _leakage(records: list[dict], s: dict, accuracy: str) -> tuple[str, str]:
    rows = _measured(records, "privacy.leak_rate")
    if not rows:
        return "not_measured", s["ev_missing"].format(what="privacy.leak_rate")
    v, r = max(rows, key=lambda t: t[0])
    if v > 0:
        return "confirmed", s["ev_leakage"].format(cand=r["candidate"], rate=f"{v:.0%}")
    return "not_confirmed", s["ev_leakage_none"]


def _staleness(records: list[dict], s: dict, accuracy: str) -> tuple[str, str]:
    worst = None
    for r in records:
        after = value(r, f"fresh.{accuracy}")
        metric = next((m.format(acc=accuracy) for m in BEFORE_UPDATE if value(r, m.format(acc=accuracy)) is not None),
                      None)
        if after is None or metric is None:
            continue
        before = value(r, metric)
        if worst is None or before - after > worst[0]:
            worst = (before - after, r, before, after, metric)
    if worst is None:
        return "not_measured", s["ev_missing"].format(what=f"fresh.{accuracy}")
    drop, r, before, after, metric = worst
    if drop >= STALENESS_DROP:
        return "confirmed", s["ev_staleness"].format(cand=r["candidate"], before=f"{before:.2f}", metric=metric,
                                                      after_metric=f"fresh.{accuracy}",
                                                      after=f"{after:.2f}")
    return "not_confirmed", s["ev_staleness_none"]


def overfit_point(train: dict) -> dict | None:
    """Where held-out loss rose more than OVERFIT_RISE above its minimum, or None."""
    held = train.get("eval_loss") or []
    if len(held) < 3:
        return None
    low_i = min(range(len(held)), key=lambda i: held[i][1])
    low, last = held[low_i], held[-1]
    if low_i == len(held) - 1 or last[1] <= low[1] * (1 + OVERFIT_RISE):
        return None
    train_loss = train.get("train_loss") or [[last[0], float("nan")]]
    return {"low": low[1], "low_step": low[0], "last": last[1], "last_step": last[0], "train": train_loss[-1][1]}


def _overfitting(records: list[dict], s: dict, accuracy: str) -> tuple[str, str]:
    logged = [r for r in records if len((r.get("train") or {}).get("eval_loss") or []) >= 3]
    if not logged:
        return "not_measured", s["ev_missing"].format(what="held-out loss")
    hits = [(overfit_point(r["train"]), r) for r in logged]
    hits = [(h, r) for h, r in hits if h]
    if not hits:
        return "not_confirmed", s["ev_overfitting_none"]
    h, r = max(hits, key=lambda t: t[0]["last"] / t[0]["low"])
    return "confirmed", s["ev_overfitting"].format(
        cand=r["candidate"], low=f"{h['low']:.2f}", low_step=h["low_step"], last=f"{h['last']:.2f}",
        last_step=h["last_step"], train=f"{h['train']:.2f}")


def _truncation(records: list[dict], s: dict, accuracy: str) -> tuple[str, str]:
    """Whether any candidate's prompts lost retrieved chunks to the context window: per candidate
    how many, with what to change (the evaluator's note on test.context_cut)."""
    rows = _measured(records, "test.context_cut")
    if not rows:
        return "not_measured", s["ev_missing"].format(what="test.context_cut")
    cut = [(v, r) for v, r in rows if v > 0]
    if not cut:
        return "not_confirmed", s["ev_truncation_none"]
    return "confirmed", " ".join(s["ev_truncation"].format(cand=r["candidate"], share=f"{v:.0%}",
                                                           note=r["metrics"]["test.context_cut"].get("note", ""))
                                 for v, r in sorted(cut, key=lambda t: -t[0]))


RISK_CHECKS = {"forgetting": _forgetting, "leakage": _leakage, "staleness": _staleness,
               "overfitting": _overfitting, "truncation": _truncation}


def risks(records: list[dict], plan: dict | None, lang: str, accuracy: str = "em") -> tuple[list[dict], list[dict]]:
    """(rows for the risks, the advisor's caveats that belong to none of them).

    A caveat raises a risk when its checks include the risk's check (the rule that wrote the
    caveat asked for that measurement).
    """
    s = strings(lang)
    caveats = [c for c in ((plan or {}).get("caveats") or []) if isinstance(c, dict)]

    def text(c: dict) -> str:
        texts = c.get("text") if isinstance(c.get("text"), dict) else {}
        return str(texts.get(lang) or texts.get("en") or c.get("id"))

    matched: set[int] = set()
    rows = []
    for risk, check in RISK_CHECKS.items():
        raised = []
        for i, c in enumerate(caveats):
            if RISK_CHECK.get(risk) in (c.get("checks") or []):
                raised.append(text(c))
                matched.add(i)
        status, evidence = check(records, s, accuracy)
        rows.append({"id": risk, "label": s[f"risk_{risk}"], "raised": raised, "status": status,
                     "status_label": s[f"status_{status}"], "evidence": evidence})
    others = [{"id": c.get("id"), "text": text(c)} for i, c in enumerate(caveats) if i not in matched]
    return rows, others


def load_literature() -> list[dict]:
    return yaml.safe_load((Path(__file__).with_name("literature.yaml")).read_text(encoding="utf-8"))


def _applies(record: dict, when: dict) -> bool:
    """Whether a record was built with the settings a finding is about: `when` maps a dotted
    technique-config field (distill.mode) to the values it covers; a record whose technique
    has no such section is not restricted."""
    for field, allowed in when.items():
        section, name = field.split(".", 1)
        got = (record.get("technique_config") or {}).get(section, {}).get(name)
        if got is not None and got not in allowed:
            return False
    return True


def _best(records: list[dict], techniques: list[str], metric: str, when: dict | None = None) -> tuple[dict, float] | None:
    hib = higher_is_better(metric) is not False
    rows = [(r, value(r, metric)) for r in records if r.get("technique") in techniques and _applies(r, when or {})]
    rows = [(r, v) for r, v in rows if v is not None]
    if not rows:
        return None
    return max(rows, key=lambda t: t[1] if hib else -t[1])


def literature(records: list[dict], lang: str, accuracy: str = "em") -> list[dict]:
    """Each literature finding with what this run measured and whether it agrees ("{acc}" in a
    finding's metrics is the run's accuracy metric)."""
    s = strings(lang)
    out = []
    for entry in load_literature():
        check = entry["check"]
        measured, verdict = "", "unmeasured"
        for metric in (m.format(acc=accuracy) for m in check["metric"]):
            when = check.get("when")
            good, bad = _best(records, check["better"], metric, when), _best(records, check["worse"], metric, when)
            if good is None or bad is None:
                continue
            (rg, vg), (rb, vb) = good, bad
            hib = higher_is_better(metric) is not False
            p = p_value(records, metric, rg["candidate"], rb["candidate"])
            verdict = "consistent" if (vg > vb if hib else vg < vb) else "differs"
            if p is not None and p >= 0.05:
                verdict = "inconclusive"  # a direction the paired test cannot tell from noise
            measured = (f"{metric_label(metric, lang)}: {rg['candidate']} {fmt(metric, vg)} vs "
                        f"{rb['candidate']} {fmt(metric, vb)}" + (f" (p = {p:.2g})" if p is not None else ""))
            break
        out.append({"id": entry["id"], "section": entry["section"], "text": entry.get(lang) or entry["en"],
                    "cite": entry["cite"], "measured": measured, "verdict": verdict,
                    "verdict_label": s[f"verdict_{verdict}"]})
    return out
