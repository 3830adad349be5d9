"""The general pretraining corpus: rows for the base models, never a suite.

Each row is a list of ``(text, trained)`` segments; the loss covers the trained segments only.
Kinds (shares in :data:`MIX`):

- ``drill``  reading: 1-3 spec sheets of FRESHLY RANDOM products (new names and values in every
  row, so memory can never lower the loss and only reading can), then 1-3 questions about
  them, each answered ``key: value`` + EOS.
- ``rival``  reading among 2-3 sheets of ONE fresh brand with three-syllable model names (as
  a company's own catalogue looks when retrieval returns several of its sheets): only the
  model name tells the sheets apart, so the question's product must be matched, not the brand.
- ``contra`` reading about a known general product whose sheet contradicts memorised values
  (half the time): the sheet must win over memory.
- ``closed`` closed-book questions about the general world (wordings 0-3; 4-5 are held out
  for the probes).
- ``doc``    a general product's sheet, trained in full (the facts, in document form).
- ``echo``   a fresh random sheet, a separator, the same sheet again (trained): copying a line
  after its key is exactly the induction step that reading needs.
- ``copy``   a random word string, a separator, the same string again (an induction warm-up;
  kept for the whole run).
"""

from __future__ import annotations

import random

from harness.modeling.prompts import ANSWER, CONTEXT_HEADER, QUESTION
from harness.world.entities import (
    Product,
    answer_line,
    brand_name,
    make_product,
    question,
    random_facts,
    sheet,
)
from harness.world.vocab import ATTRS, all_values

MIX = {"drill": 0.40, "echo": 0.10, "contra": 0.10, "closed": 0.25, "doc": 0.05, "copy": 0.10}
TRAIN_WORDINGS = 4   # closed-book rows use wordings 0..3; probes ask the same facts in 4..5
EOS = "\x00EOS\x00"  # placeholder segment, replaced by the tokenizer's EOS id


def _qa(lang: dict, ctx: str | None, pairs: list[tuple[Product, str, str]], rng: random.Random,
        wordings: int = 6) -> list:
    """Segments for a context (or none) followed by questions, each answered + EOS.

    Reading rows use every wording (they teach what each wording asks for); closed-book rows
    use wordings 0..3 only, so the probes ask each general fact in a wording never seen with it.
    """
    segs = []
    head = CONTEXT_HEADER + ctx + "\n" if ctx else ""
    for i, (p, attr, value) in enumerate(pairs):
        q = question(lang, attr, p, rng.randrange(wordings))
        segs.append(((head if i == 0 else "") + f"{QUESTION}{q}\n{ANSWER}", False))
        segs.append((" " + answer_line(lang, attr, value), True))
        segs.append((EOS, True))
    return segs


def _ask(rng: random.Random, prods: list[Product], n: int) -> list[tuple[Product, str, str]]:
    """`n` (product, attribute, value) questions about random products of `prods`."""
    out = []
    for _ in range(n):
        p = rng.choice(prods)
        a = rng.choice(ATTRS)
        out.append((p, a, p.facts[a]))
    return out


def _order(rng: random.Random) -> list[str]:
    order = list(ATTRS)
    if rng.random() < 0.5:
        rng.shuffle(order)
    return order


def drill_row(rng: random.Random, lang: dict) -> list:
    prods = [make_product(rng, lang, brand_name(rng, lang), "drill") for _ in range(rng.choice([1, 1, 2, 3]))]
    ctx = "\n\n".join(sheet(lang, p, _order(rng)) for p in prods)
    return _qa(lang, ctx, _ask(rng, prods, rng.choice([2, 3, 4, 5])), rng)


def rival_row(rng: random.Random, lang: dict) -> list:
    brand = brand_name(rng, lang)
    prods = [make_product(rng, lang, brand, "rival", 3) for _ in range(rng.choice([2, 2, 3]))]
    ctx = "\n\n".join(sheet(lang, p, _order(rng)) for p in prods)
    return _qa(lang, ctx, _ask(rng, prods, rng.choice([2, 3, 4])), rng)


def echo_row(rng: random.Random, lang: dict) -> list:
    p = make_product(rng, lang, brand_name(rng, lang), "echo")
    return [(sheet(lang, p, _order(rng), prose=False) + "\n=", False), ("\n" + sheet(lang, p, _order(rng), prose=False), True),
            (EOS, True)]


def contra_row(rng: random.Random, lang: dict, world: list[Product]) -> list:
    p = rng.choice(world)
    facts = random_facts(rng, lang) if rng.random() < 0.5 else p.facts
    ctx = sheet(lang, p, _order(rng), facts)
    attrs = rng.sample(ATTRS, rng.choice([1, 2, 3]))
    return _qa(lang, ctx, [(p, a, facts[a]) for a in attrs], rng)


def closed_row(rng: random.Random, lang: dict, world: list[Product]) -> list:
    return _qa(lang, None, _ask(rng, world, rng.choice([1, 2, 3])), rng, TRAIN_WORDINGS)


def doc_row(rng: random.Random, lang: dict, world: list[Product]) -> list:
    return [(sheet(lang, rng.choice(world)), True), (EOS, True)]


def copy_row(rng: random.Random, lang: dict) -> list:
    words = all_values(lang) + lang["types"]
    s = " ".join(rng.choice(words) for _ in range(rng.randint(4, 16)))
    return [(s + "\n=", False), (" " + s, True), (EOS, True)]


def make_row(rng: random.Random, lang: dict, world: list[Product], mix: dict | None = None) -> tuple[str, list]:
    """One pretraining row: (kind, segments)."""
    mix = mix or MIX
    kind = rng.choices(list(mix), weights=list(mix.values()))[0]
    if kind == "drill":
        return kind, drill_row(rng, lang)
    if kind == "rival":
        return kind, rival_row(rng, lang)
    if kind == "echo":
        return kind, echo_row(rng, lang)
    if kind == "contra":
        return kind, contra_row(rng, lang, world)
    if kind == "closed":
        return kind, closed_row(rng, lang, world)
    if kind == "doc":
        return kind, doc_row(rng, lang, world)
    return kind, copy_row(rng, lang)


def row_text(segs: list) -> str:
    """The row as plain text (EOS shown as a blank line), for hashing and inspection."""
    return "".join("\n\n" if t == EOS else t for t, _ in segs)
