"""The one prompt template of the project, shared by the generator, the base models and the harness.

Every technique formats questions with :func:`format_prompt`, so the self-built base models
see at evaluation exactly the shape they were pretrained on:

    Context:
    <chunk 1>

    <chunk 2>
    Question: <question>
    Answer:

and, without retrieved text, ``Question: <question>\\nAnswer:``. The model's answer follows
``Answer:`` after one space (the base models answer in the spec-sheet shape ``price: $49``).
"""

from __future__ import annotations

CONTEXT_HEADER = "Context:\n"
QUESTION = "Question: "
ANSWER = "Answer:"


def format_prompt(question: str, chunks: list[str] | None = None) -> str:
    """The prompt for `question`, with the retrieved `chunks` (best first) when given."""
    head = CONTEXT_HEADER + "\n\n".join(c.strip() for c in chunks) + "\n" if chunks else ""
    return f"{head}{QUESTION}{question.strip()}\n{ANSWER}"


def format_example(question: str, answer: str, chunks: list[str] | None = None) -> tuple[str, str]:
    """(prompt, completion) for training: the completion is ' ' + answer (the caller adds EOS)."""
    return format_prompt(question, chunks), " " + answer.strip()
