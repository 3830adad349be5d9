"""One lock for runs and builds (rightfit.files.FileLock): never two holders, --force never takes a
live build's folder, a killed holder's lock is free at once.

The stress test starts four processes that, trial after trial, meet at a barrier and all take the
same lock at the same instant; a shared counter of current holders must never pass 1.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

WORKERS, TRIALS = 4, 100


def _contend(kind: str, root: str, barrier, holders, most, wins, trials: int) -> None:
    """One process: `trials` times, wait for the others, try the lock, count how many hold it."""
    from harness.records import RunDir
    from rightfit.errors import UserError
    from rightfit.files import FileLock
    for _ in range(trials):
        barrier.wait()
        try:
            held = RunDir(root, "same") if kind == "run" else FileLock(Path(root) / "build.partial" / ".lock")
            if kind == "run":
                held.__enter__()
            else:
                held.acquire("is building this artifact", "wait")
        except UserError:
            continue
        with holders.get_lock():
            holders.value += 1
            most.value = max(most.value, holders.value)
        time.sleep(0.002)  # hold it a moment, as a real holder would
        with holders.get_lock():
            holders.value -= 1
            wins.value += 1
        if kind == "run":
            held.__exit__(None, None, None)
        else:
            held.release()


@pytest.mark.parametrize("kind", ["run", "build"])
def test_processes_taking_one_lock_at_the_same_instant_never_both_hold_it(kind, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    holders, most, wins = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
    procs = [ctx.Process(target=_contend, args=(kind, str(tmp_path), barrier, holders, most, wins, TRIALS))
             for _ in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    assert most.value == 1, f"{most.value} processes held the {kind} lock at once"
    assert wins.value >= TRIALS  # every trial had a holder (a fast one may release before a slow one tries)
    assert not list(tmp_path.glob(".*.lock")) and not list(tmp_path.glob("build.partial/.lock"))


def test_a_killed_holder_frees_the_lock_at_once(tmp_path):
    import subprocess
    import sys
    code = ("import sys, time; from rightfit.files import FileLock; "
            f"FileLock({str(tmp_path / 'x.lock')!r}).acquire('holds it', 'wait'); print('held', flush=True); "
            "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    from rightfit.errors import UserError
    from rightfit.files import FileLock
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=rf"pid {holder.pid}.*holds it"):
            FileLock(tmp_path / "x.lock").acquire("holds it", "wait")
    finally:
        holder.kill()
        holder.wait()
    lock = FileLock(tmp_path / "x.lock").acquire("holds it", "wait")  # no staleness to judge: the kernel freed it
    assert lock.previous["pid"] == holder.pid
    lock.release()


def test_force_refuses_a_live_build_and_leaves_its_folder_alone(tmp_path):
    """--force rebuilds a finished artifact, but never deletes the folder of a build in progress."""
    import dataclasses

    from tinymodels import make_tiny_llama

    from harness.cache import BUILDING, build_or_load, cache_key
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques import REGISTRY
    from harness.techniques.protocol import BuildContext
    from rightfit.errors import UserError
    from rightfit.files import FileLock

    model = make_tiny_llama(tmp_path / "model", seed=0)
    cfg = load_config(None, [f"cache_dir={tmp_path / 'cache'}"])
    ctx = BuildContext(base_model=str(model), suite=load_suite("shopco-en-tiny"), config=cfg, seed=0,
                       out_dir=tmp_path, force=True)
    work = tmp_path / "cache" / "prompt" / f"{cache_key(REGISTRY['prompt'], ctx)}.partial"
    live = FileLock(work / ".lock").acquire(BUILDING, "wait")
    (work / "checkpoints").mkdir()
    (work / "checkpoints" / "step-8.bin").write_bytes(b"weights")
    with pytest.raises(UserError, match=BUILDING):
        build_or_load("prompt", ctx)
    assert (work / "checkpoints" / "step-8.bin").read_bytes() == b"weights" and live.held
    live.release()
    _, fields = build_or_load("prompt", dataclasses.replace(ctx))  # the builder is gone: force goes ahead
    assert fields["artifact"]["cache_hit"] is False and not work.exists()


def test_what_a_killed_run_leaves_is_cleared_by_the_next_run(tmp_path):
    """A run killed mid-write leaves its work folder, its lock file and an atomic write's temp file;
    the next run (of any id) removes them, and a run of the same id starts clean."""
    import json
    import os

    from click.testing import CliRunner

    from rightfit.cli import main
    runs = tmp_path / "runs"
    (runs / ".killed.partial" / "records").mkdir(parents=True)
    (runs / ".killed.partial" / "records" / "prompt.json").write_text('{"candidate": "prompt", "metr')  # cut short
    (runs / ".killed.lock").write_text(json.dumps({"pid": 2**22 + 11, "host": "here", "started": "then"}))
    orphan = runs / ".run.json.k3j4.tmp"
    orphan.write_text("{")
    os.utime(orphan, (time.time() - 7200,) * 2)
    argv = ["run", "--dry-run", "--suite", "shopco-en-tiny", f"runs_dir={runs}", f"cache_dir={tmp_path / 'c'}"]
    assert CliRunner().invoke(main, [*argv, "--run-id", "next"]).exit_code == 0
    assert sorted(p.name for p in runs.iterdir()) == ["next"]
    assert CliRunner().invoke(main, [*argv, "--run-id", "killed"]).exit_code == 0
    assert sorted(p.name for p in runs.iterdir()) == ["killed", "next"]
    assert sorted(p.name for p in (runs / "killed" / "records").iterdir()) == []
