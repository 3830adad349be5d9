"""The bundled real-documents suite (tasks/gitdocs-en): its answers are really in its pages."""

import hashlib
import json
from pathlib import Path

from harness.suites import load_suite, validate_suite

SUITE = Path(__file__).resolve().parents[1] / "tasks" / "gitdocs-en"


def test_the_suite_validates_with_its_given_golds_and_the_general_probes():
    assert validate_suite(SUITE) == []
    suite = load_suite("gitdocs-en")
    assert (len(suite.docs), len(suite.test)) == (64, 77)
    assert len({q["sources"][0] for q in suite.test}) == 63
    assert all(len(q["sources"]) == 1 and not q["inferred"] for q in suite.test)
    assert suite.probes_from == "general-en" and suite.has("probes")
    assert all((SUITE / "docs" / f"{d}.txt").is_file() for d in suite.docs)  # stored as the .txt they were
    assert suite.card["licence"] == "GPL-2.0-only" and (SUITE / "LICENSE-GPL-2").is_file()


def test_every_answer_alias_and_evidence_occurs_verbatim_in_its_source_page():
    rows = [json.loads(line) for line in (SUITE / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    missing = []
    for row in rows:
        page = (SUITE / "docs" / f"{row['sources'][0]}.txt").read_text(encoding="utf-8")
        for text in (row["answer"], *row["aliases"], row["evidence"]):
            if text not in page:
                missing.append((row["id"], text))
        if row["answer"] not in row["evidence"] and not any(a in row["evidence"] for a in row["aliases"]):
            missing.append((row["id"], "evidence without the answer"))
    assert len(rows) == 77 and missing == []


def test_the_pages_are_the_rendered_ones():
    sums = dict(reversed(line.split("  ", 1)) for line in (SUITE / "SHA256SUMS.docs").read_text().splitlines())
    assert len(sums) == 64
    for name, digest in sums.items():
        assert hashlib.sha256((SUITE / "docs" / name).read_bytes()).hexdigest() == digest, name
