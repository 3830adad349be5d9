"""Artifact cache: build a technique once per (config, base model, suite version, seed), reuse after.

    candidate, fields = build_or_load("lora", ctx)
    fields["artifact"]   # ArtifactInfo: path, key, cache_hit, size_bytes, params, build_seconds, peak MB
    fields["train"]      # TrainLog (empty for techniques that do not train)

An artifact is built in ``<cache>/<technique>/<key>.partial/`` (where its training checkpoints
live, so a killed build resumes) and renamed to ``<cache>/<technique>/<key>/`` when complete:
a folder without ``.partial`` is always whole. A ``.partial`` nobody resumed for a week is
removed by :func:`clean_stale_partials` at the start of a run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from harness import distributed
from harness.config import to_dict
from harness.errors import UserError
from harness.modeling import model_identity, params_on_disk, read_manifest, write_manifest
from harness.protocols import BuildContext, Candidate
from harness.records import ArtifactInfo, TrainLog

ARTIFACT_FORMAT = 1  # bump when the folder layout changes: old cache entries are then rebuilt
# advisor estimate method per technique (memory check before training)
_ESTIMATE_METHOD = {"full": "full", "distill": "full", "distill_control": "full", "lora": "lora",
                    "rag_lora": "lora", "qlora": "qlora4"}


def student_of(ctx: BuildContext) -> str:
    """The distillation student: the context's, else the config's; a clear error when neither is set."""
    student = ctx.student_model or getattr(ctx.config, "student_model", "")
    if not student:
        raise UserError("distillation needs a smaller student model; set student_model in the config "
                        "(same tokenizer as base_model).")
    return student


def cache_key(technique: Any, ctx: BuildContext) -> str:
    """sha256 of technique name, its config sections, base model identity, suite name/version and seed.

    A technique's `config_ignores` ("train.lr") names fields of those sections it never reads, so
    changing the full fine-tuning learning rate does not rebuild the adapters.
    """
    cfg = ctx.config
    config = {s: config_section(cfg, s) for s in technique.config_sections}
    for field in getattr(technique, "config_ignores", ()):
        section, name = field.split(".", 1)
        config[section].pop(name)
    data = {
        "format": ARTIFACT_FORMAT, "technique": technique.name, "config": config,
        "base": model_identity(technique.base_of(ctx)),
        "student": model_identity(student_of(ctx)) if technique.name == "distill" else None,
        "suite": {"name": ctx.suite.name, "version": ctx.suite.version, "language": ctx.suite.language},
        "seed": ctx.seed if technique.trains else None,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def config_section(cfg: Any, name: str) -> Any:
    value = getattr(cfg, name, None)  # a section RunConfig does not have yet keys as None
    return to_dict(value) if dataclasses.is_dataclass(value) else value


def check_train_data(technique: Any, ctx: BuildContext) -> None:
    """A fine-tuning technique needs train.jsonl (pairs) or docs, as cfg.train.data says."""
    data = ctx.config.train.data
    if data in ("pairs", "both") and not ctx.suite.train:
        raise UserError(f"suite '{ctx.suite.name}' ({ctx.suite.path}) has no train.jsonl, which '{technique.name}' "
                        f"needs with train.data={data}; add train.jsonl or set train.data=docs.")
    if data == "docs" and not ctx.suite.docs:
        raise UserError(f"suite '{ctx.suite.name}' has no documents for train.data=docs; add docs/ or use pairs.")


def check_memory(technique: Any, ctx: BuildContext) -> dict | None:
    """Refuse before training when the advisor's peak estimate exceeds cfg.max_memory_gb (> 0)."""
    budget = float(getattr(ctx.config, "max_memory_gb", 0.0) or 0.0)
    method = _ESTIMATE_METHOD.get(technique.name)
    if budget <= 0 or method is None:
        return None
    from advisor.estimate import estimate
    base = student_of(ctx) if technique.name in ("distill", "distill_control") else technique.base_of(ctx)
    n_params, layers, hidden = _shape(base, ctx.config)
    train = ctx.config.train
    est = estimate(n_params, method, seq_len=train.seq_len, batch=train.batch_size, n_layers=layers, hidden=hidden,
                   lora_r=ctx.config.lora.r, checkpointing=False)
    if technique.name == "distill":  # the teacher runs next to the student
        t_params, t_layers, t_hidden = _shape(ctx.base_model, ctx.config)
        est["total_gb"] = round(est["total_gb"] + estimate(t_params, "inference", seq_len=train.seq_len,
                                                           batch=train.batch_size, n_layers=t_layers,
                                                           hidden=t_hidden)["total_gb"], 2)
    if est["total_gb"] > budget:
        raise UserError(f"'{technique.name}' needs an estimated {est['total_gb']} GB at peak (seq_len "
                        f"{train.seq_len}, batch {train.batch_size}) but max_memory_gb is {budget} GB; lower "
                        f"train.batch_size or train.seq_len, pick lora/qlora, or raise --max-memory.")
    return est


def _shape(model: str, cfg: Any) -> tuple[int, int, int]:
    """(parameters, layers, hidden) of a model from its config, counted on the meta device (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from harness.modeling import resolve_model
    mcfg = AutoConfig.from_pretrained(resolve_model(model), local_files_only=True,
                                      trust_remote_code=bool(getattr(cfg, "trust_remote_code", False)))
    with torch.device("meta"):
        n = sum(p.numel() for p in AutoModelForCausalLM.from_config(mcfg).parameters())
    return n, int(getattr(mcfg, "num_hidden_layers", 1)), int(getattr(mcfg, "hidden_size", 1))


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build_or_load(technique: str, ctx: BuildContext) -> tuple[Candidate, dict]:
    """The candidate for `technique`, built (or resumed) unless a complete cached artifact exists.

    Returns:
        (candidate, {"artifact": ArtifactInfo, "train": TrainLog}).

    Raises:
        UserError: unknown technique, missing train data, bad model path, memory over budget.
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
        _build(tech, ctx, key, work, final, start)
        distributed.barrier()  # the other processes load what process 0 published
    manifest = read_manifest(final)
    candidate = LazyCandidate(tech, final, ctx)
    info = ArtifactInfo(path=str(final), key=key, cache_hit=hit, size_bytes=folder_size(final),
                        trainable_params=int(manifest.get("trainable_params", 0)),
                        total_params=int(manifest.get("total_params", 0)),
                        build_seconds=round(time.perf_counter() - start, 3) if hit else manifest["build_seconds"],
                        peak_memory_mb=manifest["peak_memory_mb"])
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


def _build(tech: Any, ctx: BuildContext, key: str, work: Path, final: Path, start: float) -> None:
    """Build into `work` (resuming its checkpoints), write the manifest, publish as `final`.

    Under a launcher every process trains, but only process 0 holds the lock, writes and
    publishes; a technique that does not train is built by process 0 alone.
    """
    from harness.training import peak_memory_mb, reset_peak_memory
    if not distributed.is_main():
        distributed.barrier()  # process 0 has cleared the folder (force) and holds the lock
        if tech.trains:
            seed_everything(ctx.seed)
            tech.build(dataclasses.replace(ctx, out_dir=work))
        return
    if ctx.force:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    lock = _take_lock(work)
    distributed.barrier()
    reset_peak_memory()
    seed_everything(ctx.seed)
    try:
        fields = tech.build(dataclasses.replace(ctx, out_dir=work))
    except BaseException:
        lock.unlink(missing_ok=True)
        if not (work / "checkpoints").is_dir():  # nothing to resume from: leave no trace
            shutil.rmtree(work, ignore_errors=True)
        raise
    if "total_params" not in fields:  # prompt-only and RAG: the untouched base model
        fields = {**fields, "total_params": params_on_disk(tech.base_of(ctx))}
    manifest = {"technique": tech.name, "key": key, "format": ARTIFACT_FORMAT, "base_model": tech.base_of(ctx),
                "suite": {"name": ctx.suite.name, "version": ctx.suite.version}, "seed": ctx.seed,
                "build_seconds": round(time.perf_counter() - start, 3), "peak_memory_mb": round(peak_memory_mb(), 1),
                **fields}
    write_manifest(work, manifest)
    lock.unlink(missing_ok=True)
    _publish(work, final)


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


def _take_lock(work: Path) -> Path:
    """One builder per artifact: a live holder is refused, a killed one's lock is taken over."""
    from harness.records import lock_is_live, now_iso, read_lock
    lock = work / ".lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_lock(lock)
            if holder is not None and lock_is_live(holder):
                raise UserError(f"{work}: another rightfit process (pid {holder.get('pid')}) is building this "
                                f"artifact; wait for it to finish, then run again to reuse it.") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()}))
        return lock
    raise UserError(f"{lock}: could not take the build lock; remove the file if no build is running.")


def clean_stale_partials(root: Path, older_than_days: float = 7) -> list[Path]:
    """Remove ``<root>/<technique>/<key>.partial/`` folders untouched for `older_than_days` and not being built.

    Age is the newest modification time of the folder or anything in it (a checkpoint written
    yesterday keeps its build resumable). The build lock is taken before deleting, so a process
    that starts resuming the folder meanwhile is refused instead of losing its files; a folder
    whose lock a live process (or another host) holds is left alone.

    Returns:
        The folders removed (each also reported with ui.info).
    """
    from harness import ui
    cutoff = time.time() - older_than_days * 86400
    removed = []
    for work in sorted(Path(root).glob("*/*.partial")):
        try:
            newest = max([work.stat().st_mtime] + [f.stat().st_mtime for f in work.rglob("*")])
            if newest >= cutoff or not work.is_dir():
                continue
            _take_lock(work)
        except (OSError, UserError):  # gone meanwhile, or a live builder holds it
            continue
        shutil.rmtree(work, ignore_errors=True)
        removed.append(work)
        ui.info(f"removed an unfinished build untouched for {(time.time() - newest) / 86400:.1f} days: {work}")
    return removed


def _publish(work: Path, final: Path) -> None:
    """Swap the finished build in by rename; an older artifact under the same key goes away after."""
    old = None
    if final.exists():
        old = final.with_name(f"{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
