"""Advisor commands: `rightfit ask` (interactive questionnaire) and `rightfit advise` (recommendation).

Both stay light: yaml, click and the advisor's own modules only (no torch), so advise starts in
well under a second.
"""

from __future__ import annotations

import click

from rightfit.errors import UserError

LANG = click.Choice(["en", "zh"])


def _ask_one(q: dict, index: int, total: int, lang: str):
    """Ask one question until the answer is valid; `?` prints its help."""
    from advisor.questionnaire import parse_text, tr
    from advisor.render import show

    click.echo(f"\n[{index}/{total}] {tr(q['text'], lang)}")
    if q["type"] == "choice":
        width = max(map(len, q["choices"]))
        for i, choice in enumerate(q["choices"], 1):
            label = tr(q.get("labels", {}).get(choice), lang)
            click.echo(f"  {i}. {choice:<{width}}  {label if label != choice else ''}".rstrip())
    elif q["type"] == "scale":
        click.echo(f"  1 = {tr(q['low'], lang)}; 5 = {tr(q['high'], lang)}")
    elif q["type"] == "number":
        click.echo(f"  ({q['min']:g}-{q['max']:g} {tr(q.get('unit'), lang)})")
    hint = {"en": "answer, or ? for help", "zh": "请回答，输入 ? 查看说明"}[lang]
    while True:
        raw = click.prompt(f"  {q['id']} [{hint}]", default=show(q["default"], lang), show_default=True)
        if raw.strip() in ("?", "？"):
            click.echo(f"  {tr(q['help'], lang)}")
            continue
        try:
            return parse_text(q, raw)
        except UserError as e:
            click.echo(f"  {e.message}")


@click.command()
@click.option("-o", "--output", default="answers.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the answers.")
@click.option("--lang", type=LANG, default="en", show_default=True, help="Language of the questions.")
def ask(output: str, lang: str) -> None:
    """Answer the advisor's questionnaire, one question at a time; writes an answers file.

    Each question shows its default (press Enter to take it); type ? for help. Choices can be
    answered by name or number. Invalid answers are asked again. Then run `rightfit advise FILE`.
    """
    import yaml

    from advisor.questionnaire import load_questionnaire
    from rightfit.files import atomic_write

    questions = load_questionnaire()
    answers = {qid: _ask_one(q, i, len(questions), lang) for i, (qid, q) in enumerate(questions.items(), 1)}
    header = "# Answers to the rightfit questionnaire (rightfit ask). Next: rightfit advise this-file\n"
    atomic_write(output, header + yaml.safe_dump(answers, sort_keys=False, allow_unicode=True))
    click.echo(f"\nwrote {output}; next: rightfit advise {output}")


@click.command()
@click.argument("answers_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the plan plus fired rules and what-if).")
@click.option("--lang", type=LANG, default="en", show_default=True, help="Language of reasons and caveats.")
@click.option("-o", "--output", "plan_path", type=click.Path(dir_okay=False),
              help="Write the plan that `rightfit run --plan` builds.")
@click.option("--model-size", type=click.FloatRange(min=0.001, max=2000), default=None,
              help="Model size in billions for the resource estimate [default: the answer to model_size_b].")
@click.option("--gpu-gb", type=click.FloatRange(min=0), default=None,
              help="GPU memory in GB for the estimate [default: from the answer to gpu].")
@click.option("--seq-len", type=click.IntRange(min=1), default=512, show_default=True, help="Tokens per sequence.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Sequences per step.")
def advise(answers_file, as_json, lang, plan_path, model_size, gpu_gb, seq_len, batch) -> None:
    """Rank the adaptation techniques for an answers file, with reasons, caveats, what-if and a resource estimate.

    Missing answers take the question's default and the output says which. With -o it writes
    the plan (candidates to build, priorities, checks, estimate) for `rightfit run --plan`.
    """
    import json

    import yaml

    from advisor.plan import advise as build_advice
    from advisor.questionnaire import load_answers
    from advisor.render import render
    from rightfit.files import atomic_write

    answers, defaults_used = load_answers(answers_file)
    advice = build_advice(answers, defaults_used, lang, model_size=model_size, gpu_gb=gpu_gb,
                          seq_len=seq_len, batch=batch)
    plan = advice["plan"].to_dict()
    if plan_path:
        atomic_write(plan_path, yaml.safe_dump(plan, sort_keys=False, allow_unicode=True))
    if as_json:  # the plan's fields, then what the advice adds (fired rules, what-if, derived facts)
        extra = {k: v for k, v in advice.items() if k != "plan"}
        click.echo(json.dumps({**plan, **extra}, ensure_ascii=False, indent=1))
    else:
        click.echo(render(advice, answers_file))
    if plan_path and not as_json:
        click.echo(f"\nwrote {plan_path}")
