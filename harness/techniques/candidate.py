"""The candidate every technique loads: a language model, optionally with a retriever in front."""

from __future__ import annotations

import time
from typing import Any

from harness.modeling.generate import generate, to_answers
from harness.techniques.protocol import Answer


class ModelCandidate:
    """A language model (base, fine-tuned or with an adapter), optionally with a retriever in front.

    Args:
        name: technique name.
        model, tokenizer: the loaded model (eval mode) and its tokenizer.
        retriever: a harness.retrieval.retriever.Retriever (RAG) or None.
        rag: RagConfig (top_k, chunking for with_docs) when there is a retriever.
        shots: few-shot text put before every prompt (prompt-only), "" for none.
        seed: sampling seed.
    """

    def __init__(self, name: str, model: Any, tokenizer: Any, retriever: Any = None, rag: Any = None,
                 shots: str = "", seed: int = 0):
        self.name, self.model, self.tokenizer = name, model, tokenizer
        self.retriever, self.rag, self.shots, self.seed = retriever, rag, shots, seed

    def answer(self, questions: list[str], decode: Any) -> list[Answer]:
        from harness.modeling.load import context_window
        from harness.retrieval.retriever import assemble_context
        from harness.world.template import format_prompt
        window = context_window(self.model, self.tokenizer)
        if self.retriever is None:
            prompts = [self.shots + format_prompt(q) for q in questions]
            return to_answers(generate(self.model, self.tokenizer, prompts, decode, self.seed, window))
        prompts, sources, seconds, cut = [], [], [], []
        for q in questions:
            start = time.perf_counter()
            hits = self.retriever.search(q, self.rag.top_k)
            prompt, ids, n_cut = assemble_context(self.tokenizer, q, hits, window, decode.max_new_tokens)
            seconds.append(time.perf_counter() - start)
            prompts.append(prompt)
            sources.append(ids)
            cut.append(n_cut)
        return to_answers(generate(self.model, self.tokenizer, prompts, decode, self.seed, window), sources,
                          seconds, cut)

    def with_docs(self, docs: dict[str, str]) -> "ModelCandidate":
        """RAG re-indexes the new knowledge base; weights are never retrained here."""
        if self.retriever is None:
            return self
        from harness.retrieval.retriever import Retriever
        return ModelCandidate(self.name, self.model, self.tokenizer, Retriever.build(docs, self.tokenizer, self.rag),
                              self.rag, self.shots, self.seed)

    def language_model(self) -> tuple[Any, Any]:
        return self.model, self.tokenizer
