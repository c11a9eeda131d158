"""hiaudio/dsp/pitch.py: F0 and voicing (YIN + HMM)."""
import numpy as np
import pytest
import torch

from hiaudio.dsp import pitch


@pytest.mark.parametrize("f0_hz", [65.0, 110.0, 220.0, 440.0, 880.0])
def test_f0_of_a_sine(f0_hz):
    sr, hop = 16000, 80
    n = np.arange(sr)
    x = torch.tensor(0.5 * np.sin(2 * np.pi * f0_hz * n / sr), dtype=torch.float32)
    f0, _ = pitch.estimate_f0(x, sr, hop)
    interior = f0[5:-5]
    assert torch.all(interior > 0), "a steady sine is voiced throughout"
    assert torch.all((interior / f0_hz - 1).abs() < 0.01)


def test_f0_and_voicing_of_a_harmonic_voice_with_silence_and_noise():
    sr, hop = 16000, 80
    t = np.arange(2 * sr) / sr
    f0_true = 180 * 2 ** (0.4 / 12 * np.sin(2 * np.pi * 5.5 * t))  # vibrato
    phase = 2 * np.pi * np.cumsum(f0_true) / sr
    x = sum((0.4 / k) * np.sin(k * phase) for k in range(1, 25))
    x[: sr // 4] = 0.0
    x[-sr // 4:] = np.random.default_rng(0).standard_normal(sr // 4) * 0.05
    f0, _ = pitch.estimate_f0(torch.tensor(x, dtype=torch.float32), sr, hop)
    f0 = f0.numpy()
    frames = np.arange(len(f0))
    voiced_region = (frames * hop > sr // 4 + 400) & (frames * hop < 2 * sr - sr // 4 - 400)
    unvoiced_region = (frames * hop < sr // 4 - 400) | (frames * hop > 2 * sr - sr // 4 + 400)
    assert np.all(f0[voiced_region] > 0)
    assert np.all(f0[unvoiced_region] == 0)
    truth = f0_true[frames[voiced_region] * hop]
    assert np.all(np.abs(f0[voiced_region] / truth - 1) < 0.01)


def test_white_noise_is_unvoiced():
    x = torch.randn(32000, generator=torch.Generator().manual_seed(3)) * 0.1
    f0, _ = pitch.estimate_f0(x, 16000, 80)
    assert (f0 > 0).float().mean() < 0.05
