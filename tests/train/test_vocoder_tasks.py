"""hiaudio/train/wavegrad_task.py, specdiff_gan_task.py and vocoder_data.py: a few steps of each
task on a pack of synthetic voices (no espeak-ng needed), what their checkpoints record, and
resuming from what ships."""
import json

import numpy as np
import pytest
import torch

from hiaudio import checkpoints
from hiaudio.data import vocoder_voices
from hiaudio.train import cards, specdiff_gan_task, vocoder_data, wavegrad_task
from hiaudio.train.loop import fit, seed_everything
from tests.helpers import harmonic_voice

SR = vocoder_voices.SAMPLE_RATE


class _Bank:
    """A stand-in for a VoiceBank: synthetic vowels, as `write_pack` reads a bank."""

    def __init__(self, split: str, n_clips: int, seed: int = 0):
        self.split, self.seed, self.n_clips = split, seed, n_clips

    def __len__(self):
        return self.n_clips

    def clip(self, i):
        wave, _ = harmonic_voice(110.0 + 40 * i, SR, duration_s=0.9 + 0.1 * i, vibrato_cents=30.0, seed=i)
        wave = np.round(wave * 32768) / 32768  # what a 16-bit cache holds
        return wave.astype(np.float32), {"label": f"vowel{i}", "split": self.split}


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pack")
    vocoder_voices.write_pack(_Bank("train", 4), folder)
    vocoder_voices.write_pack(_Bank("validation", 2), folder)
    return folder


def test_a_pack_returns_the_clips_it_was_made_of(pack):
    clips = vocoder_data.voice_clips("train", 3, 0, str(pack))
    bank = _Bank("train", 4)
    assert len(clips) == 3 and all(np.array_equal(c, bank.clip(i)[0]) for i, c in enumerate(clips))
    header = json.loads(vocoder_voices.pack_path(pack, "train").with_suffix(".json").read_text())
    assert header["version"] == vocoder_voices.VOICES_VERSION and header["metas"][2]["label"] == "vowel2"
    with pytest.raises(ValueError, match="holds 4 clips"):
        vocoder_data.voice_clips("train", 5, 0, str(pack))
    with pytest.raises(FileNotFoundError, match="vocoder-pack"):
        vocoder_data.voice_clips("test", 1, 0, str(pack))


def test_a_wavegrad_trained_with_a_prior_ships_it_with_searched_schedules(tmp_path, pack):
    cfg = wavegrad_task.Config(steps=4, batch_size=2, val_every=2, log_every=2, warmup_steps=0, channels="8,8,8,8,8",
                               noise="priorgrad", n_train=4, n_val=2, n_monitor=1, monitor_s=1.0, segment_frames=8,
                               monitor_every=0, out_dir=str(tmp_path / "wg"), pack=str(pack))
    seed_everything(cfg.seed)
    result = fit(wavegrad_task.build(cfg), cfg)
    assert result["steps"] == 4 and np.isfinite(result["val_pesq_wb_6_steps"])
    path = cards.ship(tmp_path / "wg", "wavegrad.pt", "python -m hiaudio.train wavegrad", tmp_path / "assets")
    model, meta = checkpoints.load_checkpoint(path, expected="wavegrad")
    assert meta["kwargs"]["noise"] == "priorgrad" and model.noise == "priorgrad"
    mel = torch.zeros(1, 80, 4)
    assert model.prior(mel, 4 * 256).kind == "priorgrad"  # the prior it samples with is the one it learned
    assert all(model.is_searched(n) for n in (6, 25))
    assert '"noise": "priorgrad"' in (tmp_path / "assets" / "MODELS.md").read_text()


def test_a_specdiff_gan_run_starts_from_a_shipped_generator(tmp_path, pack):
    generator = '{"channels": 16, "upsample": [2], "frame_mrf": false, "phase": "integrated"}'
    cfg = specdiff_gan_task.Config(steps=3, batch_size=2, val_every=3, log_every=1, warmup_steps=0, gan_start=1,
                                   generator=generator, n_train=4, n_val=2, n_monitor=1, monitor_s=1.0,
                                   segment_frames=8, d_segment_frames=8, monitor_every=0,
                                   out_dir=str(tmp_path / "gan"), pack=str(pack))
    seed_everything(cfg.seed)
    result = fit(specdiff_gan_task.build(cfg), cfg)
    assert result["steps"] == 3 and np.isfinite(result["val_log_mel_db"])
    shipped = cards.ship(tmp_path / "gan", "specdiff_gan.pt", "python -m hiaudio.train specdiff_gan",
                         tmp_path / "assets")
    state = checkpoints.read_checkpoint(shipped)["state"]
    seed_everything(1)  # another initialisation: the shipped weights must replace it
    task = specdiff_gan_task.build(specdiff_gan_task.Config(**{**vars(cfg), "init_from": str(shipped)}))
    assert all(torch.equal(task.model.generator.state_dict()[k], v) for k, v in state.items())
    other = '{"channels": 32, "upsample": [2], "frame_mrf": false, "phase": "integrated"}'
    with pytest.raises(ValueError, match="cannot start this specdiff_gan"):
        specdiff_gan_task.build(specdiff_gan_task.Config(**{**vars(cfg), "init_from": str(shipped),
                                                            "generator": other}))
