"""Loading the hand-made fixture suites: every part comes back with the right content."""

from pathlib import Path

import pytest

from harness.suites import GENERAL_PROBES as GENERAL
from harness.suites import PARTS, find_suite, load_suite, validate_suite
from rightfit.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "suites"


@pytest.mark.parametrize("name", ["mini-en", "mini-zh"])
def test_fixture_suites_are_valid_and_complete(name):
    path = FIXTURES / name
    assert validate_suite(path) == []
    suite = load_suite(path)
    assert suite.name == name and suite.version == "1.0.0"
    assert suite.counts() == {"docs": 4, "train": 10, "test": 8, "updated_docs": 2, "test_updated": 3,
                              "probes": 3, "canaries": 2}
    assert all(suite.has(part) for part in PARTS)
    assert {q["kind"] for q in suite.test} == {"seen", "docs_only", "general"}
    # optional fields are filled in, so consumers can index them
    assert all(p["kind"] == "general" and isinstance(p["sources"], list) for p in suite.probes)
    assert all(isinstance(r["input"], str) for r in suite.train)
    after = suite.docs_after_update()
    assert set(after) == set(suite.docs) | set(suite.updated_docs)
    assert after["returns"] == suite.updated_docs["returns"] != suite.docs["returns"]


def test_chinese_text_round_trips():
    suite = load_suite(FIXTURES / "mini-zh")
    assert suite.language == "zh"
    assert suite.test[5]["answer"] == "杭州" and "杭州" in suite.docs["shipping"]
    assert suite.style["starts_with"] == "您好！"
    assert suite.canaries[0]["secret"] == "青松-7319-明月"


def test_minimal_suite_has_only_docs_and_test(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("The sky is blue.\n", encoding="utf-8")
    (tmp_path / "suite.yaml").write_text('name: m\nversion: "1"\nlanguage: en\n', encoding="utf-8")
    (tmp_path / "test.jsonl").write_text('{"id": "1", "question": "Sky colour?", "answer": "blue", '
                                         '"sources": ["a"], "kind": "docs_only"}\n', encoding="utf-8")
    suite = load_suite(tmp_path)
    # docs, test and the bundled general probes of its language (so forgetting is measurable)
    assert [suite.has(p) for p in PARTS] == [True, True, False, False, False, True, False, False]
    assert suite.test[0]["aliases"] == [] and suite.domain_text is None and suite.style is None
    assert suite.probes_from == "general-en" and len(suite.probes) == 300
    assert all(len(q["choices"]) == 4 and q["answer"] in q["choices"] for q in suite.probes)
    assert suite.general_text.startswith((GENERAL / "en" / "heldout.txt").read_text()[:40])
    (tmp_path / "suite.yaml").write_text('name: m\nversion: "1"\nlanguage: en\nprobes: none\n', encoding="utf-8")
    off = load_suite(tmp_path)
    assert not off.has("probes") and off.probes == [] and off.general_text is None and off.probes_from == ""
    (tmp_path / "suite.yaml").write_text('name: m\nversion: "1"\nlanguage: en\nprobes: general-zh\n', encoding="utf-8")
    zh = load_suite(tmp_path)
    assert zh.probes_from == "general-zh" and zh.probes[0]["id"] == "gen-zh-0001"
    assert zh.probes_version != suite.probes_version != off.probes_version


@pytest.mark.parametrize("card, probes_dir, needle", [
    ("probes: suite\n", False, "suite.yaml:4: probes: suite, but the suite has no probes/ folder"),
    ("probes: general\n", True, "suite.yaml:4: probes: general, but the suite has its own probes/ folder too"),
    ("probes: everything\n", False, "suite.yaml:4: probes 'everything' is not one of suite, general"),
])
def test_the_probes_field_is_checked(tmp_path, card, probes_dir, needle):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("The sky is blue.\n", encoding="utf-8")
    (tmp_path / "suite.yaml").write_text('name: m\nversion: "1"\nlanguage: en\n' + card, encoding="utf-8")
    (tmp_path / "test.jsonl").write_text('{"id": "1", "question": "Sky colour?", "answer": "blue", '
                                         '"sources": ["a"], "kind": "docs_only"}\n', encoding="utf-8")
    if probes_dir:
        (tmp_path / "probes").mkdir()
        (tmp_path / "probes" / "heldout.txt").write_text("Some text.\n", encoding="utf-8")
    problems = [str(p) for p in validate_suite(tmp_path)]
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path}/{needle}"), problems


def test_bundled_suites_with_their_own_probes_keep_them():
    for name in ("shopco-en", "shopco-zh", "shopco-en-tiny", "shopco-zh-tiny"):
        suite = load_suite(name)
        assert suite.probes_from == "suite" and suite.probes[0]["id"] != "gen-en-0001", name


def test_find_suite_errors_name_the_input(tmp_path):
    with pytest.raises(UserError, match="no suite 'nope-xyz'"):
        find_suite("nope-xyz")
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(UserError, match="is a file"):
        find_suite(str(f))
    assert find_suite(FIXTURES / "mini-en" / "suite.yaml") == FIXTURES / "mini-en"
