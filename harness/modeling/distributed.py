"""Several processes (``accelerate launch``, ``torchrun``): who writes, who waits.

Every process of a launch trains (the Trainer shards each global batch across them and DDP
averages the gradients), but an artifact folder has one writer: process 0 takes the build
lock, saves the weights, writes the manifest and publishes the folder; the others wait at a
barrier and then load what it published.

The launchers set RANK and WORLD_SIZE for every process they start, so a single-process run
reads two environment variables and never touches torch.distributed.
"""

from __future__ import annotations

import os


def world_size() -> int:
    """Processes in this launch (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (0 without a launcher)."""
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """Whether this process writes shared files (artifacts, checkpoints' model files)."""
    return rank() == 0


def _state():
    """Join the process group the launcher set up (gloo on CPU, NCCL on GPUs) the way the
    Trainer does later (its 30-minute ddp_timeout). Without cpu=True on a machine without GPUs,
    accelerate joins the group but reports no distributed type, and its wait_for_everyone
    does nothing: we call torch.distributed ourselves."""
    from datetime import timedelta

    import torch
    from accelerate import PartialState
    return PartialState(cpu=not torch.cuda.is_available(), timeout=timedelta(seconds=1800))


def barrier() -> None:
    """Wait until every process of the launch gets here (no-op for a single process)."""
    if world_size() > 1:
        import torch.distributed as dist
        _state()
        dist.barrier()


def main_value(value):
    """Process 0's `value` on every process (a decision all processes must share, e.g. whether
    a cached artifact exists: the others must not decide differently while process 0 writes)."""
    if world_size() == 1:
        return value
    import torch.distributed as dist
    _state()
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard_map(fn, items: list) -> list:
    """``fn(items)`` with the items split across the processes of a launch: process r runs `fn` on
    items r, r + N, r + 2N, ... and every process gets all results back, in the items' order
    (one process: just ``fn(items)``). Evaluation is sharded this way instead of every process
    answering every question."""
    if world_size() == 1:
        return fn(items)
    import torch.distributed as dist
    _state()
    n, r = world_size(), rank()
    mine = fn(items[r::n]) if items[r::n] else []
    parts: list = [None] * n
    dist.all_gather_object(parts, mine)
    out: list = [None] * len(items)
    for k, part in enumerate(parts):
        out[k::n] = part
    return out


def token_share(tokens: int, device=None) -> float:
    """processes * tokens / (tokens on all processes): the factor that turns this process's
    per-token mean loss into its share of the global per-token mean.

    DDP averages gradients over processes, so a mean of per-process means would weigh a token
    on a process with few answer tokens more than one on a busy process; scaled by this factor
    the averaged gradient is the single-process one (measured: 2 processes end within 1e-8 of
    1 process for full fine-tuning, 7e-6 for LoRA, instead of 8e-4 and 8e-3 unscaled).
    """
    import torch
    import torch.distributed as dist
    _state()
    total = torch.tensor([float(tokens)], device=device)  # NCCL reduces only GPU tensors
    dist.all_reduce(total)
    return world_size() * tokens / float(total)
