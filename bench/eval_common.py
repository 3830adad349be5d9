"""What the evaluation benchmarks share: the model they measure and where results go.

The model is, in order: ``--model PATH``; the self-built base teacher (``default``, then
``tiny``) when it is already built (a benchmark never starts a base-model build, which other
processes may be running); otherwise a small Llama trained here for a few seconds on the text
it will be scored on, in a temporary folder (so that perplexities are not those of noise).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO))

from rightfit import ui  # noqa: E402

ui.silence_library_noise()  # as `rightfit` does: library messages a reader can do nothing about


def built_base_teacher() -> Path | None:
    from harness.basemodels.build import cache_dir
    for size in ("default", "tiny"):
        folder = cache_dir(size)
        if (folder / "build.json").exists():
            return folder / "teacher"
    return None


def small_trained_llama(texts: list[str], steps: int = 60, block: int = 256) -> Path:
    """A 2-layer, 128-wide Llama with a BPE tokenizer, trained `steps` steps on `block`-token
    pieces of `texts` (seeded); scored with windows up to `block` it is in its trained range."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.basemodels.random import make_tiny_llama

    folder = Path(tempfile.mkdtemp(prefix="rightfit-bench-")) / "model"
    make_tiny_llama(folder, texts, hidden=128, layers=2, seed=0, max_positions=512)
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    ids = tok("\n".join(texts), add_special_tokens=False)["input_ids"]
    blocks = torch.tensor([ids[i:i + block] for i in range(0, len(ids) - block, block // 2)])  # (n, block)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = blocks[torch.randint(0, len(blocks), (8,), generator=gen)]
        model(input_ids=batch, labels=batch).loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder


def load_model(path: str | None, texts: list[str]):
    """(model, tokenizer, description) for the benchmark."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    source = "--model"
    if path is None:
        found = built_base_teacher()
        path, source = (str(found), "self-built base teacher") if found else \
            (str(small_trained_llama(texts)), "small Llama trained in the benchmark (no base model built yet)")
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    desc = {"path": path, "source": source, "params": sum(p.numel() for p in model.parameters()),
            "hidden": model.config.hidden_size, "layers": model.config.num_hidden_layers}
    return model, tok, desc


def peer(module: str, package: str):
    """Import the peer a benchmark compares against, or stop the benchmark with the reason: a row
    without its peer is an error, never a silently missing number.

    Args:
        module: the import name (``lm_eval``, ``rank_bm25``); package: its pip name, pinned in
            requirements.txt, which `make bench` installs.
    """
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise SystemExit(f"peer missing: {package} cannot be imported ({e}); `make bench` installs it from "
                         f"requirements.txt (or: pip install -r requirements.txt)") from None


def timed(fn, repeats: int = 3):
    """(result, median seconds over `repeats` runs)."""
    return interleaved([fn], repeats)[0]


def interleaved(fns: list, repeats: int = 5) -> list[tuple]:
    """[(result, median seconds)] per function, the functions run in turn `repeats` times.

    Alternating the contenders spreads the noise of a shared machine over all of them.
    """
    times: list[list[float]] = [[] for _ in fns]
    results: list = [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - start)
    return [(r, sorted(t)[len(t) // 2]) for r, t in zip(results, times)]


def write_result(name: str, data: dict) -> Path:
    import torch

    from rightfit.files import atomic_write
    data = {"benchmark": name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"python": platform.python_version(), "torch": torch.__version__,
                        "threads": torch.get_num_threads()}, **data}
    out = RESULTS / f"{name}.json"
    atomic_write(out, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return out
