"""hiaudio/train/loop.py and config.py: loss falls, resume replays exactly, torchrun replicas agree, NaN stops loudly."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hiaudio.train import tasks
from hiaudio.train.config import resolve
from tests import train_fixture
from tests.train_fixture import run

ROOT = Path(__file__).resolve().parents[2]


def test_a_few_steps_lower_the_loss(tmp_path):
    result, _, out = run(tmp_path, steps=60)
    rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    train_loss = [float(v) for step, split, name, v in rows if split == "train" and name == "loss"]
    assert train_loss[-1] < 0.5 * train_loss[0]
    assert result["steps"] == 60 and "test_rmse" in result
    assert json.loads((out / "config.json").read_text())["steps"] == 60
    assert json.loads((out / "eval.json").read_text())["test_rmse"] == pytest.approx(result["test_rmse"])


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    _, straight, _ = run(tmp_path, "straight", steps=30, val_every=7)
    first, _, out = run(tmp_path, "resumed", steps=30, val_every=7, stop_after=13)
    assert first["stopped_by"] == "stop_after" and first["steps"] == 13
    second, resumed, _ = run(tmp_path, "resumed", steps=30, val_every=7)
    assert second["steps"] == 30
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_nan_loss_stops_loudly(tmp_path):
    with pytest.raises(RuntimeError, match="NaN loss at step"):
        run(tmp_path, lr=1e30, grad_clip=0)


def test_early_stopping(tmp_path):
    result, _, _ = run(tmp_path, steps=400, lr=0.0, val_every=5, patience=2)
    assert result["stopped_by"] == "early stopping" and result["steps"] == 15


def test_torchrun_two_processes_end_with_identical_weights(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29531", "-m", "hiaudio.train", "tests.train_fixture",
                           "--set", f"out_dir={out}", "--set", "steps=20"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "eval.json").read_text())
    assert result["world_size"] == 2 and result["replicas_identical"] is True
    assert result["steps"] == 20


def test_config_resolution_and_errors(tmp_path):
    cfg_file = tmp_path / "c.json"
    cfg_file.write_text(json.dumps({"hidden": 8, "lr": 0.5}))
    cfg = resolve(train_fixture.Config, cfg_file, ["lr=0.25", "amp=false"])
    assert (cfg.hidden, cfg.lr, cfg.amp) == (8, 0.25, False)
    with pytest.raises(ValueError, match="key=value"):
        resolve(train_fixture.Config, None, ["nonsense=1"])
    with pytest.raises(ValueError, match="unknown model"):
        tasks.task_module("no_such_model")
