"""Advisor commands: `rightfit ask` and `rightfit advise` (issue 4 brings them)."""

import click

from harness.errors import UserError


@click.command()
def ask() -> None:
    """Interactive questionnaire (not built yet: issue #4 brings it)."""
    raise UserError("`rightfit ask` is not built yet; issue #4 brings it.")


@click.command()
def advise() -> None:
    """Ranked recommendation from an answers file (not built yet: issue #4 brings it)."""
    raise UserError("`rightfit advise` is not built yet; issue #4 brings it.")
