"""`rightfit report`: the stakeholder HTML report of a run."""

from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=str),
              help="HTML file to write (default RUN_DIR/report.html); CSV and JSON land beside it.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the written paths and the verdict as JSON.")
def report(run_dir: str, output: str | None, lang: str, as_json: bool) -> None:
    """Render the stakeholder HTML report of a run, from its records only.

    RUN_DIR is a run directory (runs/<run-id>). Writes one self-contained HTML file that opens
    offline, plus the summary table as CSV and JSON beside it, and prints the HTML path.
    """
    import json

    from reports.render import build_report

    result = build_report(run_dir, output, lang)
    click.echo(json.dumps(result) if as_json else result["html"])
