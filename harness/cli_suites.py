"""`rightfit suites ...` (issue 3 brings them)."""

import click

from harness.errors import UserError


@click.group()
def suites() -> None:
    """List, show, validate and create task suites (not built yet: issue #3 brings them)."""


@suites.command("list")
def list_() -> None:
    """List bundled suites (not built yet: issue #3)."""
    raise UserError("`rightfit suites` is not built yet; issue #3 brings it.")
