"""The generated world: a general world for pretraining and one fictional company's domain.

Deterministic for a seed. Sizes: ``tiny`` (tests), ``default`` (demo), ``large`` (>= 100k
domain documents, generated on demand for scale benchmarks).

    from harness.world import generate_suite, general_world
    generate_suite("tasks/shopco-en", lang="en", size="default")
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from harness.world.entities import Product, brand_name, make_products
from harness.world.vocab import LANGS


@dataclass(frozen=True)
class WorldSize:
    general_brands: int   # general-world companies
    per_brand: int        # products per general company
    domain_docs: int      # domain products (one document each)
    trained: int          # domain products with train pairs (tested as "seen")
    tested: int           # docs-only domain products that are tested
    probes: int           # general closed-book probe questions


SIZES = {
    "tiny": WorldSize(general_brands=4, per_brand=6, domain_docs=24, trained=12, tested=12, probes=32),
    "default": WorldSize(general_brands=8, per_brand=8, domain_docs=80, trained=48, tested=32, probes=100),
    "large": WorldSize(general_brands=8, per_brand=8, domain_docs=100_000, trained=48, tested=32, probes=100),
}
# The general world of `large` is the default one, so the default base models serve it.
WORLD_OF = {"tiny": "tiny", "default": "default", "large": "default"}


def _size(size: str) -> WorldSize:
    from rightfit.errors import UserError
    if size not in SIZES:
        raise UserError(f"size '{size}' is unknown; use one of {', '.join(SIZES)}.")
    return SIZES[size]


def general_world(lang: str, size: str, seed: int = 0) -> list[Product]:
    """The general-world products that the base models memorise (never the domain company).

    Every size takes the first products of one list (round-robin over the default brands), so
    a smaller world is a subset of a larger one and the default models know the tiny probes.
    """
    sz, full = _size(WORLD_OF.get(size, size)), SIZES["default"]
    rng = random.Random(f"general:{lang}:{seed}")
    L = LANGS[lang]
    brands = []
    while len(brands) < full.general_brands:
        b = brand_name(rng, L)
        if b not in brands:
            brands.append(b)
    world = make_products(rng, L, brands, full.general_brands * full.per_brand, "g", model_syllables=2)
    return world[:sz.general_brands * sz.per_brand]


def domain_products(lang: str, size: str, seed: int = 0) -> list[Product]:
    """The domain company's products: three-syllable model names, so pretraining never has them."""
    sz = _size(size)
    rng = random.Random(f"domain:{lang}:{size}:{seed}")
    L = LANGS[lang]
    return make_products(rng, L, [L["company"]], sz.domain_docs, "p", model_syllables=3)


def generate_suite(out: str | Path, lang: str = "en", size: str = "default", seed: int = 0,
                   name: str | None = None) -> Path:
    """Write the domain suite for `lang` and `size` into `out`."""
    from harness.world.suite import write_suite
    sz = _size(size)
    out = Path(out)
    return write_suite(out, name or out.name, LANGS[lang], size, seed, domain_products(lang, size, seed),
                       sz.trained, sz.tested, general_world(lang, size, seed), sz.probes)
