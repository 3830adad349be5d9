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
    assert "Gold sources: 1 given, 2 inferred (the doc containing the answer" in result.stdout
    assert "1 none (general questions)" in result.stdout
    assert "Kinds inferred for 3 questions" in result.stdout
    assert validate_suite(out / "my-suite") == []
    # .txt documents stay .txt, .md stay .md
    assert sorted(p.name for p in (out / "my-suite" / "docs").iterdir()) == [
        "doc-004.md", "policies__shipping.txt", "refunds.md", "returns.md"]
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
    assert by_question["How long is the returns window?"]["inferred"] == ["sources", "kind"]
    assert by_question["What does shipping cost?"]["inferred"] == ["kind"]  # its sources were given
    assert by_question["What is 2 + 2?"]["inferred"] == []  # filled in on loading: nothing was guessed
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


# ---------------------------------------------------------------- suites new keeps what the user gave

def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_new_round_trips_every_known_field(tmp_path):
    """Each field the format knows comes out in the suite as the user wrote it: ids, aliases,
    the gold source (as "source" or "sources", by file name or stem), kind, evidence; training
    pairs keep id and doc_ids; the user's probes keep choices and topic; held-out text lands in
    heldout.txt. A gold the user gave is kept even where another doc also holds the answer."""
    from harness.suites.rules import QUESTION_ROW, ROWS
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long-page.txt").write_text("Returns are free. The returns window is 30 days for members, "
                                        "14 days otherwise, and the window for refunds is 30 days too.\n")
    (docs / "refunds.md").write_text("Refunds: 30 days after delivery.\n")
    qa = _write_jsonl(tmp_path / "qa.jsonl", [
        {"id": "r1", "question": "How long do refunds take?", "answer": "30 days", "aliases": ["thirty days"],
         "source": "refunds.md", "kind": "docs_only", "evidence": "Refunds: 30 days after delivery."},
        {"id": "r2", "question": "What is the returns window for members?", "answer": "30 days",
         "sources": ["long-page"], "kind": "seen", "inferred": []},
        {"id": "r3", "question": "Is it free to return?", "answer": "free", "source": "refunds",
         "kind": "docs_only"}])
    train = _write_jsonl(tmp_path / "train.jsonl", [
        {"id": "t1", "instruction": "Members' returns window?", "input": "", "output": "30 days.",
         "doc_ids": ["long-page.txt"]},
        {"id": "t2", "question": "Refund time?", "answer": "30 days.", "doc_ids": ["refunds"]}])
    probes = _write_jsonl(tmp_path / "probes.jsonl", [
        {"id": "g1", "question": "Capital of France?", "answer": "Paris", "choices": ["Paris", "Rome"],
         "aliases": [], "kind": "general", "topic": "geography"}])
    (tmp_path / "heldout.txt").write_text("Held-out text about returns.\n")
    result = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--train", str(train), "--probes",
                 str(probes), "--heldout", str(tmp_path / "heldout.txt"), "--out", str(tmp_path / "out"), "rt")
    # r3's answer "free" is only in long-page, yet the user's gold "refunds" is kept: the validator
    # has no objection (a gold source needs no verbatim answer), and nothing is overwritten
    assert result.exit_code == 0, result.output
    suite = load_suite(tmp_path / "out" / "rt")
    test = {q["id"]: q for q in suite.test}
    assert test["r1"] == {"id": "r1", "question": "How long do refunds take?", "answer": "30 days",
                          "aliases": ["thirty days"], "sources": ["refunds"], "kind": "docs_only",
                          "evidence": "Refunds: 30 days after delivery.", "inferred": []}
    assert test["r2"]["sources"] == ["long-page"] and test["r2"]["kind"] == "seen"
    assert test["r3"]["sources"] == ["refunds"]
    written = [json.loads(line) for line in (tmp_path / "out" / "rt" / "test.jsonl").read_text().splitlines()]
    assert all(set(row) <= set(QUESTION_ROW) for row in written) and "inferred" not in written[0]
    assert suite.train == [
        {"id": "t1", "instruction": "Members' returns window?", "input": "", "output": "30 days.",
         "doc_ids": ["long-page"]},
        {"id": "t2", "instruction": "Refund time?", "input": "", "output": "30 days.", "doc_ids": ["refunds"]}]
    assert set(suite.train[0]) <= set(ROWS["train.jsonl"])
    assert suite.probes_from == "suite" and suite.probes[0]["topic"] == "geography"
    assert suite.probes[0]["choices"] == ["Paris", "Rome"]
    assert suite.domain_text == "Held-out text about returns.\n"
    assert "Gold sources: 3 given, 0 inferred" in result.stdout
    assert "Probes for forgetting: suite (1 questions)." in result.stdout
    assert sorted(p.name for p in (tmp_path / "out" / "rt" / "docs").iterdir()) == ["long-page.txt", "refunds.md"]


@pytest.mark.parametrize("qa_row, needle", [
    ({"question": "Q?", "answer": "9", "topic": "hours"},
     "qa.jsonl:1: unknown field 'topic'; a row of the QA file may have id, question, answer, aliases, sources, "
     "kind, evidence, inferred, source"),
    ({"question": "Q?", "answer": "9", "source": "hours.md", "sources": ["hours"]}, "has both 'source' and 'sources'"),
    ({"question": "Q?", "answer": "9", "source": ["hours.md"]}, "field 'source' must be a non-empty str"),
    ({"question": "Q?", "answer": "9", "source": "nope.md"}, "qa.jsonl:1: source 'nope.md' is not a file"),
    ({"question": "Q?", "answer": "9", "source": "hours", "evidence": "It opens at 10."},
     "test.jsonl:1: the evidence is not in its source doc(s)"),
])
def test_new_refuses_unknown_and_contradictory_fields(tmp_path, qa_row, needle):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.md").write_text("The shop opens at 9.\n")
    qa = _write_jsonl(tmp_path / "qa.jsonl", [qa_row])
    result = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(tmp_path / "out"), "x")
    assert result.exit_code == 2 and needle in result.stderr, result.output
    assert not (tmp_path / "out").exists()


def test_new_refuses_unknown_training_and_probe_fields(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.md").write_text("The shop opens at 9.\n")
    qa = _write_jsonl(tmp_path / "qa.jsonl", [{"question": "Q?", "answer": "9"}])
    train = _write_jsonl(tmp_path / "train.jsonl", [{"instruction": "Q?", "output": "9", "weight": 2}])
    bad_train = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--train", str(train), "--out",
                    str(tmp_path / "out"), "x")
    assert bad_train.exit_code == 2 and "train.jsonl:1: unknown field 'weight'" in bad_train.stderr
    assert "instruction, input, output, id, doc_ids, question, answer" in bad_train.stderr
    probes = _write_jsonl(tmp_path / "p.jsonl", [{"question": "Q?", "answer": "a", "choices": ["a"], "level": 1}])
    bad_probe = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--probes", str(probes), "--out",
                    str(tmp_path / "out"), "x")
    assert bad_probe.exit_code == 2 and "p.jsonl:1: unknown field 'level'" in bad_probe.stderr


def test_inferred_golds_are_found_by_the_passage_and_flagged_by_the_validator(tmp_path):
    """The answer is in both docs; the long one shares every question word somewhere (so comparing
    whole docs picks it), the short one states the answer beside them: the passage decides."""
    from harness.suites.golds import overlap
    docs = tmp_path / "docs"
    docs.mkdir()
    about = " ".join(f"the blender warranty covers repairs of part {i} and lasts a while" for i in range(40))
    elsewhere = " ".join(f"chapter {i} explains the display settings and the menu layout" for i in range(20))
    manual = f"{about}. {elsewhere}. Its batteries keep their charge for 2 years.\n"
    (docs / "manual.txt").write_text(manual)
    (docs / "warranty.md").write_text("The warranty of the blender lasts 2 years.\n")
    question = "How many years does the blender warranty for repairs last?"
    assert overlap(question, manual) > overlap(question, "The warranty of the blender lasts 2 years.")
    qa = _write_jsonl(tmp_path / "qa.jsonl", [
        {"question": question, "answer": "2 years"}])
    made = run("suites", "new", "--docs", str(docs), "--qa", str(qa), "--out", str(tmp_path), "w")
    assert made.exit_code == 0, made.output
    assert load_suite(tmp_path / "w").test[0]["sources"] == ["warranty"]
    checked = run("suites", "validate", str(tmp_path / "w"))
    assert checked.exit_code == 0
    assert "note: 1 of 1 questions have a gold source rightfit inferred" in checked.stdout
    strict = run("suites", "validate", "--strict", str(tmp_path / "w"))
    assert strict.exit_code == 2
    assert f"{tmp_path / 'w' / 'test.jsonl'}:1: gold source warranty was inferred, not given" in strict.stdout
    shown = run("suites", "show", str(tmp_path / "w")).stdout
    assert "gold sources inferred by `suites new`: 1 of 1 questions" in shown
    assert "probes: 300 questions from the bundled general-en set, with held-out text" in shown
