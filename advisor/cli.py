"""Advisor commands: `rightfit ask` (interactive questionnaire) and `rightfit advise` (recommendation).

Both stay light: yaml, click and the advisor's own modules only (no torch), so advise starts in
well under a second. With --lang zh everything they print is Chinese, errors included.
"""

from __future__ import annotations

import click

from rightfit.errors import UserError

LANG = click.Choice(["en", "zh"])
TEXT = {
    "hint": {"en": "answer, or ? for help", "zh": "请回答，输入 ? 查看说明"},
    "ask_done": {"en": "wrote {path}; next: rightfit advise {path}",
                 "zh": "已写入 {path}；下一步：rightfit advise {path} --lang zh"},
    "header": {"en": "# Answers to the rightfit questionnaire (rightfit ask). Next: rightfit advise this-file\n",
               "zh": "# rightfit 问卷的回答（rightfit ask）。下一步：rightfit advise 本文件 --lang zh\n"},
}
# flag -> the question it overrides
SIZING_FLAGS = {"model_size": "model_size_b", "student_size": "student_size_b", "gpu_gb": "gpu_gb",
                "gpu_count": "gpu_count", "seq_len": "seq_len", "batch": "batch"}


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
    while True:
        raw = click.prompt(f"  {q['id']} [{TEXT['hint'][lang]}]", default=show(q["default"], lang), show_default=True)
        if raw.strip() in ("?", "？"):
            click.echo(f"  {tr(q['help'], lang)}")
            continue
        try:
            return parse_text(q, raw, lang)
        except UserError as e:
            click.echo(f"  {e.message}")


def _asked(q: dict, answers: dict) -> bool:
    """A question with `only_if` is asked only when the earlier answers match it."""
    return all(answers.get(k) == v for k, v in (q.get("only_if") or {}).items())


@click.command()
@click.option("-o", "--output", default="answers.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the answers.")
@click.option("--lang", type=LANG, default="en", show_default=True, help="Language of the questions.")
def ask(output: str, lang: str) -> None:
    """Answer the advisor's questionnaire, one question at a time; writes an answers file.

    Each question shows its default (press Enter to take it); type ? for help. Choices can be
    answered by name, number or label (in either language). Invalid answers are asked again.
    Then run `rightfit advise FILE`.
    """
    import yaml

    from advisor.questionnaire import load_questionnaire
    from rightfit.files import atomic_write

    questions = load_questionnaire()
    answers: dict = {}
    for i, (qid, q) in enumerate(questions.items(), 1):
        answers[qid] = _ask_one(q, i, len(questions), lang) if _asked(q, answers) else q["default"]
    atomic_write(output, TEXT["header"][lang] + yaml.safe_dump(answers, sort_keys=False, allow_unicode=True))
    click.echo("\n" + TEXT["ask_done"][lang].format(path=output))


def _number(text: str | None) -> float | str | None:
    """A flag's text as a number where it is one (the questionnaire then checks it, in the user's language)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


@click.command()
@click.argument("answers_file")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the plan plus fired rules and what-if).")
@click.option("--lang", type=LANG, default="en", show_default=True, help="Language of the advice and its errors.")
@click.option("-o", "--output", "plan_path", type=click.Path(dir_okay=False),
              help="Write the plan that `rightfit run --plan` builds.")
@click.option("--model-size", help="Overrides the answer to model_size_b (billions; for distillation the teacher).")
@click.option("--student-size", help="Overrides the answer to student_size_b (billions).")
@click.option("--gpu-gb", help="Overrides the answer to gpu_gb (memory of one GPU in GB; 0 = none).")
@click.option("--gpu-count", help="Overrides the answer to gpu_count.")
@click.option("--seq-len", help="Overrides the answer to seq_len (tokens per training example).")
@click.option("--batch", help="Overrides the answer to batch (examples per GPU per step).")
def advise(answers_file, as_json, lang, plan_path, **flags) -> None:
    """Rank the adaptation techniques for an answers file, with reasons, caveats, what-if and a resource estimate.

    Missing answers take the question's default and the output says which. The sizing flags
    replace the same answers before anything is computed, so the ranking, the estimate and the
    plan all use them. With -o it writes the plan (candidates to build, the variant each is
    built in, the run settings that assumes, priorities, checks, estimate) for `rightfit run --plan`.
    """
    import json

    import yaml

    from advisor.plan import advise as build_advice
    from advisor.questionnaire import load_answers
    from advisor.render import UI, render
    from rightfit.files import atomic_write

    answers, defaults_used = load_answers(answers_file, lang)
    overrides = {SIZING_FLAGS[name]: _number(text) for name, text in flags.items() if text is not None}
    advice = build_advice(answers, defaults_used, lang, overrides=overrides)
    plan = advice["plan"].to_dict()
    if plan_path:
        atomic_write(plan_path, yaml.safe_dump(plan, sort_keys=False, allow_unicode=True))
    if as_json:  # the plan's fields, then what the advice adds (fired rules, what-if, derived facts)
        extra = {k: v for k, v in advice.items() if k != "plan"}
        click.echo(json.dumps({**plan, **extra}, ensure_ascii=False, indent=1))
    else:
        click.echo(render(advice, answers_file))
    if plan_path and not as_json:
        click.echo("\n" + UI["wrote"][lang].format(path=plan_path))
