"""`rightfit suites list | show | validate | new`, end to end through the click CLI."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.suites import bundled_suites, load_suite, validate_suite
from rightfit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "suites"


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_list_json_matches_the_bundled_folders():
    result = run("suites", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == [p.name for p in bundled_suites()]
    for row in rows:
        suite = load_suite(row["name"])
        assert row["valid"] and row["language"] == suite.language and row["counts"] == suite.counts()


def test_show_json_and_text_on_the_chinese_fixture():
    result = run("suites", "show", str(FIXTURES / "mini-zh"), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["language"] == "zh" and info["counts"]["test"] == 8
    assert info["sample"]["test"]["answer"] == "15 天"
    assert info["card"]["style"]["ends_with"] == "——云雀客服"
    text = run("suites", "show", str(FIXTURES / "mini-zh")).stdout
    assert "test kinds: seen 4, docs_only 3, general 1" in text and "商品签收以后" in text


def test_validate_ok_lines_and_unknown_name():
    result = run("suites", "validate", str(FIXTURES / "mini-en"), str(FIXTURES / "mini-zh"))
    assert result.exit_code == 0
    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        f"OK {FIXTURES / 'mini-en'}", f"OK {FIXTURES / 'mini-zh'}"]
    missing = run("suites", "validate", "no-such-suite-xyz")
    assert missing.exit_code == 2 and "no suite 'no-such-suite-xyz'" in missing.stderr


@pytest.fixture
def user_files(tmp_path):
    docs = tmp_path / "my docs"
    (docs / "policies").mkdir(parents=True)
    (docs / "returns.md").write_text("# Returns\n\nOur returns window is 30 days.\nRefunds take 5 days.\n",
                                     encoding="utf-8")
    (docs / "policies" / "shipping.txt").write_text("Shipping costs 7 euros and takes 2 days.\n", encoding="utf-8")
    (docs / "门店 信息.md").write_text("门店位于杭州西湖区，营业到晚上九点。\n", encoding="utf-8")
    (docs / "refunds.md").write_text("Refunds of 30 days old orders need a receipt.\n", encoding="utf-8")
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"question": "How long is the returns window?", "answer": "30 days"},
        {"question": "What does shipping cost?", "answer": "7 euros", "sources": ["shipping.txt"]},
        {"question": "门店在哪个城市？", "answer": "杭州", "aliases": ["杭州市"]},
        {"question": "What is 2 + 2?", "answer": "4", "kind": "general"}]) + "\n", encoding="utf-8")
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"instruction": "How many days do I have to return an item?", "input": "",
                                 "output": "You have 30 days."}) + "\n"
                     + json.dumps({"question": "Shipping price?", "answer": "It is 7 euros."}) + "\n",
                     encoding="utf-8")
    return docs, qa, train


def test_new_builds_a_suite_that_validates_and_loads(tmp_path, user_files):
    docs, qa, train = user_files
    out = tmp_path / "tasks"
    result = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--train", str(train),
                 "--out", str(out), "my-suite")
    assert result.exit_code == 0, result.output
    assert "Gold sources filled by finding the answer in the docs: 2 of 4 questions." in result.stdout
    assert validate_suite(out / "my-suite") == []
    suite = load_suite(out / "my-suite")
    assert suite.language == "en" and len(suite.train) == 2 and suite.train[1]["output"] == "It is 7 euros."
    assert set(suite.docs) == {"returns", "policies__shipping", "doc-004", "refunds"}
    by_question = {q["question"]: q for q in suite.test}
    # "30 days" is in two docs: the one sharing the question's words wins
    assert by_question["How long is the returns window?"]["sources"] == ["returns"]
    assert by_question["How long is the returns window?"]["kind"] == "seen"
    assert by_question["What does shipping cost?"]["sources"] == ["policies__shipping"]
    assert by_question["What does shipping cost?"]["kind"] == "seen"
    assert by_question["门店在哪个城市？"]["sources"] == ["doc-004"]
    assert by_question["门店在哪个城市？"]["kind"] == "docs_only"
    assert by_question["What is 2 + 2?"]["sources"] == [] and by_question["What is 2 + 2?"]["kind"] == "general"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp folder left behind

    again = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(out), "my-suite")
    assert again.exit_code == 2 and "already exists; pass --force" in again.stderr
    forced = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(out), "--force", "my-suite")
    assert forced.exit_code == 0 and not load_suite(out / "my-suite").train


def test_new_detects_chinese(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.md").write_text("雀舌是一种绿茶，每罐一百二十五克。\n", encoding="utf-8")
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "雀舌是什么茶？", "answer": "绿茶"}, ensure_ascii=False) + "\n",
                  encoding="utf-8")
    assert run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(tmp_path), "zh1").exit_code == 0
    suite = load_suite(tmp_path / "zh1")
    assert suite.language == "zh" and suite.test[0]["sources"] == ["tea"]


@pytest.mark.parametrize("qa_line, message", [
    ('{"question": "Cost?", "answer": "99 dollars"}', "qa.jsonl:1: no document contains the answer '99 dollars'"),
    ('{"question": "Cost?"}', "qa.jsonl:1: missing field 'answer'"),
    ('{"question": "Cost?", "answer": 7}', "qa.jsonl:1: field 'answer' must be a non-empty str, got a number"),
    ('{"question": "Cost?", "answer": "7 euros", "sources": ["nope.md"]}', "qa.jsonl:1: source 'nope.md'"),
    ('{"question": "Cost?", "answer": "7 euros", "kind": "odd"}', "qa.jsonl:1: kind 'odd' is not one of"),
    ('{"question": "Cost?", "answer": "7 euros",', "qa.jsonl:1: malformed JSON"),
])
def test_new_rejects_bad_qa_rows_with_file_and_line(tmp_path, user_files, qa_line, message):
    docs, qa, _ = user_files
    qa.write_text(qa_line + "\n", encoding="utf-8")
    result = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(tmp_path / "o"), "bad")
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "o" / "bad").exists()


def test_new_rejects_bad_name_and_missing_docs(tmp_path, user_files):
    docs, qa, _ = user_files
    bad_name = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(tmp_path), "my suite")
    assert bad_name.exit_code == 2 and "suite name 'my suite'" in bad_name.stderr
    no_docs = run("suites", "new", "--docs", str(tmp_path / "nope"), "--qa", str(qa), "x")
    assert no_docs.exit_code == 2 and "--docs" in no_docs.stderr


def test_new_rejects_a_bad_training_row(tmp_path, user_files):
    docs, qa, train = user_files
    train.write_text('{"instruction": "Hi?", "input": 3, "output": "Hello."}\n', encoding="utf-8")
    result = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--train", str(train),
                 "--out", str(tmp_path / "o"), "t")
    assert result.exit_code == 2 and "train.jsonl:1: field 'input' must be a string, got a number" in result.stderr


def test_list_and_validate_all_with_an_invalid_bundled_suite(tmp_path, monkeypatch):
    import shutil

    import harness.suites
    shutil.copytree(FIXTURES / "mini-en", tmp_path / "mini-en")
    shutil.copytree(FIXTURES.parent / "broken_suites" / "bad_json", tmp_path / "bad_json")
    monkeypatch.setattr(harness.suites, "TASKS_DIR", tmp_path)
    listed = run("suites", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[0].startswith("bad_json             INVALID (1 problem;")
    assert listed.stdout.splitlines()[1].split()[:4] == ["mini-en", "en", "v1.0.0", "4"]
    checked = run("suites", "validate")
    assert checked.exit_code == 2
    assert checked.stdout.splitlines() == [
        f"{tmp_path}/bad_json/test.jsonl:3: malformed JSON (Expecting property name enclosed in double quotes "
        "at column 58); each line must be one complete JSON object",
        f"OK {tmp_path}/mini-en (mini-en v1.0.0, en: 4 docs, 10 train, 8 test)"]
    assert run("suites", "show", "mini-en", "--json").exit_code == 0  # names resolve under TASKS_DIR
