"""Salience model: harmonic stacking, a short training run, and the per-part F0 decoder."""
import json

import numpy as np
import pytest
import torch

from hiaudio.models.salience import HARMONICS, N_BINS, SAMPLE_RATE, SalienceCNN, bin_hz, harmonic_stack, hz_to_bin
from hiaudio.separation.multif0 import assign_voices, decode_f0
from hiaudio.train.salience_task import multipitch_scores, salience_target


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _harmonic_tone(f0_hz: float, duration_s: float = 0.5, n_harmonics: int = 8) -> torch.Tensor:
    t = torch.arange(int(duration_s * SAMPLE_RATE), dtype=torch.float64) / SAMPLE_RATE
    tone = sum(torch.sin(2 * torch.pi * h * f0_hz * t) / h for h in range(1, n_harmonics + 1))
    return (0.3 * tone).float()


def test_harmonic_stack_lines_up_partials():
    f0_hz = 220.0
    k = int(round(float(hz_to_bin(torch.tensor(f0_hz)))))
    stack = harmonic_stack(_harmonic_tone(f0_hz))  # (H, T, K)
    assert stack.shape[0] == len(HARMONICS) and stack.shape[2] == N_BINS
    profile = stack[:, 10:-10].mean(1)  # (H, K) steady frames
    h1 = HARMONICS.index(1.0)
    assert abs(int(profile[h1].argmax()) - k) <= 1  # the fundamental at its own bin
    for c, h in enumerate(HARMONICS):
        if h >= 1.0:  # every partial of the tone reads high at the pitch's bin
            window = profile[c, k - 2:k + 3].max()
            assert window > profile[c].median() + 1.0, (h, float(window))
    # the sub-harmonic channel at bin k reads 110 Hz, where the tone has nothing
    assert profile[HARMONICS.index(0.5), k] < profile[h1, k] - 1.0


def test_salience_target_marks_each_voice():
    f0 = torch.zeros(4, 3)
    f0[0], f0[3] = 440.0, 110.0
    target = salience_target(f0)  # (T, K)
    for hz in (440.0, 110.0):
        b = int(round(float(hz_to_bin(torch.tensor(hz)))))
        assert target[0, b] > 0.9
    assert target.shape == (3, N_BINS) and float(target.sum(1)[0]) < 2 * 3.0  # two blurred bumps


def test_model_shape_and_size():
    model = SalienceCNN()
    assert model(torch.zeros(2, 1600)).shape == (2, 1600 // 80 + 1, N_BINS)
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert n_bytes < 1_000_000


def test_decoder_assigns_two_ridges_to_their_parts():
    t_len = 200
    sal = np.full((t_len, N_BINS), 0.01)
    hz = bin_hz().numpy()
    ridges = {"high": np.where(np.arange(t_len) < 100, 523.25, 587.33),  # C5 then D5
              "low": np.full(t_len, 130.81)}  # C3
    for f in ridges.values():
        b = np.round(1200 * np.log2(f / 50.0) / 20).astype(int)
        for dk, val in ((-1, 0.5), (0, 0.95), (1, 0.5)):
            sal[np.arange(t_len), b + dk] = val
    sal[150:, :] = 0.01  # both parts rest at the end
    times_s, f0 = decode_f0(sal, 0.005, n_voices=2)
    assert f0.shape == (2, t_len) and times_s[1] == pytest.approx(0.005)
    cents = lambda est, ref: np.abs(1200 * np.log2(est / ref))  # noqa: E731
    assert np.all(cents(f0[0, :150], ridges["high"][:150]) < 25)  # soprano takes the upper line
    assert np.all(f0[:, 150:] == 0)
    # the lower line is far below the alto's range: a 4-part decode gives it to tenor or bass
    f0_4 = assign_voices(sal, 4)
    assert np.all(cents(f0_4[0, :150], ridges["high"][:150]) < 25)
    low_part = f0_4[1:, :150]
    has_low = (np.abs(1200 * np.log2(np.maximum(low_part, 1e-3) / 130.81)) < 25).any(0)
    assert has_low.mean() > 0.95
    assert np.all(f0_4[:, :150][1:] <= f0_4[0, :150] + 1e-6)  # no part above the soprano
    assert hz[0] == pytest.approx(50.0)


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
