"""Building the self-made base models: wall time against their budgets, and what
training the student beside the teacher (two processes) saves over one after the other.

Budgets on a 2-core machine: tiny <= 60 s, default <= 5 min (tokenizer + teacher + student).
Each build goes to a temporary folder (the cache is not touched); the tiny size is built both
ways in the same run, so the parallel/sequential ratio is measured, not assumed. The default
size is built in parallel only (as `rightfit base build` does); its sequential time is the sum
of the two models' own training times plus the preparation, which the build log records.

    .venv/bin/python bench/base_build.py [--sizes tiny,default]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import write_result  # noqa: E402

BUDGET_S = {"tiny": 60.0, "default": 300.0}


def timed_build(size: str, parallel: bool) -> dict:
    from harness.basemodels.build import build_base_models
    with tempfile.TemporaryDirectory(prefix="rightfit-base-bench-") as tmp:
        t0 = time.perf_counter()
        log = build_base_models(size, Path(tmp) / "build", parallel=parallel)
        wall = time.perf_counter() - t0
        probe = json.loads((Path(tmp) / "build" / "build.json").read_text())
    assert probe["parallel"] == parallel
    return {"wall_s": round(wall, 1), "prepare_s": log["prepare_seconds"],
            "teacher_s": log["teacher"]["seconds"], "student_s": log["student"]["seconds"],
            "teacher_curve_last": log["teacher"]["curve"][-1] if log["teacher"]["curve"] else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,default")
    args = ap.parse_args()
    from rightfit import ui
    ui.set_quiet(True)
    out = {}
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        row = {"budget_s": BUDGET_S[size], "parallel": timed_build(size, True)}
        if size == "tiny":
            row["sequential"] = timed_build(size, False)
            row["parallel_vs_sequential"] = round(row["parallel"]["wall_s"] / row["sequential"]["wall_s"], 3)
        else:
            p = row["parallel"]
            row["sequential_estimate_s"] = round(p["prepare_s"] + p["teacher_s"] + p["student_s"], 1)
        row["wall_vs_budget"] = round(row["parallel"]["wall_s"] / BUDGET_S[size], 3)
        row["meets_budget"] = row["parallel"]["wall_s"] <= BUDGET_S[size]
        out[size] = row
        print(size, json.dumps(row))
    print(f"wrote {write_result('base_build', out)}")


if __name__ == "__main__":
    main()
