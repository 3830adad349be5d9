"""`rightfit run` and `rightfit bench`."""

from __future__ import annotations

import click

from rightfit.errors import UserError


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False),
              help="An advisor plan (rightfit advise ... -o plan.yaml): its candidates are built and its "
                   "priorities choose the measured winner.")
@click.option("--suite", help="Suite name under tasks/ or a folder (same as suite=...).")
@click.option("--candidates", help="Comma list of techniques, e.g. rag,lora,full,distill.")
@click.option("--base-model", help="'default', 'tiny', a local model folder or a Hugging Face id in the local cache.")
@click.option("--seeds", type=int, help="Train each fine-tuned candidate with this many seeds and aggregate.")
@click.option("--run-id", help="Name of the run directory under runs_dir (default: a timestamp).")
@click.option("--force", is_flag=True, help="Rebuild artifacts even when cached.")
@click.option("--trust-remote-code", is_flag=True, help="Allow a model repository to run its own code.")
@click.option("--max-memory", type=float, help="Refuse to train when the estimated peak exceeds this many GB.")
@click.option("--dry-run", is_flag=True, help="Resolve and write the config, env and lock; build nothing.")
@click.option("--help-config", is_flag=True, help="List every config field with its default and help, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary on stdout.")
def run(config, overrides, plan_path, suite, candidates, base_model, seeds, run_id, force, trust_remote_code,
        max_memory, dry_run, help_config, as_json) -> None:
    """Build the candidates, evaluate them side by side, write runs/<run-id>/.

    CONFIG is an optional YAML run configuration; OVERRIDES are key=value pairs such as
    train.lr=1e-4 (--help-config lists every field). Examples:

    \b
      rightfit run --plan plan.yaml
      rightfit run --suite shopco-en --candidates rag,lora,full,distill --base-model default
      rightfit run cfg.yaml train.lr=1e-4 --seeds 3
    """
    import json
    from pathlib import Path

    from harness.config import RunConfig, load_config
    from rightfit.files import load_yaml

    if help_config:
        from rightfit.settings import describe
        for path, default, text in describe(RunConfig):
            click.echo(f"{path} = {json.dumps(default)}\n    {text}")
        return
    from harness.records import RunDir

    if config and "=" in config:  # a first argument with '=' is an override, not a file
        overrides, config = (config, *overrides), None
    base: dict = {}
    plan = plan_text = None
    if plan_path:
        from advisor.plan import Plan
        data, _ = load_yaml(plan_path)
        plan = Plan.from_dict(data, plan_path)
        plan_text = Path(plan_path).read_text(encoding="utf-8")
        base = plan_base(plan)
    flags = {"suite": suite, "candidates": candidates, "base_model": base_model, "seeds": seeds,
             "max_memory_gb": max_memory, "trust_remote_code": trust_remote_code or None}
    extra = [f"{k}={v}" for k, v in flags.items() if v is not None]
    cfg = load_config(config, extra + list(overrides), base=base, base_source=plan_path or "config")
    from harness.modeling import distributed
    from harness.records import check_run_id
    from harness.runner import preflight, run_record

    if run_id is not None:
        check_run_id(run_id)
    if not distributed.is_main():  # under `accelerate launch` process 0 writes the run; the others train beside it
        _run_beside(cfg, run_id, force)
        return
    ready = preflight(cfg, build_bases=not dry_run)  # every mistake found before anything is written
    cfg = ready.config
    with RunDir(cfg.runs_dir, run_id) as rd:
        rd.write_config(cfg)
        if plan_text is not None:
            rd.write_file("plan.yaml", plan_text)  # the input as given, for reproducing the run
        if dry_run:
            rd.write_run(run_record(cfg, ready.suite, plan))
            rd.write_env([cfg.seed + i for i in range(cfg.seeds)])
        else:
            import torch  # noqa: F401  (so env.json records torch's threads)

            from harness.runner import run_plan
            records = run_plan(cfg, rd, force=force, plan=plan, ready=ready)
            rd.write_env([cfg.seed + i for i in range(cfg.seeds)])
    if dry_run:
        out = {"run_dir": str(rd.path), "candidates": cfg.candidates, "dry_run": True, "memory": ready.memory}
        click.echo(json.dumps(out) if as_json else f"wrote {rd.path} (dry run: nothing built)")
        if not as_json:
            for line in memory_lines(ready.memory):
                click.echo(line)
        return
    accuracy = ready.suite.accuracy_metric
    from rightfit.vocabulary import default_weights
    weights = plan.priorities if plan is not None else default_weights(ready.suite.has)
    keys = summary_keys(records, accuracy, weights)
    if as_json:
        rows = [{"candidate": r["candidate"], **{k: (r["metrics"].get(k) or {}).get("value") for k in keys},
                 "context_cut": context_cut_count(r)} for r in records]
        click.echo(json.dumps({"run_dir": str(rd.path), "accuracy_metric": accuracy, "weights": weights,
                               "records": rows}))
        return
    click.echo(f"run records written to {rd.path}/records/")
    for line in summary_table(records, accuracy, weights, "plan" if plan is not None else "suite"):
        click.echo(line)


def memory_lines(memory: dict) -> list[str]:
    """The estimated peaks per candidate, as a dry run prints them (before anything loads)."""
    lines = []
    for technique, est in memory.items():
        build, ev = est.get("build"), est["eval"]
        text = f"  {technique}: evaluation ~{ev['total_gb']:.2f} GB"
        if build:
            b = build["batch"]
            text = (f"  {technique}: build ~{build['total_gb']:.2f} GB ({b['rows']} x {b['width']} tokens per step, "
                    f"{build['precision']}{', checkpointing' if build['checkpointing'] else ''}), "
                    f"evaluation ~{ev['total_gb']:.2f} GB")
        lines.append(text)
    if lines:
        lines.insert(0, f"estimated peak memory on this {next(iter(memory.values()))['eval']['device']} "
                        f"(the --max-memory guard checks these):")
    return lines


def plan_base(plan) -> dict:
    """What a plan sets in the run config, under the config file and `key=value` overrides: its
    candidates, and the settings its memory estimate assumed (train.precision,
    train.gradient_checkpointing), so the run builds the variant that was estimated."""
    from harness.config import apply_overrides
    base = apply_overrides({}, [f"{key}={str(value).lower() if isinstance(value, bool) else value}"
                                for key, value in plan.settings.items()])
    return {**base, "candidates": list(plan.candidates)}


# Summary columns: (record key with {acc} for the suite's accuracy metric, header); a column is
# shown when any candidate measured it. After them come the metrics of every priority that
# carries weight in the run (the plan's, or what the suite can measure).
SUMMARY = (("test.{acc}", "{ACC}"), ("test.seen.{acc}", "seen"), ("test.docs_only.{acc}", "docs-only"),
           ("fresh.{acc}", "fresh"), ("test.semantic", "meaning"), ("test.style", "style"),
           ("test.traceability", "traceability"), ("probes.mc_acc", "probes MC"))
HEADERS = {"forgetting.probes.em": "forgetting EM", "forgetting.probes.mc_acc": "forgetting MC",
           "probes.em": "probes EM", "privacy.leak_rate": "leak rate", "privacy.exposure": "exposure",
           "latency.p50_s": "p50 s", "latency.p95_s": "p95 s", "test.f1": "F1"}


def _measured(records: list[dict], key: str) -> bool:
    return any((r["metrics"].get(key) or {}).get("value") is not None for r in records)


def summary_keys(records: list[dict], accuracy: str, weights: dict[str, float] | None = None) -> list[str]:
    """The summary's columns: SUMMARY's, then each weighted priority's metric (the first of its
    first measured group; build cost lives in the artifact, not the metrics, and is left out)."""
    from rightfit.vocabulary import PRIORITIES, priority_metrics
    keys = [k.format(acc=accuracy) for k, _ in SUMMARY]
    for name, weight in (weights or {}).items():
        if weight <= 0 or name not in PRIORITIES:
            continue
        group = next((g for g in priority_metrics(name, accuracy) if any(_measured(records, k) for k in g)), ())
        first = next((k for k in group if _measured(records, k)), None)
        if first and first not in keys and not first.startswith("artifact."):
            keys.append(first)
    return [k for k in keys if _measured(records, k)]


def context_cut_count(record: dict) -> int:
    """Test questions whose prompt lost retrieved chunks (or text) to the model's window."""
    return sum(1 for e in record.get("examples", []) if e.get("part") == "test" and e.get("context_truncated"))


def summary_table(records: list[dict], accuracy: str, weights: dict[str, float] | None = None,
                  weights_from: str = "suite") -> list[str]:
    """The run at a glance: the suite's accuracy metric overall and per kind of question, freshness,
    style, traceability and the knowledge probes, and every metric a weighted priority reads, each
    where measured; how many questions had their context cut or dropped to fit the model's window,
    with what to change; and what the measured winner is weighed on."""
    from rightfit.vocabulary import priority_label
    headers = {**HEADERS, **{k.format(acc=accuracy): h.replace("{ACC}", accuracy.upper() if accuracy == "em"
                                                                else accuracy) for k, h in SUMMARY}}
    keys = summary_keys(records, accuracy, weights)
    cut = {r["candidate"]: context_cut_count(r) for r in records}
    widths = [max(len(headers.get(k, k)), 6) + 2 for k in keys]
    lines = [f"{'candidate':<18}" + "".join(f"{headers.get(k, k):>{w}}" for k, w in zip(keys, widths))
             + ("   context cut" if any(cut.values()) else "")]
    for r in records:
        cells = [(r["metrics"].get(k) or {}).get("value") for k in keys]
        row = f"{r['candidate']:<18}" + "".join(f"{'n/a' if v is None else f'{v:.3f}':>{w}}" for v, w in zip(cells, widths))
        if any(cut.values()):
            n = sum(1 for e in r.get("examples", []) if e.get("part") == "test")
            row += f"   {cut[r['candidate']]}/{n}" if cut[r["candidate"]] else "   -"
        lines.append(row)
    for r in records:
        note = (r["metrics"].get("test.context_cut") or {}).get("note")
        if cut[r["candidate"]]:
            lines.append(f"context cut, {r['candidate']}: " + (note or "questions whose retrieved chunks did not all "
                         "fit the model's window; lower rag.top_k or rag.chunk_size, or use a model with a longer "
                         "window") + ".")
    weighed = [priority_label(p) for p, w in (weights or {}).items() if w > 0]
    if weighed:
        source = "the plan's priorities" if weights_from == "plan" else "no plan: what the suite can measure"
        lines.append(f"the measured winner is weighed on ({source}): {', '.join(weighed)}.")
    return lines


def _run_beside(cfg, run_id, force) -> None:
    """A launch's process other than 0: the same builds (each training step needs every process)
    and evaluations, with its run records in a temporary folder that is removed afterwards."""
    import shutil
    import tempfile

    from harness.modeling import distributed
    from harness.records import RunDir
    from harness.runner import run_plan
    scratch = tempfile.mkdtemp(prefix=f"rightfit-rank{distributed.rank()}-")
    try:
        with RunDir(scratch, run_id) as rd:
            run_plan(cfg, rd, force=force)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


BENCHMARKS = {  # name -> script under bench/ (each writes bench/results/<name>.json)
    "cold_start": "cold_start.py",
    "batched_eval": "batched_eval.py",
    "perplexity_vs_lmeval": "perplexity_vs_lmeval.py",
    "train_throughput": "train_throughput.py",
    "retrieval": "retrieval.py",
    "retrieval_quality": "retrieval_quality.py",
    "rerun": "rerun.py",
    "base_build": "base_build.py",
    "eval_scaling": "eval_scaling.py",
    "memory": "memory.py",
}


@click.command()
@click.option("--only", help="Comma list of benchmarks to run: " + ", ".join(BENCHMARKS) + ".")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def bench(only, as_json) -> None:
    """Run the benchmarks; every figure is a ratio measured in the same run.

    Results are JSON files under bench/results/ (one per benchmark) plus summary.json.
    Benchmarks measure speed and memory as ratios against a baseline run alongside
    (a bare PyTorch loop, one question at a time, lm-eval, rank-bm25, the first run).
    """
    import json
    import sys
    import time

    from rightfit import REPO_ROOT
    from rightfit.files import atomic_write

    root = REPO_ROOT / "bench"
    names = [n.strip() for n in only.split(",")] if only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise UserError(f"--only has unknown benchmark(s) {', '.join(unknown)}; pick from {', '.join(BENCHMARKS)}.")
    summary_path = root / "results" / "summary.json"
    summary = {}
    if only and summary_path.exists():  # a partial run updates the rows it ran, keeps the others
        try:
            summary = json.loads(summary_path.read_text())
        except ValueError:
            summary = {}
    for name in names:
        script = root / BENCHMARKS[name]
        if not script.exists():
            summary[name] = {"status": "missing", "script": str(script)}
            continue
        t0 = time.perf_counter()
        code, last = _run_streaming([sys.executable, str(script)], root.parent)
        summary[name] = {"status": "ok" if code == 0 else f"failed (exit {code})",
                         "seconds": round(time.perf_counter() - t0, 1)}
        if code != 0:
            summary[name]["reason"] = last  # the script's last word on stderr: why it stopped
        result = root / "results" / f"{name}.json"
        if code == 0 and result.exists():
            summary[name]["result"] = json.loads(result.read_text())
            empty = _no_value(summary[name]["result"])
            if empty:  # a row without its number is an error, never a silent gap
                summary[name].update(status="failed (no value)", reason=f"no value for {', '.join(empty[:5])}")
    atomic_write(summary_path, json.dumps(summary, indent=1) + "\n")
    if as_json:
        click.echo(json.dumps(summary))
    else:
        for name, row in summary.items():
            click.echo(f"{name:<22}{row['status']:<20}{row.get('seconds', ''):<8}{_headline(row)}")
        click.echo(f"wrote {root / 'results' / 'summary.json'}")
    if any(summary[name]["status"] != "ok" for name in names):
        raise SystemExit(1)


def _run_streaming(cmd: list[str], cwd) -> tuple[int, str]:
    """Run a benchmark with its stderr passed through; (exit code, its last non-empty stderr line)."""
    import subprocess
    import sys
    proc = subprocess.Popen(cmd, cwd=cwd, stderr=subprocess.PIPE, text=True, errors="replace")
    last = ""
    for line in proc.stderr:
        sys.stderr.write(line)
        last = line.strip() or last
    return proc.wait(), last[:400]


def _no_value(result, path: str = "") -> list[str]:
    """Dotted paths of the result's fields that hold no value (None)."""
    if isinstance(result, dict):
        return [p for k, v in result.items() for p in _no_value(v, f"{path}.{k}" if path else str(k))]
    if isinstance(result, list):
        return [p for i, v in enumerate(result) for p in _no_value(v, f"{path}[{i}]")]
    return [path] if result is None else []


def _headline(row: dict) -> str:
    """What a summary line says after the status: the reason of a failure, else the benchmark's
    headline, else its top-level ratios."""
    if row.get("reason"):
        return row["reason"]
    result = row.get("result") or {}
    if result.get("headline"):
        return str(result["headline"])
    ratios = [f"{k} {v:.3g}" for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
              and any(w in k for w in ("ratio", "speedup"))]
    return ", ".join(ratios[:3])
