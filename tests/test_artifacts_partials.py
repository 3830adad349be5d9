"""Unfinished builds: a completed build leaves no .partial; stale ones are cleaned unless locked or recent."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

DAY = 86400


def partial(root: Path, name: str, age_days: float, lock_pid: int | None = None) -> Path:
    """A <root>/lora/<name>.partial with a checkpoint file, everything aged `age_days`; with
    `lock_pid`, the lock file a killed builder left behind (its content, no process holding it)."""
    work = root / "lora" / f"{name}.partial"
    (work / "checkpoints" / "step-4").mkdir(parents=True)
    (work / "checkpoints" / "step-4" / "adapter.bin").write_bytes(b"\0" * 16)
    if lock_pid is not None:
        (work / ".lock").write_text(json.dumps({"pid": lock_pid, "host": socket.gethostname(),
                                                "started": "2026-01-01T00:00:00Z"}))
    stamp = time.time() - age_days * DAY
    for path in [work, *work.rglob("*")]:
        os.utime(path, (stamp, stamp))
    return work


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists
    return proc.pid


def test_stale_partials_go_locked_and_recent_ones_stay(tmp_path, capsys):
    from harness.cache import BUILDING, clean_stale_partials
    from rightfit.files import FileLock
    old = partial(tmp_path, "old", 8)
    killed = partial(tmp_path, "killed", 30, lock_pid=dead_pid())  # a build killed a month ago
    building = partial(tmp_path, "building", 30)
    held = FileLock(building / ".lock").acquire(BUILDING, "wait")  # a live builder holds the lock
    os.utime(building, (time.time() - 30 * DAY,) * 2)
    os.utime(building / ".lock", (time.time() - 30 * DAY,) * 2)
    fresh = partial(tmp_path, "fresh", 2)
    touched = partial(tmp_path, "touched", 20)
    stamp = time.time() - 1 * DAY  # a checkpoint written yesterday inside an old folder
    os.utime(touched / "checkpoints" / "step-4" / "adapter.bin", (stamp, stamp))
    complete = tmp_path / "lora" / "done"
    complete.mkdir()
    os.utime(complete, (time.time() - 90 * DAY,) * 2)

    removed = clean_stale_partials(tmp_path, older_than_days=7)

    assert sorted(p.name for p in removed) == ["killed.partial", "old.partial"]
    assert not old.exists() and not killed.exists()
    assert all(p.is_dir() for p in (building, fresh, touched, complete))
    assert json.loads((building / ".lock").read_text())["pid"] == os.getpid() and held.held  # its lock untouched
    err = capsys.readouterr().err
    assert "old.partial" in err and "killed.partial" in err and "30.0 days" in err and "fresh" not in err
    assert clean_stale_partials(tmp_path, older_than_days=0.5) == [fresh, touched]  # a shorter threshold: these too
    held.release()
    assert clean_stale_partials(tmp_path / "no-such-cache") == []


def test_a_completed_build_leaves_no_partial(tmp_path):
    from harness.cache import _build, read_manifest
    from harness.techniques.protocol import BuildContext

    class Fake:
        name = "fake"

        def base_of(self, ctx):
            return "base"

        def build(self, ctx):
            (ctx.out_dir / "checkpoints").mkdir()  # as a trained build leaves behind
            (ctx.out_dir / "weights.bin").write_bytes(b"w")
            return {"total_params": 3}

    ctx = BuildContext(base_model="base", suite=type("S", (), {"name": "s", "version": "1"})(), config=None, seed=0,
                       out_dir=tmp_path)
    work, final = tmp_path / "fake" / "k.partial", tmp_path / "fake" / "k"
    _build(Fake(), ctx, "k", work, final, time.perf_counter())
    assert not work.exists() and (final / "weights.bin").read_bytes() == b"w"
    assert read_manifest(final)["total_params"] == 3 and not (final / ".lock").exists()
    assert list((tmp_path / "fake").iterdir()) == [final]


def test_run_cleans_the_cache_before_building(tmp_path, monkeypatch):
    import harness.cache as artifacts
    from harness.config import RunConfig
    from harness.runner import run_plan

    class Called(Exception):
        pass

    def spy(root, *a, **k):
        raise Called(str(root))
    monkeypatch.setattr(artifacts, "clean_stale_partials", spy)
    cfg = RunConfig()
    cfg.cache_dir = str(tmp_path / "cache")
    with pytest.raises(Called, match="cache"):
        run_plan(cfg, rd=None)
