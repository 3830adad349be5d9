"""`rightfit suites list | show | validate | new`: the task suites (tasks/FORMAT.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.suites import (
    PARTS,
    TASKS_DIR,
    bundled_suites,
    find_suite,
    load_suite,
    read_suite,
)
from rightfit.errors import UserError


@click.group()
def suites() -> None:
    """List, show, validate and create task suites (tasks/<name>/, format in tasks/FORMAT.md)."""


def _summary(suite) -> dict:
    return {"name": suite.name, "version": suite.version, "language": suite.language,
            "path": str(suite.path), "description": suite.description,
            "parts": [p for p in PARTS if suite.has(p)], "counts": suite.counts(),
            "probes_from": suite.probes_from or "none", "inferred_sources": len(inferred_sources(suite))}


def _probes_text(suite) -> str:
    if not suite.probes_from:
        return "none (forgetting is n/a)"
    where = "its own probes/" if suite.probes_from == "suite" else f"the bundled {suite.probes_from} set"
    return f"{len(suite.probes)} questions from {where}" + (", with held-out text" if suite.general_text else "")


@suites.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List the bundled suites under tasks/ with language, version and part counts."""
    rows = []
    for path in bundled_suites():
        suite, problems = read_suite(path)
        if suite is None:
            rows.append({"name": path.name, "path": str(path), "valid": False, "problems": len(problems),
                         "first_problem": str(problems[0])})
        else:
            rows.append({**_summary(suite), "valid": True})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No bundled suites under tasks/ yet.")
    for row in rows:
        if not row["valid"]:
            n = row["problems"]
            click.echo(f"{row['name']:<20} INVALID ({n} problem{'s' if n != 1 else ''}; "
                       f"`rightfit suites validate {row['name']}` lists them)")
            continue
        c = row["counts"]
        click.echo(f"{row['name']:<20} {row['language']}  v{row['version']:<8} {c['docs']:>6} docs "
                   f"{c['train']:>6} train {c['test']:>5} test  parts: {', '.join(row['parts'])}")


@suites.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(name: str, as_json: bool) -> None:
    """Show a suite's card, part counts and a sample question, training pair and doc.

    NAME is a suite under tasks/ or a folder path.
    """
    suite = load_suite(name)
    sample = {"test": suite.test[0], "train": suite.train[0] if suite.train else None,
              "doc": next(({"id": k, "text": v[:300]} for k, v in suite.docs.items()), None)}
    info = {**_summary(suite), "card": suite.card, "sample": sample}
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{suite.name} v{suite.version} ({suite.language}) at {suite.path}")
    if suite.description:
        click.echo(f"  {suite.description}")
    click.echo("  " + ", ".join(f"{k}: {v}" for k, v in suite.counts().items()))
    kinds: dict[str, int] = {}
    for q in suite.test:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    click.echo("  test kinds: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    if suite.style:
        click.echo(f"  style: {suite.style.get('description') or suite.style}")
    click.echo(f"  probes: {_probes_text(suite)}")
    guessed = inferred_sources(suite)
    if guessed:
        click.echo(f"  gold sources inferred by `suites new`: {len(guessed)} of {len(suite.test)} questions")
    q = sample["test"]
    click.echo(f"  sample question [{q['kind']}]: {q['question']} -> {q['answer']} (sources: {', '.join(q['sources']) or '-'})")
    if sample["train"]:
        click.echo(f"  sample training pair: {sample['train']['instruction']} -> {sample['train']['output']}")
    if sample["doc"]:
        first_line = sample["doc"]["text"].strip().splitlines()[0]
        click.echo(f"  sample doc {sample['doc']['id']}: {first_line}")


@suites.command()
@click.argument("paths", nargs=-1)
@click.option("--strict", is_flag=True, help="Also fail on gold sources `suites new` inferred (not given by you).")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], strict: bool) -> None:
    """Check suites and print every problem as `file:line: message` (exit 2 if any).

    PATHS are suite folders or names under tasks/; none means every bundled suite. A suite whose
    questions carry inferred gold sources is noted (failed with --strict).
    """
    folders = [find_suite(p) for p in paths] if paths else bundled_suites()
    if not folders:
        click.echo("No bundled suites under tasks/ to validate.")
        return
    bad = 0
    for folder in folders:
        suite, problems = read_suite(folder)
        if suite is not None and strict:
            problems = inferred_problems(suite)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad += 1
            click.echo(f"FAIL {folder}: {len(problems)} problem{'s' if len(problems) > 1 else ''}", err=True)
        else:
            c = suite.counts()
            click.echo(f"OK {folder} ({suite.name} v{suite.version}, {suite.language}: {c['docs']} docs, "
                       f"{c['train']} train, {c['test']} test)")
            guessed = inferred_sources(suite)
            if guessed:
                click.echo(f"  note: {len(guessed)} of {c['test']} questions have a gold source rightfit inferred "
                           f"(test.jsonl \"inferred\"); check them (`--strict` fails on them)")
    if bad:
        ctx.exit(2)


def inferred_sources(suite) -> list[dict]:
    """Test questions whose gold sources `suites new` inferred rather than read from the user."""
    return [q for q in suite.test if "sources" in q.get("inferred", [])]


def inferred_problems(suite) -> list:
    """An inferred gold source as a problem (for `validate --strict`), with its line in test.jsonl."""
    from harness.suites import Problem
    lines = {}
    for number, line in enumerate((suite.path / "test.jsonl").read_text(encoding="utf-8").split("\n"), 1):
        if line.strip():
            lines.setdefault(json.loads(line).get("id"), number)
    return [Problem(str(suite.path / "test.jsonl"), lines.get(q["id"]),
                    f"gold source {', '.join(q['sources'])} was inferred, not given; confirm it and remove "
                    f"\"sources\" from \"inferred\", or correct it") for q in inferred_sources(suite)]


@suites.command()
@click.argument("name")
@click.option("--docs", "docs_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of .md/.txt documents (searched recursively): the knowledge base.")
@click.option("--qa", required=True, type=click.Path(path_type=Path),
              help='JSONL of test questions: {"question", "answer"} + optional "id", "aliases", "source" (a file '
                   'name) or "sources" (file names), "kind" (seen | docs_only | general), "evidence" (the '
                   'passage stating the answer, verbatim).')
@click.option("--train", "train_file", type=click.Path(path_type=Path),
              help='Optional JSONL of training pairs: {"instruction", "input", "output"} or {"question", "answer"}, '
                   '+ optional "id", "doc_ids".')
@click.option("--probes", default="general", show_default=True,
              help="General probes for forgetting: 'general' (the bundled set of the suite's language), 'none', "
                   "or your own: a JSONL of questions (+ optional \"choices\") or a folder with questions.jsonl "
                   "and/or heldout.txt.")
@click.option("--heldout", type=click.Path(path_type=Path),
              help="Optional text file of held-out domain text (domain perplexity, over-fitting).")
@click.option("--language", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the text (default: detected from the docs).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder to create the suite in (default: the repo's tasks/).")
@click.option("--force", is_flag=True, help="Replace an existing suite of the same name.")
def new(name: str, docs_dir: Path, qa: Path, train_file: Path | None, probes: str, heldout: Path | None,
        language: str | None, out: Path | None, force: bool) -> None:
    """Turn your own documents and questions into a suite NAME.

    Every field your rows carry that the suite format knows is kept; an unknown field is refused.
    A question without "source"/"sources" gets as gold source the doc that contains the answer
    (when several do, the one whose passage around the answer shares the most question words);
    without "kind", a question whose answer a matching training pair states is "seen", else
    "docs_only". Each guess is marked in test.jsonl ("inferred": ["sources", "kind"]).
    """
    from harness.suites.create import make_suite
    for flag, path in (("--docs", docs_dir), ("--qa", qa), ("--train", train_file), ("--heldout", heldout),
                       ("--probes", None if probes in ("general", "none") else Path(probes))):
        if path is not None and not path.exists():
            raise UserError(f"{flag} {path}: no such file or folder; check the path.")
    report = make_suite(name, docs_dir, qa, train_file, language, out or TASKS_DIR, force, probes, heldout)
    kinds = ", ".join(f"{v} {k}" for k, v in report.kinds.items())
    click.echo(f"Wrote suite {name} ({report.language}) to {report.path}: {report.docs} docs, "
               f"{report.questions} test questions ({kinds}), {report.train} training pairs.")
    click.echo(f"Gold sources: {report.sources_given} given, {report.sources_inferred} inferred (the doc "
               f"containing the answer; among several, the one whose passage around it shares most words with "
               f"the question), {report.questions - report.sources_given - report.sources_inferred} none "
               f"(general questions).")
    if report.kinds_inferred:
        click.echo(f"Kinds inferred for {report.kinds_inferred} questions (seen when a training pair states the "
                   f"answer, else docs_only).")
    if report.sources_inferred or report.kinds_inferred:
        click.echo('Inferred fields are listed in each row\'s "inferred" in test.jsonl; check them, or give '
                   '"source" and "kind" in your QA file.')
    probes_text = {"general": f"the bundled general probes ({report.language})", "none": "none (forgetting n/a)"}
    click.echo(f"Probes for forgetting: {probes_text.get(report.probes, report.probes)}.")
    for orig, doc_id in report.renamed_docs.items():
        click.echo(f"  doc {orig} -> id {doc_id}")
    click.echo(f"Next: rightfit suites show {report.path}")


@suites.command()
@click.argument("suite")
@click.option("--lm-eval", "lm_eval_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write the lm-eval task into (as DIR/rightfit_<suite>/; lm-eval's --include_path DIR).")
@click.option("--model", help="Render the prompts as rightfit renders them for this model (a local folder or a cached "
                              "Hugging Face id): its chat template, its end of turn. Default: the plain format of a "
                              "model without a chat template.")
@click.option("--max-new-tokens", type=click.IntRange(1, 4096), default=None,
              help="Tokens an answer may take (default: the suite's, as `rightfit run` decodes).")
@click.option("--trust-remote-code", is_flag=True, help="Allow the model's repository to run its own code (tokenizer).")
def export(suite: str, lm_eval_dir: Path, model: str | None, max_new_tokens: int | None,
           trust_remote_code: bool) -> None:
    """Write SUITE's test questions as an lm-evaluation-harness task.

    The task renders rightfit's prompts, decodes greedily with rightfit's stop rule and scores
    exact match with rightfit's normalisation, from local files only. Then, offline:

    \b
      rightfit suites export --lm-eval lmeval-tasks shopco-en-tiny [--model MODEL]
      lm-eval run --model hf --model_args pretrained=MODEL[,peft=ADAPTER] \\
          --include_path lmeval-tasks --tasks rightfit_shopco_en_tiny --log_samples --output_path lmeval-out
      rightfit suites import --lm-eval lmeval-out RUN_DIR --name my-model
    """
    from harness.lmeval.export import export_task, task_name
    from harness.modeling.prompts import Prompter

    loaded = load_suite(suite)
    tokenizer = None
    if model:
        from harness.config import load_config
        from harness.modeling.load import load_tokenizer
        overrides = ["trust_remote_code=true"] if trust_remote_code else []
        tokenizer = load_tokenizer(model, load_config(None, overrides))
    tokens = max_new_tokens or loaded.answer_tokens
    folder = export_task(loaded, lm_eval_dir, Prompter(tokenizer, loaded.system), tokens, model)
    name = task_name(loaded.name)
    click.echo(f"Wrote the lm-eval task {name} ({len(loaded.test)} questions of {loaded.name} v{loaded.version}, "
               f"{'prompts for ' + model if model else 'plain prompts'}, answers up to {tokens} tokens) to {folder}.")
    click.echo(f"Next: lm-eval run --model hf --model_args pretrained=MODEL --include_path {lm_eval_dir} "
               f"--tasks {name} --log_samples --output_path OUT")


@suites.command("import")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--lm-eval", "samples", required=True, type=click.Path(path_type=Path),
              help="lm-eval's samples_<task>_<time>.jsonl (from --log_samples) of an exported task, or the "
                   "--output_path folder holding it.")
@click.option("--name", default="lm-eval", show_default=True, help="The candidate's name in the run.")
def import_(run_dir: Path, samples: Path, name: str) -> None:
    """Add a model lm-eval evaluated on an exported suite to RUN_DIR as one more candidate.

    Its answers are scored by rightfit (the same metrics, confidence intervals and paired tests as
    the run's candidates; lm-eval's own exact_match is checked question by question). Then
    `rightfit report RUN_DIR` shows it beside the others.
    """
    from harness.lmeval.samples import agreement, import_samples

    record = import_samples(samples, run_dir, name)
    same, scored, differ = agreement(record)
    em = record["metrics"]["test.em"]["value"]
    click.echo(f"Added candidate {name} to {run_dir}: rightfit's EM {em:.3f} on {len(record['examples'])} "
               f"questions, paired with every candidate of the run.")
    if scored:
        click.echo(f"lm-eval's exact_match equals rightfit's on {same} of {scored} questions"
                   + (f" (differs on {', '.join(differ[:5])}{', ...' if len(differ) > 5 else ''})." if differ else "."))
    click.echo(f"Next: rightfit report {run_dir}")
