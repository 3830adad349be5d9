"""The questionnaire (advisor/questionnaire.yaml) and the answers checked against it.

Answers come from a YAML file (`rightfit advise`), from typed text (`rightfit ask`) or from a
command-line flag (`--gpu-gb`); all go through :func:`check_value`, so a value is accepted or
refused the same way everywhere. Every refusal is a :class:`~rightfit.errors.UserError`: one
sentence, in the user's language, naming the file (and line), the question and the values it
allows. Whole numbers stay whole (`model_size_b: 7`, never `7.0`).
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

MESSAGES = {
    "bad_value": ("{where}: question '{id}' got {value}, but it takes {allowed}; fix the answer.",
                  "{where}：问题 '{id}' 的回答是 {value}，但它只接受{allowed}；请修改回答。"),
    "one_of": ("one of {choices}", "以下之一：{choices}"),
    "yes_no": ("yes or no", "是或否（yes/no）"),
    "scale": ("an integer from 1 to 5", "1 到 5 的整数"),
    "number": ("a number from {min:g} to {max:g}", "{min:g} 到 {max:g} 之间的数"),
    "integer": ("a whole number from {min:g} to {max:g}", "{min:g} 到 {max:g} 之间的整数"),
    "unknown": ("{where}: unknown question id '{id}'; the questions are {ids}.",
                "{where}：未知的问题 id '{id}'；可用的问题有 {ids}。"),
    "retired": ("{where}: {text}.", "{where}：{text}。"),
    "empty": ("{path}: the file is empty; write one 'question_id: answer' per line (questions: {ids}) or run "
              "`rightfit ask -o {path}`.", "{path}：文件是空的；请每行写一个 'question_id: answer'（问题：{ids}），"
              "或运行 `rightfit ask -o {path}`。"),
    "not_mapping": ("{path}: expected a mapping of 'question_id: answer' at the top level, not a {kind}; fix the YAML.",
                    "{path}：顶层应是 'question_id: answer' 的映射，而不是 {kind}；请修改 YAML。"),
    "missing": ("{path}: file not found; check the path.", "{path}：找不到文件；请检查路径。"),
    "folder": ("{path}: is a directory; pass an answers file (rightfit ask writes one).",
               "{path}：这是一个目录；请传入回答文件（可用 rightfit ask 生成）。"),
    "not_utf8": ("{path}: not UTF-8 text (byte {at}); save the file as UTF-8.",
                 "{path}：不是 UTF-8 文本（第 {at} 字节）；请另存为 UTF-8。"),
    "malformed": ("{path}{line}: malformed YAML ({problem}); fix it there.",
                  "{path}{line}：YAML 格式错误（{problem}）；请在该处修改。"),
    "answer": ("your answer", "你的回答"),
}


def message(key: str, lang: str = "en", **values: Any) -> str:
    return MESSAGES[key][1 if lang == "zh" else 0].format(**values)


@functools.lru_cache(maxsize=None)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.lru_cache(maxsize=None)
def load_questionnaire(path: str = str(QUESTIONNAIRE)) -> dict[str, dict]:
    """Question id -> question, in file order. The defaults are checked against the types."""
    questions = {q["id"]: q for q in _load(path)["questions"]}
    for q in questions.values():
        check_value(q, q["default"], f"{path}: default")
    return questions


def retired(path: str = str(QUESTIONNAIRE)) -> dict:
    """{"questions": {id: {en, zh}}, "choices": {id: {value: {en, zh}}}}: answers an earlier
    questionnaire took, each with what to write instead."""
    return _load(path).get("retired") or {}


def tr(entry: Any, lang: str) -> str:
    """The `lang` text of a {en, zh} entry (English when the language is missing)."""
    if isinstance(entry, dict):
        return str(entry.get(lang) or entry.get("en", ""))
    return "" if entry is None else str(entry)


def allowed(q: dict, lang: str = "en") -> str:
    """The values a question accepts, in words."""
    kind = q["type"]
    if kind == "choice":
        return message("one_of", lang, choices=", ".join(q["choices"]))
    if kind == "yesno":
        return message("yes_no", lang)
    if kind == "scale":
        return message("scale", lang)
    return message("integer" if q.get("integer") else "number", lang, min=q["min"], max=q["max"])


def _number(value: Any) -> int | float:
    """A whole float as an int (7.0 -> 7), so answers read as they were meant."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def check_value(q: dict, value: Any, where: str, lang: str = "en") -> Any:
    """The value if `q` accepts it, else UserError (in `lang`)."""
    kind, ok = q["type"], False
    if kind == "choice":
        ok = isinstance(value, str) and value in q["choices"]
        gone = (retired().get("choices") or {}).get(q["id"], {}).get(value) if isinstance(value, str) else None
        if gone:
            raise UserError(message("retired", lang, where=where, text=tr(gone, lang)))
    elif kind == "yesno":
        if isinstance(value, str) and value.strip().lower() in YES | NO:
            value = value.strip().lower() in YES
        ok = isinstance(value, bool)
    elif kind == "scale":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and q["min"] <= value <= q["max"]
        if ok:
            value = _number(value)
            ok = isinstance(value, int) or not q.get("integer")
    if not ok:
        raise UserError(message("bad_value", lang, where=where, id=q["id"], value=shown(value),
                                allowed=allowed(q, lang)))
    return value


def parse_text(q: dict, text: str, lang: str = "en") -> Any:
    """A typed answer -> a value: a choice by name, by number (1-based) or by its label in either
    language; a number or a yes/no as typed. Raises UserError."""
    text = text.strip()
    if q["type"] == "choice":
        if text.isdigit() and 1 <= int(text) <= len(q["choices"]):
            text = q["choices"][int(text) - 1]
        by_label = {tr(label, lg).casefold(): choice for choice, label in (q.get("labels") or {}).items()
                    for lg in ("en", "zh")}
        text = by_label.get(text.casefold(), text)
    value: Any = text
    if q["type"] in ("scale", "number"):
        try:
            value = int(text) if q["type"] == "scale" else float(text)
        except ValueError:
            pass
    return check_value(q, value, message("answer", lang), lang)


def _read(path: Path, lang: str) -> tuple[Any, dict[str, int]]:
    """The answers file's YAML and its key lines; every failure one sentence in `lang`."""
    from rightfit.files import parse_yaml

    if path.is_dir():
        raise UserError(message("folder", lang, path=path))
    if not path.is_file():
        raise UserError(message("missing", lang, path=path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(message("not_utf8", lang, path=path, at=e.start)) from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UserError(message("malformed", lang, path=path, line=f":{mark.line + 1}" if mark else "",
                                problem=problem)) from None


def load_answers(path: str | Path, lang: str = "en") -> tuple[dict[str, Any], list[str]]:
    """Read and check an answers file.

    Returns:
        (every question id -> value, in questionnaire order; ids that took their default)

    Raises:
        UserError: missing or empty file, malformed YAML, not a mapping, unknown or retired
            question id, a value of the wrong type, out of range or not among the choices.
    """
    questions = load_questionnaire()
    data, lines = _read(Path(path), lang)
    if data is None:
        raise UserError(message("empty", lang, path=path, ids=", ".join(questions)))
    if not isinstance(data, dict):
        raise UserError(message("not_mapping", lang, path=path, kind=type(data).__name__))
    answers = {}
    for key, value in data.items():
        where = f"{path}:{lines[str(key)]}" if str(key) in lines else str(path)
        answers[key] = _check(key, value, where, lang)
    return complete(answers, lang)


def _check(key: Any, value: Any, where: str, lang: str) -> Any:
    questions = load_questionnaire()
    if key not in questions:
        gone = (retired().get("questions") or {}).get(key)
        if gone:
            raise UserError(message("retired", lang, where=where, text=tr(gone, lang)))
        raise UserError(message("unknown", lang, where=where, id=key, ids=", ".join(questions)))
    return check_value(questions[key], value, where, lang)


def override(answers: dict[str, Any], defaults_used: list[str], values: dict[str, Any],
             lang: str = "en") -> tuple[dict[str, Any], list[str]]:
    """Answers with `values` (question id -> value, from command-line flags) put in their place;
    each is checked like an answer, named by its flag. An overridden answer is no longer a default."""
    out = dict(answers)
    for key, value in values.items():
        out[key] = _check(key, value, f"--{key.removesuffix('_b').replace('_', '-')}", lang)
    return out, [q for q in defaults_used if q not in values]


def complete(partial: dict[str, Any], lang: str = "en") -> tuple[dict[str, Any], list[str]]:
    """Fill missing answers with defaults (answers given in code, e.g. the golden cases)."""
    questions = load_questionnaire()
    checked = {key: _check(key, value, "answers", lang) for key, value in partial.items()}
    full = {qid: checked[qid] if qid in checked else q["default"] for qid, q in questions.items()}
    return full, [qid for qid in questions if qid not in partial]
