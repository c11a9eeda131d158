"""hiaudio/train/salience_task.py: targets, scores and a short training run."""
import json

import numpy as np
import torch

from hiaudio.models.salience import N_BINS, hz_to_bin
from hiaudio.train.salience_task import multipitch_scores, salience_target


def test_salience_target_marks_each_voice():
    f0 = torch.zeros(4, 3)
    f0[0], f0[3] = 440.0, 110.0
    target = salience_target(f0)  # (T, K)
    for hz in (440.0, 110.0):
        b = int(round(float(hz_to_bin(torch.tensor(hz)))))
        assert target[0, b] > 0.9
    assert target.shape == (3, N_BINS) and float(target.sum(1)[0]) < 2 * 3.0  # two blurred bumps


def test_multipitch_scores_perfect_peaks():
    f0 = torch.tensor([[440.0, 440.0], [0.0, 220.0]])
    sal = salience_target(f0)  # (T, K): peaks exactly at the references
    tp, n_est, found = multipitch_scores(sal, f0)
    assert (tp, n_est, found) == (3, 3, 3)


def test_a_few_training_steps_lower_the_loss(tmp_path, monkeypatch):
    from hiaudio.data import dataset
    from hiaudio.data.chorales import parse_chorale
    from hiaudio.train import salience_task
    from hiaudio.train.loop import fit, seed_everything
    from hiaudio.train.salience_task import Config, build

    # one chorale parsed straight from music21 (never the whole corpus), serving every split,
    # rendered into a temporary cache
    pieces = [parse_chorale("bwv269")]
    monkeypatch.setenv("HIAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dataset, "split_pieces", lambda chorales, split: pieces)
    real = salience_task.ChoraleDataset
    monkeypatch.setattr(salience_task, "ChoraleDataset", lambda *a, **k: real(*a, chorales=pieces, **k))

    cfg = Config(steps=24, batch_size=4, lr=1e-2, n_train=8, n_val=1, n_eval=1, duration_s=2.0, crop_s=0.5,
                 val_every=24, log_every=4, out_dir=str(tmp_path / "run"), device="cpu", seed=3)
    seed_everything(cfg.seed)
    result = fit(build(cfg), cfg)
    assert result["steps"] == 24 and "val_peak_f1" in result
    rows = [line.split(",") for line in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    losses = [float(r[3]) for r in rows if r[1] == "train" and r[2] == "loss"]
    assert np.mean(losses[-2:]) < losses[0]
    assert json.loads((tmp_path / "run" / "eval.json").read_text())["model"] == "salience"


def test_choir_items_come_at_the_models_rate_with_their_sung_pitch():
    """A choir excerpt at 22.05 kHz with 3 parts: the crop is resampled to 16 kHz, its F0 rows
    (the sections' sung F0, 5 ms frames at any rate) padded to MAX_PARTS for batching."""
    from hiaudio.data.render import ChoraleExample
    from hiaudio.models.salience import HOP, SAMPLE_RATE
    from hiaudio.train.salience_task import MAX_PARTS, _Frames

    rate, seconds = 22050, 1.0
    n = int(rate * seconds)
    frames = n // 110 + 1
    t = np.arange(n) / rate
    stems = np.stack([0.2 * np.sin(2 * np.pi * hz * t) for hz in (440.0, 330.0, 220.0)]).astype(np.float32)
    score = np.tile(np.array([[440.0], [330.0], [220.0]], np.float32), (1, frames))
    ex = ChoraleExample(mixture=stems.sum(0), stems=stems, f0_hz=score, sample_rate=rate, hop_samples=110,
                        meta={}, f0_sung_hz=score * 1.01)

    class OneExample:
        def __len__(self):
            return 1

        def example(self, i):
            return ex

    mix, f0 = _Frames([OneExample()], None, seed=0, sung=True)[0]
    assert abs(len(mix) - SAMPLE_RATE * seconds) <= 1
    assert f0.shape == (MAX_PARTS, len(mix) // HOP + 1)
    assert torch.allclose(f0[:3, 10], torch.tensor([444.4, 333.3, 222.2])) and not f0[3:].any()
    spectrum = np.abs(np.fft.rfft(mix.numpy()))
    peaks = sorted(np.argsort(spectrum)[-3:] * SAMPLE_RATE / len(mix))
    assert np.allclose(peaks, [220.0, 330.0, 440.0], atol=2)  # the same tones, at 16 kHz
    _, score_rows = _Frames([OneExample()], None, seed=0)[0]
    assert torch.allclose(score_rows[0, 10], torch.tensor(440.0))  # chorales: the score's F0


def test_a_narrower_salience_model_starts_a_wider_one_unchanged(tmp_path):
    """init_from a 4-channel checkpoint into 8 channels: same salience at the start, new weights
    free to learn; a wider checkpoint into a narrower model is refused."""
    import pytest

    from hiaudio import checkpoints
    from hiaudio.models.salience import SalienceCNN
    from hiaudio.train.loop import start_from

    torch.manual_seed(0)
    small = SalienceCNN(channels=4, time_context=1)
    for module in small.modules():  # BatchNorm as after training, not the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "small.pt"
    checkpoints.save_checkpoint(path, small, "salience", {"channels": 4, "time_context": 1})
    wide = SalienceCNN(channels=8, time_context=1)
    start_from(wide, str(path), "salience", widen=True)
    audio = torch.randn(1, 4000) * 0.1
    small.eval(), wide.eval()
    with torch.no_grad():
        assert torch.allclose(small(audio), wide(audio), atol=1e-5)
    assert wide.net[0].weight[4:].abs().sum() > 0  # the new channels are not dead
    with pytest.raises(ValueError, match="cannot widen"):
        start_from(SalienceCNN(channels=2, time_context=1), str(path), "salience", widen=True)
