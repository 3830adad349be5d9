"""From a loaded run (harness.records.load_run) to everything the report shows.

Pure data in, plain dicts out: the template only lays them out. Charts are built here from the
same numbers as the table, so a chart can never disagree with the table. Metric names, labels,
directions and formats come from the metric registry (harness/evaluation/metrics.py); the
advisor's verdict, priorities and caveats from the run record (run.json).
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.evaluation.metrics import format_value as fmt
from harness.evaluation.metrics import metric_label
from reports import charts, findings, scoring
from reports.i18n import strings
from rightfit.errors import UserError
from rightfit.vocabulary import CHECKS, priority_label

MAX_AB_ROWS = 300          # A/B questions shown; keeps a demo report well under 5 MB
ACCURACY_AXIS = ("test.{acc}", "test.f1", "test.seen.{acc}")
# The metrics table's columns, in this order, when the run measured them ("{acc}": the suite's
# accuracy metric); every other recorded metric is listed below the table.
HEADLINE = ("test.{acc}", "test.f1", "test.semantic", "test.seen.{acc}", "test.docs_only.{acc}", "fresh.{acc}",
            "test.rouge1", "test.rouge2",
            "test.rougeL", "test.bleu", "test.traceability", "test.style", "probes.em", "probes.mc_acc",
            "general.ppl", "domain.ppl", "forgetting.probes.mc_acc", "forgetting.probes.em", "privacy.leak_rate",
            "privacy.exposure", "latency.p50_s", "latency.p95_s", "latency.retrieval_share", "latency.tokens_per_s")
# What the forgetting chart plots: the first measured -- the knowledge (likelihood probes), else the
# greedy answers; beside the knowledge, the greedy answers' change as answer-format retention.
FORGETTING = findings.FORGETTING
FORMAT = findings.FORMAT
RESOURCES = (("params", "artifact.trainable_params"), ("size", "artifact.size_bytes"),
             ("build", "artifact.build_seconds"), ("memory", "artifact.peak_memory_mb"))


def check_records(run: dict) -> list[dict]:
    """The run's candidate records (load_run has checked each file), with their technique filled in.

    Raises:
        UserError: no records.
    """
    records = run["records"]
    if not records:
        raise UserError(f"{run['path']}/records: no candidate records; run `rightfit run` first or pass a "
                        f"finished run directory.")
    for r in records:
        r.setdefault("technique", r["candidate"].split("@")[0])
    return records


def metric_columns(records: list[dict], accuracy: str = "em") -> tuple[list[str], list[str]]:
    """(headline metrics, in HEADLINE order; every other recorded metric, sorted)."""
    names = {m for r in records for m in (r.get("metrics") or {})}
    headline = list(dict.fromkeys(m.format(acc=accuracy) for m in HEADLINE if m.format(acc=accuracy) in names))
    return headline, sorted(names - set(headline))


def _cell_markers(records: list[dict], metric: str) -> dict[str, str]:
    """candidate -> "best" / "best*" / "best**" / "tie" / "" for one column (none for a metric of
    unknown direction)."""
    hib = scoring.higher_is_better(metric)
    if hib is None:
        return {}
    vals = [(r["candidate"], scoring.value(r, metric)) for r in records]
    vals = sorted([(c, v) for c, v in vals if v is not None], key=lambda t: -t[1] if hib else t[1])
    if not vals:
        return {}
    best_v = vals[0][1]
    best = [c for c, v in vals if v == best_v]
    out = {c: "best" for c in best}
    if len(vals) > len(best) and len(best) == 1:
        p = scoring.p_value(records, metric, best[0], vals[len(best)][0])
        if p is not None and p < 0.05:
            out[best[0]] = "best**" if p < 0.01 else "best*"
    for c, _v in vals[len(best):]:
        p = scoring.p_value(records, metric, c, best[0])
        out[c] = "tie" if p is not None and p >= 0.05 else ""
    return out


def _cell(r: dict, m: str, mark: str, na: str) -> dict:
    mv = (r.get("metrics") or {}).get(m) or {}
    v = scoring.value(r, m)
    lo, hi = mv.get("ci_low"), mv.get("ci_high")
    return {"metric": m, "value": v, "ci_low": lo, "ci_high": hi, "text": fmt(m, v, na), "na": v is None,
            "ci": f"{fmt(m, lo)} – {fmt(m, hi)}" if v is not None and lo is not None and hi is not None else "",
            "note": str(mv.get("note") or ""), "best": mark.startswith("best"), "n": mv.get("n"),
            "sig": mark[4:] if mark.startswith("best") else ("≈" if mark == "tie" else "")}


def table(records: list[dict], scores: dict, order: list[str], lang: str, accuracy: str = "em") -> dict:
    """The headline table (candidates x known metrics) and every other metric as rows (metric x candidates)."""
    na = strings(lang)["n_a"]
    cols, extra = metric_columns(records, accuracy)
    markers = {m: _cell_markers(records, m) for m in cols + extra}
    by_name = {r["candidate"]: r for r in records}
    rows = [{"name": c, "technique": by_name[c]["technique"], "score": scores["total"][c],
             "cells": [_cell(by_name[c], m, markers[m].get(c, ""), na) for m in cols],
             "extra_cells": [_cell(by_name[c], m, markers[m].get(c, ""), na) for m in extra]} for c in order]

    def col(m: str) -> dict:
        return {"name": m, "label": metric_label(m, lang), "hib": scoring.higher_is_better(m)}
    return {"cols": [col(m) for m in cols], "rows": rows,
            "extra": [{**col(m), "cells": [row["extra_cells"][j] for row in rows]} for j, m in enumerate(extra)]}


def quality_margin(run: dict) -> float:
    """The plan's quality margin (how far below the best accuracy a candidate may still win), or the default."""
    margin = ((run.get("run") or {}).get("advice") or {}).get("quality_margin")
    ok = isinstance(margin, (int, float)) and not isinstance(margin, bool) and 0 <= margin <= 1
    return float(margin) if ok else scoring.DEFAULT_MARGIN


def floor_sentences(floor: dict, lang: str) -> list[str]:
    """The quality floor in a sentence, and who falls below it with their numbers."""
    s = strings(lang)
    metric = floor["metric"]
    if metric is None:
        return [s["latency_rule_text"]]
    label = metric_label(metric, lang)
    if lang == "en" and not label[1:2].isupper():
        label = label[0].lower() + label[1:]  # "its exact match", but "its EM"
    out = [s["floor_text"].format(metric=label, margin=f"{floor['margin']:.2f}",
                                  best=floor["best_candidate"], best_value=fmt(metric, floor["best"]),
                                  floor=fmt(metric, max(floor["floor"], 0.0))) + s["sentence_sep"]
           + s["latency_rule_text"]]
    if floor["below"]:
        out.append(s["below_floor_text"].format(candidates=s["list_sep"].join(
            f"{c} ({fmt(metric, floor['values'][c], s['n_a'])})" for c in floor["below"])))
    return out


def summary(run: dict, records: list[dict], scores: dict, order: list[str], lang: str,
            floor: dict | None = None) -> dict:
    s = strings(lang)
    info = run.get("run") or {}
    plan = info.get("advice") or {}
    floor = floor or scoring.quality_floor(records, quality_margin(run), accuracy_of(run))
    agree = scoring.agreement(records, plan or None, scores, order, floor["below"])
    total = scores["total"]
    sentences = []

    def sc(c: str) -> str:
        return f"{total[c]:.2f}"

    status, winner = agree["status"], agree["winner"]
    if status == "agree":
        second = agree["runner_up"]
        sentences.append(s["agree_text"].format(pick=winner, score=sc(winner), second=second or "–",
                                                second_score=sc(second) if second else ""))
    elif status == "disagree":
        pick = agree["pick"]
        sentences.append(s["disagree_text"].format(pick=pick, winner=winner, w_score=sc(winner),
                                                   p_score=sc(pick)))
        if agree["pick_below_floor"]:
            m = floor["metric"]
            sentences.append(s["pick_below_floor_text"].format(
                pick=pick, metric=metric_label(m, lang), value=fmt(m, floor["values"][pick], s["n_a"]),
                floor=fmt(m, max(floor["floor"], 0.0))))

        def describe(items):
            return s["list_sep"].join(
                f"{priority_label(p, lang)} ({metric_label(m, lang)} {fmt(m, wv)} vs {fmt(m, pv)})"
                for p, m, wv, pv in items)
        if agree["drivers"]:
            sentences.append(s["driver_text"].format(winner=winner, drivers=describe(agree["drivers"])))
        if agree["counters"]:
            sentences.append(s["counter_text"].format(pick=pick, counters=describe(agree["counters"])))
        if agree["not_significant"]:
            m, p = agree["not_significant"]
            sentences.append(s["not_sig_text"].format(metric=metric_label(m, lang), p=f"{p:.2g}"))
        if agree["gap"] is not None and agree["gap"] < 0.05:
            sentences.append(s["close_text"].format(gap=f"{agree['gap']:.2f}"))
    elif status == "pick_missing":
        sentences.append(s["pick_missing_text"].format(pick=agree["pick_technique"], winner=winner,
                                                       score=sc(winner)))
    else:
        sentences.append(s["no_plan_text"].format(winner=winner, score=sc(winner)))
    sentences += floor_sentences(floor, lang)
    ranking = plan.get("ranking") or []
    top = ranking[0] if ranking else {}
    stated = priorities_of(run)
    priorities = [{"name": p, "label": priority_label(p, lang), "weight": w,
                   "share": w / (sum(stated.values()) or 1.0),
                   "metrics": [metric_label(m, lang) for m in scores["metrics"].get(p, [])],
                   "measured": p in scores["metrics"]}
                  for p, w in stated.items()]
    answers = plan.get("answers") or {}
    return {"status": status, "agree": agree, "sentences": sentences, "winner": winner, "floor": floor,
            "winner_technique": next(r["technique"] for r in records if r["candidate"] == winner),
            "winner_score": total[winner], "pick": top.get("technique"), "pick_score": top.get("score"),
            "pick_reasons": _in_language(top.get("reasons"), lang),
            "pick_rules": [str(x) for x in top.get("rules") or []],
            "advisor_ranking": [{"technique": str(x.get("technique")), "score": x.get("score")}
                                for x in ranking if isinstance(x, dict)],
            "answers": [(str(k).replace("_", " "), _plain(v, s)) for k, v in answers.items()],
            "defaults_used": [str(x) for x in plan.get("defaults_used") or []],
            "priorities": priorities, "order": order}


def _in_language(texts: Any, lang: str) -> list[str]:
    """The plan's sentences in `lang` (the plan carries every language; English if one is missing)."""
    if not isinstance(texts, dict):
        return []
    return [str(x) for x in texts.get(lang) or texts.get("en") or []]


def _plain(v: Any, s: dict | None = None) -> str:
    """An answer or environment value as text (booleans in the report's language)."""
    if isinstance(v, bool):
        return (s or strings("en"))["yes" if v else "no"]
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def accuracy_of(run: dict) -> str:
    """The run's accuracy metric: "em" for short answers, "contains" for free-form ones."""
    return str((run.get("run") or {}).get("accuracy_metric") or "em")


def priorities_of(run: dict) -> dict[str, float]:
    """The weights the run is scored under, as the run recorded them (the plan's or the defaults)."""
    p = (run.get("run") or {}).get("priorities")
    if not isinstance(p, dict):
        return {}
    return {str(k): float(v) for k, v in p.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def checks(run: dict, records: list[dict], lang: str) -> list[dict]:
    """The checks the plan asked for: each with whether the run measured it."""
    rows = []
    for c in (run.get("run") or {}).get("checks") or []:
        spec = CHECKS.get(c.get("name"))
        if spec is None:
            continue
        measured = any(scoring.value(r, m) is not None for r in records for m in spec.metrics) or (
            "train.eval_loss" in spec.metrics and any((r.get("train") or {}).get("eval_loss") for r in records))
        rows.append({"name": spec.name, "label": spec.label[1 if lang == "zh" else 0], "measured": measured,
                     "why": str(c.get("why") or "")})
    return rows


def _ci_point(r: dict, m: str, scale: float = 1.0) -> tuple[float | None, float | None]:
    mv = (r.get("metrics") or {}).get(m) or {}
    lo, hi = mv.get("ci_low"), mv.get("ci_high")
    return (lo * scale if lo is not None else None, hi * scale if hi is not None else None)


def build_charts(records: list[dict], order: list[str], colors: dict[str, str], cols: list[str],
                 lang: str, accuracy: str = "em") -> dict:
    s = strings(lang)
    by_name = {r["candidate"]: r for r in records}
    out = {}
    axis = [m.format(acc=accuracy) for m in ACCURACY_AXIS]
    acc = next((m for m in axis if any(scoring.value(r, m) is not None for r in records)), None)
    points = []
    for c in order:
        r = by_name[c]
        x, y = scoring.value(r, "latency.p50_s"), scoring.value(r, acc) if acc else None
        if x is None or y is None:
            continue
        x_lo, x_hi = _ci_point(r, "latency.p50_s", 1000.0)
        y_lo, y_hi = _ci_point(r, acc)
        points.append({"name": c, "x": x * 1000, "y": y, "x_lo": x_lo, "x_hi": x_hi, "y_lo": y_lo, "y_hi": y_hi,
                       "color": colors[c], "label": f"{fmt(acc, y)}, {fmt('latency.p50_s', x)}"})
    out["pareto"] = charts.pareto(points, s["latency_axis"], s["accuracy_axis"].format(
        metric=metric_label(acc or "test.em", lang)), s["pareto_front"], s["chart_pareto"], no_data=s["no_data"])
    forget = next((m for m in FORGETTING if any(scoring.value(r, m) is not None for r in records)), FORGETTING[0])

    def deltas(chart_id: str, key: str, title: str):
        return charts.bars(chart_id, [{"name": c, "value": scoring.value(by_name[c], key),
                                       "lo": _ci_point(by_name[c], key)[0], "hi": _ci_point(by_name[c], key)[1],
                                       "color": colors[c]} for c in order],
                           metric_label(key, lang), title, lambda v: fmt(key, v), no_data=s["no_data"])
    out["forgetting"] = deltas("forgetting", forget, s["chart_forgetting_knowledge"])
    out["forgetting_metric"] = forget
    out["format"] = deltas("format", FORMAT, s["chart_forgetting_format"]) if forget != FORMAT and any(
        scoring.value(r, FORMAT) is not None for r in records) else None
    before_m = next((m.format(acc=accuracy) for m in findings.BEFORE_UPDATE
                     if any(scoring.value(r, m.format(acc=accuracy)) is not None for r in records)), f"test.{accuracy}")
    after_m = f"fresh.{accuracy}"
    fresh = [{"label": f"{s['before']} ({metric_label(before_m, lang)})", "color": "#a5b4c8",
              "values": {c: scoring.value(by_name[c], before_m) for c in order}},
             {"label": f"{s['after']} ({metric_label(after_m, lang)})", "color": "#166570",
              "values": {c: scoring.value(by_name[c], after_m) for c in order}}]
    if all(v is None for v in fresh[1]["values"].values()):
        fresh = []
    out["freshness"] = charts.grouped_bars("freshness", order, fresh, metric_label(f"test.{accuracy}", lang),
                                           s["chart_freshness"], lambda v: f"{v:.2f}", no_data=s["no_data"])
    over_cols = [m for m in cols if any(scoring.value(r, m) is not None for r in records)]
    over_cols += [m for m in ("artifact.build_seconds", "artifact.peak_memory_mb")
                  if any(scoring.value(r, m) is not None for r in records)]
    cells = {}
    for m in over_cols:
        norm = scoring.normalised(records, m)
        for c in order:
            cells[(c, m)] = (norm[c], fmt(m, scoring.value(by_name[c], m), s["n_a"]))
    out["overview"] = charts.heatmap(order, [(m, metric_label(m, lang)) for m in over_cols], cells,
                                     s["chart_overview"], no_data=s["no_data"])
    series = []
    for c in order:
        train = by_name[c].get("train") or {}
        series.append({"name": c, "color": colors[c], "dash": False, "points": train.get("train_loss") or []})
        series.append({"name": c, "color": colors[c], "dash": True, "points": train.get("eval_loss") or []})
    out["loss"] = charts.lines("loss", series, s["step"], s["loss"], s["chart_loss"], no_data=s["no_data"])
    panels = []
    for pid, key in RESOURCES:
        f = (lambda k: lambda v: fmt(k, v))(key)
        vals = {c: scoring.value(by_name[c], key) for c in order}
        if any(v is not None for v in vals.values()):
            panels.append({"id": pid, "label": s[f"res_{pid}"], "values": vals, "fmt": f, "colors": colors})
    out["resources"] = charts.resource_panels(panels, s["chart_resources"], no_data=s["no_data"])
    return out


def ab_rows(records: list[dict], order: list[str]) -> dict:
    """Questions answered by the candidates, side by side, in the order of the first record."""
    by_name = {r["candidate"]: r for r in records}
    keys: list[tuple[str, str]] = []
    table_: dict[tuple[str, str], dict] = {}
    for c in order:
        for ex in by_name[c].get("examples") or []:
            key = (str(ex.get("part", "")), str(ex.get("id", "")))
            if key not in table_:
                keys.append(key)
                table_[key] = {"id": key[1], "part": key[0], "kind": str(ex.get("kind", "")),
                               "question": str(ex.get("question", "")), "reference": str(ex.get("reference", "")),
                               "gold": [str(g) for g in ex.get("gold_sources") or []], "answers": {}}
            em = (ex.get("scores") or {}).get("em")
            table_[key]["answers"][c] = {"text": str(ex.get("answer", "")),
                                         "sources": [str(x) for x in ex.get("sources") or []],
                                         "correct": None if em is None else em >= 0.5,
                                         "prompt": str(ex.get("prompt") or "")}
    rows = [table_[k] for k in keys[:MAX_AB_ROWS]]
    for row in rows:
        row["n_correct"] = sum(1 for a in row["answers"].values() if a["correct"])
        # the exact prompts the candidates read, each once, with who read it (most read the same one)
        prompts: dict[str, list[str]] = {}
        for c in order:
            text = row["answers"].get(c, {}).get("prompt")
            if text:
                prompts.setdefault(text, []).append(c)
        row["prompts"] = [{"text": t, "candidates": cs} for t, cs in prompts.items()]
    return {"rows": rows, "total": len(keys), "shown": len(rows), "parts": sorted({k[0] for k in keys})}


def appendix(run: dict, records: list[dict]) -> dict:
    env = run.get("env") or {}
    path = run["path"]
    commit = env.get("git_commit")
    plan = f" --plan {path}/plan.yaml" if run.get("plan_file") else ""
    cmds = ([f"git checkout {commit}"] if commit else []) + [
        f"rightfit run {path}/config.resolved.yaml{plan} --run-id {run['run_id']}-repro",
        f"rightfit report {run['config'].get('runs_dir', 'runs')}/{run['run_id']}-repro"]
    seeds = env.get("seeds") or sorted({r.get("seed") for r in records if r.get("seed") is not None})
    return {"config_yaml": yaml.safe_dump(run.get("config") or {}, sort_keys=False, allow_unicode=True),
            "env": [(k, _plain(v)) for k, v in env.items() if k not in ("packages", "seeds")],
            "packages": sorted((k, str(v)) for k, v in (env.get("packages") or {}).items()),
            "seeds": ", ".join(map(str, seeds)) or "–", "reproduce": cmds,
            "records": [{"name": r["candidate"], "technique": r["technique"],
                         "seed": _plain(r["seeds"]) if isinstance(r.get("seeds"), list) else r.get("seed"),
                         "created": r.get("created", ""), "cache_hit": (r.get("artifact") or {}).get("cache_hit"),
                         "key": (r.get("artifact") or {}).get("key", ""), "base_model": r.get("base_model", ""),
                         "suite": (r.get("suite") or {}).get("name", "")} for r in records]}


def memory_rows(records: list[dict], lang: str) -> dict:
    """Estimate vs measured peak memory per candidate and phase (records without it are skipped)."""
    s = strings(lang)
    rows, device = [], "cpu"
    for r in records:
        for phase, both in ((r.get("memory") or {}).items()):
            if not both or not both.get("estimate"):
                continue
            est, got = both["estimate"], both.get("measured") or {}
            device = est.get("device", device)
            est_gb = est["peak_gb"]
            got_gb = got["added_mb"] * 2**20 / 1e9 if "added_mb" in got else None
            batch = est.get("batch")
            rows.append({"candidate": r["candidate"], "phase": s[f"phase_{phase}"],
                         "estimated": f"{est_gb:.2f} GB", "measured": "–" if got_gb is None else f"{got_gb:.2f} GB",
                         "ratio": "–" if not got_gb or not est_gb else f"{got_gb / est_gb:.2f}",
                         "detail": s["memory_batch"].format(**batch, precision=est.get("precision", "")) if batch else ""})
    return {"rows": rows, "note": s["memory_note"].format(what=s["memory_cuda" if device == "cuda" else "memory_rss"])}


def analyse(run: dict, lang: str = "en") -> dict:
    """Everything the template needs, from a run loaded by harness.records.load_run."""
    records = check_records(run)
    plan = (run.get("run") or {}).get("advice") or {}
    scores = scoring.weighted_scores(records, priorities_of(run), accuracy_of(run))
    advisor_order = [str(x.get("technique")) for x in plan.get("ranking") or [] if isinstance(x, dict)]
    floor = scoring.quality_floor(records, quality_margin(run), accuracy_of(run))
    order = scoring.ranking(scores["total"], advisor_order, {r["candidate"]: r["technique"] for r in records},
                            floor["below"])
    colors = charts.colour_map(sorted(r["candidate"] for r in records))
    accuracy = accuracy_of(run)
    tbl = table(records, scores, order, lang, accuracy)
    lit = findings.literature(records, lang, accuracy)
    risk_rows, other_caveats = findings.risks(records, plan, lang, accuracy)
    required = checks(run, records, lang)
    first = records[0]
    return {"lang": lang, "s": strings(lang), "run_id": run["run_id"], "run_path": run["path"],
            "suite": (first.get("suite") or {}).get("name") or run["config"].get("suite", "?"),
            "base_model": first.get("base_model") or run["config"].get("base_model", "?"),
            "created": (run.get("env") or {}).get("created") or first.get("created", ""),
            "colors": colors, "scores": scores, "order": order,
            "techniques": {r["candidate"]: r["technique"] for r in records},
            "summary": summary(run, records, scores, order, lang, floor), "table": tbl,
            "charts": build_charts(records, order, colors, [c["name"] for c in tbl["cols"]], lang, accuracy),
            "literature": lit, "notes": {sec: [x for x in lit if x["section"] == sec]
                                         for sec in {x["section"] for x in lit}},
            "ab": ab_rows(records, order), "risks": risk_rows, "other_caveats": other_caveats, "checks": required,
            "appendix": appendix(run, records), "memory": memory_rows(records, lang)}
