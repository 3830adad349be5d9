"""The small interfaces that the harness parts agree on.

A *technique* (prompt-only, RAG, LoRA, QLoRA, full fine-tuning, distillation, RAG+LoRA) builds an
artifact folder from a base model, a suite, its config and a seed, and loads it back as a
*candidate* that answers questions. The evaluator only sees candidates.

Composition, not inheritance: these are Protocols; each technique module implements them
directly (see STYLE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable


class Answer(TypedDict):
    text: str                  # the generated answer, prompt removed, stripped
    sources: list[str]         # doc ids put in the prompt (RAG); [] when the candidate cites nothing
    prompt_tokens: int
    generated_tokens: int
    seconds: float             # wall time for this question (its share of the batch)
    retrieval_seconds: float   # wall time spent retrieving for this question (0 without retrieval)
    context_truncated: int     # chunks cut or dropped (or question text trimmed) to fit the window


@dataclass
class BuildContext:
    """Everything a technique needs to build its artifact.

    Attributes:
        base_model: path (or HF id) of the base model; for distillation, the teacher's base.
        student_model: path of the smaller student base (distillation only).
        suite: a loaded :class:`harness.suites.Suite`.
        config: the resolved :class:`harness.config.RunConfig`.
        seed: the training seed for this candidate.
        out_dir: the artifact folder to write (empty on entry; renamed into the cache on success).
        force: rebuild even when cached.
    """

    base_model: str
    suite: Any
    config: Any
    seed: int
    out_dir: Path
    student_model: str = ""
    force: bool = False
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Candidate(Protocol):
    """A built technique, loaded and ready to answer."""

    name: str

    def answer(self, questions: list[str], decode: Any) -> list[Answer]:
        """Answer a batch of questions with decoding settings `decode` (a DecodeConfig)."""
        ...

    def with_docs(self, docs: dict[str, str]) -> "Candidate":
        """The candidate as it would be after the knowledge base changed to `docs`.

        RAG re-indexes; a fine-tuned model is not retrained and returns itself.
        """
        ...

    def language_model(self) -> tuple[Any, Any]:
        """(model, tokenizer) used to score text (perplexity, likelihood, canary exposure)."""
        ...


class Technique(Protocol):
    """One adaptation technique; registered by name in harness.techniques.REGISTRY."""

    name: str
    trains: bool  # fine-tunes weights (needs train data; checked for leakage and forgetting)

    def build(self, ctx: BuildContext) -> dict:
        """Build the artifact into ctx.out_dir; return ArtifactInfo/TrainLog fields for the record."""
        ...

    def load(self, artifact_dir: Path, ctx: BuildContext) -> Candidate:
        """Load a built artifact from disk (no rebuilding: e.g. the RAG index is read back)."""
        ...
