"""How often the advisor's top pick is the measured winner: one run scored under many questionnaires.

Each answers file goes through the advisor (its ranking, priorities and quality margin, exactly
what `rightfit advise -o plan.yaml` would write), and the run's records are scored under those
priorities as the report scores them (reports/scoring.py: the quality floor first, then the
weighted score). A disagreement carries the evidence for it: the pick was not built in the run,
the pick does not answer the suite's questions well enough (with the trained facts and the
document-only facts apart, which tell a limit of the suite from a limit of the technique), or
the priorities on which the winner gained most. Whether that evidence calls for a rule change
or marks a limit of the toy world is a judgement the README states beside the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.evaluation.metrics import format_value as fmt
from reports import scoring
from reports.analysis import accuracy_of, check_records
from rightfit.vocabulary import priority_label

EXAMPLES = Path(__file__).resolve().parents[1] / "advisor" / "examples"


def default_answers() -> list[Path]:
    """The bundled questionnaires (advisor/examples/*.yaml), in name order."""
    return sorted(EXAMPLES.glob("*.yaml"))


def _why(agree: dict, floor: dict, records: dict[str, dict], accuracy: str) -> str:
    """The measured reason for a disagreement, in one line."""
    pick, winner = agree["pick_technique"], agree["winner"]
    if agree["status"] == "pick_missing":
        return f"{pick} was not built in this run"
    if agree["pick_below_floor"]:
        m = floor["metric"]
        parts = [f"{pick} does not answer well enough: {m} {fmt(m, floor['values'][agree['pick']])} < floor "
                 f"{fmt(m, floor['floor'])} ({floor['best_candidate']} {fmt(m, floor['best'])})"]
        seen, docs = (scoring.value(records[agree["pick"]], f"test.{k}.{accuracy}") for k in ("seen", "docs_only"))
        if seen is not None and docs is not None:
            parts.append(f"trained facts {seen:.2f}, facts only in the documents {docs:.2f}")
        return "; ".join(parts)
    gains = [f"{priority_label(p)} ({fmt(m, w)} vs {fmt(m, v)})" for p, m, w, v in agree["drivers"]]
    return f"{winner} ahead on " + ("; ".join(gains) or "nothing measurable") + f" (weighted {agree['gap']:+.2f})"


def agreement_table(run: dict, answer_files: list[str | Path]) -> dict[str, Any]:
    """Score one loaded run (harness.records.load_run) under each questionnaire.

    Returns:
        {"run_id", "rows": [{"questionnaire", "pick", "winner", "winner_technique", "status",
         "agree": bool | None (None: the pick was not built), "why"}], "agreed", "compared",
         "not_built"}

    Raises:
        UserError: no records, or an answers file the advisor refuses (named).
    """
    from advisor.engine import evaluate
    from advisor.questionnaire import load_answers

    records = check_records(run)
    accuracy = accuracy_of(run)
    technique_of = {r["candidate"]: r["technique"] for r in records}
    by_name = {r["candidate"]: r for r in records}
    rows = []
    for path in answer_files:
        result = evaluate(load_answers(path)[0])
        plan = {"ranking": [{"technique": t} for t in result["ranking"]]}
        scores = scoring.weighted_scores(records, result["priorities"], accuracy)
        floor = scoring.quality_floor(records, result["quality_margin"], accuracy)
        order = scoring.ranking(scores["total"], result["ranking"], technique_of, floor["below"])
        agree = scoring.agreement(records, plan, scores, order, floor["below"])
        row = {"questionnaire": Path(path).stem, "pick": result["ranking"][0], "winner": agree["winner"],
               "winner_technique": technique_of[agree["winner"]], "status": agree["status"],
               "agree": None if agree["status"] == "pick_missing" else agree["status"] == "agree"}
        row["why"] = "" if row["agree"] else _why(agree, floor, by_name, accuracy)
        rows.append(row)
    compared = [r for r in rows if r["agree"] is not None]
    return {"run_id": run["run_id"], "rows": rows, "agreed": sum(r["agree"] for r in compared),
            "compared": len(compared), "not_built": len(rows) - len(compared)}


def render_table(table: dict) -> str:
    """The table as Markdown (it reads in a terminal and pastes into the README as it is)."""
    out = [f"Run `{table['run_id']}`: the advisor's top pick is the measured winner for "
           f"{table['agreed']} of {table['compared']} questionnaires"
           + (f" ({table['not_built']} more picked a technique the run did not build)." if table["not_built"] else "."),
           "", "| questionnaire | advisor's pick | measured winner | agree? | why (measured) |", "|---|---|---|---|---|"]
    for r in table["rows"]:
        verdict = "not built" if r["agree"] is None else ("yes" if r["agree"] else "no")
        out.append(f"| {r['questionnaire']} | {r['pick']} | {r['winner']} | {verdict} | {r['why'] or '–'} |")
    return "\n".join(out)
