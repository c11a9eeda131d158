"""hiaudio/data/speech.py and `python -m hiaudio.data`: espeak-ng speech."""
import json

import numpy as np
import torch

from hiaudio.data import splits
from hiaudio.data.__main__ import main as data_cli
from hiaudio.data.speech import SpeechDataset, sentences


def test_speech_builder_makes_a_clip_per_voice(tmp_path):
    ds = SpeechDataset("test", n_clips=len(splits.SPEECH_HELD_OUT_VARIANTS), sample_rate=16000, cache_dir=tmp_path)
    seen = set()
    for i in range(len(ds)):
        item = ds[i]
        meta = json.loads(item["meta"])
        wave = item["audio"].numpy()
        assert 1.0 < len(wave) / 16000 < 8.0 and np.abs(wave).max() > 0.2
        assert meta["voice"]["variant"] in splits.SPEECH_HELD_OUT_VARIANTS and meta["text"] in sentences("test")
        seen.add(meta["voice"]["variant"])
        assert ds.path(i).exists() and ds.path(i).with_suffix(".json").exists()
    assert seen == set(splits.SPEECH_HELD_OUT_VARIANTS)
    again = SpeechDataset("test", n_clips=1, cache_dir=tmp_path)[0]
    assert torch.equal(again["audio"], ds[0]["audio"])


def test_cli_builds_speech_and_refuses_held_out_training(tmp_path, capsys):
    assert data_cli(["speech", "--n", "2", "--split", "validation", "--out", str(tmp_path)]) == 0
    assert "2 clips" in capsys.readouterr().out
    assert data_cli(["chorales", "--split", "train", "--timbre", "held_out"]) == 2
    assert "evaluation only" in capsys.readouterr().err
