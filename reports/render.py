"""Render a run directory into one self-contained HTML file, plus the summary table as CSV and JSON.

Only the run records are read (harness.records.load_run); nothing is re-run. The HTML has no
external assets: CSS and SVG are inline, and a small inline script adds filtering and sorting.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from harness.records import load_run
from reports.i18n import LANGS
from rightfit.errors import UserError
from rightfit.files import atomic_write, check_writable_folder, now_iso

TEMPLATES = Path(__file__).with_name("templates")


def check_files(run_dir: Path) -> None:
    """Turn an unreadable config/env/run record into one sentence naming the file (load_run would raise raw)."""
    import yaml
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory; pass runs/<run-id> from `rightfit run`.")
    path = run_dir / "config.resolved.yaml"
    if path.exists():
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise UserError(f"{path}{where}: not valid YAML; fix or re-write the file.") from None
    for name in ("env.json", "run.json"):
        path = run_dir / name
        if not path.exists():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise UserError(f"{path}: not valid JSON ({e}); re-run or remove the file.") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: expected a JSON object; re-run to write it again.")


def default_output(run_dir: Path, lang: str) -> Path:
    """The report beside the records it renders: runs/<run-id>/report.html (report.zh.html in Chinese)."""
    return Path(run_dir) / ("report.html" if lang == "en" else f"report.{lang}.html")


def summary_rows(view: dict) -> list[dict[str, Any]]:
    """The metrics table as plain rows: the CSV/JSON export."""
    rows = []
    for rank, row in enumerate(view["table"]["rows"], 1):
        out: dict[str, Any] = {"rank": rank, "candidate": row["name"], "technique": row["technique"],
                               "weighted_score": round(row["score"], 6)}
        cols = view["table"]["cols"] + view["table"]["extra"]
        for col, cell in zip(cols, row["cells"] + row["extra_cells"]):
            out[col["name"]] = cell["value"]
            out[f"{col['name']}_ci_low"] = cell["ci_low"]
            out[f"{col['name']}_ci_high"] = cell["ci_high"]
        rows.append(out)
    return rows


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["candidate"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def render_html(view: dict) -> str:
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    return env.get_template("report.html.j2").render(r=view)


def build_report(run_dir: str | Path, out: str | Path | None = None, lang: str = "en") -> dict[str, Any]:
    """Render `run_dir` to HTML (+ CSV and JSON beside it).

    Args:
        run_dir: a run directory (runs/<run-id>) with records/<candidate>.json.
        out: the HTML path; default <run_dir>/report.html (report.zh.html in Chinese).
        lang: "en" or "zh".

    Returns:
        {"html", "csv", "json": paths, "winner", "advisor_pick", "status", "bytes"}

    Raises:
        UserError: not a run directory, unreadable files, no records, unknown language.
    """
    from reports.analysis import analyse
    if lang not in LANGS:
        raise UserError(f"--lang {lang!r} is not supported; use one of {', '.join(LANGS)}.")
    run_dir = Path(run_dir)
    check_files(run_dir)
    run = load_run(run_dir)
    view = analyse(run, lang)
    html_path = Path(out) if out else default_output(run_dir, lang)
    if html_path.exists() and html_path.is_dir():
        raise UserError(f"-o {html_path}: is a directory; give a file name such as report.html.")
    csv_path, json_path = html_path.with_suffix(".csv"), html_path.with_suffix(".json")
    view["export_names"] = {"csv": csv_path.name, "json": json_path.name}
    view["generated"] = now_iso()
    rows = summary_rows(view)
    html = render_html(view)
    export = {"run_id": run["run_id"], "winner": view["summary"]["winner"],
              "advisor_pick": view["summary"]["pick"], "status": view["summary"]["status"],
              "priorities": {p["name"]: p["weight"] for p in view["summary"]["priorities"]},
              "weights_used": view["scores"]["weights"], "metrics_per_priority": view["scores"]["metrics"],
              "quality_floor": {k: view["summary"]["floor"][k] for k in ("metric", "best", "best_candidate", "margin",
                                                                        "floor", "below")},
              "higher_is_better": {c["name"]: c["hib"] for c in view["table"]["cols"] + view["table"]["extra"]},
              "rows": rows}
    check_writable_folder(html_path.parent, f"-o {html_path}")
    written: list[Path] = []
    try:  # the three files together or none of them
        for path, text in ((html_path, html), (csv_path, _csv(rows)),
                           (json_path, json.dumps(export, indent=1, ensure_ascii=False) + "\n")):
            atomic_write(path, text)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return {"html": str(html_path), "csv": str(csv_path), "json": str(json_path),
            "winner": export["winner"], "advisor_pick": export["advisor_pick"], "status": export["status"],
            "bytes": len(html.encode("utf-8"))}
