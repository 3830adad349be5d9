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
            "parts": [p for p in PARTS if suite.has(p)], "counts": suite.counts()}


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
    q = sample["test"]
    click.echo(f"  sample question [{q['kind']}]: {q['question']} -> {q['answer']} (sources: {', '.join(q['sources']) or '-'})")
    if sample["train"]:
        click.echo(f"  sample training pair: {sample['train']['instruction']} -> {sample['train']['output']}")
    if sample["doc"]:
        first_line = sample["doc"]["text"].strip().splitlines()[0]
        click.echo(f"  sample doc {sample['doc']['id']}: {first_line}")


@suites.command()
@click.argument("paths", nargs=-1)
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Check suites and print every problem as `file:line: message` (exit 2 if any).

    PATHS are suite folders or names under tasks/; none means every bundled suite.
    """
    folders = [find_suite(p) for p in paths] if paths else bundled_suites()
    if not folders:
        click.echo("No bundled suites under tasks/ to validate.")
        return
    bad = 0
    for folder in folders:
        suite, problems = read_suite(folder)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad += 1
            click.echo(f"FAIL {folder}: {len(problems)} problem{'s' if len(problems) > 1 else ''}", err=True)
        else:
            c = suite.counts()
            click.echo(f"OK {folder} ({suite.name} v{suite.version}, {suite.language}: {c['docs']} docs, "
                       f"{c['train']} train, {c['test']} test)")
    if bad:
        ctx.exit(2)


@suites.command()
@click.argument("name")
@click.option("--docs", "docs_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of .md/.txt documents (searched recursively): the knowledge base.")
@click.option("--qa", required=True, type=click.Path(path_type=Path),
              help='JSONL of test questions: {"question", "answer"} + optional "aliases", "sources" '
                   '(file names), "kind" (seen | docs_only | general), "id".')
@click.option("--train", "train_file", type=click.Path(path_type=Path),
              help='Optional JSONL of training pairs: {"instruction", "input", "output"} or {"question", "answer"}.')
@click.option("--language", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the text (default: detected from the docs).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder to create the suite in (default: the repo's tasks/).")
@click.option("--force", is_flag=True, help="Replace an existing suite of the same name.")
def new(name: str, docs_dir: Path, qa: Path, train_file: Path | None, language: str | None,
        out: Path | None, force: bool) -> None:
    """Turn your own documents and questions into a suite NAME.

    Questions without "sources" get the doc that contains the answer as gold source (the one
    sharing most words with the question when several do); without "kind", a question whose
    answer a matching training pair states is "seen", else "docs_only".
    """
    from harness.suites.create import make_suite
    for flag, path in (("--docs", docs_dir), ("--qa", qa), ("--train", train_file)):
        if path is not None and not path.exists():
            raise UserError(f"{flag} {path}: no such file or folder; check the path.")
    report = make_suite(name, docs_dir, qa, train_file, language, out or TASKS_DIR, force)
    kinds = ", ".join(f"{v} {k}" for k, v in report.kinds.items())
    click.echo(f"Wrote suite {name} ({report.language}) to {report.path}: {report.docs} docs, "
               f"{report.questions} test questions ({kinds}), {report.train} training pairs.")
    click.echo(f"Gold sources filled by finding the answer in the docs: {report.sources_filled} of "
               f"{report.questions} questions.")
    for orig, doc_id in report.renamed_docs.items():
        click.echo(f"  doc {orig} -> id {doc_id}")
    click.echo(f"Next: rightfit suites show {report.path}")


@suites.command()
@click.argument("suite")
@click.option("--lm-eval", "lm_eval_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write the lm-eval task into (as DIR/rightfit_<suite>/; lm-eval's --include_path DIR).")
@click.option("--model", help="Render the prompts as rightfit prompts this model (a local folder or a cached "
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
      rightfit suites export --lm-eval lmeval-tasks shopco-en-tiny
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
