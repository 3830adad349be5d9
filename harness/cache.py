"""The caches: built artifacts (once per technique config, base model, suite version and seed) and
evaluations (once per artifact, suite, decoding and evaluation settings).

    candidate, fields = build_or_load("lora", ctx)
    fields["artifact"]   # ArtifactInfo: path, key, cache_hit, size_bytes, params, build_seconds, peak MB
    fields["train"]      # TrainLog (empty for techniques that do not train)

An artifact is built in ``<cache>/<technique>/<key>.partial/`` (where its training checkpoints
live, so a killed build resumes) and renamed to ``<cache>/<technique>/<key>/`` when complete:
a folder without ``.partial`` is always whole. One process builds a folder at a time (its
``.lock``, rightfit.files.FileLock). A ``.partial`` nobody resumed for a week is removed by
:func:`clean_stale_partials` at the start of a run.

Everything here reads techniques through their Protocol (harness/techniques/protocol.py) and
never by name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from harness.config import config_section
from harness.modeling import distributed
from harness.modeling.load import (
    model_identity,
    params_on_disk,
    read_manifest,
    write_manifest,
)
from harness.records import ArtifactInfo, TrainLog
from harness.techniques.protocol import BuildContext, Candidate
from rightfit import ui
from rightfit.errors import UserError
from rightfit.files import FileLock, publish_dir, write_json

ARTIFACT_FORMAT = 3  # bump when the folder layout or a manifest field's meaning changes: old entries rebuild
EVAL_VERSION = 5  # bump when evaluation code changes what it measures
BUILDING = "is building this artifact"  # what a refused builder is told


def cache_key(technique: Any, ctx: BuildContext) -> str:
    """sha256 of technique name, its config sections, the models it depends on, suite name/version and seed.

    A technique's `config_ignores` ("train.lr") names fields of those sections it never reads, so
    changing the full fine-tuning learning rate does not rebuild the adapters.
    """
    config = {s: config_section(ctx.config, s) for s in technique.config_sections}
    for field in technique.config_ignores:
        section, name = field.split(".", 1)
        config[section].pop(name)
    extra = technique.models(ctx)
    data = {
        "format": ARTIFACT_FORMAT, "technique": technique.name, "config": config,
        "base": model_identity(technique.base_of(ctx)),
        "student": None,  # a role every key carries, so keys of techniques without a student stay stable
        **{role: model_identity(model) for role, model in extra.items()},
        "suite": {"name": ctx.suite.name, "version": ctx.suite.version, "language": ctx.suite.language},
        "seed": ctx.seed if technique.trains else None,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def check_train_data(technique: Any, ctx: BuildContext) -> None:
    """A fine-tuning technique needs train.jsonl (pairs) or docs, as cfg.train.data says."""
    data = ctx.config.train.data
    if data in ("pairs", "both") and not ctx.suite.train:
        raise UserError(f"suite '{ctx.suite.name}' ({ctx.suite.path}) has no train.jsonl, which '{technique.name}' "
                        f"needs with train.data={data}; add train.jsonl or set train.data=docs.")
    if data == "docs" and not ctx.suite.docs:
        raise UserError(f"suite '{ctx.suite.name}' has no documents for train.data=docs; add docs/ or use pairs.")


def check_memory(technique: Any, ctx: BuildContext) -> dict:
    """The estimated peaks of building and evaluating `technique`; refused before anything loads
    when one exceeds cfg.max_memory_gb (> 0), naming the settings that would make it fit.

    Returns:
        {"build": harness.modeling.memory.build_estimate or None, "eval": eval_estimate}
    """
    from harness.modeling.memory import build_estimate, eval_estimate
    estimates = {"build": build_estimate(technique, ctx) if technique.trains else None,
                 "eval": eval_estimate(technique, ctx)}
    budget = float(ctx.config.max_memory_gb or 0.0)
    if budget <= 0:
        return estimates
    for phase, est in estimates.items():
        if est is None or est["total_gb"] <= budget:
            continue
        fixes = [f"{change} ({gb:g} GB)" for change, gb in _alternatives(technique, ctx, phase) if gb <= budget]
        what = (f"training ({est['batch']['rows']} x {est['batch']['width']} tokens per step, "
                f"{est['precision']})" if phase == "build" else "evaluation")
        raise UserError(f"'{technique.name}' needs an estimated {est['total_gb']:g} GB for {what} but "
                        f"max_memory_gb is {budget:g} GB; "
                        + (f"set {' or '.join(fixes)}" if fixes else "no single setting brings it under; use a "
                           "smaller model or more memory") + ", or raise --max-memory.")
    return estimates


def _alternatives(technique: Any, ctx: BuildContext, phase: str) -> list[tuple[str, float]]:
    """(setting to change, estimated GB with it) for the phase over budget: one change at a time."""
    from harness.modeling.memory import build_estimate, eval_estimate
    from harness.modeling.precision import bf16_kernels
    from harness.techniques import REGISTRY
    cfg = ctx.config
    train, decode = cfg.train, cfg.decode
    tries: list[tuple[str, Any, Any]] = []   # (label, config, technique)
    if phase == "build":
        if not train.gradient_checkpointing:
            tries.append(("train.gradient_checkpointing=true", {"gradient_checkpointing": True}, technique))
        if train.batch_size > 1:
            tries.append((f"train.batch_size={train.batch_size // 2}", {"batch_size": train.batch_size // 2}, technique))
        if train.seq_len > 128:
            tries.append((f"train.seq_len={train.seq_len // 2}", {"seq_len": train.seq_len // 2}, technique))
        held = technique.memory(ctx)
        if bf16_kernels() and train.precision != "bf16" and any(h.method == "full" for h in held):
            tries.append(("train.precision=bf16", {"precision": "bf16"}, technique))
        # the technique that trains the same base in 4 bits (LoRA or full fine-tuning -> QLoRA)
        four_bit = [h._replace(method="qlora4") if h.model == ctx.base_model and h.method in ("full", "lora") else h
                    for h in held]
        twin = next((t for t in REGISTRY.values() if four_bit != held and t is not technique
                     and _holds(t, ctx) == four_bit), None)
        if twin is not None:
            tries.append((f"the {twin.name} candidate instead", {}, twin))
        out = []
        for label, change, tech in tries:
            alt = dataclasses.replace(ctx, config=dataclasses.replace(cfg, train=dataclasses.replace(train, **change)))
            est = build_estimate(tech, alt)
            out.append((label, est["total_gb"] if est else 0.0))
        return out
    if cfg.eval.memory_gb > 0.25:
        tries.append((f"eval.memory_gb={cfg.eval.memory_gb / 4:g}",
                      dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, memory_gb=cfg.eval.memory_gb / 4)), technique))
    if decode.batch_size > 1:
        tries.append((f"decode.batch_size={max(1, decode.batch_size // 4)}",
                      dataclasses.replace(cfg, decode=dataclasses.replace(decode, batch_size=max(1, decode.batch_size // 4))),
                      technique))
    if bf16_kernels() and cfg.dtype != "bfloat16":
        tries.append(("dtype=bfloat16", dataclasses.replace(cfg, dtype="bfloat16"), technique))
    return [(label, eval_estimate(tech, dataclasses.replace(ctx, config=alt))["total_gb"]) for label, alt, tech in tries]


def _holds(technique: Any, ctx: BuildContext) -> list | None:
    """What `technique` would hold for `ctx`, or None where it cannot be built for it (a student
    model missing, say)."""
    try:
        return technique.memory(ctx)
    except UserError:
        return None


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build_or_load(technique: str, ctx: BuildContext) -> tuple[Candidate, dict]:
    """The candidate for `technique`, built (or resumed) unless a complete cached artifact exists.

    The artifacts it `requires` are built or read first and handed to its build in ctx.inputs.

    Returns:
        (candidate, {"artifact": ArtifactInfo, "train": TrainLog}).

    Raises:
        UserError: unknown technique, missing train data, bad model path, memory over budget,
            another process building the same artifact.
    """
    from harness.techniques import REGISTRY
    if technique not in REGISTRY:
        raise UserError(f"unknown technique '{technique}'; pick one of {', '.join(REGISTRY)}.")
    tech = REGISTRY[technique]
    key = cache_key(tech, ctx)
    root = Path(ctx.config.cache_dir) / technique
    final, work = root / key, root / f"{key}.partial"
    start = time.perf_counter()
    # under a launcher, process 0 decides: the others must not see its half-way state
    hit = distributed.main_value(final.is_dir() and (final / "artifact.json").is_file() and not ctx.force)
    if not hit:
        if tech.trains:
            check_train_data(tech, ctx)
            check_memory(tech, ctx)
        tech.check(ctx)
        inputs = {name: build_or_load(name, dataclasses.replace(ctx, force=False)) for name in tech.requires}
        _build(tech, dataclasses.replace(ctx, inputs=inputs), key, work, final, start)
        distributed.barrier()  # the other processes load what process 0 published
    manifest = read_manifest(final)
    candidate = LazyCandidate(tech, final, ctx)
    info = ArtifactInfo(path=str(final), key=key, cache_hit=hit, size_bytes=folder_size(final),
                        trainable_params=int(manifest.get("trainable_params", 0)),
                        total_params=int(manifest.get("total_params", 0)),
                        build_seconds=round(time.perf_counter() - start, 3) if hit else manifest["build_seconds"],
                        peak_memory_mb=manifest["peak_memory_mb"], memory=manifest.get("memory"))
    if manifest.get("index"):  # techniques that retrieve: the index they read, and whether it was cached
        info["index"] = manifest["index"]
    return candidate, {"artifact": info, "train": TrainLog(**manifest.get("train", {"steps": 0}))}


class LazyCandidate:
    """A built artifact that loads its model on first use.

    A re-run whose evaluation is cached never pays for loading the model.
    """

    def __init__(self, technique: Any, folder: Path, ctx: BuildContext):
        self.name, self._technique, self._folder, self._ctx = technique.name, technique, folder, ctx
        self._loaded: Candidate | None = None

    def loaded(self) -> Candidate:
        if self._loaded is None:
            self._loaded = self._technique.load(self._folder, self._ctx)
        return self._loaded

    def answer(self, questions: list[str], decode: Any) -> list:
        return self.loaded().answer(questions, decode)

    def with_docs(self, docs: dict[str, str]) -> Candidate:
        inner = self.loaded()
        fresh = inner.with_docs(docs)
        return self if fresh is inner else fresh

    def language_model(self) -> tuple[Any, Any]:
        return self.loaded().language_model()

    @property
    def prompter(self) -> Any:
        return self.loaded().prompter


def _build(tech: Any, ctx: BuildContext, key: str, work: Path, final: Path, start: float) -> None:
    """Build into `work` (resuming its checkpoints), write the manifest, publish as `final`.

    Under a launcher every process trains, but only process 0 holds the lock, writes and
    publishes; a technique that does not train is built by process 0 alone. The lock is taken
    before anything in `work` is touched, so --force never deletes a live build's files.
    """
    from harness.modeling.memory import Window
    if not distributed.is_main():
        distributed.barrier()  # process 0 has cleared the folder (force) and holds the lock
        if tech.trains:
            seed_everything(ctx.seed)
            tech.build(dataclasses.replace(ctx, out_dir=work))
        return
    lock = FileLock(work / ".lock").acquire(BUILDING, "wait for it to finish, then run again to reuse it")
    try:
        if ctx.force:
            for entry in work.iterdir():
                if entry.name != ".lock":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        distributed.barrier()
        seed_everything(ctx.seed)
        try:
            with Window() as window:
                fields = tech.build(dataclasses.replace(ctx, out_dir=work))
        except BaseException:
            if not (work / "checkpoints").is_dir():  # nothing to resume from: leave no trace
                lock.release()
                shutil.rmtree(work, ignore_errors=True)
            raise
        if "total_params" not in fields:  # prompt-only and RAG: the untouched base model
            fields = {**fields, "total_params": params_on_disk(tech.base_of(ctx))}
        manifest = {"technique": tech.name, "key": key, "format": ARTIFACT_FORMAT, "base_model": tech.base_of(ctx),
                    "suite": {"name": ctx.suite.name, "version": ctx.suite.version}, "seed": ctx.seed,
                    "build_seconds": round(time.perf_counter() - start, 3),
                    "peak_memory_mb": window.result["added_mb"], "memory": window.result, **fields}
        write_manifest(work, manifest)
    finally:
        lock.release()
    publish_dir(work, final)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch before a build. torch seeds its default generator randomly
    per process, and a LoRA adapter's A matrices are drawn when the adapter is created, before
    the Trainer seeds anything: unseeded, the same artifact came out different in every process
    (and depended on what the process had built or evaluated before)."""
    import random

    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def clean_stale_partials(root: Path, older_than_days: float = 7) -> list[Path]:
    """Remove ``<root>/<technique>/<key>.partial/`` folders untouched for `older_than_days` and not being built.

    Age is the newest modification time of the folder or anything in it (a checkpoint written
    yesterday keeps its build resumable). The build lock is taken before deleting, so a process
    that starts resuming the folder meanwhile is refused instead of losing its files; a folder
    whose lock a live process holds is left alone.

    Returns:
        The folders removed (each also reported with ui.info).
    """
    cutoff = time.time() - older_than_days * 86400
    removed = []
    for work in sorted(Path(root).glob("*/*.partial")):
        try:
            newest = max([work.stat().st_mtime] + [f.stat().st_mtime for f in work.rglob("*")])
            if newest >= cutoff or not work.is_dir():
                continue
            lock = FileLock(work / ".lock").acquire(BUILDING, "left alone")
        except (OSError, UserError):  # gone meanwhile, or a live builder holds it
            continue
        shutil.rmtree(work, ignore_errors=True)  # the lock file goes with it: releasing is closing
        lock.release()
        removed.append(work)
        ui.info(f"removed an unfinished build untouched for {(time.time() - newest) / 86400:.1f} days: {work}")
    return removed


# ---------------------------------------------------------------- evaluations

def eval_key(artifact_key: str, suite: Any, cfg: Any, base_view: dict | None) -> str:
    """Evaluation is deterministic given the artifact, the suite, the decoding and eval settings
    and the base it is compared with: the same inputs reuse the stored result."""
    full = {"decode": config_section(cfg, "decode"), "eval": config_section(cfg, "eval")}
    base_sig = None
    if base_view is not None:
        # what the forgetting deltas read from the base; its latency is wall time, never the same twice
        base_sig = {k: v.get("value") for k, v in sorted(base_view["metrics"].items()) if not k.startswith("latency.")}
    suite_id = [suite.name, suite.version, getattr(suite, "probes_version", "")]  # bundled probes can change alone
    blob = json.dumps({"artifact": artifact_key, "suite": suite_id,
                       "decode": full["decode"], "eval": full["eval"], "seed": cfg.seed, "base": base_sig,
                       "evaluator": EVAL_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _eval_path(cfg: Any, key: str) -> Path:
    return Path(cfg.cache_dir) / "evals" / f"{key}.json"


def read_eval(cfg: Any, key: str) -> dict | None:
    """A stored evaluation (marked cache_hit), or None when there is none or it is unreadable."""
    path = _eval_path(cfg, key)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    result["cache_hit"] = True
    return result


def write_eval(cfg: Any, key: str, result: dict) -> None:
    write_json(_eval_path(cfg, key), result)
