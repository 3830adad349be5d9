"""`rightfit run`'s recipe: build every candidate, evaluate it, write the run records.

The order matters: the reference technique (the untouched base model, harness.techniques.reference)
is evaluated first so that every other candidate's forgetting is measured against it on the
same probes. Techniques that do not train are deterministic under greedy decoding, so with
``--seeds N`` they are evaluated once; techniques that train are built and evaluated per seed,
and an aggregated record (mean over seeds, CI over seeds) is written beside the per-seed ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records import CandidateRecord, RunDir, RunRecord
from rightfit import ui
from rightfit.files import check_writable_folder, remove_orphans

LARGE_MODEL = 50e6  # parameters from which a model computes faster on every core than on one


def set_threads(n_params: float = 0) -> int:
    """torch threads for building and evaluating: RIGHTFIT_THREADS when set, else 1 for models
    below LARGE_MODEL parameters and every core above.

    One thread gives the same bytes on any machine (the resume and cache tests compare weights)
    and is the fastest for the self-built models, where two threads fight over two cores for
    little work. A model of a hundred million parameters or more is compute-bound: scoring a
    134M Llama took 144 s on one thread and 77 s on two, with the same numbers.
    """
    import os
    import warnings

    import torch
    import transformers
    n = int(os.environ.get("RIGHTFIT_THREADS") or (os.cpu_count() or 1 if n_params >= LARGE_MODEL else 1))
    torch.set_num_threads(n)
    # rightfit shows its own progress; the libraries' per-load bars and deprecation notes are noise here
    ui.silence_library_noise()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers|peft")
    return n


def ordered(candidates: list[str]) -> list[str]:
    """The reference technique first (every forgetting delta is measured against it), then the
    plan's order, without duplicates."""
    from harness.techniques import reference
    first = reference().name
    return list(dict.fromkeys([first, *candidates]))


def run_record(cfg: Any, suite: Any, plan: Any = None) -> RunRecord:
    """What the run is judged by: the plan's priorities (without a plan, equal weights on what the
    suite can measure: rightfit.vocabulary.default_weights), its advice for the report, and whether
    this suite can measure each check the plan requires."""
    from rightfit.vocabulary import CHECKS, default_weights
    weights = plan.priorities if plan is not None else default_weights(suite.has)
    total = sum(weights.values()) or 1.0
    checks = []
    for name in (plan.checks if plan is not None else []):
        spec = CHECKS.get(name)
        measurable = spec is not None and suite.has(spec.needs)
        checks.append({"name": name, "measurable": measurable,
                       "why": "" if measurable else f"suite '{suite.name}' has no {spec.needs if spec else name} part"})
    return RunRecord(suite={"name": suite.name, "version": suite.version, "language": suite.language,
                            "answers": suite.answers}, accuracy_metric=suite.accuracy_metric,
                     base_model=cfg.base_model, candidates=ordered(cfg.candidates),
                     priorities={k: round(v / total, 4) for k, v in weights.items()},
                     priorities_from="plan" if plan is not None else "default", checks=checks,
                     advice=plan.to_dict() if plan is not None else None)


@dataclass
class Ready:
    """What preflight checked: the loaded suite, the resolved teacher and student bases, and the
    config with every setting that depends on them settled (settle)."""

    suite: Any
    teacher: str
    student: str
    config: Any
    memory: dict = field(default_factory=dict)   # technique -> check_memory's estimates


def settle(cfg: Any, suite: Any) -> Any:
    """The config with the values left to the suite filled in: decode.max_new_tokens 0 -> the
    suite's answer length. The resolved config written with the run shows the settled values."""
    import dataclasses
    if cfg.decode.max_new_tokens == 0:
        cfg = dataclasses.replace(cfg, decode=dataclasses.replace(cfg.decode, max_new_tokens=suite.answer_tokens))
    return cfg


def preflight(cfg: Any, *, build_bases: bool = True) -> Ready:
    """Check everything a run needs before anything is written or built.

    The suite loads; every model a candidate builds on exists and holds readable safetensors;
    every training candidate has its training data and fits max_memory_gb; each technique's own
    check passes; runs_dir and cache_dir are folders this process can write (or make). A mistake
    is a UserError here, before the run directory exists.

    Args:
        build_bases: build the self-made base models if they are not built yet (a dry run
            checks user-given models only).
    """
    from harness import cache
    from harness.basemodels.build import SPECS, models_dir, resolve_base_model
    from harness.modeling.load import resolve_model
    from harness.suites import load_suite
    from harness.techniques import REGISTRY
    from harness.techniques.protocol import BuildContext

    suite = load_suite(cfg.suite)
    cfg = settle(cfg, suite)
    self_built = cfg.base_model.partition("-")[0] in SPECS

    unbuilt: set[str] = set()  # self-built models a dry run does not build
    memory: dict[str, dict] = {}

    def base(name: str, role: str) -> str:
        if build_bases or name.partition("-")[0] not in SPECS:
            return resolve_base_model(name, role)
        folder = str(models_dir(name.partition("-")[0]) / role)
        if not Path(folder).is_dir():
            unbuilt.add(folder)
        return folder

    teacher = base(cfg.base_model, "teacher")
    student = base(cfg.student_model or cfg.base_model, "student") if cfg.student_model or self_built else ""
    for technique in ordered(cfg.candidates):
        tech = REGISTRY[technique]
        ctx = BuildContext(base_model=teacher, student_model=student, suite=suite, config=cfg, seed=cfg.seed,
                           out_dir=Path(cfg.cache_dir))
        for model in (tech.base_of(ctx), *tech.models(ctx).values()):
            if model not in unbuilt:
                resolve_model(model)
        if tech.trains:
            cache.check_train_data(tech, ctx)
        if not unbuilt:  # a dry run without the self-built models cannot read their shapes
            memory[technique] = cache.check_memory(tech, ctx)
        tech.check(ctx)
    for name in ("cache_dir", "runs_dir"):
        check_writable_folder(getattr(cfg, name), f"field '{name}' ('{getattr(cfg, name)}')")
    return Ready(suite, teacher, student, cfg, memory)


def run_plan(cfg: Any, rd: RunDir, *, force: bool = False, plan: Any = None,
             ready: Ready | None = None) -> list[CandidateRecord]:
    """Build and evaluate cfg.candidates on cfg.suite; write the run record and one record per
    candidate (and seed).

    Args:
        plan: the advisor's Plan the run came from (its priorities, advice and checks go into
            run.json), or None.
        ready: what preflight checked (run here when not given).
    """
    from harness import cache
    from harness.evaluation.compare import add_comparisons, aggregate_seeds
    from harness.evaluation.evaluate import evaluate_candidate
    from harness.modeling import distributed
    from harness.modeling.load import params_on_disk
    from harness.modeling.memory import Window
    from harness.techniques import REGISTRY
    from harness.techniques.protocol import BuildContext
    cache.clean_stale_partials(Path(cfg.cache_dir))  # unfinished builds nobody resumed for a week
    remove_orphans(Path(cfg.cache_dir) / "evals")     # temp files of evaluations killed mid-write
    ready = ready or preflight(cfg)
    suite, teacher, student, cfg = ready.suite, ready.teacher, ready.student, ready.config
    set_threads(params_on_disk(teacher))
    record = run_record(cfg, suite, plan)
    for check in record["checks"]:
        if not check["measurable"]:
            ui.info(f"the plan asks for the {check['name']} check, but {check['why']}: it will be n/a")
    if rd is not None:
        rd.write_run(record)
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    records: list[CandidateRecord] = []
    base_view: dict | None = None
    for technique in ordered(cfg.candidates):
        tech = REGISTRY[technique]
        for seed in (seeds if tech.trains else seeds[:1]):
            name = technique if len(seeds) == 1 or not tech.trains else f"{technique}@seed{seed}"
            ui.info(f"[{name}] build")
            ctx = BuildContext(base_model=teacher, student_model=student, suite=suite, config=cfg,
                               seed=seed, out_dir=Path(cfg.cache_dir), force=force)
            t0 = time.perf_counter()
            candidate, fields = cache.build_or_load(technique, ctx)
            t1 = time.perf_counter()
            eval_key = cache.eval_key(fields["artifact"]["key"], suite, cfg, base_view)
            result = None if force else cache.read_eval(cfg, eval_key)
            if not distributed.main_value(result is not None):  # every process of a launch evaluates, or none
                ui.info(f"[{name}] evaluate")
                with Window() as window:
                    result = evaluate_candidate(candidate, suite, cfg, trains=tech.trains, base=base_view)
                result["memory"] = window.result
                if distributed.is_main():
                    cache.write_eval(cfg, eval_key, result)
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
            record["precision"] = precision_of(cfg, tech, ctx)
            estimates = ready.memory.get(technique) or cache.check_memory(tech, ctx)
            record["memory"] = {
                "build": {"estimate": estimates["build"], "measured": fields["artifact"].get("memory")}
                if tech.trains else None,
                "eval": {"estimate": estimates["eval"], "measured": result.get("memory")}}
            if result.get("canaries"):
                record["canaries"] = result["canaries"]
            if tech.reference:
                base_view = {"metrics": result["metrics"], "examples": result["examples"]}
            records.append(record)
            rd.write_record(record, _subdir(name))
            ui.info(f"[{name}] done: build {t1 - t0:.1f}s, eval {t2 - t1:.1f}s")
    add_comparisons(records, cfg)
    for record in records:
        rd.write_record(record, _subdir(record["candidate"]))
    if len(seeds) > 1:
        for agg in aggregate_seeds(records, cfg):
            rd.write_record(agg)
    return records


def _subdir(candidate: str) -> str:
    """Per-seed records live in records/seeds/; records/ holds one record per candidate."""
    return "seeds" if "@seed" in candidate else ""


def precision_of(cfg: Any, tech: Any, ctx: Any) -> dict:
    """What the candidate's numbers were computed in: the weights' dtype at evaluation and, for a
    technique that trains, the training precision."""
    from harness.modeling.load import model_dtype
    from harness.modeling.precision import load_dtype, train_precision
    return {"dtype": load_dtype(cfg.dtype, model_dtype(tech.base_of(ctx))),
            "train": train_precision(cfg.train.precision) if tech.trains else None,
            "gradient_checkpointing": bool(cfg.train.gradient_checkpointing) if tech.trains else None}


def technique_config(technique: str, cfg: Any) -> dict:
    """The config sections a technique reads (its registry entry says which): the record's copy."""
    from harness.config import config_section
    from harness.techniques import REGISTRY
    return {s: config_section(cfg, s) for s in REGISTRY[technique].config_sections}
