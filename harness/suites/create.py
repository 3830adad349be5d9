"""`rightfit suites new`: turn a folder of text/markdown files and a QA JSONL into a suite.

Every field of the user's rows that the suite format knows is kept as given (tasks/FORMAT.md;
``source`` is accepted for a single ``sources`` entry); a field it does not know is refused with
its file:line and the names it accepts. A gold source or kind the user gave is never replaced;
where one is missing it is inferred (harness/suites/golds.py) and the row says so in
``"inferred"``. Documents keep their type (.md or .txt).

The suite is written to a temporary folder next to its destination, validated, then renamed
into place, so a failed run never leaves a half-written suite behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.suites.golds import GoldFinder, detect_language, seen_in_training
from harness.suites.read import DOC_ID
from harness.suites.rules import QUESTION_ROW, ROWS
from rightfit.errors import UserError
from rightfit.files import (
    atomic_write,
    check_writable_folder,
    decode_utf8,
    json_type,
    parse_jsonl,
    publish_dir,
)

DOC_SUFFIXES = {".md": ".md", ".markdown": ".md", ".txt": ".txt", ".text": ".txt"}  # file type -> stored as
# The fields a user's row may carry: the format's own, plus the spellings `suites new` translates
QA_FIELDS = (*QUESTION_ROW, "source")
TRAIN_FIELDS = (*ROWS["train.jsonl"], "question", "answer")
PROBE_FIELDS = tuple(ROWS["probes/questions.jsonl"])


@dataclass
class NewSuiteReport:
    """What `suites new` did, for the summary it prints."""

    path: Path
    language: str
    docs: int
    questions: int
    sources_given: int      # questions whose gold sources the user gave
    sources_inferred: int   # questions whose gold source was inferred (marked "inferred" in test.jsonl)
    kinds_inferred: int     # questions whose kind was inferred
    train: int
    kinds: dict[str, int]
    probes: str             # "suite (N questions)", "general" (bundled) or "none"
    renamed_docs: dict[str, str] = field(default_factory=dict)  # original relative path -> doc id, where they differ


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


@dataclass
class UserDocs:
    texts: dict[str, str]     # doc id -> text
    names: dict[str, str]     # every name a row may use for a doc (relative path with and without
                              # extension, file name, stem) -> doc id
    suffix: dict[str, str]    # doc id -> ".md" | ".txt", the file type it is stored as

    def resolve(self, path: Path, line: int, name: str, field: str) -> str:
        if name in self.names or name in self.texts:
            return self.names.get(name, name)
        raise UserError(f"{path}:{line}: {field} '{name}' is not a file in the docs folder; use a file name "
                        "from --docs.")


def read_docs(folder: Path) -> UserDocs:
    """The text files under `folder` (recursively; hidden ones skipped, empty ones too)."""
    if not folder.is_dir():
        raise UserError(f"--docs {folder}: not a folder; give a folder of .md/.txt files.")
    docs = UserDocs({}, {}, {})
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        text = _read_text(path, "document")
        if not text.strip():
            continue
        doc_id = _doc_id(rel, set(docs.texts))
        docs.texts[doc_id] = text
        docs.suffix[doc_id] = DOC_SUFFIXES[path.suffix.lower()]
        for alias in (rel.as_posix(), rel.name, rel.stem, rel.with_suffix("").as_posix()):
            docs.names.setdefault(alias, doc_id)
    if not docs.texts:
        raise UserError(f"--docs {folder}: no non-empty .md or .txt files found; add the documents there.")
    return docs


def read_jsonl(path: Path, what: str, allowed: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line, object) rows of a user JSONL file; a bad line or an unknown field is a UserError naming it."""
    rows = []
    for number, row, why in parse_jsonl(_read_text(path, what)):
        if row is None:
            raise UserError(f"{path}:{number}: {why}.")
        unknown = [k for k in row if k not in allowed]
        if unknown:
            raise UserError(f"{path}:{number}: unknown field '{unknown[0][:60]}'; a row of the {what} may have "
                            f"{', '.join(allowed)} (tasks/FORMAT.md).")
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
    if kind is list and not all(isinstance(v, str) and v.strip() for v in value):
        raise UserError(f"{path}:{line}: field '{name}' must be a list of non-empty strings.")
    return value


def _optional(path: Path, line: int, row: dict, name: str, kind: type) -> dict:
    """{name: value} when the row has the field (checked), else {}: absent fields stay absent."""
    return {name: _field(path, line, row, name, kind)} if name in row else {}


def _ids(path: Path, line: int, row: dict, seen: dict[str, int]) -> dict:
    if "id" not in row:
        return {}
    given = row["id"]
    row_id = str(given) if isinstance(given, int) and not isinstance(given, bool) else _field(path, line, row, "id", str)
    if row_id in seen:
        raise UserError(f"{path}:{line}: duplicate id '{row_id}' (also line {seen[row_id]}); ids must be unique.")
    seen[row_id] = line
    return {"id": row_id}


def read_train(path: Path, docs: UserDocs) -> list[dict]:
    """Training pairs in the Alpaca shape ({"question", "answer"} rows are accepted too), with
    their optional id and doc_ids kept."""
    pairs, seen = [], {}
    for line, row in read_jsonl(path, "training file", TRAIN_FIELDS):
        if "instruction" not in row and "question" in row:
            if "output" in row:
                raise UserError(f"{path}:{line}: a row has either instruction/output or question/answer; "
                                "not both.")
            row = {**{k: v for k, v in row.items() if k not in ("question", "answer")},
                   "instruction": row["question"], "output": row.get("answer")}
        extra = row.get("input", "")  # may be empty: most pairs have no separate input
        if not isinstance(extra, str):
            raise UserError(f"{path}:{line}: field 'input' must be a string, got {json_type(extra)}.")
        pair = {**_ids(path, line, row, seen), "instruction": _field(path, line, row, "instruction", str),
                "input": extra, "output": _field(path, line, row, "output", str)}
        if "doc_ids" in row:
            pair["doc_ids"] = [docs.resolve(path, line, n, "doc_ids names")
                               for n in _field(path, line, row, "doc_ids", list)]
        pairs.append(pair)
    return pairs


def _given_sources(qa: Path, line: int, row: dict, docs: UserDocs) -> list[str] | None:
    """The gold sources the row gives ("sources": [...] or "source": "..."), as doc ids; None when it gives none."""
    if "source" in row and "sources" in row:
        raise UserError(f"{qa}:{line}: the row has both 'source' and 'sources'; keep one.")
    if "source" in row:
        names = [_field(qa, line, row, "source", str)]
    elif "sources" in row:
        names = _field(qa, line, row, "sources", list, [])
    else:
        return None
    return list(dict.fromkeys(docs.resolve(qa, line, n, "source") for n in names))


def build_questions(qa: Path, docs: UserDocs, train: list[dict]) -> list[dict]:
    """test.jsonl rows from the user's QA file: every known field kept, golds and kinds inferred
    only where missing (and listed in the row's "inferred")."""
    rows, seen = [], {}
    finder = None
    for line, row in read_jsonl(qa, "QA file", QA_FIELDS):
        question = _field(qa, line, row, "question", str)
        answer = _field(qa, line, row, "answer", str)
        aliases = _field(qa, line, row, "aliases", list, [])
        kind = row.get("kind")
        if kind is not None and kind not in ("seen", "docs_only", "general"):
            raise UserError(f"{qa}:{line}: kind '{kind}' is not one of seen, docs_only, general.")
        inferred = list(_field(qa, line, row, "inferred", list, []))
        sources = _given_sources(qa, line, row, docs)
        if sources is None:
            if kind == "general":
                sources = []
            else:
                finder = finder or GoldFinder(docs.texts)
                sources = finder.gold(question, [answer, *aliases])
                if not sources:
                    raise UserError(f"{qa}:{line}: no document contains the answer '{answer[:80]}'; add "
                                    "\"source\": \"<file name>\" or \"kind\": \"general\" to this row.")
                inferred.append("sources")
        if kind is None and not train:
            kind = "docs_only"  # without training pairs no fact can be seen in training: not a guess
        elif kind is None:
            kind = "seen" if seen_in_training(question, [answer, *aliases], train) else "docs_only"
            inferred.append("kind")
        out = {"id": _ids(qa, line, row, seen).get("id", ""), "question": question, "answer": answer,
               "aliases": aliases, "sources": sources, "kind": kind,
               **_optional(qa, line, row, "evidence", str)}
        if inferred:
            out["inferred"] = list(dict.fromkeys(inferred))
        rows.append((line, out))
    taken = {r["id"] for _, r in rows if r["id"]}
    for line, r in rows:  # rows without an id get q<line>, unless a user's id already took it
        if not r["id"]:
            r["id"] = next(c for c in (f"q{line}", *(f"q{line}-{n}" for n in range(2, 10 ** 6))) if c not in taken)
            taken.add(r["id"])
    return [r for _, r in rows]


def read_probes(path: Path) -> tuple[list[dict], str | None]:
    """The user's own probes: a JSONL of questions (probes/questions.jsonl shape) or a folder
    holding questions.jsonl and/or heldout.txt. Returns (rows, held-out text)."""
    if path.is_dir():
        questions, heldout = path / "questions.jsonl", path / "heldout.txt"
        if not questions.is_file() and not heldout.is_file():
            raise UserError(f"--probes {path}: the folder has neither questions.jsonl nor heldout.txt; add one.")
        rows = _probe_rows(questions) if questions.is_file() else []
        return rows, _read_text(heldout, "held-out text") if heldout.is_file() else None
    return _probe_rows(path), None


def _probe_rows(path: Path) -> list[dict]:
    rows, seen = [], {}
    for line, row in read_jsonl(path, "probe file", PROBE_FIELDS):
        out = {**_ids(path, line, row, seen), "question": _field(path, line, row, "question", str),
               "answer": _field(path, line, row, "answer", str)}
        for name, kind in (("aliases", list), ("choices", list), ("sources", list), ("kind", str),
                           ("topic", str), ("evidence", str)):
            out.update(_optional(path, line, row, name, kind))
        out.setdefault("id", f"p{line}")
        rows.append(out)
    return rows


def make_suite(name: str, docs_dir: Path, qa: Path, train_file: Path | None, language: str | None,
               out: Path, force: bool, probes: str = "general", heldout: Path | None = None) -> NewSuiteReport:
    """Build suite `name` under `out` from user files; see the `suites new` command.

    Args:
        probes: "general" (the bundled general probes of the suite's language), "none", or the
            path of the user's own probes (read_probes).
        heldout: a text file of held-out domain text (heldout.txt: domain perplexity).

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
    docs = read_docs(docs_dir)
    train = read_train(train_file, docs) if train_file else []
    questions = build_questions(qa, docs, train)
    own_probes, general_text = read_probes(Path(probes)) if probes not in ("general", "none") else ([], None)
    domain_text = _read_text(heldout, "held-out text") if heldout else None
    language = language or detect_language(docs.texts)
    parts = ["docs", "test"] + (["train"] if train else []) + (["heldout"] if domain_text else []) \
        + (["probes"] if own_probes or general_text else [])
    card = {"name": name, "version": "1.0.0", "language": language,
            "description": f"Built by `rightfit suites new` from {docs_dir} and {qa.name}.",
            "generator": {"tool": "rightfit suites new", "docs": str(docs_dir), "qa": str(qa),
                          **({"train": str(train_file)} if train_file else {})},
            "parts": parts, "probes": "suite" if "probes" in parts else probes}
    files = {"suite.yaml": yaml.safe_dump(card, sort_keys=False, allow_unicode=True),
             **{f"docs/{d}{docs.suffix[d]}": text for d, text in docs.texts.items()},
             "test.jsonl": _jsonl(questions), "train.jsonl": _jsonl(train) if train else None,
             "heldout.txt": domain_text, "probes/questions.jsonl": _jsonl(own_probes) if own_probes else None,
             "probes/heldout.txt": general_text}
    _publish(name, out, dest, {k: v for k, v in files.items() if v is not None}, validate_suite)
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    first_name = {}  # the relative path of each file is its first name (see read_docs)
    for orig, doc_id in docs.names.items():
        first_name.setdefault(doc_id, orig)
    renamed = {orig: doc_id for doc_id, orig in first_name.items() if Path(orig).with_suffix("").as_posix() != doc_id}
    inferred = [q.get("inferred", []) for q in questions]
    return NewSuiteReport(
        dest, language, len(docs.texts), len(questions),
        sources_given=sum(1 for q, i in zip(questions, inferred) if q["sources"] and "sources" not in i),
        sources_inferred=sum("sources" in i for i in inferred), kinds_inferred=sum("kind" in i for i in inferred),
        train=len(train), kinds=kinds,
        probes=f"suite ({len(own_probes)} questions)" if "probes" in parts else probes, renamed_docs=renamed)


def _publish(name: str, out: Path, dest: Path, files: dict[str, str], validate) -> None:
    """Write `files` (relative path -> text) into a temporary folder under `out`, validate it as
    a suite and rename it to `dest`; on any failure nothing is left behind."""
    check_writable_folder(out, f"--out {out}")
    made = [p for p in (out, *out.parents) if not p.exists()]  # removed again if the suite is not written
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out))
    published = False
    try:
        for rel, text in files.items():
            atomic_write(tmp / rel, text)
        problems = validate(tmp)
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


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _make_readable(folder: Path) -> None:
    """Temp files and folders are created private (0600/0700); a suite is shared data."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
