"""Bad input, every command: one sentence that names the file, line or field, exit code 2, no
traceback, and the file tree exactly as it was.

Each case builds its broken input in a fresh folder (the working directory while the command
runs), snapshots every file's bytes, runs the command and compares. `suites validate` lists every
problem (its purpose), so its cases check one line per problem instead of one line in all.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from rightfit.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
ANSWERS = REPO / "advisor" / "examples" / "support-bot.yaml"
RUN_FIXTURE = FIXTURES / "run_fixture"
BROKEN = sorted(p.name for p in (FIXTURES / "broken_suites").iterdir() if p.is_dir())


@dataclass
class Case:
    id: str
    setup: Callable[[Path], list[str]]   # writes the inputs into the folder, returns the argv
    needle: str                          # what the one sentence must name
    many: bool = False                   # a report of several problems (suites validate)
    enospc: bool = False                 # every file write fails: the disk is full


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def alias_bomb(key: str) -> str:
    """A billion-laughs value under `key`: nine anchors, each nine copies of the one before."""
    lines = [f"{key}:", '  - &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


DEEP_YAML = "a: " + "[" * 100_000 + "\n"
DEEP_JSON = '{"question": ' + "[" * 100_000 + "]" * 100_000 + ', "answer": "x"}\n'

CASES: list[Case] = []


def case(id: str, needle: str, **kw) -> Callable:
    def wrap(fn: Callable[[Path], list[str]]) -> Callable:
        CASES.append(Case(id, fn, needle, **kw))
        return fn
    return wrap


# ---------------------------------------------------------------- advise: answers files

BAD_ANSWERS = {
    "empty": ("", "the file is empty"),
    "list": ("- deployment\n- data\n", "expected a mapping"),
    "scalar": ("42\n", "expected a mapping"),
    "malformed": ("deployment: [edge\n", "malformed YAML"),
    "duplicate_key": ("deployment: edge\ndata: none\ndeployment: cloud\n", ":3: malformed YAML (key 'deployment' appears twice"),
    "unknown_question": ("colour: blue\n", "unknown question id 'colour'"),
    "retired_question": ("gpu: consumer_24gb\n", ":1: question 'gpu' is now two numbers: write gpu_gb"),
    "retired_choice": ("data: large\n", ":1: 'large' meant two things: write many_pairs"),
    "choice_not_offered": ("deployment: lots\n", "question 'deployment'"),
    "choice_number": ("deployment: 5\n", "question 'deployment'"),
    "choice_null": ("deployment: null\n", "question 'deployment'"),
    "yesno_maybe": ("must_cite: maybe\n", "question 'must_cite'"),
    "scale_high": ("style_need: 7\n", "question 'style_need'"),
    "scale_zero": ("style_need: 0\n", "question 'style_need'"),
    "scale_fraction": ("style_need: 2.5\n", "question 'style_need'"),
    "scale_word": ("style_need: high\n", "question 'style_need'"),
    "number_word": ("model_size_b: big\n", "question 'model_size_b'"),
    "number_negative": ("model_size_b: -1\n", "question 'model_size_b'"),
    "number_nan": ("model_size_b: .nan\n", "question 'model_size_b'"),
    "number_inf": ("model_size_b: .inf\n", "question 'model_size_b'"),
    "gpu_gb_negative": ("gpu_gb: -24\n", "question 'gpu_gb'"),
    "gpu_count_fraction": ("gpu_count: 2.5\n", "question 'gpu_count' got 2.5, but it takes a whole number"),
    "seq_len_zero": ("seq_len: 0\n", "question 'seq_len'"),
    "latency_negative": ("latency_ms: -5\n", "question 'latency_ms'"),
    "data_unknown": ("gpu_gb: 0\ndata: everything\n", ":2: question 'data'"),
    "nested": ("deployment:\n  kind: edge\n", "question 'deployment'"),
    "deep": (DEEP_YAML, "nested too deeply"),
    "alias_bomb": (alias_bomb("deployment"), "question 'deployment'"),
    "huge_value": ("deployment: " + "x" * 1_000_000 + "\n", "question 'deployment'"),
    "not_utf8": (b"deployment: caf\xe9\n", "not UTF-8"),
    "binary": (b"\x00\xff\xfe\x00" * 64, "not UTF-8"),
}
for _name, (_text, _needle) in BAD_ANSWERS.items():
    case(f"advise-{_name}", _needle)(lambda d, text=_text: ["advise", str(write(d, "answers.yaml", text))])


@case("advise-missing-file", "nope.yaml: file not found")
def _(d):
    return ["advise", str(d / "nope.yaml")]


@case("advise-answers-is-a-folder", "is a directory")
def _(d):
    (d / "folder").mkdir()
    return ["advise", str(d / "folder")]


@case("advise-output-under-proc", "/proc/plan.yaml: cannot write")
def _(d):
    return ["advise", str(ANSWERS), "-o", "/proc/plan.yaml"]


@case("advise-output-is-a-folder", "is a directory")
def _(d):
    (d / "out").mkdir()
    return ["advise", str(ANSWERS), "-o", str(d / "out")]


@case("advise-output-under-a-file", "x.yaml: cannot write")
def _(d):
    write(d, "afile", "x")
    return ["advise", str(ANSWERS), "-o", str(d / "afile" / "x.yaml")]


for _flag, _value in (("--model-size", "0"), ("--model-size", "-3"), ("--model-size", "big"), ("--gpu-gb", "-1"),
                      ("--gpu-count", "0"), ("--gpu-count", "1.5"), ("--student-size", "0"), ("--seq-len", "0"),
                      ("--batch", "0"), ("--lang", "fr")):
    case(f"advise-option{_flag}={_value}", _flag)(lambda d, f=_flag, v=_value: ["advise", str(ANSWERS), f, v])


@case("agree-no-run", "not a run directory")
def _(d):
    (d / "empty").mkdir()
    return ["agree", str(d / "empty"), str(ANSWERS)]


@case("agree-bad-answers", "answers.yaml:1: question 'deployment'")
def _(d):
    (d / "run" / "records").mkdir(parents=True)
    (d / "run" / "records" / "rag.json").write_text('{"candidate": "rag", "metrics": {}}')
    return ["agree", str(d / "run"), str(write(d, "answers.yaml", "deployment: moon\n"))]


@case("advise-disk-full", "the disk is full", enospc=True)
def _(d):
    return ["advise", str(ANSWERS), "-o", str(d / "plan.yaml")]


@case("ask-output-under-proc", "/proc/answers.yaml: cannot write")
def _(d):
    return ["ask", "-o", "/proc/answers.yaml"]


@case("ask-lang", "--lang")
def _(d):
    return ["ask", "--lang", "fr", "-o", str(d / "a.yaml")]


# ---------------------------------------------------------------- suites show / validate

for _kind in BROKEN:
    case(f"suites-show-{_kind}", "invalid suite")(
        lambda d, k=_kind: ["suites", "show", str(FIXTURES / "broken_suites" / k)])
    case(f"suites-validate-{_kind}", str(FIXTURES / "broken_suites" / _kind), many=True)(
        lambda d, k=_kind: ["suites", "validate", str(FIXTURES / "broken_suites" / k)])


@case("suites-show-missing", "no suite 'no-such-suite'")
def _(d):
    return ["suites", "show", "no-such-suite"]


@case("suites-validate-missing", "no suite")
def _(d):
    return ["suites", "validate", str(d / "nowhere")]


@case("suites-validate-a-file", "is a file")
def _(d):
    return ["suites", "validate", str(write(d, "afile.txt", "x"))]


# ---------------------------------------------------------------- suites new

def _new(d: Path, qa: str | bytes = '{"question": "When does it open?", "answer": "9"}\n',
         docs: dict | None = None, train: str | bytes | None = None, name: str = "mine",
         extra: tuple = (), files: dict | None = None) -> list[str]:
    for doc, text in (docs if docs is not None else {"hours.md": "The shop opens at 9."}).items():
        write(d, f"docs/{doc}", text)
    for rel, text in (files or {}).items():
        write(d, rel, text)
    (d / "docs").mkdir(exist_ok=True)
    argv = ["suites", "new", name, "--docs", str(d / "docs"), "--qa", str(write(d, "qa.jsonl", qa)),
            "--out", str(d / "out")]
    if train is not None:
        argv += ["--train", str(write(d, "train.jsonl", train))]
    return argv + list(extra)


BAD_NEW = {
    "qa-malformed": (dict(qa='{"question": "x", \n'), "qa.jsonl:1: malformed JSON"),
    "qa-deep": (dict(qa=DEEP_JSON), "qa.jsonl:1: the JSON is nested too deeply"),
    "qa-not-object": (dict(qa="[1, 2]\n"), "qa.jsonl:1: expected a JSON object"),
    "qa-no-question": (dict(qa='{"answer": "9"}\n'), "qa.jsonl:1"),
    "qa-answer-number": (dict(qa='{"question": "q?", "answer": 9}\n'), "qa.jsonl:1"),
    "qa-aliases-string": (dict(qa='{"question": "q?", "answer": "9", "aliases": "nine"}\n'), "qa.jsonl:1"),
    "qa-unknown-source": (dict(qa='{"question": "q?", "answer": "9", "sources": ["nope"]}\n'), "qa.jsonl:1"),
    "qa-bad-kind": (dict(qa='{"question": "q?", "answer": "9", "kind": "trivia"}\n'), "qa.jsonl:1: kind"),
    "qa-duplicate-id": (dict(qa='{"id": "a", "question": "q?", "answer": "9"}\n'
                             '{"id": "a", "question": "r?", "answer": "9"}\n'), "qa.jsonl:2: duplicate id"),
    "qa-answer-nowhere": (dict(qa='{"question": "q?", "answer": "42"}\n'), "qa.jsonl:1: no document contains"),
    "qa-not-utf8": (dict(qa=b'{"question": "caf\xe9", "answer": "9"}\n'), "qa.jsonl:1"),
    "docs-empty": (dict(docs={}), "--docs"),
    "docs-not-utf8": (dict(docs={"a.md": b"caf\xe9"}), "a.md"),
    "train-malformed": (dict(train="{oops\n"), "train.jsonl:1: malformed JSON"),
    "train-no-output": (dict(train='{"instruction": "x"}\n'), "train.jsonl:1"),
    "qa-unknown-field": (dict(qa='{"question": "q?", "answer": "9", "topic": "hours"}\n'),
                         "qa.jsonl:1: unknown field 'topic'; a row of the QA file may have id, question"),
    "qa-source-and-sources": (dict(qa='{"question": "q?", "answer": "9", "source": "hours", "sources": ["hours"]}\n'),
                              "qa.jsonl:1: the row has both 'source' and 'sources'"),
    "qa-source-list": (dict(qa='{"question": "q?", "answer": "9", "source": ["hours"]}\n'), "qa.jsonl:1: field 'source'"),
    "qa-unknown-source-file": (dict(qa='{"question": "q?", "answer": "9", "source": "nope.md"}\n'),
                               "qa.jsonl:1: source 'nope.md' is not a file"),
    "qa-evidence-elsewhere": (dict(qa='{"question": "q?", "answer": "9", "source": "hours", "evidence": "at 10"}\n'),
                              "the evidence is not in its source doc(s)"),
    "qa-inferred-bad": (dict(qa='{"question": "q?", "answer": "9", "inferred": ["answer"]}\n'),
                        "inferred lists 'answer'"),
    "train-unknown-field": (dict(train='{"instruction": "x", "output": "y", "weight": 2}\n'),
                            "train.jsonl:1: unknown field 'weight'"),
    "train-unknown-doc": (dict(train='{"instruction": "x", "output": "y", "doc_ids": ["nope"]}\n'),
                          "train.jsonl:1: doc_ids names 'nope' is not a file"),
    "probes-unknown-field": (dict(extra=("--probes", "p.jsonl"), files={"p.jsonl": '{"question": "q?", "answer": "a", '
                                                                                  '"level": 1}\n'}),
                             "p.jsonl:1: unknown field 'level'"),
    "probes-empty-folder": (dict(extra=("--probes", "pfolder"), files={"pfolder/notes.md": "x"}),
                            "has neither questions.jsonl nor heldout.txt"),
    "probes-missing": (dict(extra=("--probes", "nowhere.jsonl")), "--probes nowhere.jsonl: no such file"),
    "heldout-missing": (dict(extra=("--heldout", "nowhere.txt")), "--heldout nowhere.txt: no such file"),
    "name-space": (dict(name="my suite"), "suite name 'my suite'"),
    "name-dotdot": (dict(name=".."), "must not start with a dot"),
    "name-hidden": (dict(name=".mine"), "must not start with a dot"),
    "name-slash": (dict(name="a/b"), "suite name 'a/b'"),
}
for _name, (_kw, _needle) in BAD_NEW.items():
    case(f"suites-new-{_name}", _needle)(lambda d, kw=_kw: _new(d, **kw))


@case("suites-new-exists", "already exists; pass --force")
def _(d):
    argv = _new(d)
    write(d, "out/mine/keep.txt", "an existing suite")
    return argv


@case("suites-new-out-is-a-file", "is a file, not a folder")
def _(d):
    argv = _new(d)
    write(d, "out", "a file where the folder should be")
    return argv


@case("suites-new-docs-missing", "--docs")
def _(d):
    return ["suites", "new", "x", "--docs", str(d / "nope"), "--qa", str(write(d, "qa.jsonl", "{}\n")),
            "--out", str(d / "out")]


@case("suites-new-qa-missing", "--qa")
def _(d):
    write(d, "docs/a.md", "text")
    return ["suites", "new", "x", "--docs", str(d / "docs"), "--qa", str(d / "nope.jsonl"), "--out", str(d / "out")]


@case("suites-new-disk-full", "the disk is full", enospc=True)
def _(d):
    return _new(d)


# ---------------------------------------------------------------- suites export / import (lm-eval)

@case("suites-export-under-proc", "--lm-eval /proc/tasks: nothing can be written in '/proc'")
def _(d):
    return ["suites", "export", "shopco-en-tiny", "--lm-eval", "/proc/tasks"]


@case("suites-export-under-a-file", "is a file, not a folder")
def _(d):
    write(d, "afile", "x")
    return ["suites", "export", "shopco-en-tiny", "--lm-eval", str(d / "afile" / "tasks")]


@case("suites-export-unknown-suite", "no suite 'nope'")
def _(d):
    return ["suites", "export", "nope", "--lm-eval", str(d / "tasks")]


@case("suites-export-model-missing", "does not exist")
def _(d):
    return ["suites", "export", "shopco-en-tiny", "--lm-eval", str(d / "tasks"), "--model", str(d / "nope")]


@case("suites-export-max-new-tokens", "--max-new-tokens")
def _(d):
    return ["suites", "export", "shopco-en-tiny", "--lm-eval", str(d / "tasks"), "--max-new-tokens", "0"]


@case("suites-export-disk-full", "the disk is full", enospc=True)
def _(d):
    return ["suites", "export", "shopco-en-tiny", "--lm-eval", str(d / "tasks")]


def _sample(question: dict, **changes) -> dict:
    """One line of lm-eval's --log_samples output for the exported shopco-en task."""
    doc = {"id": question["id"], "kind": question["kind"], "question": question["question"],
           "answer": question["answer"], "aliases": question["aliases"], "first_line": True,
           "prompt": f"Question: {question['question']}\nAnswer:", "style_starts_with": "Hi there!",
           "style_ends_with": "- ShopCo Support", "rightfit_suite": "shopco-en", "rightfit_version": "1.1.0"}
    sample = {"doc_id": 0, "doc": doc, "target": question["answer"],
              "arguments": {"gen_args_0": {"arg_0": doc["prompt"], "arg_1": {"until": [], "do_sample": False}}},
              "resps": [[" " + question["answer"]]], "filtered_resps": [question["answer"]], "exact_match": 1.0}
    for key, value in changes.items():
        target = sample["doc"] if key in doc and key != "doc" else sample
        target[key] = value
    return sample


def _import(d: Path, lines: list | str | bytes, *args: str) -> list[str]:
    import json
    run = d / "run"
    shutil.copytree(RUN_FIXTURE, run, ignore=shutil.ignore_patterns("make_fixture.py", "README.md"))
    data = lines if isinstance(lines, (str, bytes)) else "".join(json.dumps(x) + "\n" for x in lines)
    samples = write(d, "out/m/samples_rightfit_shopco_en_2026.jsonl", data)
    return ["suites", "import", str(run), "--lm-eval", str(samples), *args]


def _first_question() -> dict:
    import json
    return json.loads((REPO / "tasks" / "shopco-en" / "test.jsonl").read_text().splitlines()[0])


BAD_SAMPLES = {
    "not-exported": (lambda q: [{"doc_id": 0, "doc": {"question": "q"}, "resps": [["a"]]}],
                     "not a sample of a task exported by rightfit"),
    "bad-json": (lambda q: "{oops\n", "samples_rightfit_shopco_en_2026.jsonl:1: malformed JSON"),
    "not-utf8": (lambda q: b"\xff\xfe\n", "not valid UTF-8"),
    "empty": (lambda q: "", "no samples in the file"),
    "no-resps": (lambda q: [_sample(q, resps=[])], "field 'resps'"),
    "aliases-type": (lambda q: [_sample(q, aliases="x")], "field 'doc.aliases' is a string"),
    "other-suite": (lambda q: [_sample(q, rightfit_suite="shopco-zh")], "a sample of suite shopco-zh"),
    "other-version": (lambda q: [_sample(q, rightfit_version="0.9")], "v0.9"),
    "unknown-id": (lambda q: [_sample(q, id="nope")], "question id 'nope' is not in suite shopco-en"),
    "twice": (lambda q: [_sample(q), _sample(q)], ":2: question"),
    "chat-template-applied": (lambda q: [_sample(q, arguments={"gen_args_0": {"arg_0": "<|im_start|>user\n..."}})],
                              "lm-eval sent another prompt"),
    "sampled": (lambda q: [_sample(q, arguments={"gen_args_0": {"arg_0": _sample(q)["doc"]["prompt"],
                                                                "arg_1": {"do_sample": True}}})], "sampled"),
}
for _name, (_lines, _needle) in BAD_SAMPLES.items():
    case(f"suites-import-{_name}", _needle)(lambda d, f=_lines: _import(d, f(_first_question())))


@case("suites-import-name-is-a-technique", "--name 'lora' is a technique rightfit builds")
def _(d):
    return _import(d, [_sample(_first_question())], "--name", "lora")


@case("suites-import-name-taken", "already has a candidate of that name")
def _(d):
    argv = _import(d, [_sample(_first_question())], "--name", "mine")
    import json
    record = json.loads((d / "run" / "records" / "rag.json").read_text())
    (d / "run" / "records" / "mine.json").write_text(json.dumps({**record, "candidate": "mine", "technique": "mine"}))
    return argv


@case("suites-import-name-path", "--name '../x' must be a plain name")
def _(d):
    return _import(d, [_sample(_first_question())], "--name", "../x")


@case("suites-import-not-a-run", "not a run directory")
def _(d):
    argv = _import(d, [_sample(_first_question())])
    shutil.rmtree(d / "run" / "records")
    return argv


@case("suites-import-samples-missing", "no such file or folder")
def _(d):
    return _import(d, [_sample(_first_question())])[:3] + ["--lm-eval", str(d / "nope.jsonl")]


@case("suites-import-folder-without-samples", "holds no samples_rightfit_*.jsonl")
def _(d):
    (d / "empty").mkdir()
    return _import(d, [_sample(_first_question())])[:3] + ["--lm-eval", str(d / "empty")]


@case("suites-import-disk-full", "the disk is full", enospc=True)
def _(d):
    return _import(d, [_sample(_first_question())], "--name", "mine")


# ---------------------------------------------------------------- run: options and overrides

def _run(d: Path, *args: str) -> list[str]:
    return ["run", "--dry-run", "--suite", "shopco-en-tiny", f"runs_dir={d / 'runs'}",
            f"cache_dir={d / 'cache'}", *args]


BAD_OVERRIDES = {
    "train.lr=.nan": "'train.lr' must be a finite number", "train.lr=.inf": "'train.lr' must be a finite number",
    "train.epochs=.nan": "'train.epochs' must be a finite number", "train.epochs=-1": "'train.epochs' is -1",
    "train.lr=fast": "'train.lr' must be a number", "train.batch_size=0": "'train.batch_size' is 0",
    "train.batch_size=1.5": "'train.batch_size' must be an integer", "train.precision=fp8": "'train.precision'",
    "rag.top_k=0": "'rag.top_k' is 0", "rag.chunk_overlap=500": "rag.chunk_overlap", "rag.retriever=magic": "rag.retriever",
    "decode.strategy=psychic": "decode.strategy", "decode.max_new_tokens=-1": "decode.max_new_tokens",
    "candidates=nope": "'candidates' has 'nope'", "seed=-1": "'seed' is -1", "seeds=0": "'seeds' is 0",
    "train=5": "'train' names a section", "nope=1": "'nope' is unknown", "train.nope=1": "'train.nope' is unknown",
    "trust_remote_code=maybe": "trust_remote_code", "few_shot=-1": "'few_shot' is -1", "lora.r=0": "'lora.r' is 0",
    "distill.mode=grey": "distill.mode", "max_memory_gb=-1": "max_memory_gb", "eval.bootstrap=1": "eval.bootstrap",
    "rag.top_k=[1,2]": "rag.top_k", "train.lr=1e400": "train.lr",
    "rag.chunk_unit=tokens": "rag.chunk_unit", "rag.chunk_size=0": "'rag.chunk_size' is 0",
    "rag.chunk_size=10": "'rag.chunk_overlap' (20) must be smaller than 'rag.chunk_size' (10)",
    "rag.fusion=max": "rag.fusion", "rag.hybrid_bm25_weight=1.5": "'rag.hybrid_bm25_weight' is 1.5",
    "rag.embed_dtype=float16": "rag.embed_dtype",
}
for _override, _needle in BAD_OVERRIDES.items():
    case(f"run-override-{_override}", _needle)(lambda d, o=_override: _run(d, o))


@case("run-override-without-equals", "must look like key=value")
def _(d):
    return _run(d, "train.lr=1e-4", "nonsense")


for _rid in ("../../somewhere", "a/b", ".hidden", "x" * 200, "a..b", " "):
    case(f"run-id-{_rid[:12]}", "--run-id")(lambda d, r=_rid: _run(d, "--run-id", r))

for _flag, _value, _needle in (("--seeds", "0", "'seeds' is 0"), ("--max-memory", "-1", "max_memory_gb"),
                               ("--seeds", "many", "--seeds"), ("--candidates", "nope", "'candidates' has 'nope'"),
                               ("--suite", "no-such-suite", "no suite 'no-such-suite'"),
                               ("--base-model", "/no/such/model", "'/no/such/model' does not exist")):
    case(f"run-option{_flag}={_value}", _needle)(lambda d, f=_flag, v=_value: _run(d, f, v))

for _kind in ("bad_json", "missing_card", "no_docs", "canary_asked"):
    case(f"run-broken-suite-{_kind}", "invalid suite")(
        lambda d, k=_kind: _run(d, "--suite", str(FIXTURES / "broken_suites" / k)))


@case("run-runs-dir-is-a-file", "field 'runs_dir'")
def _(d):
    return _run(d, f"runs_dir={write(d, 'runs-file', 'x')}")


@case("run-cache-dir-is-a-file", "field 'cache_dir'")
def _(d):
    return _run(d, f"cache_dir={write(d, 'cache-file', 'x')}")


@case("run-runs-dir-unwritable", "field 'runs_dir' ('/proc/rightfit-runs'): nothing can be written")
def _(d):
    return _run(d, "runs_dir=/proc/rightfit-runs")


@case("run-cache-dir-under-a-file", "field 'cache_dir'")
def _(d):
    return _run(d, f"cache_dir={write(d, 'afile', 'x') / 'cache'}")


@case("run-disk-full", "the disk is full", enospc=True)
def _(d):
    return _run(d)


# ---------------------------------------------------------------- run: config files

BAD_CONFIGS = {
    "malformed": ("train:\n  lr: [1\n", "cfg.yaml:3: malformed YAML"),
    "list": ("- train\n", "expected a mapping"),
    "unknown-key": ("seed: 1\nsede: 2\n", "cfg.yaml:2: field 'sede' is unknown"),
    "misspelt-after-exponent": ("train:\n  lr: 1e-3\n  batchsize: 8\n", "cfg.yaml:3: field 'train.batchsize'"),
    "wrong-type": ("train:\n  lr: fast\n", "cfg.yaml:2: field 'train.lr' must be a number"),
    "duplicate-key": ("seed: 1\nseed: 2\n", "cfg.yaml:2: malformed YAML (key 'seed' appears twice"),
    "section-scalar": ("train: 5\n", "cfg.yaml:1: field 'train' must be a mapping"),
    "deep": (DEEP_YAML, "nested too deeply"),
    "not-utf8": (b"seed: caf\xe9\n", "not UTF-8"),
    "alias-bomb": (alias_bomb("candidates"), "field 'candidates'"),
}
for _name, (_text, _needle) in BAD_CONFIGS.items():
    case(f"run-config-{_name}", _needle)(lambda d, text=_text: ["run", "--dry-run", str(write(d, "cfg.yaml", text)),
                                                                f"runs_dir={d / 'runs'}"])


@case("run-config-missing", "cfg.yaml: file not found")
def _(d):
    return ["run", "--dry-run", str(d / "cfg.yaml")]


# ---------------------------------------------------------------- run: plan files

PLAN_OK = "plan_version: 2\ncandidates: [prompt, rag]\npriorities: {style: 1}\n"
BAD_PLANS = {
    "malformed": ("plan_version: 2\ncandidates: [prompt\n", "plan.yaml:3: malformed YAML"),
    "list": ("- prompt\n", "expected a mapping"),
    "version-1": ("plan_version: 1\ncandidates: [prompt]\n", "plan_version is 1"),
    "no-candidates": ("plan_version: 2\ncandidates: []\npriorities: {}\n", "field 'candidates'"),
    "unknown-candidate": ("plan_version: 2\ncandidates: [prompt, magic]\npriorities: {}\n",
                          "plan.yaml: field 'candidates' has 'magic'"),
    "unknown-priority": ("plan_version: 2\ncandidates: [prompt]\npriorities: {speed: 1}\n", "field 'priorities'"),
    "negative-priority": ("plan_version: 2\ncandidates: [prompt]\npriorities: {style: -1}\n", "field 'priorities'"),
    "ranking-not-list": (PLAN_OK + "ranking: first\n", "field 'ranking'"),
    "caveats-bad": (PLAN_OK + "caveats: [{id: x}]\n", "field 'caveats'"),
    "answers-list": (PLAN_OK + "answers: [gpu]\n", "field 'answers'"),
}
for _name, (_text, _needle) in BAD_PLANS.items():
    case(f"run-plan-{_name}", _needle)(lambda d, text=_text: _run(d, "--plan", str(write(d, "plan.yaml", text))))


@case("run-plan-missing", "plan.yaml: file not found")
def _(d):
    return _run(d, "--plan", str(d / "plan.yaml"))


# ---------------------------------------------------------------- run: model folders

def _model(d: Path, files: dict[str, bytes | str]) -> list[str]:
    for name, data in files.items():
        write(d, f"model/{name}", data)
    return _run(d, "--base-model", str(d / "model"), "--candidates", "prompt")


def _header(length: int, header: bytes, body: bytes = b"") -> bytes:
    return length.to_bytes(8, "little") + header + body


GOOD_HEADER = b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
BAD_MODELS = {
    "no-config": ({"model.safetensors": _header(len(GOOD_HEADER), GOOD_HEADER, b"\0" * 8)}, "has no config.json"),
    "no-weights": ({"config.json": "{}"}, "has no .safetensors weights"),
    "pickle-only": ({"config.json": "{}", "pytorch_model.bin": b"\x80\x02"}, "safetensors only"),
    "zeroed-header": ({"config.json": "{}", "model.safetensors": b"\0" * 64}, "model.safetensors: not a readable"),
    "random-header": ({"config.json": "{}", "model.safetensors": bytes(range(256)) * 4}, "not a readable safetensors"),
    "truncated": ({"config.json": "{}", "model.safetensors": _header(len(GOOD_HEADER), GOOD_HEADER, b"\0" * 3)},
                  "not a readable safetensors"),
    "header-too-long": ({"config.json": "{}", "model.safetensors": _header(10**9, b"{}")}, "not a readable"),
    "header-not-json": ({"config.json": "{}", "model.safetensors": _header(8, b"\xff\xfe{{{{{{")}, "not a readable"),
    "header-not-object": ({"config.json": "{}", "model.safetensors": _header(2, b"[]")}, "not a readable"),
    "short-file": ({"config.json": "{}", "model.safetensors": b"\x01\x02"}, "not a readable safetensors"),
}
for _name, (_files, _needle) in BAD_MODELS.items():
    case(f"run-model-{_name}", _needle)(lambda d, files=_files: _model(d, files))


@case("run-model-is-a-file", "does not exist")
def _(d):
    return _run(d, "--base-model", str(write(d, "model.safetensors", "x")))


# ---------------------------------------------------------------- report

def _report(d: Path, breakage: Callable[[Path], None], *args: str) -> list[str]:
    run = d / "run"
    shutil.copytree(RUN_FIXTURE, run, ignore=shutil.ignore_patterns("make_fixture.py", "README.md"))
    breakage(run)
    return ["report", str(run), "-o", str(d / "out" / "r.html"), *args]


BAD_RUNS = {
    "no-records-folder": (lambda r: shutil.rmtree(r / "records"), "not a run directory"),
    "empty-records": (lambda r: [f.unlink() for f in (r / "records").glob("*.json")], "no candidate records"),
    "record-bad-json": (lambda r: (r / "records" / "rag.json").write_text("{oops"), "rag.json: not valid JSON"),
    "record-not-object": (lambda r: (r / "records" / "rag.json").write_text("[1]"), "rag.json: the record has no"),
    "record-no-candidate": (lambda r: (r / "records" / "rag.json").write_text('{"metrics": {}}'), "rag.json"),
    "record-metrics-list": (lambda r: (r / "records" / "rag.json").write_text('{"candidate": "rag", "metrics": []}'),
                            "rag.json: field 'metrics'"),
    "record-duplicate": (lambda r: shutil.copy(r / "records" / "rag.json", r / "records" / "rag2.json"),
                         "appears twice"),
    "record-deep": (lambda r: (r / "records" / "rag.json").write_text("[" * 100_000), "rag.json: not valid JSON"),
    "run-json-bad": (lambda r: (r / "run.json").write_text("{"), "run.json: not valid JSON"),
    "run-json-list": (lambda r: (r / "run.json").write_text("[]"), "run.json: expected a JSON object"),
    "env-json-bad": (lambda r: (r / "env.json").write_text("nope"), "env.json: not valid JSON"),
    "config-bad-yaml": (lambda r: (r / "config.resolved.yaml").write_text("a: [1\n"), "config.resolved.yaml"),
}
for _name, (_breakage, _needle) in BAD_RUNS.items():
    case(f"report-{_name}", _needle)(lambda d, b=_breakage: _report(d, b))


@case("report-missing-dir", "no such run directory")
def _(d):
    return ["report", str(d / "nope"), "-o", str(d / "r.html")]


@case("report-a-file", "is a file")
def _(d):
    return ["report", str(write(d, "afile", "x")), "-o", str(d / "r.html")]


@case("report-output-under-proc", "-o /proc/r.html: nothing can be written in '/proc'")
def _(d):
    return _report(d, lambda r: None)[:2] + ["-o", "/proc/r.html"]


@case("report-output-is-a-folder", "is a directory")
def _(d):
    (d / "out" / "r.html").mkdir(parents=True)
    return _report(d, lambda r: None)


@case("report-lang", "--lang")
def _(d):
    return _report(d, lambda r: None, "--lang", "fr")


@case("report-disk-full", "the disk is full", enospc=True)
def _(d):
    return _report(d, lambda r: None)


# ---------------------------------------------------------------- base, bench

@case("base-build-size", "--size")
def _(d):
    return ["base", "build", "--size", "huge"]


@case("bench-only", "unknown benchmark")
def _(d):
    return ["bench", "--only", "nope"]


@case("unknown-command", "No such command")
def _(d):
    return ["frobnicate"]


# ---------------------------------------------------------------- the test

def tree(folder: Path) -> dict[str, str]:
    """Every path under `folder` with its content hash ("dir" for folders)."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


def test_the_corpus_covers_every_command():
    assert len(CASES) >= 150 and len({c.id for c in CASES}) == len(CASES)
    for prefix in ("advise-", "ask-", "suites-show-", "suites-validate-", "suites-new-",
                   "suites-export-", "suites-import-", "run-override-", "run-id-",
                   "run-option", "run-config-", "run-plan-", "run-model-", "report-", "agree-", "base-", "bench-"):
        assert any(c.id.startswith(prefix) for c in CASES), prefix


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(c, tmp_path, monkeypatch):
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    argv = c.setup(sandbox)
    monkeypatch.chdir(sandbox)
    before = tree(sandbox)
    if c.enospc:
        import rightfit.files

        def full(path, text):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        monkeypatch.setattr(rightfit.files, "_atomic_write", full)
    result = CliRunner().invoke(main, argv, input="\n" * 40)
    out, err = result.stdout, result.stderr
    assert result.exit_code == 2, (result.exit_code, out[-2000:], err[-2000:], result.exception)
    assert "Traceback" not in out + err
    if c.many:  # every problem on its own line, the file named in each
        lines = [line for line in out.splitlines() if line.strip()]
        assert lines and all(c.needle in line for line in lines), out
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rightfit: error: "), err
        assert c.needle in lines[0], lines[0]
        assert len(lines[0]) < 600, lines[0]  # a value is never echoed whole
    assert tree(sandbox) == before


@pytest.mark.slow
def test_disk_full_while_training_is_one_sentence_and_leaves_no_run(tmp_path, monkeypatch):
    """The disk fills while a checkpoint is saved, deep inside the Trainer: one sentence that says
    so, exit 2, no run directory and no published artifact."""
    import torch
    from tinymodels import make_tiny_llama

    torch.set_num_threads(1)
    model = make_tiny_llama(tmp_path / "model", seed=0)
    import transformers.modeling_utils

    def full(*a, **k):  # the weights of the first checkpoint (save_pretrained inside the Trainer)
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "cache" / "checkpoint"))
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", full)
    argv = ["run", "--suite", str(FIXTURES / "suites" / "mini-en"), "--candidates", "full", "--base-model",
            str(model), f"runs_dir={tmp_path / 'runs'}", f"cache_dir={tmp_path / 'cache'}", "train.max_steps=2",
            "train.batch_size=2", "train.checkpoint_every=1", "train.eval_every=0"]
    result = CliRunner().invoke(main, argv)
    errors = [line for line in result.stderr.splitlines() if line.startswith("rightfit: error: ")]  # + progress
    assert result.exit_code == 2 and len(errors) == 1 and "the disk is full" in errors[0], result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    assert not [p for p in (tmp_path / "cache" / "full").iterdir() if not p.name.endswith(".partial")]


def test_writing_to_a_device_streams_into_it_and_a_folder_is_refused(tmp_path):
    """An output path that is /dev/null or a pipe is written through, never renamed over (as root a
    rename would turn /dev/null into a plain file); a folder gets one sentence."""
    import stat

    from rightfit.errors import UserError
    from rightfit.files import atomic_write
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    atomic_write(fifo, "through the pipe")
    assert os.read(reader, 100) == b"through the pipe" and stat.S_ISFIFO(os.stat(fifo).st_mode)
    os.close(reader)
    atomic_write("/dev/null", "discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(UserError, match="is a folder or a special file"):
        atomic_write(tmp_path, "x")
