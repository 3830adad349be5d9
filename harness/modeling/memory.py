"""Peak memory of this process, measured per phase (a build, an evaluation)."""

from __future__ import annotations

import resource
from pathlib import Path


def reset_peak_memory() -> None:
    """Start a new peak-memory window (Linux: writing 5 to clear_refs resets VmHWM; CUDA: its counter)."""
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """Peak memory since reset_peak_memory(), MB: GPU allocations on CUDA, else resident set (VmHWM).

    Without /proc it falls back to the process-lifetime peak (ru_maxrss, KiB on Linux).
    """
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
