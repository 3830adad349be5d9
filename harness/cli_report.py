"""`rightfit report` (issue 7 brings it)."""

import click

from harness.errors import UserError


@click.command()
@click.argument("run_dir", required=False)
def report(run_dir) -> None:
    """Render the stakeholder HTML report of a run (not built yet: issue #7 brings it)."""
    raise UserError("`rightfit report` is not built yet; issue #7 brings it.")
