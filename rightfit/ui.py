"""Terminal output: progress that respects --quiet, on a terminal and in a log.

On a terminal a long step shows a rich progress bar (rich is imported only when a bar is first
shown, so light commands start fast). When stderr is not a terminal (a log file, CI, a pipe) the
same step prints a plain line every tenth of its total or every 15 seconds, whichever comes
first (a step done within 2 seconds prints nothing), with the count, the rate and the time left,
so a log never goes silent for minutes:

    training (144 steps): 29/144 steps (20%), 11.3 steps/s, 10 s left, loss 1.234
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

QUIET = False
LOG_EVERY_S = 15.0      # a progress line in a log at least this often (seconds) ...
LOG_EVERY_SHARE = 0.10  # ... and each time another tenth of the total is done,
LOG_MIN_GAP_S = 2.0     # but not sooner than this after the start or the last line


def set_quiet(value: bool) -> None:
    global QUIET
    QUIET = value


def info(message: str) -> None:
    """A progress message on stderr (stdout is kept for results and --json)."""
    if not QUIET:
        print(message, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d} min"


class LogLines:
    """Progress as plain lines for a log: call it with the units done since the last call.

    Args:
        description: what is progressing ("training (144 steps)").
        total: units in all, or None when unknown (then lines come every LOG_EVERY_S only).
        unit: what is counted ("steps", "questions", "chunks").
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, description: str, total: int | None, unit: str = "steps", clock=time.monotonic):
        self.description, self.total, self.unit, self.clock = description, total, unit, clock
        self.start = self.last = clock()
        self.done = 0
        self.next_share = LOG_EVERY_SHARE

    def __call__(self, n: int = 1, status: str = "") -> None:
        self.done += n
        now = self.clock()
        share = self.done / self.total if self.total else None
        tenth = share is not None and share >= self.next_share - 1e-9 and now - self.last >= LOG_MIN_GAP_S
        if not tenth and now - self.last < LOG_EVERY_S:
            return
        if share is not None:
            while self.next_share <= share + 1e-9:
                self.next_share += LOG_EVERY_SHARE
        self.last = now
        info(self.line(now, status))

    def line(self, now: float, status: str = "") -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed  # units per second since the start
        parts = [f"{self.done}/{self.total} {self.unit} ({self.done / self.total:.0%})" if self.total
                 else f"{self.done} {self.unit}", f"{rate:.3g} {self.unit}/s"]
        if self.total and self.done < self.total and rate > 0:
            parts.append(f"{_duration((self.total - self.done) / rate)} left")
        elif self.total:
            parts.append(f"done in {_duration(elapsed)}")
        return f"  {self.description}: " + ", ".join(parts + ([status] if status else []))


def track(items: Iterable[T], description: str, total: int | None = None, unit: str = "steps") -> Iterator[T]:
    """Iterate with progress on stderr: a bar on a terminal, lines in a log, nothing when quiet."""
    if QUIET:
        yield from items
        return
    if not sys.stderr.isatty():
        advance = LogLines(description, total if total is not None else _len(items), unit)
        for item in items:
            yield item
            advance(1)
        return
    from rich.progress import track as rich_track
    yield from rich_track(items, description=description, total=total, transient=True)


def _len(items: Iterable) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


@contextlib.contextmanager
def progress(description: str, total: int | None = None, unit: str = "steps"):
    """Progress to advance by hand: ``with progress("training", 200) as advance: advance(1)``.

    A bar on a terminal, a line every tenth or every 15 s in a log (LogLines), nothing when quiet.
    """
    if QUIET:
        yield lambda n=1, **kw: None
        return
    if not sys.stderr.isatty():
        yield LogLines(description, total, unit)
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


# Messages from libraries that a user can do nothing about, by logger: each (logger, message start).
_NOISE = (
    # bitsandbytes on a CPU with avx512_bf16 looks for an optional fused kernel package on import
    # and warns when it is absent; rightfit runs 4-bit layers on its generic path anyway
    # (harness/modeling/load.py), so the warning is noise in every run that imports it.
    ("bitsandbytes.backends.cpu.ops", "Failed to load CPU gemm_4bit_forward from kernels-community"),
)


class _DropNoise(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.start)


def silence_library_noise() -> None:
    """Drop the library messages in _NOISE (once per process; before or after the library loads)."""
    for name, start in _NOISE:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) and f.start == start for f in logger.filters):
            logger.addFilter(_DropNoise(start))
