"""`rightfit suites new`: turn a folder of text/markdown files and a QA JSONL into a suite.

The suite is written to a temporary folder next to its destination, validated, then renamed
into place, so a failed run never leaves a half-written suite behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.suites.read import DOC_ID
from rightfit.errors import UserError
from rightfit.files import (
    atomic_write,
    check_writable_folder,
    decode_utf8,
    json_type,
    parse_jsonl,
    publish_dir,
)

DOC_SUFFIXES = (".md", ".markdown", ".txt", ".text")


@dataclass
class NewSuiteReport:
    """What `suites new` did, for the one-paragraph summary."""

    path: Path
    language: str
    docs: int
    questions: int
    sources_filled: int  # questions whose gold sources were found by matching the answer in the docs
    train: int
    kinds: dict[str, int]
    renamed_docs: dict[str, str]  # original relative path -> doc id, where they differ


def _norm(text: str) -> str:
    """Casefolded, NFKC, whitespace collapsed: for finding an answer inside a doc."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _read_text(path: Path, what: str) -> str:
    try:
        text, line, why = decode_utf8(path.read_bytes())
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what} ({e.strerror}); check the path.") from None
    if text is None:
        raise UserError(f"{path}:{line}: {why}.")
    return text


def _doc_id(rel: Path, taken: set[str]) -> str:
    """A doc id ([A-Za-z0-9_.-]+) from a file's relative path, unique among `taken`; a name
    with no ASCII letters or digits (e.g. Chinese) becomes doc-<number>."""
    stem = rel.with_suffix("").as_posix().replace("/", "__")
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-._") or f"doc-{len(taken) + 1:03d}"
    doc_id, n = base, 2
    while doc_id in taken:
        doc_id, n = f"{base}-{n}", n + 1
    return doc_id


def read_docs(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(doc id -> text, name -> doc id) for the text files under `folder` (recursively); a file's
    names are its relative path with and without extension, its file name and its stem."""
    if not folder.is_dir():
        raise UserError(f"--docs {folder}: not a folder; give a folder of .md/.txt files.")
    docs, names = {}, {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        text = _read_text(path, "document")
        if not text.strip():
            continue
        doc_id = _doc_id(rel, set(docs))
        docs[doc_id] = text
        for alias in (rel.as_posix(), rel.name, rel.stem, rel.with_suffix("").as_posix()):
            names.setdefault(alias, doc_id)
    if not docs:
        raise UserError(f"--docs {folder}: no non-empty .md or .txt files found; add the documents there.")
    return docs, names


def read_jsonl(path: Path, what: str) -> list[tuple[int, dict]]:
    """(line, object) rows of a user JSONL file; a bad line is a UserError naming it."""
    rows = []
    for number, row, why in parse_jsonl(_read_text(path, what)):
        if row is None:
            raise UserError(f"{path}:{number}: {why}.")
        rows.append((number, row))
    if not rows:
        raise UserError(f"{path}: no rows; give one JSON object per line.")
    return rows


def _field(path: Path, line: int, row: dict, name: str, kind: type, default=None):
    value = row.get(name, default)
    if value is None:
        raise UserError(f"{path}:{line}: missing field '{name}'; every row needs it.")
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise UserError(f"{path}:{line}: field '{name}' must be a non-empty {kind.__name__}, got {json_type(value)}.")
    if kind is list and not all(isinstance(v, str) for v in value):
        raise UserError(f"{path}:{line}: field '{name}' must be a list of strings.")
    return value


def read_train(path: Path) -> list[dict]:
    """Training pairs in the Alpaca shape; {"question", "answer"} rows are accepted too."""
    pairs = []
    for line, row in read_jsonl(path, "training file"):
        if "instruction" not in row and "question" in row:
            row = {"instruction": row["question"], "input": "", "output": row.get("answer")}
        extra = row.get("input", "")  # may be empty: most pairs have no separate input
        if not isinstance(extra, str):
            raise UserError(f"{path}:{line}: field 'input' must be a string, got {json_type(extra)}.")
        pairs.append({"instruction": _field(path, line, row, "instruction", str), "input": extra,
                      "output": _field(path, line, row, "output", str)})
    return pairs


QUESTION_WORDS = {"what", "which", "when", "where", "who", "whom", "whose", "why", "how", "does", "did",
                  "the", "are", "was", "were", "can", "for", "with", "about", "many", "much", "there"}


def _words(text: str) -> set[str]:
    """Crude content words: the first 4 letters of each word longer than 2 that is not a
    question word ("returns" and "return" meet), plus each CJK character (no spaces in Chinese)."""
    words = set()
    for word in re.findall(r"\w+", _norm(text)):
        if word.isascii():
            if len(word) > 2 and word not in QUESTION_WORDS:
                words.add(word[:4])
        else:
            words.update(c for c in word if not c.isascii())
    return words


def _overlap(question: str, text: str) -> float:
    """Share of the question's content words that `text` also has (0..1)."""
    words = _words(question)
    return len(words & _words(text)) / len(words) if words else 0.0


def gold_sources(question: str, answers: list[str], docs: dict[str, str]) -> list[str]:
    """The doc that holds the answer: among docs containing it, the one sharing most question words."""
    wanted = [_norm(a) for a in answers if _norm(a)]
    holders = [d for d, text in docs.items() if any(a in _norm(text) for a in wanted)]
    if len(holders) <= 1:
        return holders
    return [max(holders, key=lambda d: _overlap(question, docs[d]))]  # ties: first id, deterministic


def seen_in_training(question: str, answers: list[str], train: list[dict]) -> bool:
    """A guess: whether a training pair states this fact. Its output holds the answer and it is
    about the same thing (30% of the question's content words appear in the pair)."""
    wanted = [_norm(a) for a in answers if _norm(a)]
    for pair in train:
        text = " ".join((pair["instruction"], pair["input"], pair["output"]))
        if any(a in _norm(pair["output"]) for a in wanted) and _overlap(question, text) >= 0.3:
            return True
    return False


def detect_language(docs: dict[str, str]) -> str:
    """"zh" when at least a fifth of the letters are CJK ideographs, else "en"."""
    text = "".join(docs.values())[:200_000]
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")
    return "zh" if letters and cjk / len(letters) >= 0.2 else "en"


def build_questions(qa: Path, docs: dict[str, str], names: dict[str, str],
                    train: list[dict]) -> tuple[list[dict], int]:
    """test.jsonl rows from the user's QA file; returns (rows, how many sources were filled)."""
    rows, filled, seen_ids = [], 0, {}
    for line, row in read_jsonl(qa, "QA file"):
        question = _field(qa, line, row, "question", str)
        answer = _field(qa, line, row, "answer", str)
        aliases = _field(qa, line, row, "aliases", list, [])
        kind = row.get("kind")
        if kind not in (None, "seen", "docs_only", "general"):
            raise UserError(f"{qa}:{line}: kind '{kind}' is not one of seen, docs_only, general.")
        if "sources" in row:
            sources = []
            for name in _field(qa, line, row, "sources", list):
                if name not in names and name not in docs:
                    raise UserError(f"{qa}:{line}: source '{name}' is not a file in the docs folder; "
                                    "use a file name from --docs.")
                sources.append(names.get(name, name))
        elif kind == "general":
            sources = []
        else:
            sources = gold_sources(question, [answer, *aliases], docs)
            if not sources:
                raise UserError(f"{qa}:{line}: no document contains the answer '{answer}'; add \"sources\": "
                                "[file names] or \"kind\": \"general\" to this row.")
            filled += 1
        if kind is None:
            kind = "seen" if seen_in_training(question, [answer, *aliases], train) else "docs_only"
        qid = str(row.get("id", f"q{line}"))
        if qid in seen_ids:
            raise UserError(f"{qa}:{line}: duplicate id '{qid}' (also line {seen_ids[qid]}); ids must be unique.")
        seen_ids[qid] = line
        rows.append({"id": qid, "question": question, "answer": answer, "aliases": aliases,
                     "sources": sources, "kind": kind})
    return rows, filled


def make_suite(name: str, docs_dir: Path, qa: Path, train_file: Path | None, language: str | None,
               out: Path, force: bool) -> NewSuiteReport:
    """Build suite `name` under `out` from user files; see the `suites new` command.

    Raises:
        UserError: a bad name, input file or row, or an existing suite without `force`.
    """
    from harness.suites import validate_suite
    if not DOC_ID.match(name):
        raise UserError(f"suite name '{name}' must use only A-Z a-z 0-9 _ . - (it becomes a folder name).")
    if name.startswith("."):
        raise UserError(f"suite name '{name}' must not start with a dot (it becomes a folder name; a dot hides "
                        f"it); start it with a letter or digit.")
    dest = out / name
    if dest.exists() and not force:
        raise UserError(f"{dest} already exists; pass --force to replace it or choose another name.")
    docs, names = read_docs(docs_dir)
    train = read_train(train_file) if train_file else []
    questions, filled = build_questions(qa, docs, names, train)
    language = language or detect_language(docs)
    parts = ["docs", "test"] + (["train"] if train else [])
    card = {"name": name, "version": "1.0.0", "language": language,
            "description": f"Built by `rightfit suites new` from {docs_dir} and {qa.name}.",
            "generator": {"tool": "rightfit suites new", "docs": str(docs_dir), "qa": str(qa),
                          **({"train": str(train_file)} if train_file else {})},
            "parts": parts}
    check_writable_folder(out, f"--out {out}")
    made = [p for p in (out, *out.parents) if not p.exists()]  # removed again if the suite is not written
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out))
    published = False
    try:
        atomic_write(tmp / "suite.yaml", yaml.safe_dump(card, sort_keys=False, allow_unicode=True))
        for doc_id, text in docs.items():
            atomic_write(tmp / "docs" / f"{doc_id}.md", text)
        atomic_write(tmp / "test.jsonl", _jsonl(questions))
        if train:
            atomic_write(tmp / "train.jsonl", _jsonl(train))
        problems = validate_suite(tmp)
        if problems:
            raise UserError(f"the new suite would be invalid: {str(problems[0]).replace(str(tmp), str(dest))}; "
                            "fix the input files.")
        _make_readable(tmp)
        publish_dir(tmp, dest)
        published = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not published:
            for folder in made:  # innermost first: the folders this call made, now empty again
                try:
                    folder.rmdir()
                except OSError:
                    break
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    # the relative path of each file is its first name (see read_docs)
    files = {}
    for orig, doc_id in names.items():
        files.setdefault(doc_id, orig)
    renamed = {orig: doc_id for doc_id, orig in files.items() if Path(orig).with_suffix("").as_posix() != doc_id}
    return NewSuiteReport(dest, language, len(docs), len(questions), filled, len(train), kinds, renamed)


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _make_readable(folder: Path) -> None:
    """Temp files and folders are created private (0600/0700); a suite is shared data."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
