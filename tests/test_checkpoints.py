"""hiaudio/checkpoints.py: self-describing checkpoints; tampered ones are refused."""
import os
import pickle
from pathlib import Path

import pytest
import torch

from hiaudio import checkpoints
from tests.train_fixture import run


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
