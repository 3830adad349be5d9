"""A suite's test questions as an lm-evaluation-harness task (`rightfit suites export --lm-eval`).

    DIR/rightfit_<suite>/rightfit_<suite>.yaml   the task: generate_until, greedy, our stop and scoring
    DIR/rightfit_<suite>/test.jsonl              one row per question, the prompt rendered by rightfit
    DIR/rightfit_<suite>/utils.py                harness/evaluation/text.py + harness/lmeval/task.py

lm-eval then runs it offline on any local model folder::

    lm-eval run --model hf --model_args pretrained=MODEL[,peft=ADAPTER] --include_path DIR \\
        --tasks rightfit_<suite> --log_samples --output_path OUT

The prompt is the one rightfit renders (harness.modeling.prompts.Prompter) for the model given at
export, its chat template applied, or the plain format (what a model without a template reads)
when none is given; decoding is greedy with at most the suite's answer length. The stop is the
model's: EOS (lm-eval always adds it) and, for a chat model, its end of turn; a plain model's
answer is its first line with content, which the task's filter cuts (lm-eval's ``until: ["\\n"]``
would also cut at a newline before any content, rightfit does not).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

EXPORTED = "# exported: defined above in utils.py"
FORMAT_VERSION = 1  # of the exported task; lm-eval logs it as the task's version


def task_name(suite_name: str) -> str:
    """The lm-eval task name of a suite: ``shopco-en-tiny`` -> ``rightfit_shopco_en_tiny``."""
    return "rightfit_" + re.sub(r"[^0-9a-z]+", "_", suite_name.lower()).strip("_")


def utils_source() -> str:
    """The task's utils.py: the text module, then the task module without its import of it."""
    from harness.evaluation import text
    from harness.lmeval import task
    glue, skipping = [], False
    for line in Path(task.__file__).read_text(encoding="utf-8").splitlines():
        if line.endswith(EXPORTED):  # the import of the text module, on one line or parenthesised
            skipping = line.split("#")[0].rstrip().endswith("(")
        elif skipping:
            skipping = not line.startswith(")")
        else:
            glue.append(line)
    return ("# Written by `rightfit suites export --lm-eval`: rightfit's answer normalisation\n"
            "# (harness/evaluation/text.py) and the task's loading and scoring (harness/lmeval/task.py).\n"
            + Path(text.__file__).read_text(encoding="utf-8") + "\n\n" + "\n".join(glue) + "\n")


def rows(suite: Any, prompter: Any) -> list[dict]:
    """One task row per test question (the fields harness/lmeval/task.py reads)."""
    style = suite.style or {}
    return [{"id": q["id"], "kind": q.get("kind", ""), "question": q["question"], "answer": q["answer"],
             "aliases": list(q.get("aliases", [])), "prompt": prompter.render(q["question"]),
             "first_line": not prompter.chat, "style_starts_with": (style.get("starts_with") or "").strip(),
             "style_ends_with": (style.get("ends_with") or "").strip(),
             "rightfit_suite": suite.name, "rightfit_version": suite.version} for q in suite.test]


def task_yaml(name: str, suite: Any, prompter: Any, max_new_tokens: int, model: str | None) -> str:
    until = [prompter.end_of_turn] if prompter.chat and prompter.end_of_turn else []
    rendered = f"for the model {model}" if model else "in the plain format (a model without a chat template)"
    q = json.dumps  # a JSON string is a YAML double-quoted scalar
    return f"""# The test questions of the rightfit suite {suite.name} v{suite.version} ({len(suite.test)} questions),
# written by `rightfit suites export --lm-eval`. Prompts rendered {rendered};
# greedy decoding; answers scored by rightfit's exact match (utils.py). Run offline:
#   lm-eval run --model hf --model_args pretrained=MODEL[,peft=ADAPTER] --include_path DIR \\
#       --tasks {name} --log_samples --output_path OUT
# then `rightfit suites import --lm-eval OUT/<model>/samples_{name}_<time>.jsonl RUN_DIR` adds the model to a run.
task: {name}
custom_dataset: !function utils.load
test_split: test
output_type: generate_until
doc_to_text: prompt
doc_to_target: answer
generation_kwargs:
  # lm-eval adds the model's EOS; a plain model's answer ends at its first line with content (the filter)
  until: [{", ".join(q(u) for u in until)}]
  do_sample: false
  max_gen_toks: {int(max_new_tokens)}
filter_list:
  - name: rightfit
    filter:
      - function: custom
        filter_fn: !function utils.answers
process_results: !function utils.process_results
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
  - metric: contains
    aggregation: mean
    higher_is_better: true
metadata:
  version: {FORMAT_VERSION}
  rightfit_suite: {q(suite.name)}
  rightfit_version: {q(str(suite.version))}
"""


def export_task(suite: Any, out_dir: str | Path, prompter: Any, max_new_tokens: int,
                model: str | None = None) -> Path:
    """Write the lm-eval task of `suite` under `out_dir`; returns its folder (replaced if present).

    Args:
        prompter: renders the prompts (harness.modeling.prompts.Prompter of the model, or of None
            for the plain format).
        max_new_tokens: tokens an answer may take (the suite's answer length unless overridden).
        model: the model the prompts were rendered for, named in the task's header.

    Raises:
        UserError: `out_dir` cannot be written.
    """
    import shutil

    from rightfit.files import atomic_write, check_writable_folder, publish_dir
    check_writable_folder(out_dir, f"--lm-eval {out_dir}")
    name = task_name(suite.name)
    final = Path(out_dir).absolute() / name
    work = final.with_name(f".{name}.partial")
    made = final.parent  # the outermost folder this export makes, removed again if it fails
    while not made.parent.exists():
        made = made.parent
    made = None if made.exists() else made
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.mkdir(parents=True)
        atomic_write(work / "test.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                  for r in rows(suite, prompter)))
        atomic_write(work / "utils.py", utils_source())
        atomic_write(work / f"{name}.yaml", task_yaml(name, suite, prompter, max_new_tokens, model))
        publish_dir(work, final)
    except BaseException:
        shutil.rmtree(made or work, ignore_errors=True)
        raise
    return final
