"""hiaudio/dsp/synth.py: harmonic and noise synthesis against numpy."""
import math

import numpy as np
import pytest
import torch

from hiaudio.dsp import synth


def test_one_harmonic_matches_a_numpy_sine():
    sr, hop, n_frames = 16000, 80, 200
    f0 = torch.full((n_frames,), 220.0, dtype=torch.float64)
    amps = torch.full((n_frames, 1), 0.5, dtype=torch.float64)
    phases = torch.full((n_frames, 1), -math.pi / 2, dtype=torch.float64)  # cos(x - pi/2) = sin(x)
    out = synth.harmonic_synth(f0, amps, phases, hop, sr).numpy()
    n = np.arange(n_frames * hop)
    assert np.abs(out - 0.5 * np.sin(2 * np.pi * 220.0 * n / sr)).max() < 1e-4


def test_harmonics_sum_like_numpy_with_a_glide():
    sr, hop, n_frames = 16000, 64, 100
    f0 = torch.linspace(150, 300, n_frames, dtype=torch.float64)
    amps = torch.tensor([0.5, 0.25, 0.125], dtype=torch.float64).expand(n_frames, 3)
    out = synth.harmonic_synth(f0, amps, None, hop, sr).numpy()
    f0_up = synth.upsample_frames(f0, hop).numpy()
    phase = 2 * np.pi * (np.cumsum(f0_up / sr) - f0_up / sr)
    expected = sum(a * np.cos(k * phase) for k, a in zip((1, 2, 3), (0.5, 0.25, 0.125)))
    assert np.abs(out - expected).max() < 2e-3


def test_nothing_is_synthesized_above_nyquist():
    sr, hop, n_frames = 16000, 80, 100
    f0 = torch.full((n_frames,), 1000.0)
    amps = torch.ones(n_frames, 20)  # harmonics 8..20 lie at or above 8 kHz
    out = synth.harmonic_synth(f0, amps, None, hop, sr)
    spec = torch.fft.rfft(out * torch.hann_window(len(out)))
    freqs = torch.fft.rfftfreq(len(out), 1 / sr)
    level = spec.abs() / spec.abs().max()
    # 7 harmonics below Nyquist and nothing else (an aliased 9 kHz would fold to 7 kHz +- ...)
    peaks = freqs[level > 1e-3]
    assert peaks.max() < 7100
    assert torch.all((peaks % 1000 < 20) | (peaks % 1000 > 980))


def test_harmonic_synth_gradcheck():
    sr, hop, n_frames = 8000, 8, 4
    f0 = torch.tensor([200.0, 210.0, 220.0, 215.0], dtype=torch.float64, requires_grad=True)
    amps = torch.rand(n_frames, 3, dtype=torch.float64, requires_grad=True)
    phases = torch.rand(n_frames, 3, dtype=torch.float64, requires_grad=True)
    # a large table keeps the piecewise-linear table reading close to its smooth limit
    assert torch.autograd.gradcheck(
        lambda f, a, p: synth.harmonic_synth(f, a, p, hop, sr, table_size=8192), (f0, amps, phases), atol=1e-4)


def test_harmonic_synth_batched_equals_item_by_item():
    gen = torch.Generator().manual_seed(0)
    f0 = 100 + 300 * torch.rand(3, 20, generator=gen)
    amps = torch.rand(3, 20, 10, generator=gen)
    batched = synth.harmonic_synth(f0, amps, None, 40, 16000)
    for i in range(3):
        assert torch.allclose(batched[i], synth.harmonic_synth(f0[i], amps[i], None, 40, 16000), atol=1e-5)


def test_filtered_noise_has_the_requested_level_and_shape():
    n_frames, n_fft, hop = 400, 512, 128
    mags = torch.zeros(n_frames, n_fft // 2 + 1)
    mags[:, :129] = 0.2  # low-pass noise: std 0.2 within 0..Nyquist/2
    out = synth.filtered_noise(mags, hop, n_fft, torch.Generator().manual_seed(0))
    assert out.shape == (n_frames * hop,)
    spec = torch.stft(out, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs().pow(2).mean(-1)
    low, high = spec[10:120].mean(), spec[140:250].mean()
    assert 10 * torch.log10(low / high) > 30
    # white noise of std 0.2 keeps half its variance after an ideal half-band low-pass
    assert out.std().item() == pytest.approx(0.2 * math.sqrt(0.5), rel=0.1)
