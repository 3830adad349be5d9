"""Progress in a log: without a terminal, long steps print a line every tenth or every 15 s with
the count, the rate and the time left, and library noise a user cannot act on is gone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def lines_of(total: int | None, seconds_per_unit: float, units: int, capsys) -> list[str]:
    from rightfit import ui
    now = [0.0]
    advance = ui.LogLines("training (x steps)", total, clock=lambda: now[0])
    for _ in range(units):
        now[0] += seconds_per_unit
        advance(1, status="loss 1.000")
    return capsys.readouterr().err.splitlines()


def test_a_line_every_tenth_with_rate_and_time_left(capsys):
    lines = lines_of(80, 0.25, 80, capsys)  # 20 s in all: a tenth every 2 s
    assert len(lines) == 10
    assert lines[0] == "  training (x steps): 8/80 steps (10%), 4 steps/s, 18 s left, loss 1.000"
    assert lines[-1] == "  training (x steps): 80/80 steps (100%), 4 steps/s, done in 20 s, loss 1.000"


def test_a_slow_step_still_prints_every_15_seconds_and_a_fast_one_nothing(capsys):
    lines = lines_of(1000, 5.0, 10, capsys)  # 50 s for 1% of the work
    assert [re.search(r": (\d+)/1000", x).group(1) for x in lines] == ["3", "6", "9"]
    assert lines[0].endswith("0.2 steps/s, 1:23:05 left, loss 1.000")
    assert lines_of(100, 0.01, 100, capsys) == []   # done within 2 s: nothing to report
    assert lines_of(None, 1.0, 31, capsys) == ["  training (x steps): 15 steps, 1 steps/s, loss 1.000",
                                               "  training (x steps): 30 steps, 1 steps/s, loss 1.000"]


@pytest.mark.slow
def test_a_run_without_a_terminal_logs_progress_while_it_trains(tmp_path):
    """`rightfit run` with stderr going to a pipe, as under `make demo > log` or CI: while LoRA
    trains (between its "build" and "evaluate" lines) progress lines come, with counts that grow;
    bitsandbytes' kernel warning (printed on import on CPUs with avx512_bf16) is not among them."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "rightfit", "run", "--suite", "shopco-en-tiny", "--base-model", "default",
           "--candidates", "lora", "--run-id", "log", f"runs_dir={tmp_path / 'runs'}", f"cache_dir={tmp_path / 'c'}"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    err = done.stderr.splitlines()
    start, end = err.index("[lora] build"), err.index("[lora] evaluate")
    training = [line for line in err[start + 1:end] if line.startswith("  training (144 steps): ")]
    assert len(training) >= 3, err
    counts = [int(re.search(r": (\d+)/144 steps \(\d+%\), [\d.]+ steps/s, .+ left, loss [\d.]+$", x).group(1))
              for x in training]
    assert counts == sorted(counts) and counts[0] < 144
    assert not [line for line in err if "gemm_4bit_forward" in line or "kernels-community" in line]
