"""Estimated vs measured peak memory of the harness's own builds, at three model sizes.

Three randomly initialised Llamas with real shapes (llama-20m, llama-60m, llama-134m: bf16
safetensors, a 32k vocabulary, a ChatML template) are fine-tuned by the harness exactly as
`rightfit run` builds them (harness.cache.build_or_load): full fine-tuning in mixed precision
and in pure bf16, LoRA and QLoRA with this machine's defaults. The training pairs are real prose
that ships with Python (the language reference's help topics, pydoc_data), so answers run to
hundreds of tokens and the batch is as long as the data makes it, not a constant.

Each build runs in a fresh process. Its estimate is harness.modeling.memory.build_estimate (what
the --max-memory guard checks); its measurement is the peak resident memory the build added above
the process's state when it began (harness.modeling.memory.Window). Target: every ratio
measured / estimated within ±15 %. The estimate with its runtime (the Python process with the
libraries loaded) is compared with the process's whole peak too.

    .venv/bin/python bench/memory.py [--sizes llama-20m,llama-60m,llama-134m] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from eval_common import REPO, write_result

SIZES = ("llama-20m", "llama-60m", "llama-134m")
# (row label, technique, overrides): full fine-tuning in both of the advisor's precisions, then
# LoRA and QLoRA as this machine runs them by default
CONFIGS = (("full mixed", "full", ["train.precision=mixed"]),
           ("full bf16", "full", ["train.precision=bf16"]),
           ("lora", "lora", []),
           ("qlora", "qlora", []))
TOLERANCE = 0.15

CHILD = r"""
import json, os, sys
if os.environ.get("MMAP_T"):  # diagnostic: freed blocks go straight back to the system
    import ctypes; ctypes.CDLL("libc.so.6").mallopt(-3, int(os.environ["MMAP_T"]))
from pathlib import Path
import torch
torch.set_num_threads(1)
import peft, transformers  # loaded before the window opens: the runtime, not the build
from harness.cache import build_or_load, check_memory
from harness.config import load_config
from harness.modeling.memory import current_memory_mb, peak_memory_mb
from harness.suites import load_suite
from harness.techniques import REGISTRY
from harness.techniques.protocol import BuildContext
model, technique, suite_dir, cache, overrides = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
cfg = load_config(None, [f"cache_dir={cache}", *overrides])
ctx = BuildContext(base_model=model, suite=load_suite(suite_dir), config=cfg, seed=0, out_dir=Path(cache))
estimate = check_memory(REGISTRY[technique], ctx)["build"]
runtime = current_memory_mb()
_, fields = build_or_load(technique, ctx)
print(json.dumps({"estimate": estimate, "measured": fields["artifact"]["memory"], "runtime_mb": round(runtime),
                  "build_seconds": fields["artifact"]["build_seconds"],
                  "process_peak_mb": round(peak_memory_mb())}))
"""


def make_suite(folder: Path) -> Path:
    """A suite of the Python language reference's help topics: 79 pairs "explain topic X" ->
    the topic's first 1,600 characters (real English prose, shipped with every CPython)."""
    import pydoc_data.topics

    topics = sorted(pydoc_data.topics.topics.items())
    (folder / "docs").mkdir(parents=True)
    for name, text in topics[:10]:
        (folder / "docs" / f"{name}.txt").write_text(text, encoding="utf-8")
    rows = [{"instruction": f"Explain the Python topic '{name}'.", "input": "", "output": " ".join(text.split())[:1600]}
            for name, text in topics]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    test = [{"id": f"t{i}", "question": f"What is '{name}' in Python?", "answer": name, "sources": [name],
             "kind": "docs_only"} for i, (name, _) in enumerate(topics[:2])]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test), encoding="utf-8")
    (folder / "suite.yaml").write_text("name: pytopics\nversion: '1'\nlanguage: en\nanswers: free\n", encoding="utf-8")
    return folder


def run(model: Path, technique: str, suite: Path, cache: Path, overrides: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), technique, str(suite), str(cache),
                          json.dumps(overrides)], capture_output=True, text=True, cwd=REPO, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{model.name} {technique} {overrides} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma list of harness.basemodels.random SHAPES")
    ap.add_argument("--steps", type=int, default=3, help="optimizer steps per build (the peak comes at step 2)")
    args = ap.parse_args()

    from harness.basemodels.random import make_random_model
    from harness.modeling.precision import bf16_kernels
    rows, missing = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite = make_suite(root / "pytopics")
        train = [f"train.max_steps={args.steps}", "train.batch_size=4", "train.seq_len=512",
                 "train.checkpoint_every=0", "train.eval_every=0", "train.data=pairs"]
        for size in args.sizes.split(","):
            model = make_random_model(root / size, size, chat="chatml", dtype="bfloat16")
            for label, technique, overrides in CONFIGS:
                if any(o.endswith(("=mixed", "=bf16")) for o in overrides) and not bf16_kernels():
                    missing.append(f"{size} {label}: this CPU has no bf16 kernels")
                    continue
                res = run(model, technique, suite, root / f"cache-{size}-{label.replace(' ', '-')}", train + overrides)
                est_mb = res["estimate"]["peak_gb"] * 1e9 / 2**20
                added = res["measured"]["added_mb"]
                total_est_mb = res["estimate"]["total_gb"] * 1e9 / 2**20
                rows.append({"model": size, "config": label, "precision": res["estimate"]["precision"],
                             "batch": res["estimate"]["batch"], "estimate_mb": round(est_mb),
                             "measured_mb": round(added), "ratio": round(added / est_mb, 3),
                             "breakdown_gb": res["estimate"]["breakdown"],
                             "process_estimate_mb": round(total_est_mb), "process_peak_mb": res["process_peak_mb"],
                             "process_ratio": round(res["process_peak_mb"] / total_est_mb, 3),
                             "runtime_mb": res["runtime_mb"], "build_seconds": res["build_seconds"]})
                print(f"{size:11s} {label:10s} estimate {est_mb:7.0f} MB  measured {added:7.0f} MB  "
                      f"ratio {added / est_mb:.3f}", flush=True)
    met = bool(rows) and not missing and all(abs(r["ratio"] - 1) <= TOLERANCE for r in rows)
    result = {"rows": rows, "not_run": missing, "tolerance": TOLERANCE, "met": met,
              "worst_ratio": max((r["ratio"] for r in rows), key=lambda x: abs(x - 1), default=None)}
    write_result("memory", result)
    if missing:
        raise SystemExit("rows not run: " + "; ".join(missing))
    if not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
