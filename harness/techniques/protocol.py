"""What a technique is, to the rest of the harness: the whole interface, nothing read around it.

A *technique* (prompt-only, RAG, LoRA, QLoRA, full fine-tuning, distillation, RAG+LoRA) builds an
artifact folder from a base model, a suite, its config and a seed, and loads it back as a
*candidate* that answers questions. The runner, the cache and the evaluator only see these
Protocols; they never branch on a technique's name.

Composition, not inheritance: these are Protocols; each technique module implements them
directly (anchor: torchtune's recipe interfaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypedDict, runtime_checkable

from rightfit.errors import UserError


class Answer(TypedDict):
    text: str                  # the generated answer, prompt removed, stripped
    sources: list[str]         # doc ids put in the prompt (RAG); [] when the candidate cites nothing
    prompt_tokens: int
    generated_tokens: int
    seconds: float             # wall time for this question (its share of the batch)
    retrieval_seconds: float   # wall time spent retrieving for this question (0 without retrieval)
    context_truncated: int     # chunks cut or dropped (or question text trimmed) to fit the window
    prompt: str                # the exact text the model read (rendered by harness.modeling.prompts)


class Held(NamedTuple):
    """A model a build holds in memory, and how: what the memory estimate sums."""

    model: str
    method: str             # advisor.estimate method: full, lora, qlora4 or inference
    context: bool = False   # its training prompts carry retrieved chunks (rows fill train.seq_len)
    trained: bool = False   # an inference model that is a fine-tuned artifact (saved in the training dtype)


@dataclass
class BuildContext:
    """Everything a technique needs to build its artifact.

    Attributes:
        base_model: path (or HF id) of the base model; for distillation, the teacher's base.
        suite: a loaded :class:`harness.suites.Suite`.
        config: the resolved RunConfig (harness/config.py).
        seed: the training seed for this candidate.
        out_dir: the artifact folder to write (empty on entry; renamed into the cache on success).
        student_model: path of the smaller student base (distillation).
        force: rebuild even when cached.
        inputs: technique name -> (candidate, record fields) of the artifacts this build
            ``requires``, built or read from the cache before the build starts.
    """

    base_model: str
    suite: Any
    config: Any
    seed: int
    out_dir: Path
    student_model: str = ""
    force: bool = False
    inputs: dict = field(default_factory=dict)

    def student(self) -> str:
        """The smaller student model: the context's, else the config's.

        Raises:
            UserError: neither names one.
        """
        student = self.student_model or getattr(self.config, "student_model", "")
        if not student:
            raise UserError("distillation needs a smaller student model; set student_model in the config.")
        return student


@runtime_checkable
class Candidate(Protocol):
    """A built technique, loaded and ready to answer."""

    name: str
    prompter: Any  # harness.modeling.prompts.Prompter: how the model is prompted (its format, stop tokens)

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
    """One adaptation technique, registered by name in harness.techniques.REGISTRY.

    Attributes:
        name: the registry name (what `candidates:` lists and records carry).
        trains: fine-tunes weights: needs training data, is built once per seed, is checked
            for leakage and forgetting.
        reference: the untouched base model; the runner evaluates it first and measures every
            other candidate's forgetting against it (exactly one registered technique).
        requires: techniques whose artifacts this build reads (built first, in ``ctx.inputs``).
        config_sections: the config sections (or top-level fields) the technique reads: the
            record's copy of its settings and part of its cache key.
        config_ignores: dotted fields of those sections it never reads ("train.lr"), left out
            of the cache key so changing them does not rebuild it.
        settings: the config fields this module owns: name -> (type, dataclass field); they
            join RunConfig through the registry.
    """

    name: str
    trains: bool
    reference: bool
    requires: tuple[str, ...]
    config_sections: tuple[str, ...]
    config_ignores: tuple[str, ...]
    settings: dict[str, tuple[type, Any]]

    def base_of(self, ctx: BuildContext) -> str:
        """The model the artifact adapts (the one its weights or adapter belong to)."""
        ...

    def models(self, ctx: BuildContext) -> dict[str, str]:
        """Further models the artifact depends on, by role ({"student": path}): cache-key inputs."""
        ...

    def memory(self, ctx: BuildContext) -> list[Held]:
        """Each model held in memory while building; [] when nothing trains. The memory estimate
        (harness.modeling.memory) sums them at the largest training step."""
        ...

    def check(self, ctx: BuildContext) -> None:
        """Refuse (UserError), before anything is built, a setup this technique cannot build."""
        ...

    def build(self, ctx: BuildContext) -> dict:
        """Build the artifact into ctx.out_dir; return ArtifactInfo/TrainLog fields for the record."""
        ...

    def load(self, artifact_dir: Path, ctx: BuildContext) -> Candidate:
        """Load a built artifact from disk (no rebuilding: e.g. the RAG index is read back)."""
        ...
