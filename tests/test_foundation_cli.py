"""CLI surface, the no-heavy-import rule, run records and the run-directory lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.records import RunDir, load_run
from rightfit import __version__
from rightfit.cli import main
from rightfit.errors import UserError

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "sentence_transformers")


def test_help_lists_every_subcommand_with_its_docstring():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("ask", "advise", "suites", "run", "report", "bench", "version"):
        assert f"  {name} " in result.output, name
        cmd = main.commands[name]
        assert cmd.help and cmd.help.split("\n")[0].strip()[:20] in result.output.replace("\n", " ")


def test_version_plain_and_json():
    runner = CliRunner()
    assert runner.invoke(main, ["version"]).output.startswith(f"rightfit {__version__}")
    data = json.loads(runner.invoke(main, ["version", "--json"]).output)
    assert data["rightfit"] == __version__


@pytest.mark.parametrize("argv", [["--help"], ["version"], ["ask", "--help"], ["advise", "--help"],
                                  ["suites", "--help"], ["run", "--help"], ["report", "--help"]])
def test_light_commands_do_not_import_heavy_modules(argv):
    code = textwrap.dedent(f"""
        import sys
        from rightfit.cli import main
        try:
            main({argv!r}, standalone_mode=False)
        except SystemExit:
            pass
        print("HEAVY=" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", f"heavy imports for {argv}: {out.stdout}"


def test_advise_on_example_does_not_import_heavy_modules():
    example = REPO / "advisor" / "examples" / "support-bot.yaml"
    assert example.exists()
    code = textwrap.dedent(f"""
        import sys
        from rightfit.cli import main
        try:
            main(["advise", {str(example)!r}], standalone_mode=False)
        except SystemExit:
            pass
        print("HEAVY=" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_console_script_runs():
    exe = Path(sys.executable).parent / "rightfit"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Commands:" in out.stdout


def test_run_records_round_trip(tmp_path):
    with RunDir(tmp_path, "r1") as rd:
        rd.write_env([0, 1])
        rd.write_record({"candidate": "lora@seed1", "technique": "lora", "seed": 1,
                         "metrics": {"em": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 40,
                                            "higher_is_better": True}}})
    run = load_run(tmp_path / "r1")
    assert run["env"]["seeds"] == [0, 1]
    assert run["env"]["packages"]["rightfit"] == __version__
    (rec,) = run["records"]
    assert rec["metrics"]["em"]["value"] == 0.5 and rec["run_id"] == "r1" and rec["schema_version"] == 1
    assert (tmp_path / "r1" / "records" / "lora@seed1.json").exists()
    # no temp files left behind
    assert not [p for p in (tmp_path / "r1").rglob("*.tmp")]


def test_load_run_on_wrong_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a run directory"):
        load_run(tmp_path)


def test_second_run_on_same_dir_is_refused_then_stale_lock_taken_over(tmp_path):
    # A real second process holds the lock...
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from harness.records import RunDir
        with RunDir({str(tmp_path)!r}, "shared"):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(main, ["run", "--dry-run", "--run-id", "shared", f"runs_dir={tmp_path}"])
        assert result.exit_code == 2
        assert "another rightfit process" in result.output and str(holder.pid) in result.output
    finally:
        holder.kill()
        holder.wait()
    # ...then it is killed: its lock file stays, no process holds it, the next run takes it over
    # and clears the half-written run the killed one left.
    assert (tmp_path / ".shared.lock").exists() and (tmp_path / ".shared.partial").is_dir()
    with RunDir(tmp_path, "shared") as rd:
        assert rd.stale_lock_taken_over and rd.stale_lock_taken_over["pid"] == holder.pid
        assert json.loads(rd.lock_path.read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".shared.lock").exists() and not (tmp_path / ".shared.partial").exists()
    assert (tmp_path / "shared" / "records").is_dir()


def test_ci_script_runs_make_test_only():
    text = (REPO / ".ci" / "run").read_text()
    commands = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1].strip() == "make test"
    assert "set -euo pipefail" in text and "|| true" not in text


def test_bench_rejects_an_unknown_benchmark_and_every_listed_script_exists():
    from harness.cli import BENCHMARKS
    result = CliRunner().invoke(main, ["bench", "--only", "nope"])
    assert result.exit_code == 2 and "nope" in result.output and "cold_start" in result.output
    missing = [s for s in BENCHMARKS.values() if not (REPO / "bench" / s).exists()]
    assert missing == []
