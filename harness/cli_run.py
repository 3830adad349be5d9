"""`rightfit run` and `rightfit bench` (issues 5-6 bring them)."""

from __future__ import annotations

import click

from harness.errors import UserError


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
@click.option("--run-id", help="Name of the run directory under runs_dir (default: a timestamp).")
@click.option("--dry-run", is_flag=True, help="Resolve and write the config, env and lock, build nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def run(config, overrides, run_id, dry_run, as_json) -> None:
    """Build the candidates of a plan and evaluate them (training lands with issues #5-#6).

    CONFIG is a YAML run configuration; OVERRIDES are key=value pairs such as train.lr=1e-4.
    With --dry-run it resolves the configuration and writes runs/<run-id>/ without training.
    """
    import json

    from harness.config import load_config
    from harness.records import RunDir

    # A first argument with '=' is an override, not a file.
    if config and "=" in config:
        overrides, config = (config, *overrides), None
    cfg = load_config(config, list(overrides))
    if not dry_run:
        raise UserError("building candidates is not built yet (issues #5-#6); use --dry-run to check a config.")
    with RunDir(cfg.runs_dir, run_id) as rd:
        rd.write_config(cfg)
        rd.write_env([cfg.seed + i for i in range(cfg.seeds)])
    out = {"run_dir": str(rd.path), "candidates": cfg.candidates}
    click.echo(json.dumps(out) if as_json else f"wrote {rd.path}")


@click.command()
def bench() -> None:
    """Benchmarks as ratios, JSON under bench/results/ (not built yet: issue #6 brings it)."""
    raise UserError("`rightfit bench` is not built yet; issue #6 brings it.")
