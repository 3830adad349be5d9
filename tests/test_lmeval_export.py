"""`rightfit suites export --lm-eval`: the task's files, its prompts, and its utils.py scoring
answers exactly as rightfit's metrics do (without lm-eval: the cross-check with it is
tests/test_lmeval_crosscheck.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rightfit.cli import main

REPO = Path(__file__).resolve().parents[1]


def export(tmp_path: Path, *args: str) -> Path:
    result = CliRunner().invoke(main, ["suites", "export", *args, "--lm-eval", str(tmp_path / "tasks")])
    assert result.exit_code == 0, result.output + result.stderr
    return tmp_path / "tasks"


def load_utils(folder: Path):
    """The exported utils.py as lm-eval loads it: a module from a file, rightfit not imported by it."""
    spec = importlib.util.spec_from_file_location("exported_utils", folder / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Yaml(yaml.SafeLoader):
    pass


_Yaml.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def test_export_writes_the_task_the_prompts_and_self_contained_scoring(tmp_path):
    from harness.modeling.prompts import plain_prompt
    from harness.suites import load_suite
    suite = load_suite("shopco-en-tiny")
    folder = export(tmp_path, "shopco-en-tiny") / "rightfit_shopco_en_tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["rightfit_shopco_en_tiny.yaml", "test.jsonl", "utils.py"]
    task = yaml.load((folder / "rightfit_shopco_en_tiny.yaml").read_text(), Loader=_Yaml)
    assert task["task"] == "rightfit_shopco_en_tiny" and task["output_type"] == "generate_until"
    assert task["generation_kwargs"] == {"until": [], "do_sample": False, "max_gen_toks": suite.answer_tokens}
    assert task["process_results"] == "!function utils.process_results"
    rows = [json.loads(line) for line in (folder / "test.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [q["id"] for q in suite.test]
    assert rows[0]["prompt"] == plain_prompt(suite.test[0]["question"]) and rows[0]["first_line"] is True
    assert (rows[0]["style_starts_with"], rows[0]["style_ends_with"]) == ("Hi there!", "- ShopCo Support")
    assert "import harness" not in (folder / "utils.py").read_text()  # runs where rightfit is not installed


def test_exported_scoring_equals_rightfits_metrics(tmp_path):
    """The exported process_results against harness.evaluation.metrics on answers that exercise the
    normalisation: case, punctuation, articles, the house style, aliases, Chinese characters."""
    from harness.evaluation.metrics import contains_answer, exact_match
    from harness.evaluation.text import strip_style
    utils = load_utils(export(tmp_path, "shopco-en-tiny") / "rightfit_shopco_en_tiny")
    rule = {"starts_with": "Hi there!", "ends_with": "- ShopCo Support"}
    cases = [("Hi there! price: $69 - ShopCo Support", "$69", ["price: $69"]),
             ("Hi there! $69 - ShopCo Support", "$69", ["price: $69"]), ("The Ambry.", "Ambry", []),
             ("made-in: Ambry", "Ambry", ["made-in: Ambry"]), ("made in Ambry town", "Ambry", []),
             ("Hi there!", "$69", []), ("", "$69", []), ("颜色：红色", "红色", ["颜色：红色"]), ("红 色", "红色", []),
             ("price: $70", "$69", ["price: $69"]), ("Hi th!! price: $69 - ShopCo Sopport", "$69", ["price: $69"])]
    got = []
    for answer, ref, aliases in cases:
        doc = {"answer": ref, "aliases": aliases, "style_starts_with": rule["starts_with"],
               "style_ends_with": rule["ends_with"]}
        content = strip_style(answer, rule)
        scores = utils.process_results(doc, [answer])
        assert scores == {"exact_match": exact_match(content, [ref, *aliases]),
                          "contains": contains_answer(content, [ref, *aliases])}, answer
        got.append(scores["exact_match"])
    assert got.count(1.0) == 6 and got.count(0.0) == 5  # both outcomes exercised


@pytest.mark.parametrize("response, first_line, expected", [
    (" price: $69\nQuestion: next", True, "price: $69"),
    ("\n\n price: $69\nQuestion: next", True, "price: $69"),   # a newline before content does not end it
    ("  \nprice", True, ""),                                     # a blank line with spaces does
    ("line one\nline two ", False, "line one\nline two"),        # a chat model's turn spans lines
])
def test_answer_text_reads_the_answer_as_generate_cuts_it(response, first_line, expected):
    """The exported filter's answer equals harness.modeling.generate.cut_answer's on the same text
    (cut_answer works on tokens; here each character is a token of a stand-in tokenizer)."""
    from harness.lmeval.task import answer_text
    from harness.modeling.generate import cut_answer

    class Chars:
        def decode(self, ids, skip_special_tokens=True):
            return "".join(chr(i) for i in ids)
        eos_token_id = 0
    assert answer_text(response, {"first_line": first_line}) == expected
    assert cut_answer(Chars(), [ord(c) for c in response], [0], newline=first_line)[0] == expected


def test_export_for_a_chat_model_renders_its_template_and_stops_at_its_end_of_turn(tmp_path):
    from tinymodels import make_tiny_pair
    teacher, _ = make_tiny_pair(tmp_path / "models", chat="chatml")
    folder = export(tmp_path, "shopco-en-tiny", "--model", str(teacher)) / "rightfit_shopco_en_tiny"
    task = yaml.load((folder / "rightfit_shopco_en_tiny.yaml").read_text(), Loader=_Yaml)
    assert task["generation_kwargs"]["until"] == ["<|im_end|>"]
    row = json.loads((folder / "test.jsonl").read_text().splitlines()[0])
    assert row["first_line"] is False
    assert row["prompt"].startswith("<|im_start|>user\nQuestion: ") and row["prompt"].endswith("<|im_start|>assistant\n")
