"""A build killed with SIGKILL mid-training resumes from its last checkpoint and ends identical."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tinymodels import make_tiny_llama

pytestmark = pytest.mark.numerics  # make test runs it again with bf16 CPU kernels off

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "fixtures" / "suites" / "mini-en"

CHILD = """
import json, sys, time
import torch
torch.set_num_threads(1)
import harness.modeling.train as training
slow = float(sys.argv[3])
plain = training.token_kd_loss
def slowed(*a, **k):  # slows each step so the parent can kill mid-training; numerics unchanged
    time.sleep(slow)
    return plain(*a, **k)
training.token_kd_loss = slowed
from pathlib import Path
from harness.cache import build_or_load
from harness.config import load_config
from harness.techniques.protocol import BuildContext
from harness.suites import load_suite
cfg = load_config(None, ["train.max_steps=24", "train.batch_size=4", "train.checkpoint_every=4",
                         "train.eval_every=6", "cache_dir=" + sys.argv[2]])
ctx = BuildContext(base_model=sys.argv[1], suite=load_suite(sys.argv[4]), config=cfg, seed=3, out_dir=Path("."))
cand, fields = build_or_load("full", ctx)
print(json.dumps(fields))
"""


def _run(model: Path, cache: Path, slow: float) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(model), str(cache), str(slow), str(SUITE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file
    (path,) = folder.glob("full/*/model/model.safetensors")
    return load_file(str(path))


@pytest.mark.slow
def test_sigkill_mid_training_resumes_to_the_same_weights_and_losses(tmp_path):
    from harness.modeling.train import latest_checkpoint
    model = make_tiny_llama(tmp_path / "base", seed=5)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    first = _run(model, straight, 0.0)

    victim = _run(model, killed, 0.15)
    deadline = time.time() + 120
    while time.time() < deadline and victim.poll() is None:
        ckpts = list(killed.glob("full/*.partial/checkpoints"))
        if ckpts and latest_checkpoint(ckpts[0]) is not None and latest_checkpoint(ckpts[0]).name != "checkpoint-4":
            break
        time.sleep(0.02)
    assert victim.poll() is None, "the build finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not [p for p in killed.glob("full/*") if not p.name.endswith(".partial")], "no artifact may be published"

    resumed = _run(model, killed, 0.0)
    out_resumed, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    out_first, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    log_first = json.loads(out_first.strip().splitlines()[-1])["train"]
    log_resumed = json.loads(out_resumed.strip().splitlines()[-1])["train"]
    assert log_first["resumed_from_step"] is None
    assert log_resumed["resumed_from_step"] >= 8
    assert log_resumed["train_loss"] == log_first["train_loss"]
    assert log_resumed["eval_loss"] == log_first["eval_loss"]
    a, b = _weights(straight), _weights(killed)
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6
