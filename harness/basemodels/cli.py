"""`rightfit base build`: the self-built base models (teacher and student)."""

from __future__ import annotations

import json

import click


@click.group()
def base() -> None:
    """Build and locate the self-made base models (a teacher and a smaller student)."""


@base.command()
@click.option("--size", type=click.Choice(["tiny", "default"]), default="default", show_default=True,
              help="tiny: seconds, for tests; default: the demo's models (a few minutes on 2 cores).")
@click.option("--force", is_flag=True, help="Rebuild even when a cached build exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the build's paths and log as JSON.")
def build(size: str, force: bool, as_json: bool) -> None:
    """Train the tokenizer, the teacher and the student on the general corpus (cached by recipe hash).

    The models never see the domain suites; they are saved as ordinary Hugging Face folders
    that AutoModelForCausalLM/AutoTokenizer.from_pretrained load.
    """
    from harness.basemodels.build import ensure_base_models
    paths = ensure_base_models(size, force=force)
    log = json.loads((paths["teacher"].parent / "build.json").read_text())
    if as_json:
        click.echo(json.dumps({"teacher": str(paths["teacher"]), "student": str(paths["student"]), "log": log}))
        return
    for role in ("teacher", "student"):
        r = log[role]
        last = r["curve"][-1] if r["curve"] else {}
        click.echo(f"{role}: {paths[role]}  ({r['params'] / 1e6:.2f}M params, {r['steps']} steps, "
                   f"{r['seconds']} s, {r['tokens_per_s']} tokens/s, reading drills {last.get('drill_acc', 'n/a')}, "
                   f"closed-book {last.get('closed_acc', 'n/a')})")


@base.command()
@click.option("--size", type=click.Choice(["tiny", "default"]), default="default", show_default=True)
def path(size: str) -> None:
    """Print the folder the base models of SIZE are used from: the cache, else the committed copy
    under models/, else the cache folder a build would fill (nothing is built)."""
    from harness.basemodels.build import models_dir
    click.echo(str(models_dir(size)))
