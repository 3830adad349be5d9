"""The questionnaire (advisor/questionnaire.yaml) and the answers checked against it.

Answers come from a YAML file (`rightfit advise`) or from typed text (`rightfit ask`); both go
through :func:`check_value`, so a value is accepted or refused the same way everywhere. Every
refusal is a :class:`~rightfit.errors.UserError`: one sentence naming the file (and line), the
question and the values it allows.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from rightfit.errors import UserError
from rightfit.settings import shown

HERE = Path(__file__).resolve().parent
QUESTIONNAIRE = HERE / "questionnaire.yaml"
YES = {"y", "yes", "true", "1", "是", "对"}
NO = {"n", "no", "false", "0", "否", "不"}


@functools.lru_cache(maxsize=None)
def load_questionnaire(path: str = str(QUESTIONNAIRE)) -> dict[str, dict]:
    """Question id -> question, in file order. The defaults are checked against the types."""
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    questions = {q["id"]: q for q in data["questions"]}
    for q in questions.values():
        check_value(q, q["default"], f"{path}: default")
    return questions


def tr(entry: Any, lang: str) -> str:
    """The `lang` text of a {en, zh} entry (English when the language is missing)."""
    if isinstance(entry, dict):
        return str(entry.get(lang) or entry.get("en", ""))
    return "" if entry is None else str(entry)


def allowed(q: dict) -> str:
    """The values a question accepts, in words."""
    kind = q["type"]
    if kind == "choice":
        return "one of " + ", ".join(q["choices"])
    if kind == "yesno":
        return "yes or no"
    if kind == "scale":
        return "an integer from 1 to 5"
    return f"a number from {q['min']:g} to {q['max']:g}"


def check_value(q: dict, value: Any, where: str) -> Any:
    """The value if `q` accepts it (ints widened to float for numbers), else UserError."""
    kind, ok = q["type"], False
    if kind == "choice":
        ok = isinstance(value, str) and value in q["choices"]
    elif kind == "yesno":
        if isinstance(value, str) and value.strip().lower() in YES | NO:
            value = value.strip().lower() in YES
        ok = isinstance(value, bool)
    elif kind == "scale":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and q["min"] <= value <= q["max"]
        value = float(value) if ok else value
    if not ok:
        raise UserError(f"{where}: question '{q['id']}' got {shown(value)}, but it takes {allowed(q)}; fix the answer.")
    return value


def parse_text(q: dict, text: str) -> Any:
    """A typed answer -> a value (choices also by number, 1-based). Raises UserError."""
    text = text.strip()
    if q["type"] == "choice" and text.isdigit() and 1 <= int(text) <= len(q["choices"]):
        text = q["choices"][int(text) - 1]
    value: Any = text
    if q["type"] in ("scale", "number"):
        try:
            value = int(text) if q["type"] == "scale" else float(text)
        except ValueError:
            pass
    return check_value(q, value, "your answer")


def load_answers(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Read and check an answers file.

    Returns:
        (every question id -> value, in questionnaire order; ids that took their default)

    Raises:
        UserError: missing or empty file, malformed YAML, not a mapping, unknown question id,
            a value of the wrong type, out of range or not among the choices.
    """
    from rightfit.files import load_yaml

    questions = load_questionnaire()
    data, lines = load_yaml(path)
    if data is None:
        raise UserError(f"{path}: the file is empty; write one 'question_id: answer' per line "
                        f"(questions: {', '.join(questions)}) or run `rightfit ask -o {path}`.")
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of 'question_id: answer' at the top level, "
                        f"not a {type(data).__name__}; fix the YAML.")
    answers = {}
    for key, value in data.items():
        where = f"{path}:{lines[str(key)]}" if str(key) in lines else str(path)
        if key not in questions:
            raise UserError(f"{where}: unknown question id '{key}'; the questions are {', '.join(questions)}.")
        answers[key] = check_value(questions[key], value, where)
    return complete(answers)


def complete(partial: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Fill missing answers with defaults (answers given in code, e.g. the golden cases)."""
    questions = load_questionnaire()
    for key, value in partial.items():
        if key not in questions:
            raise UserError(f"unknown question id '{key}'; the questions are {', '.join(questions)}.")
        check_value(questions[key], value, "answers")
    full = {qid: partial[qid] if qid in partial else q["default"] for qid, q in questions.items()}
    return full, [qid for qid in questions if qid not in partial]
