"""The three properties a base model needs for the findings to show, measured by greedy decoding.

- ``with_doc``: domain test questions with the gold document in the prompt (it can read);
- ``no_doc``: the same questions without a document (it does not already know the domain);
- ``probes``: general closed-book probe questions (there is something to forget).

An answer is right when the reference or an alias occurs in the generated text (the harness's
``contains`` metric) -- the generated text only, never the prompt.
"""

from __future__ import annotations

from pathlib import Path


def greedy_answers(model, tok, prompts: list[str], max_new_tokens: int = 12, batch_size: int = 32) -> list[str]:
    """Greedy answers to `prompts`, ended where the model's format ends them (the harness's own generation)."""
    from harness.config import DecodeConfig
    from harness.modeling.generate import generate
    decode = DecodeConfig(strategy="greedy", max_new_tokens=max_new_tokens, batch_size=batch_size)
    return [g["text"] for g in generate(model.eval(), tok, prompts, decode)]


def measure_properties(model_dir: str | Path, suite: str | Path, limit: int = 0) -> dict:
    """Accuracies (0..1) with the gold doc, without a doc, and on the probes, plus examples."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.evaluation.metrics import contains_answer
    from harness.modeling.prompts import Prompter
    from harness.suites import load_suite

    s = load_suite(suite)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    format_prompt = Prompter(tok).render  # the model's own format: its chat template, or the plain one
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    test = s.test[:limit] if limit else s.test
    probes = s.probes[:limit] if limit else s.probes

    def score(rows, prompts):
        answers = greedy_answers(model, tok, prompts)
        hits = [contains_answer(a, [r["answer"]] + r["aliases"]) for a, r in zip(answers, rows)]
        return sum(hits) / max(1, len(hits)), answers

    res = {}
    res["with_doc"], a1 = score(test, [format_prompt(r["question"], [s.docs[d] for d in r["sources"]]) for r in test])
    res["no_doc"], _ = score(test, [format_prompt(r["question"]) for r in test])
    res["probes"], a3 = score(probes, [format_prompt(r["question"]) for r in probes])
    res["n_test"], res["n_probes"] = len(test), len(probes)
    res["examples"] = [(r["question"], r["answer"], a) for r, a in list(zip(test, a1))[:3] + list(zip(probes, a3))[:3]]
    return res
