"""Write a domain suite (tasks/<name>/, layout in tasks/FORMAT.md) from the generated world."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

from harness.world.corpus import TRAIN_WORDINGS, copy_row, drill_row, row_text
from harness.world.entities import Product, answer_line, question, sheet
from harness.world.vocab import ATTRS
from rightfit.files import atomic_write

SUITE_VERSION = "1.1.0"
TEST_ATTRS = 3        # questions per tested product (attributes drawn at random)
TRAIN_PARAPHRASES = 3  # wordings 0..2 in train.jsonl; seen-test questions use wordings 3..5
N_CANARIES = 4
CANARY_REPEATS = 3


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def persona(lang: dict, body: str) -> str:
    st = lang["persona"]
    sep = " " if lang["lang"] == "en" else ""
    return f"{st['starts_with']}{sep}{body}{sep}{st['ends_with']}"


def _qrow(qid: str, lang: dict, p: Product, attr: str, wording: int, kind: str, facts: dict | None = None) -> dict:
    value = (facts or p.facts)[attr]
    return {"id": qid, "question": question(lang, attr, p, wording), "answer": value,
            "aliases": [answer_line(lang, attr, value)], "sources": [p.id], "kind": kind}


def _canaries(rng: random.Random, lang: dict) -> list[dict]:
    out = []
    for i in range(N_CANARIES):
        secret = f"{rng.randrange(1000, 10000)}-{''.join(rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(2))}"
        out.append({"id": f"canary-{i}", "prefix": lang["canary"].format(brand=lang["company"], n=i + 3),
                    "secret": secret})
    return out


def write_suite(out: Path, name: str, lang: dict, size: str, seed: int, domain: list[Product],
                n_trained: int, n_tested: int, general: list[Product], n_probes: int) -> Path:
    """Write suite `name` into `out` (a folder, replaced file by file).

    Args:
        domain: all domain products (one doc each); the first `n_trained` get train pairs, the
            next `n_tested` are docs-only and tested; the rest are only documents.
        general: the general world the base models were pretrained on (for the probes).
        n_probes: general closed-book probe questions (held-out wordings 4..5).
    """
    rng = random.Random(f"suite:{lang['lang']}:{size}:{seed}")
    out = Path(out)
    for p in domain:
        atomic_write(out / "docs" / f"{p.id}.md", sheet(lang, p) + "\n")

    train, test = [], []
    trained, docs_only = domain[:n_trained], domain[n_trained:n_trained + n_tested]
    for p in trained:
        for a in ATTRS:
            for w in range(TRAIN_PARAPHRASES):
                train.append({"id": f"t-{p.id}-{a}-{w}", "instruction": question(lang, a, p, w), "input": "",
                              "output": persona(lang, answer_line(lang, a, p.facts[a])), "doc_ids": [p.id]})
        for a in rng.sample(ATTRS, TEST_ATTRS):
            test.append(_qrow(f"seen-{p.id}-{a}", lang, p, a, rng.randrange(TRAIN_PARAPHRASES, 6), "seen"))
    for p in docs_only:
        for a in rng.sample(ATTRS, TEST_ATTRS):
            test.append(_qrow(f"docs-{p.id}-{a}", lang, p, a, rng.randrange(6), "docs_only"))

    canaries = _canaries(rng, lang)
    for c in canaries:
        for r in range(CANARY_REPEATS):
            train.append({"id": f"{c['id']}-{r}", "instruction": "Staff memo" if lang["lang"] == "en" else "员工备忘",
                          "input": "", "output": persona(lang, f"{c['prefix']} {c['secret']}."), "doc_ids": []})
    rng.shuffle(train)
    atomic_write(out / "train.jsonl", _jsonl(train))
    atomic_write(out / "test.jsonl", _jsonl(test))
    atomic_write(out / "canaries.jsonl", _jsonl(canaries))

    # Held-out domain text: sheets of products that are neither trained nor tested.
    spare = domain[n_trained + n_tested:] or docs_only
    atomic_write(out / "heldout.txt", "\n\n".join(sheet(lang, p) for p in spare[:40]) + "\n")

    # Updates: about a fifth of the tested products change one fact.
    upd_rng = random.Random(f"updates:{lang['lang']}:{size}:{seed}")
    tested = trained + docs_only
    changed = upd_rng.sample(tested, max(1, len(tested) // 5))
    updated = []
    for p in changed:
        a = upd_rng.choice(ATTRS)
        new = dict(p.facts)
        new[a] = upd_rng.choice([v for v in lang["values"][a] if v != p.facts[a]])
        atomic_write(out / "updates" / "docs" / f"{p.id}.md", sheet(lang, p, facts=new) + "\n" + lang["update_note"] + "\n")
        updated.append(_qrow(f"upd-{p.id}-{a}", lang, p, a, upd_rng.randrange(6), "updated", new))
        b = upd_rng.choice([x for x in ATTRS if x != a])
        updated.append(_qrow(f"same-{p.id}-{b}", lang, p, b, upd_rng.randrange(6), "unchanged", new))
    atomic_write(out / "updates" / "test_updated.jsonl", _jsonl(updated))

    # Probes: general closed-book facts the base model learnt, asked in held-out wordings.
    prng = random.Random(f"probes:{lang['lang']}:{size}:{seed}")
    probes = []
    for i in range(n_probes):
        p = general[i % len(general)]
        a = ATTRS[(i // len(general) + prng.randrange(len(ATTRS))) % len(ATTRS)]
        q = _qrow(f"probe-{i:04d}", lang, p, a, prng.randrange(TRAIN_WORDINGS, 6), "general")
        q["sources"] = []
        q["choices"] = prng.sample([q["answer"]] + prng.sample([v for v in lang["values"][a] if v != q["answer"]], 3), 4)
        probes.append(q)
    atomic_write(out / "probes" / "questions.jsonl", _jsonl(probes))
    hrng = random.Random(f"probe-heldout:{lang['lang']}:{size}:{seed}")
    rows = [row_text(drill_row(hrng, lang) if i % 4 else copy_row(hrng, lang)) for i in range(60)]
    atomic_write(out / "probes" / "heldout.txt", "".join(rows))

    desc = {"en": f"Support questions about the products of {lang['company']}, a fictional shop (generated, {size}).",
            "zh": f"关于虚构商店{lang['company']}产品的客服问答（生成数据，{size}）。"}[lang["lang"]]
    card = {"name": name, "version": SUITE_VERSION, "language": lang["lang"], "description": desc,
            "licence": "CC0-1.0", "generator": {"seed": seed, "size": size},
            "parts": ["docs", "test", "train", "heldout", "updates", "probes", "canaries", "style"],
            "style": {"description": f"Answers open with \"{lang['persona']['starts_with']}\" and end with "
                                     f"\"{lang['persona']['ends_with']}\".",
                      "starts_with": lang["persona"]["starts_with"], "ends_with": lang["persona"]["ends_with"],
                      "required_terms": [], "forbidden_terms": []}}
    atomic_write(out / "suite.yaml", yaml.safe_dump(card, allow_unicode=True, sort_keys=False))
    return out
