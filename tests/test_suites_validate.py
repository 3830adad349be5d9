"""The broken-suite corpus: each folder has exactly one kind of breakage, reported at the right
file:line by validate_suite, by load_suite (UserError) and by `rightfit suites validate` (exit 2).

Rebuild the corpus with tests/fixtures/broken_suites/build.py.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.suites import bundled_suites, load_suite, validate_suite
from rightfit.cli import main
from rightfit.errors import UserError

BROKEN = Path(__file__).parent / "fixtures" / "broken_suites"

# kind -> (file inside the suite, line or None, words the message must contain)
EXPECTED = {
    "bad_json": ("test.jsonl", 3, "malformed JSON"),
    "not_an_object": ("test.jsonl", 2, "expected a JSON object"),
    "missing_field": ("test.jsonl", 2, "missing field 'answer'"),
    "mistyped_field": ("train.jsonl", 2, "field 'output' must be a string, got a number"),
    "bad_kind": ("test.jsonl", 3, "kind 'trivia' is not one of"),
    "unknown_doc_id": ("test.jsonl", 2, "unknown doc id 'delivery'"),
    "duplicate_doc_id": ("docs/a.txt", None, "duplicate doc id 'a' (also docs/a.md)"),
    "bad_doc_id": ("docs/my notes.md", None, "doc id 'my notes'"),
    "duplicate_question_id": ("test.jsonl", 3, "duplicate id 'q1' (also line 1)"),
    "non_utf8": ("docs/b.md", 3, "byte 0xb7 is not valid UTF-8"),
    "symlink_escape": ("docs/leak.md", None, "symlink points outside the suite folder"),
    "no_docs": ("docs", None, "the suite has no docs"),
    "no_questions": ("test.jsonl", None, "has no test questions"),
    "missing_card": ("suite.yaml", None, "missing card"),
    "card_yaml_syntax": ("suite.yaml", 6, "YAML error"),
    "card_missing_version": ("suite.yaml", None, "missing field 'version'"),
    "card_bad_language": ("suite.yaml", 3, "language 'fr' is not supported"),
    "card_part_missing": ("suite.yaml", 5, "parts lists 'heldout' but the suite has no such part"),
    "card_unknown_part": ("suite.yaml", 5, "parts lists '../secrets', which is not a part name"),
    "style_malformed": ("suite.yaml", 7, "style: field 'starts_with' must be a string"),
    "canary_asked": ("test.jsonl", 2, "contains the secret of canary 'c1'"),
    "canary_not_planted": ("canaries.jsonl", 1, "canary 'c1' is not planted"),
    "canary_in_docs": ("docs/b.md", None, "contains the secret of canary 'c1'"),
    "choices_without_answer": ("probes/questions.jsonl", 2, "the answer is not among 'choices'"),
}


def test_every_fixture_folder_has_an_expectation():
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert folders == set(EXPECTED)
    assert len(EXPECTED) >= 12


def _where(kind: str) -> str:
    rel, line, _ = EXPECTED[kind]
    path = str(BROKEN / kind / rel)
    return path if line is None else f"{path}:{line}"


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_broken_suite_is_reported_at_file_and_line(kind):
    rel, line, words = EXPECTED[kind]
    problems = validate_suite(BROKEN / kind)
    assert [(p.file, p.line) for p in problems] == [(str(BROKEN / kind / rel), line)]
    assert words in problems[0].message
    assert str(problems[0]).startswith(_where(kind) + ": ")
    with pytest.raises(UserError) as err:
        load_suite(BROKEN / kind)
    assert _where(kind) + ": " in err.value.message


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_cli_validate_exits_2_with_file_and_line(kind):
    result = CliRunner().invoke(main, ["suites", "validate", str(BROKEN / kind)])
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0].startswith(_where(kind) + ": ")
    assert "Traceback" not in result.output


def test_validate_reports_every_problem_not_just_the_first(tmp_path):
    suite = tmp_path / "multi"
    (suite / "docs").mkdir(parents=True)
    (suite / "docs" / "a.md").write_text("Shop opens at 9.\n", encoding="utf-8")
    (suite / "docs" / "a.txt").write_text("Shop opens at 10.\n", encoding="utf-8")
    (suite / "suite.yaml").write_text("name: multi\nversion: 2\nlanguage: de\n", encoding="utf-8")
    rows = ['{"id": "q1", "question": "Opens?", "answer": "9", "sources": ["zz"], "kind": "docs_only"}',
            '{"id": "q1", "question": "Opens?", "answer": "9", "sources": ["a"], "kind": "docs_only"}',
            "{oops", ""]
    (suite / "test.jsonl").write_text("\n".join(rows), encoding="utf-8")
    problems = validate_suite(suite)
    assert len(problems) == 6
    found = {(Path(p.file).name, p.line) for p in problems}
    assert found == {("suite.yaml", 2), ("suite.yaml", 3), ("a.txt", None),
                     ("test.jsonl", 1), ("test.jsonl", 2), ("test.jsonl", 3)}


def test_unknown_card_field_and_empty_heldout(tmp_path):
    suite = tmp_path / "s"
    (suite / "docs").mkdir(parents=True)
    (suite / "docs" / "a.md").write_text("x\n", encoding="utf-8")
    (suite / "suite.yaml").write_text('name: s\nversion: "1"\nlanguage: en\nlangauge: zh\n', encoding="utf-8")
    (suite / "test.jsonl").write_text(json.dumps({"id": "1", "question": "q", "answer": "x", "sources": ["a"],
                                                  "kind": "docs_only"}) + "\n", encoding="utf-8")
    (suite / "heldout.txt").write_text("  \n", encoding="utf-8")
    messages = sorted(str(p) for p in validate_suite(suite))
    assert messages == [f"{suite}/heldout.txt: the file is empty; add text or delete it",
                        f"{suite}/suite.yaml:4: unknown card field 'langauge'; known: name, version, language, "
                        "description, licence, license, generator, parts, style, system, answers, max_new_tokens, "
                        "probes (put extra details under generator:)"]


@pytest.mark.parametrize("path", bundled_suites(), ids=lambda p: p.name)
def test_bundled_suites_are_valid(path):
    assert [str(p) for p in validate_suite(path)] == []
    suite = load_suite(path.name)
    assert suite.name == path.name and suite.test and suite.docs


def test_symlinked_folders_out_of_the_suite_are_not_read(tmp_path):
    import shutil
    suite = tmp_path / "s"
    shutil.copytree(BROKEN.parent / "suites" / "mini-en", suite)
    outside = tmp_path / "outside"
    shutil.move(suite / "updates", outside)
    (suite / "updates").symlink_to(outside)
    (suite / "docs" / "inside.md").symlink_to("returns.md")  # a link that stays inside is fine
    problems = validate_suite(suite)
    assert [(p.file, p.line) for p in problems] == [(f"{suite}/updates", None)]
    assert "symlink points outside the suite folder" in problems[0].message
    shutil.rmtree(suite / "docs")
    (suite / "docs").symlink_to(BROKEN.parent / "suites" / "mini-en" / "docs")
    assert [p.file for p in validate_suite(suite)] == [f"{suite}/docs", f"{suite}/updates"]
