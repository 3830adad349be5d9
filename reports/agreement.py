"""How often the advisor's top pick is the measured winner: one run scored under many questionnaires.

Each answers file goes through the advisor (its ranking, priorities and quality margin, exactly
what `rightfit advise -o plan.yaml` would write), and the run's records are scored under those
priorities as the report scores them (reports/scoring.py: the quality floor first, then the
weighted score). Only the candidates the project could build compete: a run made once for many
questionnaires holds techniques a given project cannot have (RAG without documents, LoRA that
does not fit its GPU), and a winner it could never build says nothing about the advice; the
table names that winner beside the one that counts. A row with fewer than two buildable
candidates is no contest and leaves the rate alone.
A disagreement carries the evidence for it: the pick was not built in the run,
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
        {"run_id", "rows": [{"questionnaire", "pick", "winner" (among the candidates the project can
         build), "overall_winner" (among all), "buildable", "status", "agree": bool | None (None: the
         pick was not built, or no contest), "why"}], "agreed", "compared", "not_built", "no_contest"}

    Raises:
        UserError: no records, or an answers file the advisor refuses (named).
    """
    from advisor.engine import evaluate
    from advisor.questionnaire import load_answers

    records = check_records(run)
    accuracy = accuracy_of(run)
    by_name = {r["candidate"]: r for r in records}
    rows = []
    for path in answer_files:
        result = evaluate(load_answers(path)[0])
        fits = {**result["fits"], "distill_control": result["fits"].get("distill", False)}
        buildable = [r for r in records if fits.get(r["technique"], False)]
        row = {"questionnaire": Path(path).stem, "pick": result["ranking"][0],
               "overall_winner": _winner(records, result, accuracy)[0]["winner"],
               "buildable": [r["candidate"] for r in buildable]}
        if not buildable:
            built = any(r["technique"] == row["pick"] for r in records)
            row.update(winner=None, status="no_contest", agree=None,
                       why=("" if built else f"{row['pick']} was not built in this run, and ")
                       + "nothing in the run can be built for it")
            rows.append(row)
            continue
        agree, floor = _winner(buildable, result, accuracy)
        row.update(winner=agree["winner"], status=agree["status"],
                   agree=agree["status"] == "agree" if agree["status"] != "pick_missing" and len(buildable) > 1
                   else None)
        if agree["status"] == "pick_missing":
            row["why"] = _why(agree, floor, by_name, accuracy)
        elif len(buildable) == 1:
            row.update(status="no_contest", why=f"only {buildable[0]['candidate']} in the run can be built for it")
        else:
            row["why"] = "" if row["agree"] else _why(agree, floor, by_name, accuracy)
        if row["overall_winner"] != row["winner"]:
            row["why"] = "; ".join(x for x in (row["why"], f"{row['overall_winner']} scores higher but cannot be "
                                               f"built for it") if x)
        rows.append(row)
    compared = [r for r in rows if r["agree"] is not None]
    return {"run_id": run["run_id"], "rows": rows, "agreed": sum(r["agree"] for r in compared),
            "compared": len(compared), "not_built": sum(r["status"] == "pick_missing" for r in rows),
            "no_contest": sum(r["status"] == "no_contest" for r in rows)}


def _winner(records: list[dict], result: dict, accuracy: str) -> tuple[dict, dict]:
    """(scoring.agreement, the quality floor) of `records` under one advisor result."""
    technique_of = {r["candidate"]: r["technique"] for r in records}
    plan = {"ranking": [{"technique": t} for t in result["ranking"]]}
    scores = scoring.weighted_scores(records, result["priorities"], accuracy)
    floor = scoring.quality_floor(records, result["quality_margin"], accuracy)
    order = scoring.ranking(scores["total"], result["ranking"], technique_of, floor["below"])
    return scoring.agreement(records, plan, scores, order, floor["below"]), floor


def render_table(table: dict) -> str:
    """The table as Markdown (it reads in a terminal and pastes into the README as it is)."""
    aside = [f"{table['not_built']} picked a technique the run did not build"] if table["not_built"] else []
    aside += [f"{table['no_contest']} had fewer than two candidates they could build"] if table["no_contest"] else []
    out = [f"Run `{table['run_id']}`: the advisor's top pick is the measured winner for "
           f"{table['agreed']} of {table['compared']} questionnaires" + (f" ({'; '.join(aside)})." if aside else "."),
           "", "| questionnaire | advisor's pick | measured winner | agree? | why (measured) |", "|---|---|---|---|---|"]
    for r in table["rows"]:
        verdict = {"pick_missing": "not built", "no_contest": "no contest"}.get(
            r["status"], "yes" if r["agree"] else "no")
        out.append(f"| {r['questionnaire']} | {r['pick']} | {r['winner'] or '–'} | {verdict} | {r['why'] or '–'} |")
    return "\n".join(out)
