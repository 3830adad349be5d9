"""The questionnaire as data: every text a user reads is a whole string in both languages."""

from __future__ import annotations

from click.testing import CliRunner

from advisor.questionnaire import load_questionnaire
from rightfit.cli import main

LANGS = {"en", "zh"}
TEXTS = ("text", "help", "low", "high", "unit")      # {en, zh} entries a question may carry


def _is_text(entry) -> bool:
    return (isinstance(entry, dict) and set(entry) == LANGS
            and all(isinstance(v, str) and v.strip() for v in entry.values()))


def test_every_label_and_text_is_a_whole_string_in_both_languages():
    for q in load_questionnaire().values():
        for key in TEXTS:
            if key in q:
                assert _is_text(q[key]), (q["id"], key, q[key])
        if q["type"] == "choice":
            assert set(q["labels"]) == set(q["choices"]), q["id"]      # every choice labelled, nothing else
            for choice, label in q["labels"].items():
                assert _is_text(label), (q["id"], choice, label)


def test_labels_keep_their_commas():
    q = load_questionnaire()
    assert q["query_volume"]["labels"]["low"] == {"en": "under 1,000", "zh": "1,000 以下"}
    assert q["query_volume"]["labels"]["high"]["zh"] == "1,000 万以下"
    assert q["deployment"]["labels"]["edge"]["en"] == "on device (phone, laptop, embedded)"
    assert q["style_need"]["high"]["en"] == "a strict persona, house style or domain terminology"


def test_ask_shows_the_whole_label(tmp_path):
    n = len(load_questionnaire())
    out = CliRunner().invoke(main, ["ask", "-o", str(tmp_path / "a.yaml")], input="\n" * n).output
    assert "under 1,000" in out and "under 100,000" in out
    assert "documents only (manuals, policies, wiki)" in out
    zh = CliRunner().invoke(main, ["ask", "--lang", "zh", "-o", str(tmp_path / "b.yaml")], input="\n" * n).output
    assert "1,000 万以下" in zh and "1,000 以下" in zh


def test_ask_skips_the_device_question_unless_the_model_runs_on_a_device(tmp_path):
    import yaml
    questions = list(load_questionnaire())
    n = len(questions)
    cloud = CliRunner().invoke(main, ["ask", "-o", str(tmp_path / "c.yaml")], input="\n" * n)
    assert cloud.exit_code == 0 and "device_memory_gb [" not in cloud.output
    # every default, but deployment (question k) answered "edge" and then 0.5 GB on the device
    k = questions.index("deployment")
    edge = CliRunner().invoke(main, ["ask", "-o", str(tmp_path / "e.yaml")],
                              input="\n" * k + "edge\n0.5\n" + "\n" * n)
    assert edge.exit_code == 0 and "device_memory_gb [" in edge.output
    answers = yaml.safe_load((tmp_path / "e.yaml").read_text(encoding="utf-8"))
    assert answers["deployment"] == "edge" and answers["device_memory_gb"] == 0.5
