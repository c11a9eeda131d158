"""Known answers and properties of the DSP layer: filters, synthesis, pitch."""
import math

import numpy as np
import pytest
import torch

from hiaudio.dsp import filters, pitch, synth


# ---- filters ---------------------------------------------------------------------------------

def test_flat_lsf_gives_a_flat_filter():
    omega = torch.linspace(0.01, math.pi - 0.01, 100, dtype=torch.float64)
    mag_db = filters.all_pole_response(torch.tensor(filters.flat_lsf(20)), torch.tensor(0.0), omega)
    assert mag_db.abs().max() < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_filter_is_stable_for_random_parameters(seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(64, 24, generator=gen, dtype=torch.float64)
    lsf = filters.lsf_from_logits(logits)
    assert torch.all(lsf > 0) and torch.all(lsf < math.pi) and torch.all(lsf.diff(dim=-1) > 0)
    a = filters.lsf_to_lpc_torch(lsf).numpy()
    radii = [np.abs(np.roots(row)).max() for row in a]  # poles of 1/A(z)
    assert max(radii) < 1.0


def test_response_is_finite_even_for_extreme_lsf():
    # LSFs crowded together (logits far apart): the response stays finite on a dense grid,
    # since interlaced LSFs keep |A(e^jw)| away from zero; synthesis never runs a recursion.
    lsf = filters.lsf_from_logits(6 * torch.randn(32, 24, generator=torch.Generator().manual_seed(9)))
    omega = torch.linspace(0, math.pi, 8193)
    mag_db = filters.all_pole_response(lsf, torch.zeros(32), omega)
    assert torch.isfinite(mag_db).all()


def test_response_from_lsf_matches_the_polynomial():
    rng = np.random.default_rng(1)
    lsf = filters.enforce_lsf_order(np.sort(rng.uniform(0.05, 3.1, (4, 20)), 1), 0.02)
    a = filters.lsf_to_lpc_torch(torch.tensor(lsf)).numpy()
    omega = np.linspace(0.01, 3.1, 200)
    expected = -20 * np.log10(np.abs(np.array([np.polyval(row[::-1], np.exp(-1j * omega)) for row in a])))
    got = filters.all_pole_response(torch.tensor(lsf), torch.zeros(4, dtype=torch.float64),
                                    torch.tensor(omega)).numpy()
    assert np.abs(got - expected).max() < 1e-6
    grid = filters.grid_response_db(torch.tensor(a), torch.zeros(4, dtype=torch.float64), 512).numpy()
    on_grid = filters.all_pole_response(torch.tensor(lsf), torch.zeros(4, dtype=torch.float64),
                                        torch.linspace(0, math.pi, 257, dtype=torch.float64)).numpy()
    assert np.abs(grid - on_grid)[:, 1:-1].max() < 1e-6
    exact_db, exact_phase = filters.all_pole_response(torch.tensor(lsf), torch.zeros(4, dtype=torch.float64),
                                                      torch.tensor(omega), with_phase=True)
    fast_db, fast_phase = filters.interpolated_response(torch.tensor(a), torch.zeros(4, dtype=torch.float64),
                                                        torch.tensor(omega), with_phase=True)
    assert (fast_db - exact_db).abs().max() < 0.05
    assert torch.remainder(fast_phase - exact_phase + math.pi, 2 * math.pi).sub(math.pi).abs().max() < 0.01


def test_lpc_to_lsf_round_trip():
    rng = np.random.default_rng(2)
    lsf = filters.enforce_lsf_order(np.sort(rng.uniform(0.05, 3.1, (200, 20)), 1), 0.01)
    a = filters.lsf_to_lpc_torch(torch.tensor(lsf)).numpy()
    assert np.abs(filters.lpc_to_lsf(a) - lsf).max() < 1e-3


def test_levinson_recovers_an_ar_process():
    a_true = np.array([1.0, -1.6, 0.9])  # resonance near 0.55 rad
    rng = np.random.default_rng(0)
    e = rng.standard_normal(200_000)
    x = np.zeros_like(e)
    for n in range(2, len(e)):
        x[n] = e[n] - a_true[1] * x[n - 1] - a_true[2] * x[n - 2]
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(3)]) / len(x)
    a, err = filters.levinson(r, 2)
    assert np.allclose(a, a_true, atol=0.02) and abs(err - 1.0) < 0.05


def test_all_pole_response_gradcheck():
    lsf = torch.tensor([[0.3, 0.9, 1.5, 2.4]], dtype=torch.float64, requires_grad=True)
    gain = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    omega = torch.tensor([[0.2, 1.0, 2.0, 3.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda l, g: filters.all_pole_response(l, g, omega, with_phase=True),
                                    (lsf, gain))


# ---- synthesis ----------------------------------------------------------------------------

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


# ---- pitch --------------------------------------------------------------------------------

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
