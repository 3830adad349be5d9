"""`accelerate launch` with 2 processes (gloo on CPU) trains like one process and publishes one artifact.

`accelerate launch --cpu --num_processes 2` starts ONE process (accelerate's CPU path is its
simple launcher; several CPU processes need mpirun), so the test uses `--multi_gpu`, which on
a machine without GPUs starts 2 torchrun workers that join a gloo process group: the code path
of several GPUs, minus NCCL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tinymodels import make_tiny_llama

pytestmark = pytest.mark.numerics  # make test runs it again with bf16 CPU kernels off

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "fixtures" / "suites" / "mini-en"
# fp32 pinned: two processes add the same gradients in another order, which moves fp32 weights by
# ~1e-7 relative (measured: 7e-9 full, 7e-6 LoRA after 6 steps; the bound is 1e-4). Under bf16
# autocast (8-bit mantissa) the same comparison drifts to ~3e-3 and says nothing about the split.
OVERRIDES = ["train.max_steps=6", "train.batch_size=4", "train.checkpoint_every=3", "train.eval_every=0",
             "train.precision=fp32", "train.lr=1e-3", "train.lora_lr=1e-2",  # learn in 6 steps
             "distill.mode=both"]  # the teacher both answers and gives soft targets inside the launch
TECHNIQUES = (("lora", "adapter/adapter_model.safetensors"), ("full", "model/model.safetensors"),
              ("distill", "model/model.safetensors"))

CHILD = """
import json, os, sys
import torch
torch.set_num_threads(1)
from pathlib import Path
import harness.modeling.train as training
seen = []  # example indices this process trained on, in order
read = training._Ordered.__getitem__
def logged(self, i):
    seen.append(self.order[i])
    return read(self, i)
training._Ordered.__getitem__ = logged
from harness.cache import build_or_load
from harness.config import load_config
from harness.techniques.protocol import BuildContext
from harness.suites import load_suite
model, cache, suite = sys.argv[1:4]
cfg = load_config(None, json.loads(sys.argv[4]) + ["cache_dir=" + cache])
ctx = BuildContext(base_model=model, suite=load_suite(suite), config=cfg, seed=3, out_dir=Path("."))
out = {"rank": int(os.environ["RANK"]), "world": int(os.environ["WORLD_SIZE"])}
for technique in ("lora", "full", "distill"):
    seen.clear()
    out[technique] = build_or_load(technique, ctx)[1]
    out[technique + "_seen"] = list(seen)
out["again"] = build_or_load("full", ctx)[1]["artifact"]["cache_hit"]
Path(f"result-{out['rank']}.json").write_text(json.dumps(out))  # stdout of the 2 processes interleaves
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path: Path, model: Path, cache: Path, overrides: list[str]) -> list[dict]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()),
           str(script), str(model), str(cache), str(SUITE), json.dumps(overrides)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((tmp_path / f"result-{rank}.json").read_text()) for rank in (0, 1)]


def _one_process_weights(model: Path, cache: Path, overrides: list[str]) -> dict:
    """The same builds in this process (no launcher): the reference the 2-process run must match."""
    import torch
    from safetensors.torch import load_file

    from harness.cache import build_or_load
    from harness.config import load_config
    from harness.suites import load_suite
    from harness.techniques.protocol import BuildContext
    torch.set_num_threads(1)
    cfg = load_config(None, overrides + [f"cache_dir={cache}"])
    ctx = BuildContext(base_model=str(model), suite=load_suite(str(SUITE)), config=cfg, seed=3, out_dir=Path("."))
    out = {}
    for technique, file in TECHNIQUES:
        folder = Path(build_or_load(technique, ctx)[1]["artifact"]["path"])
        out[technique] = load_file(str(folder / file))
    return out


@pytest.mark.slow
def test_two_processes_train_the_global_batch_and_publish_one_artifact(tmp_path):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from harness.config import TrainConfig
    from harness.modeling.train import schedule
    model = make_tiny_llama(tmp_path / "base", seed=5)
    student = make_tiny_llama(tmp_path / "student", seed=6, hidden=32, tokenizer_dir=model)
    overrides = OVERRIDES + [f"student_model={student}"]
    cache = tmp_path / "cache2"
    rank0, rank1 = _launch(tmp_path, model, cache, overrides)
    assert (rank0["rank"], rank1["rank"], rank0["world"]) == (0, 1, 2)

    # data: per step, process 0 reads the first half of the global batch and process 1 the second
    order = schedule(10, TrainConfig(max_steps=6, batch_size=4), 3)  # mini-en has 10 pairs
    for technique, _ in TECHNIQUES:  # distill: the teacher's answers to the same 10 questions
        assert rank0[technique + "_seen"] == [i for k in range(6) for i in order[4 * k:4 * k + 2]]
        assert rank1[technique + "_seen"] == [i for k in range(6) for i in order[4 * k + 2:4 * k + 4]]

    one = _one_process_weights(model, tmp_path / "cache1", overrides)
    for technique, file in TECHNIQUES:
        # exactly one published folder, nothing left half-built, both processes report it
        folders = sorted(p.name for p in (cache / technique).iterdir())
        assert len(folders) == 1 and not folders[0].endswith(".partial"), folders
        info0, info1 = rank0[technique]["artifact"], rank1[technique]["artifact"]
        assert info0["path"] == info1["path"] == str(cache / technique / folders[0])
        assert info0["cache_hit"] is False and info1["cache_hit"] is False
        assert not (Path(info0["path"]) / "checkpoints").exists()
        losses = [loss for _, loss in rank0[technique]["train"]["train_loss"]]
        assert len(losses) == 6 and losses[-1] < losses[0] - 0.1, losses
        assert rank1[technique]["train"] == rank0[technique]["train"]
        # the same weights as one process with the same global batch (token-weighted loss across processes)
        two = load_file(str(Path(info0["path"]) / file))
        assert two.keys() == one[technique].keys()
        assert max(float((two[k] - one[technique][k]).abs().max()) for k in two) < 1e-4
    assert rank0["again"] is True and rank1["again"] is True

    # the artifacts load with the plain library calls
    lora_dir = Path(rank0["lora"]["artifact"]["path"]) / "adapter"
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(model)), str(lora_dir))
    full = AutoModelForCausalLM.from_pretrained(str(Path(rank0["full"]["artifact"]["path"]) / "model"))
    ids = torch.tensor([[1, 5, 9, 12]])
    with torch.no_grad():
        assert torch.isfinite(peft(input_ids=ids).logits).all() and torch.isfinite(full(input_ids=ids).logits).all()
    trained_b = [v for k, v in load_file(str(lora_dir / "adapter_model.safetensors")).items() if "lora_B" in k]
    assert trained_b and max(float(b.abs().max()) for b in trained_b) > 1e-3  # B starts at 0: it trained


def test_the_global_batch_splits_evenly_over_the_processes_or_says_what_to_set():
    from harness.modeling.train import device_batch
    from rightfit.errors import UserError
    assert device_batch(16, 1) == 16 and device_batch(16, 4) == 4
    with pytest.raises(UserError, match=r"train.batch_size' \(10\).*set train.batch_size=8"):
        device_batch(10, 4)


def test_two_processes_share_the_evaluation_and_write_one_record(tmp_path):
    """`rightfit run` under a 2-process launch: each process answers half the questions (and scores
    half the perplexity windows), both get every answer back, process 0 writes one record, and the
    record's metrics are those of a one-process run."""
    model = make_tiny_llama(tmp_path / "base", seed=5, chat="chatml")
    args = ["run", "--suite", str(SUITE), "--candidates", "prompt", "--base-model", str(model), "--run-id", "r",
            f"cache_dir={tmp_path / 'cache'}", "decode.batch_size=2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port", str(_free_port()), "-m", "rightfit"]
    two = subprocess.run(launch + args + [f"runs_dir={tmp_path / 'two'}"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=240)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "rightfit", *args, f"runs_dir={tmp_path / 'one'}", "--force"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert one.returncode == 0, one.stderr[-3000:]
    records = {k: json.loads((tmp_path / k / "r" / "records" / "prompt.json").read_text()) for k in ("one", "two")}
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["r"]  # one run directory
    shares = [e["process"] for e in records["two"]["examples"]]
    assert set(shares) == {0, 1} and abs(shares.count(0) - shares.count(1)) <= 4  # half each, per part
    assert {e["process"] for e in records["one"]["examples"]} == {0}
    assert [e["answer"] for e in records["two"]["examples"]] == [e["answer"] for e in records["one"]["examples"]]
    for key, value in records["one"]["metrics"].items():
        if key.startswith("latency."):  # wall time
            continue
        got = records["two"]["metrics"][key]["value"]
        assert (got is None) == (value["value"] is None) and (got is None or abs(got - value["value"]) <= 1e-6 * max(
            1.0, abs(value["value"]))), key
