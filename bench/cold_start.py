"""`rightfit advise` cold start vs a bare Python start, as whole processes (target <= 1 s).

Each command runs as a fresh process, interleaved, N times; the median wall time of each and
their ratio are written. The bare start (`python -c pass`) is the floor no CLI can beat.

    .venv/bin/python bench/cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import REPO, write_result  # noqa: E402


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "rightfit")
    example = str(REPO / "advisor" / "examples" / "support-bot.yaml")
    commands = {"python_bare": [sys.executable, "-c", "pass"],
                "rightfit_help": [exe, "--help"],
                "rightfit_advise": [exe, "advise", example],
                "rightfit_advise_json": [exe, "advise", example, "--json"]}
    times: dict[str, list[float]] = {k: [] for k in commands}
    for cmd in commands.values():  # warm the page cache once
        wall(cmd)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"runs": args.runs, "median_s": med, "min_s": {k: min(v) for k, v in times.items()},
           "max_s": {k: max(v) for k, v in times.items()},
           "advise_vs_bare_python": med["rightfit_advise"] / med["python_bare"],
           "target_s": 1.0, "meets_target": med["rightfit_advise"] <= 1.0}
    print({k: round(v, 3) for k, v in med.items()})
    print(f"wrote {write_result('cold_start', out)}")


if __name__ == "__main__":
    main()
