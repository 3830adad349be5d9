"""What a valid suite looks like: the card's fields, each JSONL file's row shape, and the
links between parts (sources -> doc ids, canaries -> train.jsonl only).

The shapes are tables (data, not code); :func:`check_card`, :func:`check_rows` and
:func:`check_links` read them and add a :class:`~harness.suites.read.Problem` per defect.
"""

from __future__ import annotations

import json

from harness.suites.read import SuiteReader
from rightfit.files import json_type

PARTS = ("docs", "test", "train", "heldout", "updates", "probes", "canaries", "style")
LANGUAGES = ("en", "zh")

# field -> (type, required). "text": non-empty string; "str": any string; "list": list of
# non-empty strings. Optional fields missing from a row get "" or [] so consumers can rely on them.
# "evidence": the passage of a source doc that states the answer, verbatim (checked when given);
# "inferred": the fields `suites new` guessed rather than read from the user (INFERABLE).
QUESTION_ROW = {"id": ("text", True), "question": ("text", True), "answer": ("text", True),
                "aliases": ("list", False), "sources": ("list", True), "kind": ("text", True),
                "evidence": ("str", False), "inferred": ("list", False)}
ROWS = {
    "train.jsonl": {"instruction": ("text", True), "input": ("str", False), "output": ("text", True),
                    "id": ("text", False), "doc_ids": ("list", False)},
    "test.jsonl": QUESTION_ROW,
    "updates/test_updated.jsonl": QUESTION_ROW,
    "probes/questions.jsonl": {**QUESTION_ROW, "sources": ("list", False), "kind": ("text", False),
                               "choices": ("list", False), "topic": ("text", False)},
    "canaries.jsonl": {"id": ("text", True), "prefix": ("text", True), "secret": ("text", True)},
}
INFERABLE = ("sources", "kind")  # what `suites new` may fill in for a question
KINDS = {"test.jsonl": ("seen", "docs_only", "general"),
         "updates/test_updated.jsonl": ("updated", "unchanged"),
         "probes/questions.jsonl": ("general",)}
DEFAULT_KIND = {"probes/questions.jsonl": "general"}

# card key -> (type, required); "mapping" is a YAML mapping
CARD = {"name": ("text", True), "version": ("text", True), "language": ("text", True),
        "description": ("str", False), "licence": ("str", False), "license": ("str", False),
        "generator": ("mapping", False), "parts": ("list", False), "style": ("mapping", False),
        "system": ("str", False), "answers": ("text", False), "max_new_tokens": ("int", False),
        "probes": ("text", False)}
# where a suite's general probes come from (card `probes`): its own probes/ folder, the bundled
# general-knowledge set of its language or of a named one (tasks/general-probes/), or none
PROBE_SOURCES = ("suite", "general", "general-en", "general-zh", "none")
ANSWER_STYLES = ("short", "free")  # a short fact (exact match) or a free-form reply (the reference contained)
STYLE = {"description": ("str", False), "starts_with": ("text", False), "ends_with": ("text", False),
         "required_terms": ("list", False), "forbidden_terms": ("list", False)}
STYLE_RULES = ("starts_with", "ends_with", "required_terms", "forbidden_terms")


def _type_error(value, kind: str) -> str | None:
    """Why `value` is not of `kind`, or None when it is."""
    if kind in ("text", "str"):
        if not isinstance(value, str):
            return f"must be a string, got {json_type(value)}"
        if kind == "text" and not value.strip():
            return "must not be empty"
    elif kind == "list":
        if not isinstance(value, list):
            return f"must be a list of strings, got {json_type(value)}"
        bad = [v for v in value if not isinstance(v, str) or not v.strip()]
        if bad:
            return f"must hold only non-empty strings, got {json.dumps(bad[0], ensure_ascii=False)}"
    elif kind == "mapping" and not isinstance(value, dict):
        return f"must be a mapping (key: value lines), got {json_type(value)}"
    elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8192):
        return f"must be a whole number from 1 to 8192, got {json.dumps(value, default=str)}"
    return None


def _check_fields(data: dict, spec: dict, say) -> dict:
    """`data` with defaults filled in; calls say(field, message) for each bad field."""
    clean = dict(data)
    for name, (kind, required) in spec.items():
        if name not in data:
            if required:
                say(name, f"missing field '{name}'")
            clean[name] = {"list": [], "mapping": {}}.get(kind, "")
            continue
        why = _type_error(data[name], kind)
        if why:
            say(name, f"field '{name}' {why}")
    return clean


def check_rows(reader: SuiteReader, rel: str, rows: list[tuple[int, dict]],
               shape: str | None = None) -> list[tuple[int, dict]]:
    """Check each row of a JSONL part against its shape; return (line, row with defaults).

    Args:
        shape: the ROWS entry the file follows when its path is not that entry's (a bundled
            probe set's questions.jsonl has the shape of probes/questions.jsonl).
    """
    rel_shape = shape or rel
    spec, kinds = ROWS[rel_shape], KINDS.get(rel_shape)
    clean_rows, seen_ids = [], {}
    for line, row in rows:
        problems_before = len(reader.problems)
        clean = _check_fields(row, spec, lambda _f, msg, line=line: reader.add(rel, line, msg))
        if kinds and not clean.get("kind") and rel_shape in DEFAULT_KIND:
            clean["kind"] = DEFAULT_KIND[rel_shape]
        if kinds and isinstance(clean.get("kind"), str) and clean["kind"] and clean["kind"] not in kinds:
            reader.add(rel, line, f"kind '{clean['kind']}' is not one of {', '.join(kinds)}")
        row_id = clean.get("id")
        if isinstance(row_id, str) and row_id:
            if row_id in seen_ids:
                reader.add(rel, line, f"duplicate id '{row_id}' (also line {seen_ids[row_id]}); ids must be unique")
            seen_ids.setdefault(row_id, line)
        inferred = clean.get("inferred")
        if isinstance(inferred, list):
            for name in inferred:
                if name not in INFERABLE:
                    reader.add(rel, line, f"inferred lists '{name}'; only {', '.join(INFERABLE)} can be inferred")
        choices = clean.get("choices")
        if choices and isinstance(choices, list) and clean.get("answer") not in choices:
            reader.add(rel, line, "the answer is not among 'choices'; add it to the choices")
        if len(reader.problems) == problems_before:
            clean_rows.append((line, clean))
    return clean_rows


def check_card(reader: SuiteReader, card: dict) -> dict:
    """Check suite.yaml's fields and style rule; return the card with defaults filled in."""
    lines = reader.card_lines

    def say(key: str, message: str) -> None:
        reader.add("suite.yaml", lines.get(key, 1 if key in card else None), message)

    if isinstance(card.get("version"), (int, float)) and not isinstance(card["version"], bool):
        say("version", f"field 'version' must be a string; quote it: version: \"{card['version']}\"")
        card = {**card, "version": str(card["version"])}  # reported once, not again as mistyped
    clean = _check_fields(card, CARD, say)
    for key in card:
        if key not in CARD:
            say(key, f"unknown card field '{key}'; known: {', '.join(CARD)} (put extra details under generator:)")
    if isinstance(card.get("language"), str) and card["language"] not in LANGUAGES:
        say("language", f"language '{card['language']}' is not supported; use en or zh")
    if isinstance(card.get("answers"), str) and card["answers"] not in ANSWER_STYLES:
        say("answers", f"answers '{card['answers']}' is not one of {', '.join(ANSWER_STYLES)}")
    if isinstance(card.get("probes"), str) and card["probes"] not in PROBE_SOURCES:
        say("probes", f"probes '{card['probes']}' is not one of {', '.join(PROBE_SOURCES)} (suite = the suite's "
                      "own probes/ folder, general = the bundled probes of its language)")
    if isinstance(card.get("parts"), list):
        for part in card["parts"]:
            if isinstance(part, str) and part not in PARTS:
                say("parts", f"parts lists '{part}', which is not a part name; use {', '.join(PARTS)}")
    style = card.get("style")
    if isinstance(style, dict):
        clean["style"] = _check_fields(style, STYLE, lambda f, msg: say(f"style.{f}", f"style: {msg}"))
        for key in style:
            if key not in STYLE:
                say(f"style.{key}", f"style: unknown rule '{key}'; known: {', '.join(STYLE)}")
        if not any(style.get(rule) for rule in STYLE_RULES):
            say("style", f"style has no checkable rule; give at least one of {', '.join(STYLE_RULES)}")
        both = set(_strings(style.get("required_terms"))) & set(_strings(style.get("forbidden_terms")))
        if both:
            say("style", f"style: '{sorted(both)[0]}' is both required and forbidden")
    return clean


def _squash(text: str) -> str:
    """Whitespace runs as one space: evidence quoted from a wrapped page still matches it."""
    return " ".join(text.split())


def _strings(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def check_links(reader: SuiteReader, parts: dict) -> None:
    """Cross-part checks: doc ids exist, required parts present, canaries planted only in training.

    Args:
        parts: the suite's pieces as read: "docs", "updated_docs" (id -> (file, text)),
            "train", "test", "test_updated", "probes", "canaries" ((line, row) lists),
            "card" (checked card) and "present" (part name -> whether its files exist).
    """
    # ids of docs already reported as unreadable count as known, so one defect is one problem
    docs = {**dict.fromkeys(reader.unreadable_docs), **parts["docs"]}
    updated = parts["updated_docs"]
    after_update = {**docs, **updated}
    link_sets = [("train.jsonl", parts["train"], "doc_ids", docs),
                 ("test.jsonl", parts["test"], "sources", docs),
                 ("updates/test_updated.jsonl", parts["test_updated"], "sources", after_update),
                 ("probes/questions.jsonl", parts["probes"], "sources", after_update)]
    for rel, rows, key, known in link_sets:
        if reader.escapes("docs") or not docs:
            break  # no docs (or an escaping folder) is reported once; every citation is not a second problem
        for line, row in rows:
            for doc_id in row[key]:
                if doc_id not in known:
                    reader.add(rel, line, f"{key} names unknown doc id '{doc_id}'; "
                                          f"it must be a file name (without extension) in docs/")
            if key == "sources" and not row[key] and row.get("kind") in ("seen", "docs_only", "updated"):
                reader.add(rel, line, "sources is empty; list the doc id(s) that hold the answer")
            evidence = _squash(row.get("evidence") or "")
            cited = [known[d] for d in row.get("sources", []) if known.get(d) is not None]
            if evidence and cited and not any(evidence in _squash(text) for _, text in cited):
                reader.add(rel, line, "the evidence is not in its source doc(s); quote the passage verbatim "
                                      "or fix sources")
    if not parts["train"] and any(row["kind"] == "seen" for _, row in parts["test"]):
        line = next(line for line, row in parts["test"] if row["kind"] == "seen")
        reader.add("test.jsonl", line, "kind 'seen' needs the fact in train.jsonl, but the suite has no "
                                       "training pairs; add train.jsonl or use kind 'docs_only'")
    if parts["test_updated"] and not updated:
        reader.add("updates/test_updated.jsonl", None, "there are no updated docs in updates/docs/ for "
                                                       "these questions to follow; add them")
    _check_parts_listed(reader, parts)
    _check_canaries(reader, parts)


def _check_parts_listed(reader: SuiteReader, parts: dict) -> None:
    listed = parts["card"].get("parts")
    if not isinstance(listed, list):
        return
    for part in listed:  # docs and test are required and reported as missing on their own
        if part in PARTS and part not in ("docs", "test") and not parts["present"][part]:
            reader.add("suite.yaml", reader.card_lines.get("parts"),
                       f"parts lists '{part}' but the suite has no such part; add it or remove it from parts")


def _check_canaries(reader: SuiteReader, parts: dict) -> None:
    """A canary's secret must be in train.jsonl and nowhere a candidate could be asked or retrieve it."""
    canaries = parts["canaries"]
    if not canaries:
        return
    train_text = "\n".join(" ".join((r["instruction"], r["input"], r["output"])) for _, r in parts["train"])
    asked = [(rel, line, " ".join([r["question"], r["answer"], *r["aliases"], *r.get("choices", [])]))
             for rel in ("test.jsonl", "updates/test_updated.jsonl", "probes/questions.jsonl")
             for line, r in parts[{"test.jsonl": "test", "updates/test_updated.jsonl": "test_updated",
                                   "probes/questions.jsonl": "probes"}[rel]]]
    docs = list(parts["docs"].values()) + list(parts["updated_docs"].values())  # (file, text)
    for line, canary in canaries:
        secret = canary["secret"]
        if secret not in train_text:
            reader.add("canaries.jsonl", line, f"canary '{canary['id']}' is not planted: its secret does not "
                                               "appear in train.jsonl; add a training pair that contains it")
        for rel, q_line, text in asked:
            if secret in text:
                reader.add(rel, q_line, f"contains the secret of canary '{canary['id']}'; canaries must never "
                                        "be asked, remove it from this question")
        for rel, text in docs:
            if secret in text:
                reader.add(rel, None, f"contains the secret of canary '{canary['id']}'; canaries belong "
                                      "in train.jsonl only, remove it from the doc")

