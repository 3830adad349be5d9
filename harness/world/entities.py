"""Products of the generated world and how they are written down (spec sheets, answers).

A product has five facts (price, warranty, colour, material, origin). Names are built from
syllables: general-world and drill products have two-syllable model names, domain products
three, and the domain company's name is never given to a general brand, so no domain product
can appear in pretraining (a test checks the corpus).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.world.vocab import ATTRS


@dataclass
class Product:
    id: str
    name: str          # full name, e.g. "ShopCo Kalomira kettle"
    brand: str
    type: str
    facts: dict = field(default_factory=dict)   # attr -> value string
    prose: int = 0     # which prose sentence its sheet carries


def _word(rng: random.Random, lang: dict, n: int) -> str:
    w = "".join(rng.choice(lang["syllables"]) for _ in range(n))
    return w.capitalize() if lang["lang"] == "en" else w


def brand_name(rng: random.Random, lang: dict) -> str:
    """A general-world brand (never the domain company)."""
    while True:
        b = _word(rng, lang, 2)
        if b != lang["company"]:
            return b


def random_facts(rng: random.Random, lang: dict) -> dict:
    return {a: rng.choice(lang["values"][a]) for a in ATTRS}


def make_product(rng: random.Random, lang: dict, brand: str, pid: str, model_syllables: int = 2) -> Product:
    t = rng.choice(lang["types"])
    name = lang["product"].format(brand=brand, model=_word(rng, lang, model_syllables), type=t)
    return Product(pid, name, brand, t, random_facts(rng, lang), rng.randrange(len(lang["prose"])))


def make_products(rng: random.Random, lang: dict, brands: list[str], n: int, prefix: str,
                  model_syllables: int, taken: set | None = None) -> list[Product]:
    """`n` products with distinct names, round-robin over `brands`."""
    taken = set() if taken is None else taken
    out = []
    while len(out) < n:
        p = make_product(rng, lang, brands[len(out) % len(brands)], f"{prefix}{len(out):05d}", model_syllables)
        if p.name not in taken:
            taken.add(p.name)
            out.append(p)
    return out


def answer_line(lang: dict, attr: str, value: str) -> str:
    """The base models' answer shape: the sheet's key, then the value (``price: $49``)."""
    return f"{lang['keys'][attr]} {value}"


def sheet(lang: dict, p: Product, order: list[str] | None = None, facts: dict | None = None,
          prose: bool = True) -> str:
    """The spec sheet of `p`: a product line, one ``key: value`` line per attribute, one prose line."""
    facts = facts or p.facts
    lines = [f"{lang['product_key']} {p.name}"] + [f"{lang['keys'][a]} {facts[a]}" for a in (order or ATTRS)]
    if prose:
        lines.append(lang["prose"][p.prose].format(p=p.name, brand=p.brand))
    return "\n".join(lines)


def question(lang: dict, attr: str, p: Product, wording: int) -> str:
    return lang["questions"][attr][wording].format(p=p.name)
