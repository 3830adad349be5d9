"""`rightfit base build` (issue 3 brings it)."""

import click

from harness.errors import UserError


@click.group()
def base() -> None:
    """Build the self-made base models (not built yet: issue #3 brings it)."""


@base.command()
def build() -> None:
    """Train the tokenizer, teacher and student (not built yet: issue #3)."""
    raise UserError("`rightfit base build` is not built yet; issue #3 brings it.")
