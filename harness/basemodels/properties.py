"""The three properties of a base model on a suite (issue #3), measured by greedy decoding.

- ``with_doc``: domain test questions with the gold document in the prompt (it can read);
- ``no_doc``: the same questions without a document (it does not already know the domain);
- ``probes``: general closed-book probe questions (there is something to forget).

An answer is right when the reference or an alias occurs in the generated text (the harness's
``contains`` metric) -- the generated text only, never the prompt.
"""

from __future__ import annotations

from pathlib import Path


def greedy_answers(model, tok, prompts: list[str], max_new_tokens: int = 12, batch_size: int = 32) -> list[str]:
    """Greedy continuations of `prompts` (left-padded batches), cut at EOS and the first newline."""
    import torch
    tok.padding_side = "left"
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            batch = prompts[i:i + batch_size]  # no BOS: as harness.modeling.generate does for these tokenizers
            enc = tok(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            for row in gen[:, enc["input_ids"].shape[1]:]:
                out.append(tok.decode(row, skip_special_tokens=True).split("\n")[0].strip())
    return out


def measure_properties(model_dir: str | Path, suite: str | Path, limit: int = 0) -> dict:
    """Accuracies (0..1) with the gold doc, without a doc, and on the probes, plus examples."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.evaluation.metrics import contains_answer
    from harness.suites import load_suite
    from harness.world.template import format_prompt

    s = load_suite(suite)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
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
