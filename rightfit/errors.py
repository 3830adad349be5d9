"""User-facing errors: one sentence, exit code 2, no traceback.

Anything a user can cause (a bad questionnaire, a broken suite, a bad config, a missing
model path) raises :class:`UserError` at the edge. The CLI prints its message and exits 2.
Internal errors are left alone so that they keep their traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input, reported as one sentence.

    Args:
        message: names the file, the line or field, and what to do.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message
