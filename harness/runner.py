"""`rightfit run`: build every candidate of a plan, evaluate it, write the run records.

The order matters: the prompt-only candidate (the untouched base model) is evaluated first so
that every other candidate's forgetting is measured against it on the same probes.
Techniques that do not train (prompt, RAG) are deterministic under greedy decoding, so with
``--seeds N`` they are evaluated once; techniques that train are built and evaluated per seed,
and an aggregated record (mean over seeds, CI over seeds) is written beside the per-seed ones.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness import ui
from harness.config import RunConfig
from harness.errors import UserError
from harness.records import CandidateRecord, RunDir

# Per-item metrics that get paired tests between candidates (for the report's significance markers).
COMPARED = ("test.em", "test.f1", "test.seen.em", "test.docs_only.em", "fresh.em", "probes.em", "probes.mc_acc",
            "test.style")


def set_threads() -> int:
    """torch threads for building and evaluating: RIGHTFIT_THREADS, default 1.

    One thread gives the same bytes on any machine (the resume and cache tests compare weights),
    and for models this small it is also faster per process than two threads fighting over two
    cores; raise it for larger models on a quiet machine.
    """
    import os

    import warnings

    import torch
    import transformers
    n = int(os.environ.get("RIGHTFIT_THREADS", "1"))
    torch.set_num_threads(n)
    # rightfit shows its own progress; the libraries' per-load bars and deprecation notes are noise here
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers|peft")
    return n


def plan_to_overrides(plan: dict, source: str) -> dict:
    """The part of a RunConfig that an advisor plan decides: the candidates and the memory budget."""
    if not isinstance(plan, dict) or not isinstance(plan.get("candidates"), list) or not plan["candidates"]:
        raise UserError(f"{source}: field 'candidates' must be a non-empty list of techniques; "
                        f"write the plan with `rightfit advise ANSWERS -o plan.yaml`.")
    data: dict[str, Any] = {"candidates": list(plan["candidates"])}
    budget = (plan.get("budgets") or {}).get("max_memory_gb")
    if isinstance(budget, (int, float)) and budget > 0:
        data["max_memory_gb"] = float(budget)
    return data


def _ordered(candidates: list[str]) -> list[str]:
    """prompt first (the forgetting reference), then the plan's order, without duplicates."""
    out = ["prompt"] + [c for c in candidates if c != "prompt"]
    return list(dict.fromkeys(out))


def run_plan(cfg: RunConfig, rd: RunDir, *, force: bool = False) -> list[CandidateRecord]:
    """Build and evaluate cfg.candidates on cfg.suite; write one record per candidate (and seed)."""
    from harness.artifacts import build_or_load, clean_stale_partials
    from harness.basemodel import resolve_base_model
    from harness.evaluate import compare, evaluate_candidate
    from harness.protocols import BuildContext
    from harness.suites import load_suite
    from harness.techniques import REGISTRY

    clean_stale_partials(Path(cfg.cache_dir))  # unfinished builds nobody resumed for a week
    set_threads()
    suite = load_suite(cfg.suite)
    teacher = resolve_base_model(cfg.base_model, "teacher")
    student = resolve_base_model(cfg.student_model or cfg.base_model, "student") \
        if cfg.student_model or cfg.base_model in ("default", "tiny") else ""
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    order = _ordered(cfg.candidates)  # prompt always runs: it is the forgetting reference
    records: list[CandidateRecord] = []
    base_view: dict | None = None
    for technique in order:
        tech = REGISTRY[technique]
        for seed in (seeds if tech.trains else seeds[:1]):
            name = technique if len(seeds) == 1 or not tech.trains else f"{technique}@seed{seed}"
            ui.info(f"[{name}] build")
            ctx = BuildContext(base_model=teacher, student_model=student, suite=suite, config=cfg,
                               seed=seed, out_dir=Path(cfg.cache_dir), force=force)
            t0 = time.perf_counter()
            candidate, fields = build_or_load(technique, ctx)
            t1 = time.perf_counter()
            eval_key = _eval_key(fields["artifact"]["key"], suite, cfg, base_view)
            result = None if force else _read_eval(cfg, eval_key)
            if result is None:
                ui.info(f"[{name}] evaluate")
                result = evaluate_candidate(candidate, suite, cfg, trains=tech.trains, base=base_view)
                _write_eval(cfg, eval_key, result)
            else:
                ui.info(f"[{name}] evaluation cached ({eval_key})")
            t2 = time.perf_counter()
            record = CandidateRecord(
                candidate=name, technique=technique, seed=seed, base_model=tech.base_of(ctx),
                suite={"name": suite.name, "version": suite.version, "language": suite.language},
                technique_config=technique_config(technique, cfg),
                artifact=fields["artifact"], train=fields["train"], metrics=result["metrics"],
                examples=result["examples"],
                eval_cache={"key": eval_key, "hit": bool(result.get("cache_hit"))},
                timings={"build": round(t1 - t0, 3), "eval": round(t2 - t1, 3), **{
                    f"eval.{k}": round(v, 3) for k, v in result["timings"].items()}})
            if result.get("canaries"):
                record["canaries"] = result["canaries"]  # type: ignore[typeddict-unknown-key]
            if technique == "prompt":
                base_view = {"metrics": result["metrics"], "examples": result["examples"]}
            records.append(record)
            rd.write_record(record, _subdir(name))
            ui.info(f"[{name}] done: build {t1 - t0:.1f}s, eval {t2 - t1:.1f}s")
    _add_comparisons(records, compare, cfg)
    for record in records:
        rd.write_record(record, _subdir(record["candidate"]))
    if len(seeds) > 1:
        for agg in aggregate_seeds(records, cfg):
            rd.write_record(agg)
    return records


def _eval_key(artifact_key: str, suite: Any, cfg: RunConfig, base_view: dict | None) -> str:
    """Evaluation is deterministic given the artifact, the suite, the decoding and eval settings
    and the base it is compared with: the same inputs reuse the stored result."""
    import hashlib
    import json

    from harness.config import to_dict
    full = to_dict(cfg)
    base_sig = None
    if base_view is not None:
        # what the forgetting deltas read from the base; its latency is wall time, never the same twice
        base_sig = {k: v.get("value") for k, v in sorted(base_view["metrics"].items()) if not k.startswith("latency.")}
    blob = json.dumps({"artifact": artifact_key, "suite": [suite.name, suite.version],
                       "decode": full["decode"], "eval": full["eval"], "seed": cfg.seed, "base": base_sig,
                       "evaluator": EVAL_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


EVAL_VERSION = 3  # bump when evaluation code changes what it measures


def _eval_path(cfg: RunConfig, key: str) -> Path:
    return Path(cfg.cache_dir) / "evals" / f"{key}.json"


def _read_eval(cfg: RunConfig, key: str) -> dict | None:
    import json
    path = _eval_path(cfg, key)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    result["cache_hit"] = True
    return result


def _write_eval(cfg: RunConfig, key: str, result: dict) -> None:
    from harness.records import write_json
    write_json(_eval_path(cfg, key), result)


def _subdir(candidate: str) -> str:
    """Per-seed records live in records/seeds/; records/ holds one record per candidate."""
    return "seeds" if "@seed" in candidate else ""


def technique_config(technique: str, cfg: RunConfig) -> dict:
    """The config sections a technique reads (its registry entry says which): the record's copy."""
    from harness.artifacts import config_section
    from harness.techniques import REGISTRY
    return {s: config_section(cfg, s) for s in REGISTRY[technique].config_sections}


def _add_comparisons(records: list[dict], compare, cfg: RunConfig) -> None:
    """Paired tests for every compared metric; each record gets the pairs it is part of."""
    names = {r["technique"] for r in records}
    for metric in COMPARED:
        if not any(r["metrics"].get(metric, {}).get("value") is not None for r in records) or len(names) < 2:
            continue
        result = compare(records, metric, n_resamples=cfg.eval.bootstrap, seed=cfg.seed)
        for r in records:
            mine = {}
            for pair in result["pairs"]:
                if r["technique"] in (pair["a"], pair["b"]):
                    other = pair["b"] if pair["a"] == r["technique"] else pair["a"]
                    sign = 1 if pair["a"] == r["technique"] else -1
                    mine[other] = {"diff": sign * pair["diff"],
                                   "ci_low": sign * (pair["ci_low"] if sign > 0 else pair["ci_high"]),
                                   "ci_high": sign * (pair["ci_high"] if sign > 0 else pair["ci_low"]),
                                   "p_value": max(pair["p_bootstrap"], pair["p_permutation"]),
                                   "better": pair["better"], "n": pair["n"]}
            if mine:
                r.setdefault("comparisons", {})[metric] = mine


def aggregate_seeds(records: list[dict], cfg: RunConfig) -> list[dict]:
    """One record per trained technique over its seeds.

    Per-item metrics get a two-level bootstrap CI (seeds and items resampled,
    :func:`harness.stats.aggregate_seeds`); other metrics (perplexity, BLEU, latency) get the
    mean over seeds with the min-max over seeds as their interval.
    """
    from harness.evaluate import item_scores
    from harness.metrics import spec_for
    from harness.stats import aggregate_seeds as two_level

    by_tech: dict[str, list[dict]] = {}
    for r in records:
        if "@seed" in r["candidate"]:
            by_tech.setdefault(r["technique"], []).append(r)
    out = []
    for technique, group in by_tech.items():
        metrics = {}
        for key, first in group[0]["metrics"].items():
            values = [g["metrics"].get(key, {}).get("value") for g in group]
            if any(v is None for v in values):
                metrics[key] = dict(first)
                continue
            agg = None
            try:
                per_item = [item_scores(g, key) for g in group] if spec_for(key).aggregation == "mean" else []
            except (KeyError, ValueError):
                per_item = []
            ids = sorted(set.intersection(*(set(p) for p in per_item))) if per_item and all(per_item) else []
            if ids:
                agg = two_level([[p[i] for i in ids] for p in per_item], n_resamples=cfg.eval.bootstrap,
                                seed=cfg.seed)
                note = f"mean over {len(group)} seeds; CI bootstraps seeds and items"
            else:
                agg = {"value": sum(values) / len(values), "ci_low": min(values), "ci_high": max(values)}
                note = f"mean over {len(group)} seeds; interval = min-max over seeds"
            metrics[key] = {"value": agg["value"], "ci_low": agg["ci_low"], "ci_high": agg["ci_high"],
                            "n": first.get("n", 0), "higher_is_better": first.get("higher_is_better", True),
                            "note": note}
        merged = dict(group[0])
        merged.update(candidate=technique, seed=-1, metrics=metrics, seeds=[g["seed"] for g in group])
        out.append(merged)
    return out
