"""Task suites (tasks/FORMAT.md): find, load and validate a suite folder.

    suite = load_suite("shopco-en")          # a name under tasks/ or a folder path
    problems = validate_suite("my-suite/")   # every problem, each with file and line

Loading validates: a suite with any problem raises :class:`~rightfit.errors.UserError` naming
the first one (file:line) and pointing at `rightfit suites validate` for the full list.
Only docs/ and test.jsonl are required; a missing optional part is empty/None here, and
:meth:`Suite.has` tells the metrics whether to report n/a. The one exception is probes: a suite
without probes/ gets the bundled general-knowledge probes of its language
(tasks/general-probes/), so forgetting is measurable for every suite (the card's ``probes``
chooses: suite, general, general-en, general-zh or none).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from harness.suites.read import Problem, SuiteReader
from harness.suites.rules import PARTS, check_card, check_links, check_rows
from rightfit import REPO_ROOT
from rightfit.errors import UserError

TASKS_DIR = REPO_ROOT / "tasks"
GENERAL_PROBES = TASKS_DIR / "general-probes"  # <language>/questions.jsonl and heldout.txt

__all__ = ["Suite", "Problem", "find_suite", "load_suite", "validate_suite", "bundled_suites", "PARTS"]


@dataclass
class Suite:
    """A loaded, valid suite. Rows are plain dicts with every optional field filled in
    (aliases/sources/doc_ids = [], input = "", probe kind = "general")."""

    name: str
    version: str
    language: str                       # "en" | "zh": drives tokenisation in the metrics
    description: str
    path: Path
    card: dict
    docs: dict[str, str]                # doc id -> text
    train: list[dict] = field(default_factory=list)         # {"instruction", "input", "output", ...}
    test: list[dict] = field(default_factory=list)          # {"id", "question", "answer", "aliases", "sources", "kind"}
    updated_docs: dict[str, str] = field(default_factory=dict)  # only the changed or new docs
    test_updated: list[dict] = field(default_factory=list)  # kind "updated" | "unchanged"
    probes: list[dict] = field(default_factory=list)        # general-knowledge questions (+ "choices")
    general_text: str | None = None     # probes/heldout.txt
    domain_text: str | None = None      # heldout.txt
    canaries: list[dict] = field(default_factory=list)      # {"id", "prefix", "secret"}
    style: dict | None = None           # the card's style rule
    system: str = ""                    # the card's system message (a persona, a house style)
    answers: str = "short"              # "short" facts (scored by exact match) or "free" replies
    max_new_tokens: int = 0             # tokens an answer may take; 0 = by `answers` (short 24, free 256)
    probes_from: str = ""               # "suite" (its probes/), "general-en"/"general-zh" (bundled) or "" (none)
    probes_version: str = ""            # sha256 of the probe files: part of every evaluation's cache key

    @property
    def accuracy_metric(self) -> str:
        """The per-item metric that judges an answer of this suite: exact match for short facts,
        containment of the reference (or an alias) for free-form replies."""
        return "contains" if self.answers == "free" else "em"

    @property
    def answer_tokens(self) -> int:
        return self.max_new_tokens or (256 if self.answers == "free" else 24)

    def has(self, part: str) -> bool:
        """Whether the suite has `part` (one of PARTS), i.e. whether its metrics are not n/a."""
        present = {"docs": bool(self.docs), "test": bool(self.test), "train": bool(self.train),
                   "heldout": self.domain_text is not None,
                   "updates": bool(self.updated_docs or self.test_updated),
                   "probes": bool(self.probes) or self.general_text is not None,
                   "canaries": bool(self.canaries), "style": self.style is not None}
        if part not in present:
            raise ValueError(f"unknown suite part {part!r}; known: {', '.join(PARTS)}")
        return present[part]

    def docs_after_update(self) -> dict[str, str]:
        """The knowledge base after the update: updated ids replace, new ids add."""
        return {**self.docs, **self.updated_docs}

    def counts(self) -> dict[str, int]:
        """Rows per part, for `suites list/show`."""
        return {"docs": len(self.docs), "train": len(self.train), "test": len(self.test),
                "updated_docs": len(self.updated_docs), "test_updated": len(self.test_updated),
                "probes": len(self.probes), "canaries": len(self.canaries)}


def bundled_suites() -> list[Path]:
    """Suite folders under the repo's tasks/ (those with a suite.yaml), sorted by name."""
    if not TASKS_DIR.is_dir():
        return []
    return sorted(p for p in TASKS_DIR.iterdir() if (p / "suite.yaml").is_file())


def find_suite(name_or_path: str | Path) -> Path:
    """The folder of a suite given as a path (folder or its suite.yaml) or a name under tasks/.

    Raises:
        UserError: neither a folder nor a bundled suite name.
    """
    path = Path(name_or_path)
    if path.name == "suite.yaml" and path.is_file():
        return path.parent
    if path.is_dir():
        return path
    if path.exists():
        raise UserError(f"'{name_or_path}' is a file; give a suite folder (with suite.yaml and docs/) or a suite name.")
    bundled = TASKS_DIR / str(name_or_path)
    if "/" not in str(name_or_path) and bundled.is_dir():
        return bundled
    names = ", ".join(p.name for p in bundled_suites()) or "none yet"
    raise UserError(f"no suite '{name_or_path}': not a folder and not a bundled suite under tasks/ "
                    f"(bundled: {names}); give a suite folder path or one of those names.")


def read_suite(root: Path) -> tuple[Suite | None, list[Problem]]:
    """Read and check every part of the suite at `root`: (the Suite if no problems, problems)."""
    reader = SuiteReader(root)
    card = reader.card()
    card = check_card(reader, card) if card is not None else None
    docs = reader.docs("docs")
    if not docs and not reader.unreadable_docs and not reader.escapes("docs"):
        reader.add("docs", None, "the suite has no docs; put the knowledge base as .md/.txt files in docs/")
    updated = reader.docs("updates/docs")
    rows = {}
    for key, rel in (("train", "train.jsonl"), ("test", "test.jsonl"), ("test_updated", "updates/test_updated.jsonl"),
                     ("probes", "probes/questions.jsonl"), ("canaries", "canaries.jsonl")):
        rows[key] = check_rows(reader, rel, reader.jsonl(rel)) if reader.exists(rel) else []
    if not reader.exists("test.jsonl"):
        reader.add("test.jsonl", None, "missing; a suite needs test questions (see tasks/FORMAT.md)")
    elif not rows["test"] and not any(p.file.endswith("test.jsonl") for p in reader.problems):
        reader.add("test.jsonl", None, "has no test questions; add at least one question")
    texts = {rel: _optional_text(reader, rel) for rel in ("heldout.txt", "probes/heldout.txt")}
    probes_from = _probe_source(reader, card, language=(card or {}).get("language"))
    present = {"docs": bool(docs), "test": bool(rows["test"]), "train": reader.exists("train.jsonl"),
               "heldout": reader.exists("heldout.txt"),
               "updates": reader.exists("updates/docs") or reader.exists("updates/test_updated.jsonl"),
               "probes": reader.exists("probes/questions.jsonl") or reader.exists("probes/heldout.txt"),
               "canaries": reader.exists("canaries.jsonl"), "style": bool((card or {}).get("style"))}
    check_links(reader, {"docs": docs, "updated_docs": updated, "card": card or {}, "present": present, **rows})
    if reader.problems or card is None:
        return None, reader.problems
    plain = {key: [row for _, row in value] for key, value in rows.items()}
    general_text = texts["probes/heldout.txt"]
    if probes_from.startswith("general-"):
        plain["probes"], general_text = general_probes(probes_from.removeprefix("general-"))
    suite = Suite(name=card["name"], version=card["version"], language=card["language"],
                  description=card["description"], path=Path(root), card=card,
                  docs={k: text for k, (_, text) in docs.items()},
                  updated_docs={k: text for k, (_, text) in updated.items()},
                  domain_text=texts["heldout.txt"], general_text=general_text,
                  style=card["style"] or None, system=card.get("system") or "", answers=card.get("answers") or "short",
                  max_new_tokens=int(card.get("max_new_tokens") or 0), probes_from=probes_from, **plain)
    suite.probes_version = _digest(suite.probes, suite.general_text)
    return suite, []


def _probe_source(reader: SuiteReader, card: dict | None, language: str | None) -> str:
    """Where the suite's probes come from (Suite.probes_from), from the card's ``probes`` and
    whether the suite has a probes/ folder; a contradiction between the two is a problem."""
    own = reader.exists("probes/questions.jsonl") or reader.exists("probes/heldout.txt")
    choice = (card or {}).get("probes")
    choice = choice if isinstance(choice, str) and choice else ("suite" if own else "general")
    line = reader.card_lines.get("probes")
    if choice == "suite":
        if not own:
            reader.add("suite.yaml", line, "probes: suite, but the suite has no probes/ folder; add "
                                           "probes/questions.jsonl or use probes: general")
        return "suite"
    if choice == "none":
        return ""
    if own:
        reader.add("suite.yaml", line, f"probes: {choice}, but the suite has its own probes/ folder too; "
                                       "remove one of them (probes: suite uses the folder)")
    if choice == "general":
        choice = f"general-{language if language in ('en', 'zh') else 'en'}"
    return choice if choice in ("general-en", "general-zh") else ""


_GENERAL: dict[str, tuple[list[dict], str | None]] = {}  # language -> (questions, heldout text)


def general_probes(language: str) -> tuple[list[dict], str | None]:
    """The bundled general-knowledge probes of `language` (tasks/general-probes/<language>/):
    (question rows with defaults filled in, held-out text), read and checked once per process.

    Raises:
        UserError: the bundled files are missing or invalid (a broken installation).
    """
    if language not in _GENERAL:
        folder = GENERAL_PROBES / language
        reader = SuiteReader(folder)
        rows = check_rows(reader, "questions.jsonl", reader.jsonl("questions.jsonl"), shape="probes/questions.jsonl")
        heldout = _optional_text(reader, "heldout.txt")
        if reader.problems or not rows:
            why = reader.problems[0] if reader.problems else f"{folder}/questions.jsonl: no questions"
            raise UserError(f"the bundled general probes are broken: {why}; reinstall rightfit or set probes: none "
                            "in the suite card.")
        _GENERAL[language] = ([row for _, row in rows], heldout)
    questions, heldout = _GENERAL[language]
    return [dict(row) for row in questions], heldout


def _digest(probes: list[dict], text: str | None) -> str:
    import json
    blob = json.dumps([probes, text], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _optional_text(reader: SuiteReader, rel: str) -> str | None:
    if not reader.exists(rel):
        return None
    text = reader.text(rel)
    if text is not None and not text.strip():
        reader.add(rel, None, "the file is empty; add text or delete it")
    return text


def validate_suite(path: str | Path) -> list[Problem]:
    """Every problem of the suite folder at `path` ([] when valid).

    Raises:
        UserError: `path` is not a folder.
    """
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"'{path}' is not a folder; give the path of a suite folder.")
    return read_suite(root)[1]


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a suite by name (under tasks/) or folder path, validating it.

    Raises:
        UserError: the suite cannot be found or has a problem (the first one is named).
    """
    root = find_suite(name_or_path)
    suite, problems = read_suite(root)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"invalid suite: {problems[0]}{more}; run `rightfit suites validate {root}` to list every problem.")
    return suite
