"""Typed config: defaults, YAML round-trip, overrides, and bad configs -> exit 2 naming the field."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from click.testing import CliRunner

from harness.config import RunConfig, from_dict, load_config, parse_override, to_dict
from rightfit.cli import main
from rightfit.errors import UserError
from rightfit.files import dump_yaml
from rightfit.settings import describe


def test_defaults_validate_and_every_field_has_help():
    cfg = RunConfig()
    assert cfg.train.lr == cfg.train.lora_lr == cfg.train.epochs == "auto"  # chosen for the model
    rows = describe(RunConfig)
    assert len(rows) > 30
    missing = [path for path, _, help_ in rows if not help_]
    assert missing == []


def test_yaml_round_trip(tmp_path):
    cfg = load_config(None, ["train.lr=1e-4", "rag.retriever=hybrid", "candidates=prompt,rag"])
    path = tmp_path / "cfg.yaml"
    dump_yaml(to_dict(cfg), path)
    again = load_config(path)
    assert again == cfg
    assert again.train.lr == pytest.approx(1e-4)
    assert again.candidates == ["prompt", "rag"]
    assert again.rag.retriever == "hybrid"


def test_overrides_on_top_of_file(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("train:\n  lr: 0.001\n  batch_size: 8\nseed: 3\n")
    cfg = load_config(path, ["train.lr=2e-5", "decode.strategy=beam"])
    assert cfg.train.lr == pytest.approx(2e-5)
    assert cfg.train.batch_size == 8      # file value kept
    assert cfg.seed == 3
    assert cfg.decode.strategy == "beam"
    assert cfg.lora.r == RunConfig().lora.r  # default kept


@pytest.mark.parametrize("text,expected", [
    ("train.lr=1e-4", ("train.lr", 1e-4)),
    ("seed=7", ("seed", 7)),
    ("train.precision=fp32", ("train.precision", "fp32")),
    ("suite=shopco-zh", ("suite", "shopco-zh")),
])
def test_parse_override(text, expected):
    key, value = parse_override(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])


# Each bad config: (YAML text, what the message must name). At least 10 kinds.
BAD_CONFIGS = {
    "unknown_top_field": ("sute: shopco-en\n", ["sute", ":1"]),
    "unknown_nested_field": ("train:\n  learning_rate: 0.1\n", ["train.learning_rate", ":2"]),
    "wrong_type_int": ("train:\n  batch_size: many\n", ["train.batch_size", "integer", ":2"]),
    "wrong_type_float": ("train:\n  lr: fast\n", ["train.lr", "number"]),
    "wrong_type_bool": ("trust_remote_code: maybe\n", ["trust_remote_code", "true or false"]),
    "below_minimum": ("rag:\n  top_k: 0\n", ["rag.top_k", "minimum"]),
    "above_maximum": ("distill:\n  alpha: 1.5\n", ["distill.alpha", "maximum"]),
    "bad_choice": ("rag:\n  retriever: google\n", ["rag.retriever", "bm25"]),
    "bad_candidate": ("candidates: [rag, magic]\n", ["candidates", "magic"]),
    "section_not_mapping": ("train: 5\n", ["train", "mapping"]),
    "malformed_yaml": ("train:\n  lr: [1, 2\n", ["malformed YAML"]),
    "top_level_list": ("- a\n- b\n", ["mapping"]),
    "cross_field": ("rag:\n  chunk_size: 32\n  chunk_overlap: 64\n", ["rag.chunk_overlap"]),
    "not_utf8": (b"suite: caf\xe9\n", ["UTF-8"]),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_exit_2_names_field(tmp_path, name):
    text, needles = BAD_CONFIGS[name]
    path = tmp_path / f"{name}.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    result = CliRunner().invoke(main, ["run", "--dry-run", str(path), f"runs_dir={tmp_path / 'runs'}"])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("rightfit: error:")
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert "Traceback" not in message
    assert len(message.splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_missing_config_file(tmp_path):
    result = CliRunner().invoke(main, ["run", "--dry-run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output and "not found" in result.output


def test_bad_override_names_it():
    result = CliRunner().invoke(main, ["run", "--dry-run", "train.epochs=-3"])
    assert result.exit_code == 2
    assert "command-line override 'train.epochs'" in result.output


def test_from_dict_rejects_unknown_with_valid_list():
    with pytest.raises(UserError) as err:
        from_dict(RunConfig, {"lora": {"rank": 4}}, source="x.yaml", lines={"lora.rank": 5})
    assert "x.yaml:5" in err.value.message and "lora.rank" in err.value.message and "r, alpha" in err.value.message


def test_resolved_config_written_by_run(tmp_path):
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["run", "--dry-run", "--run-id", "r1", f"runs_dir={runs}", "train.lr=5e-5"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((runs / "r1" / "config.resolved.yaml").read_text())
    assert data["train"]["lr"] == pytest.approx(5e-5)
    assert set(data) == {f.name for f in dataclasses.fields(RunConfig)}
    assert (runs / "r1" / "env.json").exists()
    assert not (runs / ".r1.lock").exists() and not (runs / ".r1.partial").exists()  # released, published


def test_a_plan_is_the_run_contract(tmp_path):
    """advise -o writes a Plan; run --plan builds its candidates and records its priorities,
    advice and checks in run.json, which is all the report reads of it."""
    from advisor.plan import Plan
    plan_path, runs = tmp_path / "plan.yaml", tmp_path / "runs"
    example = "advisor/examples/support-bot.yaml"
    assert CliRunner().invoke(main, ["advise", example, "-o", str(plan_path)]).exit_code == 0
    plan = Plan.from_dict(yaml.safe_load(plan_path.read_text()), str(plan_path))
    result = CliRunner().invoke(main, ["run", "--dry-run", "--plan", str(plan_path), "--run-id", "p",
                                       f"runs_dir={runs}"])
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load((runs / "p" / "config.resolved.yaml").read_text())
    assert resolved["candidates"] == plan.candidates
    record = json.loads((runs / "p" / "run.json").read_text())
    assert record["priorities_from"] == "plan" and record["advice"] == plan.to_dict()
    assert record["priorities"] == pytest.approx(plan.priorities, abs=1e-4)
    assert [c["name"] for c in record["checks"]] == plan.checks and all(c["measurable"] for c in record["checks"])
    assert (runs / "p" / "plan.yaml").read_text() == plan_path.read_text()  # the input, as given


@pytest.mark.parametrize("text, needle", [
    ("plan_version: 1\ncandidates: [prompt]\n", "plan_version is 1"),
    ("- a list\n", "expected a mapping"),
    ("plan_version: 2\ncandidates: []\npriorities: {}\n", "field 'candidates'"),
    ("plan_version: 2\ncandidates: [prompt]\npriorities: {speed: 1}\n", "field 'priorities'"),
    ("plan_version: 2\ncandidates: [nope]\npriorities: {}\n", "nope"),
])
def test_a_bad_plan_is_one_sentence_naming_the_field(tmp_path, text, needle):
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    result = CliRunner().invoke(main, ["run", "--dry-run", "--plan", str(plan), f"runs_dir={tmp_path / 'runs'}"])
    assert result.exit_code == 2 and needle in result.output and str(plan) in result.output, result.output
