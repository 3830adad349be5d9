"""The generated world: deterministic, valid, and the domain never leaks into pretraining."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from harness.basemodels.build import SPECS, corpus_rows
from harness.suites import load_suite, validate_suite
from harness.world import domain_products, general_world, generate_suite
from harness.world.__main__ import BUNDLED
from harness.world.corpus import row_text
from harness.world.vocab import ATTRS, LANGS

TASKS = Path(__file__).resolve().parent.parent / "tasks"


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on either side or other bytes)."""
    fa = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    diff = sorted(str(p) for p in fa ^ fb)
    diff += [str(p) for p in sorted(fa & fb) if not filecmp.cmp(a / p, b / p, shallow=False)]
    return diff


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_suite_is_valid_and_reproduced_by_the_generator(name, tmp_path):
    assert validate_suite(TASKS / name) == []
    lang, size = BUNDLED[name]
    generate_suite(tmp_path / name, lang, size, 0, name)
    assert _same_tree(TASKS / name, tmp_path / name) == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_generator_is_deterministic_and_seed_sensitive(lang, tmp_path):
    for run, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_suite(tmp_path / run / "s", lang, "tiny", seed)
    assert _same_tree(tmp_path / "a" / "s", tmp_path / "b" / "s") == []
    assert "test.jsonl" in _same_tree(tmp_path / "a" / "s", tmp_path / "c" / "s")


@pytest.mark.parametrize("size", ["tiny", "default"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_domain_never_appears_in_pretraining(size, lang):
    domain = {p.name for p in domain_products(lang, size)}
    company = LANGS[lang]["company"]
    spec = SPECS[size]
    text = "\n".join(row_text(r) for r in corpus_rows(spec, 3000, "train"))
    assert lang not in spec.langs or LANGS[lang]["product_key"] in text  # the corpus has this language
    assert company not in text
    assert not [n for n in domain if n in text]
    assert not domain & {p.name for p in general_world(lang, size)}


@pytest.mark.parametrize("name", ["shopco-en", "shopco-zh"])
def test_suite_parts_follow_the_design(name):
    s = load_suite(name)
    style = s.style
    assert all(r["output"].startswith(style["starts_with"]) and r["output"].endswith(style["ends_with"])
               for r in s.train)
    kinds = {r["kind"] for r in s.test}
    assert kinds == {"seen", "docs_only"}
    train_q = {r["instruction"] for r in s.train}
    trained_docs = {d for r in s.train for d in r["doc_ids"]}
    for r in s.test:
        assert r["question"] not in train_q                     # always new words
        assert (r["sources"][0] in trained_docs) == (r["kind"] == "seen")
        assert r["answer"] in s.docs[r["sources"][0]]          # the gold doc holds the answer
    # Several paraphrases per trained fact.
    per_fact = {}
    for r in s.train:
        if r["doc_ids"]:
            per_fact[(r["doc_ids"][0], r["output"])] = per_fact.get((r["doc_ids"][0], r["output"]), 0) + 1
    assert min(per_fact.values()) >= 3
    # Canaries: planted in train only, never in tests, docs or probes.
    elsewhere = json.dumps([s.test, s.probes, s.test_updated, s.docs], ensure_ascii=False)
    for c in s.canaries:
        assert sum(c["secret"] in r["output"] for r in s.train) >= 1
        assert c["secret"] not in elsewhere
    # Updates: about a fifth of the tested products change one fact, answered from the new docs.
    tested = {r["sources"][0] for r in s.test}
    assert 0.15 <= len(s.updated_docs) / len(tested) <= 0.25
    for r in s.test_updated:
        doc = r["sources"][0]
        assert r["answer"] in s.updated_docs[doc]
        line = [x for x in s.updated_docs[doc].splitlines() if x.endswith(" " + r["answer"])][0]
        assert (line in s.docs[doc]) == (r["kind"] == "unchanged")
    # Probes: general-world facts, asked in the held-out wordings, answer among the choices.
    assert all(r["answer"] in r["choices"] and len(set(r["choices"])) == 4 for r in s.probes)


def test_chinese_suite_is_chinese():
    s = load_suite("shopco-zh")
    cjk = lambda t: sum("\u4e00" <= ch <= "\u9fff" for ch in t) / max(1, len(t))
    assert s.language == "zh"
    assert min(cjk(r["question"]) for r in s.test) > 0.5
    assert min(cjk(d) for d in s.docs.values()) > 0.3


def test_value_sets_are_large_enough_that_guessing_fails():
    # No-document accuracy must stay low: every attribute has >= 20 equally likely values.
    for lang in LANGS.values():
        assert all(len(set(lang["values"][a])) >= 20 for a in ATTRS)


def test_large_size_has_100k_docs_without_writing_them():
    prods = domain_products("en", "large")
    assert len(prods) >= 100_000 and len({p.name for p in prods}) == len(prods)
