"""The `rightfit` command line.

Light by design: `rightfit --help`, `rightfit version` and the advisor commands never import
torch, transformers, peft or sentence-transformers (a test holds this). Heavy modules are
imported inside the commands that need them.
"""

from __future__ import annotations

import json
import sys

import click

from rightfit import __version__, ui
from rightfit.errors import UserError
from rightfit.files import unwritable


class RightfitGroup(click.Group):
    """Turns a user's mistake anywhere below into one sentence on stderr and exit code 2: a
    UserError, a bad option or argument (click's usage errors), and a file that cannot be
    written (disk full, no permission, a folder where a file should be)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"rightfit: error: {e.message}", err=True)
        except click.UsageError as e:
            name = e.ctx.command_path if e.ctx is not None else "rightfit"
            click.echo(f"rightfit: error: {e.format_message().rstrip('.')} (see `{name} --help`).", err=True)
        except OSError as e:
            message = unwritable(e)
            if message is None:
                raise
            click.echo(f"rightfit: error: {message}", err=True)
        ctx.exit(2)

    def list_commands(self, ctx):  # keep the order we registered them in
        return list(self.commands)


@click.group(cls=RightfitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or progress messages.")
def main(quiet: bool) -> None:
    """rightfit: RAG, LoRA, full fine-tuning or distillation -- which one, for you, with proof.

    Answer a questionnaire (ask), get a ranked recommendation (advise), then build and measure
    the candidates on a task suite (run) and render a report for stakeholders (report).
    """
    ui.set_quiet(quiet)
    ui.silence_library_noise()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def version(as_json: bool) -> None:
    """Print rightfit's version and the Python it runs on."""
    info = {"rightfit": __version__, "python": sys.version.split()[0]}
    click.echo(json.dumps(info) if as_json else f"rightfit {__version__} (Python {info['python']})")


def _register() -> None:
    from advisor.cli import advise, ask
    from harness.basemodels.cli import base
    from harness.cli import bench, run
    from harness.suites.cli import suites
    from reports.cli import agree, report
    for cmd in (ask, advise, suites, base, run, report, agree, bench, version):
        main.add_command(cmd)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
