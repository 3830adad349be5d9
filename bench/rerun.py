"""The demo pipeline end to end, then again with everything cached (target: re-run <= 5%).

Runs advise -> run -> report as separate processes, as `make demo` does, with a fresh
artifact cache in a temporary folder (the self-built base models are built first and not
timed here: `rightfit base build` is cached by its own recipe hash), then the same commands a
second time. The second run finds every artifact and every evaluation cached.

    .venv/bin/python bench/rerun.py [--suite shopco-en] [--base-model default]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_common import REPO, write_result  # noqa: E402


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="shopco-en")
    ap.add_argument("--base-model", default="default")
    ap.add_argument("--answers", default=str(REPO / "advisor" / "examples" / "support-bot.yaml"))
    args = ap.parse_args()
    rf = str(Path(sys.executable).parent / "rightfit")
    tmp = Path(tempfile.mkdtemp(prefix="rightfit-rerun-"))
    size = args.base_model if args.base_model in ("tiny", "default") else None
    if size:
        subprocess.run([rf, "-q", "base", "build", "--size", size], check=True, cwd=REPO)
    plan = tmp / "plan.yaml"
    steps = [
        ("advise", [rf, "-q", "advise", args.answers, "-o", str(plan)]),
        ("run", [rf, "-q", "run", "--plan", str(plan), "--suite", args.suite, "--base-model", args.base_model,
                 "--run-id", "bench", f"runs_dir={tmp / 'runs'}", f"cache_dir={tmp / 'cache'}"]),
        ("report", [rf, "-q", "report", str(tmp / "runs" / "bench"), "-o", str(tmp / "report.html")]),
    ]
    first = {name: timed(cmd) for name, cmd in steps}
    second = {name: timed(cmd) for name, cmd in steps}
    total1, total2 = sum(first.values()), sum(second.values())
    out = {"suite": args.suite, "base_model": args.base_model, "first_run_s": first, "cached_run_s": second,
           "first_total_s": total1, "cached_total_s": total2, "cached_over_first": total2 / total1,
           "target": 0.05, "meets_target": total2 / total1 <= 0.05}
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()})
    print(f"wrote {write_result('rerun', out)}")


if __name__ == "__main__":
    main()
