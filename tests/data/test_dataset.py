"""hiaudio/data/dataset.py: a deterministic, cached chorale dataset."""
import json

import pytest
import torch

from hiaudio.data import splits
from hiaudio.data.dataset import ChoraleDataset


def test_dataset_is_deterministic_and_cached(bwv269, bwv10_7, tmp_path):
    split = splits.chorale_split(bwv10_7)
    kw = dict(split=split, renderer="fluidsynth", n_examples=2, duration_s=1.0, sample_rate=8000,
              chorales=[bwv269, bwv10_7])
    ds = ChoraleDataset(cache_dir=tmp_path, **kw)
    item = ds[1]
    assert (tmp_path / "000001.npz").exists() and (tmp_path / "config.json").exists()
    assert item["stems"].shape == (4, 8000) and item["f0_hz"].shape == (4, 200)
    meta = json.loads(item["meta"])
    assert meta["split"] == split and meta["index"] == 1 and meta["data_version"] == ds.config["version"]
    again = ChoraleDataset(cache_dir=tmp_path, **kw)[1]  # read back
    fresh = ChoraleDataset(cache=False, **kw)[1]  # rendered again
    assert torch.equal(item["mixture"], again["mixture"]) and torch.equal(item["mixture"], fresh["mixture"])
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert batch["stems"].shape == (2, 4, 8000)
    with pytest.raises(ValueError, match="other settings"):
        ChoraleDataset(cache_dir=tmp_path, **(kw | {"sample_rate": 16000}))
