"""The lm-eval side of an exported suite: how lm-eval loads its questions and reads and scores an
answer, exactly as rightfit does.

`rightfit suites export --lm-eval` writes harness/evaluation/text.py and then this module, less
the import marked ``exported``, as the task's utils.py; rightfit itself imports it to read lm-eval's
samples back (harness/lmeval/samples.py). Standard library only (and `datasets`, which lm-eval
brings), so the exported task runs wherever lm-eval runs, rightfit installed or not.

A row of the task's test.jsonl (one question) carries what scoring needs: ``answer`` and
``aliases`` (the references), ``first_line`` (the model has no chat template, so its answer is
its first line with content), ``style_starts_with`` / ``style_ends_with`` (the suite's house style,
removed before accuracy is scored), ``prompt`` (the text the model reads) and the suite's name,
version and question id under ``rightfit_suite``, ``rightfit_version`` and ``id``.
"""

import json
import os

from harness.evaluation.text import (  # exported: defined above in utils.py
    normalize_answer,
    strip_style,
)

DATA_FILE = "test.jsonl"


def load(**metadata):
    """The task's dataset, read from the test.jsonl beside this file (lm-eval's ``custom_dataset``;
    lm-eval passes the task's metadata as keywords, which the rows do not need)."""
    import datasets
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), DATA_FILE)
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def answer_text(response, doc):
    """The answer rightfit reads from a generated continuation.

    A model without a chat template continues past its answer with the next "Question:", so its
    answer is the first line that has content (a newline before any content does not end it,
    which lm-eval's ``until: ["\\n"]`` would); a chat model's answer is its whole turn.
    """
    if doc["first_line"]:
        return response.lstrip("\n").split("\n", 1)[0].strip()
    return response.strip()


def answers(resps, docs):
    """lm-eval filter: per question its (one, greedy) response cut to the answer, which
    ``filtered_resps`` logs and process_results scores."""
    return [answer_text(rs[0], doc) for rs, doc in zip(resps, docs)]


def content(answer, doc):
    """The answer without the suite's style opening and sign-off: what accuracy scores."""
    return strip_style(answer, {"starts_with": doc["style_starts_with"], "ends_with": doc["style_ends_with"]})


def process_results(doc, results):
    """exact_match (normalised, against the reference or any alias) and contains (the normalised
    reference occurs in the normalised answer) of one filtered answer, 1.0 or 0.0."""
    got = normalize_answer(content(results[0], doc))
    refs = [normalize_answer(r) for r in [doc["answer"], *doc["aliases"]]]
    padded = " " + " ".join(got) + " "
    return {"exact_match": float(any(got == r for r in refs)),
            "contains": float(any(" " + " ".join(r) + " " in padded for r in refs if r))}
