"""The training module: loss falls, resume replays exactly, torchrun replicas agree, and
checkpoints that were tampered with are refused."""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hiaudio import checkpoints
from hiaudio.train import tasks
from hiaudio.train.config import resolve
from hiaudio.train.loop import fit, seed_everything
from tests import train_fixture

ROOT = Path(__file__).resolve().parent.parent


def run(tmp_path, name="run", **overrides):
    sets = [f"out_dir={tmp_path / name}"] + [f"{k}={v}" for k, v in overrides.items()]
    cfg = resolve(train_fixture.Config, None, sets)
    seed_everything(cfg.seed)
    task = train_fixture.build(cfg)
    return fit(task, cfg), task.model, tmp_path / name


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


# ---- checkpoints --------------------------------------------------------------------------

@pytest.fixture()
def trained(tmp_path):
    _, _, out = run(tmp_path, steps=10)
    return out / "best.pt"


def test_checkpoint_describes_itself_and_loads(trained):
    model, meta = checkpoints.load_checkpoint(trained, expected="tiny_mlp")
    assert meta["kwargs"] == {"hidden": 16, "dropout": 0.1}
    assert meta["data_version"] == "synthetic-1" and "loss" in meta["metrics"]
    assert not model.training


def test_checkpoint_with_wrong_shapes_is_refused(trained, tmp_path):
    data = torch.load(trained, weights_only=True)
    data["kwargs"]["hidden"] = 32  # the weights are for 16 hidden units
    bad = tmp_path / "shapes.pt"
    torch.save(data, bad)
    with pytest.raises(checkpoints.CheckpointError, match="do not fit"):
        checkpoints.load_checkpoint(bad)


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/hiaudio-pwned",))


def test_checkpoint_with_a_pickle_payload_is_refused(trained, tmp_path):
    data = torch.load(trained, weights_only=True)
    data["metrics"]["evil"] = Payload()
    bad = tmp_path / "payload.pt"
    torch.save(data, bad)
    Path("/tmp/hiaudio-pwned").unlink(missing_ok=True)
    with pytest.raises(checkpoints.CheckpointError, match="refused"):
        checkpoints.load_checkpoint(bad)
    assert not Path("/tmp/hiaudio-pwned").exists()
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(checkpoints.CheckpointError, match="refused"):
        checkpoints.load_checkpoint(raw)
    assert not Path("/tmp/hiaudio-pwned").exists()


def test_checkpoint_of_an_unregistered_class_or_outside_assets_is_refused(trained, tmp_path):
    data = torch.load(trained, weights_only=True)
    data["model"] = "os:system"
    bad = tmp_path / "class.pt"
    torch.save(data, bad)
    with pytest.raises(checkpoints.CheckpointError, match="unknown model"):
        checkpoints.load_checkpoint(bad)
    with pytest.raises(checkpoints.CheckpointError, match="file name"):
        checkpoints.load_asset("../README.md")


def test_ship_copies_the_checkpoint_and_writes_its_card(tmp_path):
    from hiaudio.train import cards

    _, _, out = run(tmp_path, steps=10)
    assets = tmp_path / "assets"
    path = cards.ship(out, "tiny.pt", "python -m hiaudio.train tests.train_fixture", assets)
    model, meta = checkpoints.load_checkpoint(path, expected="tiny_mlp")
    assert "optimizer" not in meta
    text = (assets / "MODELS.md").read_text()
    assert "`python -m hiaudio.train tests.train_fixture`" in text and "synthetic-1" in text
    assert "test_rmse" in text and "wall time" in text
    cards.ship(out, "tiny.pt", "python -m hiaudio.train tests.train_fixture --set steps=10", assets)
    text = (assets / "MODELS.md").read_text()
    assert text.count("<!-- card:tiny.pt -->") == 1 and "--set steps=10" in text
    with pytest.raises(ValueError, match="file name"):
        cards.ship(out, "../evil.pt", "x", assets)
    best = checkpoints.read_checkpoint(out / "best.pt")  # 10 steps: best is last; make them differ
    best["state"] = {k: torch.zeros_like(v) for k, v in best["state"].items()}
    torch.save(best, out / "best.pt")
    final = checkpoints.read_checkpoint(out / "last.pt")
    for which, expected in (("best", best), ("last", final)):
        shipped = checkpoints.read_checkpoint(cards.ship(out, f"tiny_{which}.pt", "x", assets, which=which))
        assert all(torch.equal(shipped["state"][k], expected["state"][k]) for k in final["state"])
    with pytest.raises(ValueError, match="'best' or 'last'"):
        cards.ship(out, "tiny.pt", "x", assets, which="newest")
