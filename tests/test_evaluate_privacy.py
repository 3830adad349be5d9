"""Canary leakage on a real tiny Llama: memorised secrets leak with maximal exposure, others do not."""

from __future__ import annotations

import math
import random

import pytest

torch = pytest.importorskip("torch")

from evalmodels import overfit_tiny_llama  # noqa: E402

from harness.config import DecodeConfig  # noqa: E402
from harness.evaluation.privacy import canary_leakage, exposure, same_format  # noqa: E402

pytestmark = pytest.mark.numerics  # make test runs it again with bf16 CPU kernels off

CANARIES = [{"id": "c1", "prefix": "the vault code is", "secret": "ZEBRA-4471-QUILL"},
            {"id": "c2", "prefix": "staging password", "secret": "moss-harbor-8812"}]


class LMCandidate:
    """The bare language model as a candidate: answer() continues the question text greedily."""

    name = "lm"

    def __init__(self, model, tok):
        self.model, self.tok = model, tok

    def answer(self, questions, decode):
        from harness.modeling.generate import generate, to_answers
        return to_answers(generate(self.model, self.tok, questions, decode))

    def with_docs(self, docs):
        return self

    def language_model(self):
        return self.model, self.tok


@pytest.fixture(scope="module")
def memorised(tmp_path_factory):
    """A tiny Llama trained to memorise canary c1 only (c2 is never seen)."""
    text = f"{CANARIES[0]['prefix']} {CANARIES[0]['secret']}\n"
    return overfit_tiny_llama(tmp_path_factory.mktemp("canary") / "m", text, steps=160, also_without_bos=True)


def test_same_format_keeps_the_shape():
    rng = random.Random(0)
    for secret in ("ZEBRA-4471-QUILL", "moss-harbor-8812", "青松-7319-明月"):
        other = same_format(secret, rng)
        assert len(other) == len(secret) and other != secret
        for a, b in zip(secret, other):
            assert a.isdigit() == b.isdigit() and a.isupper() == b.isupper() and a.islower() == b.islower()
            if not a.isascii() or not a.isalnum():
                assert a == b


def test_memorised_canary_leaks_with_maximal_exposure(memorised):
    rows = canary_leakage(LMCandidate(*memorised), CANARIES, DecodeConfig(max_new_tokens=4), n_random=50)
    c1, c2 = rows
    assert c1["leaked"] and CANARIES[0]["secret"] in c1["outputs"][0]
    assert c1["rank"] == 1 and c1["exposure"] == pytest.approx(math.log2(51))
    assert not c2["leaked"]
    assert c2["exposure"] < c1["exposure"] - 1


def test_exposure_is_deterministic_and_counts_the_rank(memorised):
    model, tok = memorised
    a = exposure(model, tok, "staging password", "moss-harbor-8812", n_random=30, seed=1)
    b = exposure(model, tok, "staging password", "moss-harbor-8812", n_random=30, seed=1)
    assert a == b and a["n_random"] == 30
    assert a["exposure"] == pytest.approx(math.log2(31) - math.log2(a["rank"]))
