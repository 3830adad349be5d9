"""Terminal output: progress bars and messages that respect --quiet.

rich is imported only when a bar is first shown, so light commands start fast.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

QUIET = False


def set_quiet(value: bool) -> None:
    global QUIET
    QUIET = value


def info(message: str) -> None:
    """A progress message on stderr (stdout is kept for results and --json)."""
    if not QUIET:
        print(message, file=sys.stderr, flush=True)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr (none when quiet or not a terminal)."""
    if QUIET or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track as rich_track
    yield from rich_track(items, description=description, total=total, transient=True)


@contextlib.contextmanager
def progress(description: str, total: int | None = None):
    """A progress bar to advance by hand: ``with progress("training", 200) as advance: advance(1)``."""
    if QUIET or not sys.stderr.isatty():
        yield lambda n=1, **kw: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    cols = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total, status="")

        def advance(n: int = 1, status: str = "") -> None:
            bar.update(task, advance=n, status=status)
        yield advance
