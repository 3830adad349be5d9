"""`rightfit base build | path | random`: the self-built base models, and random stand-ins for real ones."""

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


@base.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--shape", type=click.Choice(["llama-20m", "llama-60m", "llama-134m", "qwen2-100m"]),
              default="llama-134m", show_default=True, help="A real family's layer sizes, vocabulary and context.")
@click.option("--chat", type=click.Choice(["chatml", "llama3", "none"]), default="chatml", show_default=True,
              help="The chat template its tokenizer carries (none: a plain base model).")
@click.option("--dtype", type=click.Choice(["bfloat16", "float32"]), default="bfloat16", show_default=True)
def random(folder: str, shape: str, chat: str, dtype: str) -> None:
    """Write a randomly initialised model with a real instruct model's shapes, dtype and chat
    template to FOLDER: a stand-in for your own model when trying rightfit's memory, speed and
    formats on a machine without it (its answers are noise)."""
    from harness.basemodels.random import make_random_model
    from rightfit.files import check_writable_folder
    check_writable_folder(folder, f"FOLDER '{folder}'")
    out = make_random_model(folder, shape, chat=None if chat == "none" else chat, dtype=dtype)
    click.echo(f"wrote {out} ({shape}, {dtype}, chat template: {chat})")
