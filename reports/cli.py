"""`rightfit report`: the stakeholder HTML report of a run."""

from __future__ import annotations

from pathlib import Path

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


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@click.argument("answers", nargs=-1, type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="The table as JSON.")
def agree(run_dir: str, answers: tuple[str, ...], as_json: bool) -> None:
    """Score one run under many questionnaires: how often is the advisor's pick the measured winner?

    RUN_DIR is a run directory (runs/<run-id>); ANSWERS are answers files (default: every bundled
    example under advisor/examples/). Each is run through the advisor, and the run's records are
    scored under its priorities and quality floor as `rightfit report` scores them. Prints a
    Markdown table: questionnaire, the advisor's top pick, the measured winner, whether they
    agree, and for each disagreement the measured reason.
    """
    import json

    from harness.records import load_run
    from reports.agreement import agreement_table, default_answers, render_table
    from reports.render import check_files

    check_files(Path(run_dir))
    table = agreement_table(load_run(run_dir), list(answers) or default_answers())
    click.echo(json.dumps(table, indent=1) if as_json else render_table(table))
