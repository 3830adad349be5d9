"""Perplexity and log-likelihood scoring on a tiny Llama, checked against independent computations."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from evalmodels import overfit_tiny_llama  # noqa: E402

from harness.modeling.score import choose, loglikelihoods, perplexity, rolling_windows  # noqa: E402

pytestmark = pytest.mark.numerics  # make test runs it again with bf16 CPU kernels off

TEXT = ("The quick brown fox jumps over the lazy dog. Question: How long is the warranty? Answer: two years. "
        "Hi there! Thanks for asking. - ShopCo Support. 退货需要十四天。保修期为两年。") * 2


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    """A tiny Llama trained for 40 steps on TEXT, so context matters (strided < disjoint)."""
    return overfit_tiny_llama(tmp_path_factory.mktemp("ppl") / "m", TEXT, steps=40)


def _token_nlls(model, ids: list[int]) -> list[float]:
    """NLL of each of ids[1:] given everything before it, one forward pass (independent of the module)."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].double()
    logp = torch.log_softmax(logits, -1)
    target = torch.tensor(ids[1:])
    return (-logp[torch.arange(len(target)), target]).tolist()


def _reference_nll(model, ids: list[int]) -> tuple[float, int]:
    nlls = _token_nlls(model, ids)
    return sum(nlls), len(nlls)


def test_windows_score_every_token_once():
    for n, length, stride in [(10, 4, 4), (10, 4, 2), (37, 8, 3), (9, 8, 8), (2, 5, 5)]:
        targets = []
        for begin, end, k in rolling_windows(n, length, stride):
            assert end - 1 - begin <= length and end - k >= begin + 1  # reads <= length, 1+ context
            targets += range(end - k, end)
        assert targets == list(range(1, n))
    assert rolling_windows(10, 4, 4) == [(0, 5, 4), (4, 9, 4), (5, 10, 1)]
    assert rolling_windows(1, 4, 4) == []


def test_perplexity_equals_exp_mean_nll_when_the_text_fits(lm):
    model, tok = lm
    ids = [tok.bos_token_id] + tok(TEXT, add_special_tokens=False)["input_ids"]
    assert len(ids) < 512
    nll, n = _reference_nll(model, ids)
    res = perplexity(model, tok, TEXT, max_length=512)
    assert res.tokens == n == len(ids) - 1
    assert res.ppl == pytest.approx(math.exp(nll / n), rel=1e-4)
    assert res.ppl < 100  # trained: far below the 500-token vocabulary's chance level


def test_disjoint_windows_equal_independent_chunks_and_stride_helps(lm):
    model, tok = lm
    ids = [tok.bos_token_id] + tok(TEXT, add_special_tokens=False)["input_ids"]
    length = 16
    # Disjoint windows by hand (lm-eval's rolling convention): chunk c predicts ids[16c+1 : 16c+17]
    # reading the 16 tokens before its end; the last, shorter chunk still reads a full 16.
    nll = n = 0
    for start in range(0, len(ids) - 1, length):
        end = min(start + length + 1, len(ids))
        begin = max(0, end - 1 - length)
        k = end - start - 1
        nll, n = nll + sum(_token_nlls(model, ids[begin:end])[-k:]), n + k
    disjoint = perplexity(model, tok, TEXT, max_length=length, stride=length, batch_size=3)
    assert disjoint.tokens == n
    assert disjoint.ppl == pytest.approx(math.exp(nll / n), rel=1e-4)
    strided = perplexity(model, tok, TEXT, max_length=length, stride=4)
    full = perplexity(model, tok, TEXT, max_length=512)
    assert strided.tokens == disjoint.tokens
    assert full.ppl <= strided.ppl <= disjoint.ppl  # more context per token, lower perplexity


def test_batching_does_not_change_the_result_and_texts_pool_by_tokens(lm):
    model, tok = lm
    texts = [TEXT, "Question: How long is the warranty? Answer: two years.", "退货需要十四天。"]
    one = perplexity(model, tok, texts, max_length=24, stride=8, batch_size=1)
    many = perplexity(model, tok, texts, max_length=24, stride=8, batch_size=16)
    assert one.tokens == many.tokens
    assert one.nll == pytest.approx(many.nll, rel=1e-4)
    parts = [perplexity(model, tok, t, max_length=24, stride=8) for t in texts]
    assert many.tokens == sum(p.tokens for p in parts)
    assert many.ppl == pytest.approx(math.exp(sum(p.nll for p in parts) / many.tokens), rel=1e-4)
    assert sum(w[1] for w in many.windows) == many.tokens


def test_loglikelihood_of_a_continuation(lm):
    model, tok = lm
    context, continuation = "Question: How long is the warranty?\nAnswer:", " two years"
    ctx = [tok.bos_token_id] + tok(context, add_special_tokens=False)["input_ids"]
    whole = [tok.bos_token_id] + tok(context + continuation, add_special_tokens=False)["input_ids"]
    assert whole[:len(ctx)] == ctx
    nll_whole, _ = _reference_nll(model, whole)
    nll_ctx, _ = _reference_nll(model, ctx)
    (logprob, n), = loglikelihoods(model, tok, [(context, continuation)])
    assert n == len(whole) - len(ctx)
    assert logprob == pytest.approx(-(nll_whole - nll_ctx), rel=1e-4)
    # A trailing space moves to the continuation: same tokens, same score.
    (again, n2), = loglikelihoods(model, tok, [(context + " ", "two years")])
    assert n2 == n and again == pytest.approx(logprob, rel=1e-5)


def test_multiple_choice_picks_the_trained_answer(lm):
    model, tok = lm
    context = "Question: How long is the warranty?\nAnswer:"
    assert choose(model, tok, context, [" lazy fox", " two years", " ShopCo dog"]) == 1


def test_probe_multiple_choice_batches_all_choices(lm):
    from types import SimpleNamespace

    from harness.evaluation.evaluate import mc_examples
    model, tok = lm
    probes = [{"id": "p1", "question": "How long is the warranty?", "answer": "two years",
               "choices": ["lazy fox", "two years", "ShopCo dog"]},
              {"id": "p2", "question": "What do bees make?", "answer": "honey"},               # no choices: skipped
              {"id": "p3", "question": "Sky?", "answer": "blue", "choices": ["red", "green"]},  # gold missing: skipped
              {"id": "p4", "question": "How long is the warranty?", "answer": "lazy fox",
               "choices": ["two years", "lazy fox"]}]
    cfg = SimpleNamespace(decode=SimpleNamespace(batch_size=2), eval=SimpleNamespace(memory_gb=1.0))
    rows = mc_examples(model, tok, probes, cfg)
    assert [(r["id"], r["choice"], r["correct"]) for r in rows] == [("p1", "two years", 1.0), ("p4", "two years", 0.0)]
