"""Reading the files of one suite folder while collecting every problem.

A :class:`SuiteReader` never raises for a defect in the suite: a file that is missing, not
UTF-8, malformed JSON, a symlink out of the folder or a bad doc file name becomes a
:class:`Problem` (file, 1-based line or None, message) and reading goes on, so that
`rightfit suites validate` can report them all at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from rightfit.files import decode_utf8, parse_jsonl, parse_yaml

DOC_ID = re.compile(r"[A-Za-z0-9_.-]+\Z")  # tasks/FORMAT.md: a doc id is the file name without extension
DOC_EXTS = (".md", ".txt")


@dataclass
class Problem:
    """One defect of a suite, printed as ``file:line: message``."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class SuiteReader:
    """Reads files inside one suite folder; every defect becomes a Problem, never an exception.

    Args:
        root: the suite folder (as the user gave it: problems show paths under it).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.problems: list[Problem] = []
        self.escaping: set[str] = set()  # relative posix paths of symlinks that leave the folder
        self.card_lines: dict[str, int] = {}  # "style.starts_with" -> line in suite.yaml
        self.unreadable_docs: set[str] = set()  # doc ids whose file is reported already (not UTF-8, empty)
        self._scan_links()

    def add(self, rel: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(os.path.join(str(self.root), rel), line, message))

    def _scan_links(self) -> None:
        real_root = self.root.resolve()
        for dirpath, dirnames, filenames in os.walk(self.root):  # does not follow symlinked folders
            for name in sorted(dirnames + filenames):
                path = Path(dirpath) / name
                if not path.is_symlink():
                    continue
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    rel = path.relative_to(self.root).as_posix()
                    self.escaping.add(rel)
                    self.add(rel, None, f"symlink points outside the suite folder (to {target}); "
                                        "copy the file into the suite instead")

    def escapes(self, rel: str) -> bool:
        """Whether `rel` is, or lies under, a symlink that leaves the suite folder."""
        parts = rel.split("/")
        return any("/".join(parts[:i]) in self.escaping for i in range(1, len(parts) + 1))

    def exists(self, rel: str) -> bool:
        path = self.root / rel
        return path.exists() or path.is_symlink()

    def text(self, rel: str) -> str | None:
        """The UTF-8 text of a file (a leading BOM dropped), or None after adding a problem."""
        if self.escapes(rel):
            return None
        path = self.root / rel
        try:
            data = path.read_bytes()
        except OSError as e:
            self.add(rel, None, f"cannot read the file ({e.strerror}); check that it exists and is readable")
            return None
        text, line, why = decode_utf8(data)
        if text is None:
            self.add(rel, line, why)
        return text

    def jsonl(self, rel: str) -> list[tuple[int, dict]]:
        """(line number, object) for each non-blank line; bad lines become problems."""
        text = self.text(rel)
        if text is None:
            return []
        rows = []
        for number, row, why in parse_jsonl(text):
            if row is None:
                self.add(rel, number, why)
            else:
                rows.append((number, row))
        return rows

    def docs(self, rel_dir: str) -> dict[str, tuple[str, str]]:
        """doc id -> (relative file, text) for the .md/.txt files of a flat docs folder."""
        found: dict[str, tuple[str, str]] = {}
        folder = self.root / rel_dir
        if self.escapes(rel_dir) or not folder.is_dir():
            return found
        for path in sorted(folder.iterdir()):
            rel = f"{rel_dir}/{path.name}"
            if path.name.startswith(".") or self.escapes(rel):
                continue
            if path.is_dir():
                self.add(rel, None, f"{rel_dir}/ must be flat; move the files of this folder up into {rel_dir}/")
                continue
            if path.suffix.lower() not in DOC_EXTS:
                self.add(rel, None, f"unsupported doc type '{path.suffix}'; docs must be .md or .txt files")
                continue
            doc_id = path.stem
            if not DOC_ID.match(doc_id):
                self.add(rel, None, f"doc id '{doc_id}' has characters outside A-Z a-z 0-9 _ . -; rename the file")
                continue
            if doc_id in found:
                self.add(rel, None, f"duplicate doc id '{doc_id}' (also {found[doc_id][0]}); rename or remove one")
                continue
            text = self.text(rel)
            if text is not None and not text.strip():
                self.add(rel, None, "the doc is empty; add its text or delete the file")
            if text is None or not text.strip():
                self.unreadable_docs.add(doc_id)  # reported once here, not again where it is cited
                continue
            found[doc_id] = (rel, text)
        return found

    def card(self) -> dict | None:
        """The parsed suite.yaml, or None after adding a problem; fills :attr:`card_lines`."""
        if not self.exists("suite.yaml"):
            self.add("suite.yaml", None, "missing card; create suite.yaml with name, version and language "
                                         "(see tasks/FORMAT.md)")
            return None
        text = self.text("suite.yaml")
        if text is None:
            return None
        try:
            data, self.card_lines = parse_yaml(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            reason = getattr(e, "problem", None) or "not valid YAML"
            self.add("suite.yaml", mark.line + 1 if mark else None, f"YAML error ({reason}); fix the syntax")
            return None
        if not isinstance(data, dict):
            self.add("suite.yaml", 1, "the card must be a YAML mapping (name: ..., version: ..., language: ...)")
            return None
        return data
