"""Run records: the one place their schema is written down.

A run writes ``runs/<run-id>/``::

    config.resolved.yaml   the full RunConfig after defaults, file and overrides
    env.json               EnvRecord: versions, hardware, threads, seeds, git commit
    run.json               RunRecord: what the run is judged by (priorities, the advisor's plan, checks)
    plan.yaml              the plan file the run was given, as it was (optional; for reproducing)
    records/<candidate>.json   one CandidateRecord per candidate (and seed)

written under .<run-id>.partial/ and renamed into place when the run ends (RunDir); the lock
beside it, .<run-id>.lock, is held while the run is in progress

The report renders only from these files, so it can be rebuilt without re-running anything.
Files are written to a temp name and renamed (:func:`rightfit.files.atomic_write`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, TypedDict

from rightfit.errors import UserError
from rightfit.files import (
    FileLock,
    atomic_write,
    dump_yaml,
    now_iso,
    publish_dir,
    remove_orphans,
    write_json,
)
from rightfit.settings import to_dict

SCHEMA_VERSION = 1


class MetricValue(TypedDict, total=False):
    value: float | None      # None = n/a (the suite part it needs is missing)
    ci_low: float | None     # bootstrap 95% interval
    ci_high: float | None
    n: int                   # items the value is computed over
    higher_is_better: bool
    note: str                # why a value is n/a, or how it was computed


class Example(TypedDict, total=False):
    id: str
    part: str                # "test", "test_updated", "probes"
    kind: str                # e.g. "seen_fact", "docs_only", "general"
    question: str
    reference: str
    aliases: list[str]
    gold_sources: list[str]
    answer: str
    content: str             # the answer without the style rule's opening/sign-off: what accuracy scores
    sources: list[str]       # doc ids the candidate used (RAG); [] when it cites nothing
    scores: dict[str, float]  # per-example metric values (em, f1, rouge_l, style...)
    seconds: float
    retrieval_seconds: float
    prompt_tokens: int
    generated_tokens: int
    context_truncated: int   # chunks cut or dropped to fit the context window (RAG)
    prompt: str              # the exact text the model read (its chat template applied, context included)
    process: int             # the process of a launch that answered it (0 without a launcher)
    lm_eval_em: float | None  # lm-eval's own exact match of the answer (a candidate imported from lm-eval)


class ArtifactInfo(TypedDict, total=False):
    path: str
    key: str                 # cache key: hash of technique config, base model, suite version, seed
    cache_hit: bool
    size_bytes: int
    trainable_params: int
    total_params: int
    build_seconds: float
    peak_memory_mb: float    # the build's own peak: memory["added_mb"]
    memory: dict | None      # harness.modeling.memory.Window result of the build {start_mb, peak_mb, added_mb}
    index: dict              # retrieving techniques: {"key", "cache_hit", "seconds", "chunks"} of the index cache


class TrainLog(TypedDict, total=False):
    steps: int
    precision: str                    # "fp32", "mixed" or "bf16" (harness.modeling.precision)
    lr: float                         # the peak learning rate it trained at (an "auto" setting resolved)
    epochs: float
    train_loss: list[list[float]]     # [[step, loss], ...]
    eval_loss: list[list[float]]      # held-out loss, [[step, loss], ...]
    resumed_from_step: int | None


class CandidateRecord(TypedDict, total=False):
    schema_version: int
    run_id: str
    candidate: str           # display name, e.g. "lora" or "lora@seed1"
    technique: str           # registry name
    seed: int
    base_model: str
    suite: dict[str, Any]    # {"name", "version", "language"}
    technique_config: dict[str, Any]
    precision: dict[str, Any]     # {"dtype": weights at evaluation, "train": "fp32"|"mixed"|"bf16"|None}
    memory: dict[str, Any]        # {"build"|"eval": {"estimate": ..., "measured": {start_mb, peak_mb, added_mb}}}
    artifact: ArtifactInfo
    train: TrainLog
    metrics: dict[str, MetricValue]
    comparisons: dict[str, Any]   # paired tests against other candidates
    examples: list[Example]
    eval_cache: dict[str, Any]    # {"key", "hit"}: evaluation reused from an identical earlier one
    timings: dict[str, float]     # seconds: build, eval, ...
    created: str                  # ISO 8601 UTC
    source: str                   # "lm-eval": answered by lm-eval, imported (harness/lmeval/samples.py)


class RunRecord(TypedDict, total=False):
    schema_version: int
    run_id: str
    created: str
    suite: dict[str, Any]          # {"name", "version", "language", "answers"}
    accuracy_metric: str           # the per-item metric that judges an answer: "em" (short) or "contains" (free)
    base_model: str
    candidates: list[str]
    priorities: dict[str, float]   # weights the measured winner is chosen under (rightfit.vocabulary)
    priorities_from: str           # "plan" or "default"
    checks: list[dict]             # the plan's required checks: [{"name", "measurable", "why"}]
    advice: dict | None            # the advisor's plan (advisor.plan.Plan.to_dict()); None without a plan


class EnvRecord(TypedDict, total=False):
    python: str
    platform: str
    packages: dict[str, str | None]
    cpu: str
    cpu_count: int
    torch_threads: int | None
    numerics: dict                    # device, CPU kernels, bf16 support (harness.modeling.precision)
    gpu: str | None
    seeds: list[int]
    git_commit: str | None
    hostname: str
    created: str


def new_run_id(prefix: str = "run") -> str:
    return f"{prefix}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid() % 10000:04d}"


def _version(name: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numerics() -> dict:
    from harness.modeling.precision import numerics
    return numerics()


def collect_env(seeds: list[int]) -> EnvRecord:
    """Versions, hardware and seeds. Reads torch only if it is already imported."""
    torch = sys.modules.get("torch")
    gpu = None
    if torch is not None and torch.cuda.is_available():
        gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return EnvRecord(
        python=platform.python_version(), platform=platform.platform(),
        packages={p: _version(p) for p in ("rightfit", "torch", "transformers", "peft", "bitsandbytes",
                                           "sentence-transformers", "faiss-cpu", "rank-bm25", "rouge-score",
                                           "sacrebleu", "tokenizers", "accelerate")},
        cpu=_cpu_name(), cpu_count=os.cpu_count() or 1,
        torch_threads=torch.get_num_threads() if torch is not None else None, numerics=_numerics(),
        gpu=gpu, seeds=list(seeds), git_commit=_git_commit(), hostname=socket.gethostname(), created=now_iso())


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}\Z")


def check_run_id(run_id: str) -> str:
    """A run id is a plain folder name (the run goes under runs_dir, never elsewhere).

    Raises:
        UserError: a path, an empty name, or characters outside A-Z a-z 0-9 _ . @ -.
    """
    if not RUN_ID.match(run_id) or ".." in run_id:
        raise UserError(f"--run-id {run_id!r} must be a plain name of letters, digits and _ . @ - (not a path, "
                        f"at most 128 characters); the run is written under runs_dir.")
    return run_id


class RunDir:
    """A run directory, written whole or not at all.

    Entering takes the run's lock (``<runs_dir>/.<id>.lock``: another live process using the
    same id is refused) and opens a fresh work folder ``<runs_dir>/.<id>.partial/`` that every
    file goes to. Leaving normally publishes it as ``<runs_dir>/<id>/`` by rename (replacing an
    earlier run of that id); leaving with an error removes it. A failed run leaves nothing
    half-written, and a killed one leaves a .partial that the next run of the id clears.
    """

    def __init__(self, root: str | os.PathLike, run_id: str | None = None):
        self.run_id = check_run_id(run_id or new_run_id())
        self.root = Path(root)
        self.path = self.root / self.run_id              # where the finished run is
        self.work = self.root / f".{self.run_id}.partial"  # where it is written until then
        self.lock_path = self.root / f".{self.run_id}.lock"
        self._lock = FileLock(self.lock_path)
        self.stale_lock_taken_over: dict | None = None  # what a killed earlier holder left in the lock file
        self._made_root = False

    # -- lock
    def __enter__(self) -> "RunDir":
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"runs_dir '{self.root}' is a file; point runs_dir at a folder.")
        self._made_root = not self.root.exists()
        self._lock.acquire("is using this run id", "wait for it or pick another --run-id")
        self.stale_lock_taken_over = self._lock.previous
        clean_dead_runs(self.root)
        try:
            shutil.rmtree(self.work, ignore_errors=True)  # what a killed run of this id left
            (self.work / "records").mkdir(parents=True)
        except OSError:
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            if exc_type is None:
                publish_dir(self.work, self.path)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        finally:
            self.release()
        if exc_type is not None and self._made_root:
            try:
                self.root.rmdir()  # a failed first run leaves runs_dir as it found it: absent
            except OSError:
                pass

    def release(self) -> None:
        self._lock.release()

    # -- contents
    def write_config(self, cfg: Any) -> None:
        dump_yaml(to_dict(cfg), self.work / "config.resolved.yaml")

    def write_env(self, seeds: list[int]) -> EnvRecord:
        env = collect_env(seeds)
        write_json(self.work / "env.json", env)
        return env

    def write_run(self, run: RunRecord) -> None:
        run.setdefault("schema_version", SCHEMA_VERSION)
        run.setdefault("run_id", self.run_id)
        run.setdefault("created", now_iso())
        write_json(self.work / "run.json", run)

    def write_file(self, name: str, text: str) -> None:
        atomic_write(self.work / name, text)

    def write_record(self, record: CandidateRecord, subdir: str = "") -> Path:
        """Write records/<candidate>.json (per-seed records of a multi-seed run go to records/seeds/)."""
        record.setdefault("schema_version", SCHEMA_VERSION)
        record.setdefault("run_id", self.run_id)
        record.setdefault("created", now_iso())
        out = self.work / "records" / subdir / f"{safe_name(record['candidate'])}.json"
        write_json(out, record)
        return out


def clean_dead_runs(root: Path) -> list[Path]:
    """Remove the work folders (``.<id>.partial``) of runs that were killed: a live run holds its
    lock, so a work folder whose lock this process can take belongs to nobody."""
    removed = []
    for work in sorted(Path(root).glob(".*.partial")):
        lock = FileLock(work.with_name(work.name.removesuffix(".partial") + ".lock"))
        try:
            lock.acquire("is using this run id", "left alone")
        except UserError:
            continue
        if lock.held:
            shutil.rmtree(work, ignore_errors=True)
            removed.append(work)
            lock.release()
    remove_orphans(root)
    return removed


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name)


def load_run(path: str | os.PathLike) -> dict[str, Any]:
    """Read a run directory back: config, env, the run record, records (sorted by candidate)."""
    import yaml
    path = Path(path)
    if not (path / "records").is_dir():
        raise UserError(f"{path}: not a run directory (no records/ inside); pass runs/<run-id>.")
    records, seen = [], {}
    for f in sorted((path / "records").glob("*.json")):
        try:
            record = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise UserError(f"{f}: not valid JSON ({str(e)[:120]}); re-run or remove the record.") from None
        name = record.get("candidate") if isinstance(record, dict) else None
        if not isinstance(name, str) or not name:
            raise UserError(f"{f}: the record has no 'candidate' name; re-run or remove it.")
        if not isinstance(record.get("metrics", {}), dict):
            raise UserError(f"{f}: field 'metrics' must be a mapping; re-run or remove the record.")
        if name in seen:
            raise UserError(f"{f}: candidate '{name}' appears twice (also {seen[name].name}); remove one record.")
        seen[name] = f
        records.append(record)
    cfg_path = path / "config.resolved.yaml"
    env_path = path / "env.json"
    run_path = path / "run.json"
    return {
        "run_id": path.name, "path": str(path),
        "config": yaml.safe_load(cfg_path.read_text()) if cfg_path.exists() else {},
        "env": json.loads(env_path.read_text()) if env_path.exists() else {},
        "run": json.loads(run_path.read_text(encoding="utf-8")) if run_path.exists() else {},
        "plan_file": str(path / "plan.yaml") if (path / "plan.yaml").exists() else None,
        "records": records,
    }
