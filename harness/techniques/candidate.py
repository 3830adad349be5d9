"""The candidate every technique loads: a language model, optionally with a retriever in front."""

from __future__ import annotations

import time
from typing import Any

from harness.modeling.generate import generate, to_answers
from harness.modeling.prompts import Prompter, fit_context
from harness.techniques.protocol import Answer


class ModelCandidate:
    """A language model (base, fine-tuned or with an adapter), optionally with a retriever in front.

    Args:
        name: technique name.
        model, tokenizer: the loaded model (eval mode) and its tokenizer.
        retriever: a harness.retrieval.retriever.Retriever (RAG) or None.
        rag: RagConfig (top_k, chunking for with_docs) when there is a retriever.
        shots: few-shot (question, answer) pairs shown before every question (prompt-only).
        seed: sampling seed.
        system: the system message (harness.modeling.prompts.system_message).
        index_cache: the cache folder where with_docs keeps the indexes it builds (None: in memory).
    """

    def __init__(self, name: str, model: Any, tokenizer: Any, retriever: Any = None, rag: Any = None,
                 shots: list[tuple[str, str]] | None = None, seed: int = 0, system: str = "",
                 index_cache: str | None = None):
        self.name, self.model, self.tokenizer = name, model, tokenizer
        self.retriever, self.rag, self.shots, self.seed, self.system = retriever, rag, shots or [], seed, system
        self.index_cache = index_cache
        self.prompter = Prompter(tokenizer, system)

    def answer(self, questions: list[str], decode: Any) -> list[Answer]:
        from harness.modeling.load import context_window
        window = context_window(self.model, self.tokenizer)
        if self.retriever is None:
            prompts = [self.prompter.render(q, shots=self.shots) for q in questions]
            generated = generate(self.model, self.tokenizer, prompts, decode, self.seed, window, self.prompter)
            return to_answers(generated, prompts=prompts)
        prompts, sources, seconds, cut = [], [], [], []
        for q in questions:
            start = time.perf_counter()
            hits = self.retriever.search(q, self.rag.top_k)
            prompt, ids, n_cut = fit_context(self.prompter, q, hits, window, decode.max_new_tokens)
            seconds.append(time.perf_counter() - start)
            prompts.append(prompt)
            sources.append(ids)
            cut.append(n_cut)
        generated = generate(self.model, self.tokenizer, prompts, decode, self.seed, window, self.prompter)
        return to_answers(generated, sources, seconds, cut, prompts=prompts)

    def with_docs(self, docs: dict[str, str]) -> "ModelCandidate":
        """RAG re-indexes the new knowledge base; weights are never retrained here."""
        if self.retriever is None:
            return self
        if self.index_cache:
            from harness.retrieval.index_cache import index_for
            index = index_for(docs, self.rag, self.index_cache)[0]
        else:
            from harness.retrieval.retriever import Retriever
            index = Retriever.build(docs, self.rag)
        return ModelCandidate(self.name, self.model, self.tokenizer, index, self.rag, self.shots, self.seed,
                              self.system, self.index_cache)

    def language_model(self) -> tuple[Any, Any]:
        return self.model, self.tokenizer


def candidate_for(name: str, model: Any, tokenizer: Any, ctx: Any, **kw: Any) -> ModelCandidate:
    """The ModelCandidate of a build context: its seed and its run's system message filled in."""
    from harness.modeling.prompts import system_message
    return ModelCandidate(name, model, tokenizer, seed=ctx.seed, system=system_message(ctx.suite, ctx.config),
                          index_cache=getattr(ctx.config, "cache_dir", None), **kw)
