"""hiaudio/dsp/spectral.py: the mel front end and Griffin-Lim phase retrieval."""
import math

import pytest
import torch

from hiaudio.dsp import spectral
from hiaudio.studio import vocode
from tests.helpers import harmonic_voice

SR = spectral.MEL.sample_rate


@pytest.fixture(scope="module")
def voice():
    audio, _ = harmonic_voice(160.0, SR, duration_s=1.0, vibrato_cents=40.0)
    return audio  # (16000,) peak 0.5


# ---- the mel front end ------------------------------------------------------------------------
def test_mel_of_a_sine_peaks_in_the_band_holding_its_frequency_and_batches_match():
    t = torch.arange(SR) / SR
    x = torch.stack([torch.sin(2 * math.pi * 1000.0 * t), torch.sin(2 * math.pi * 300.0 * t)])  # (2, S)
    mel = spectral.mel_spectrogram(x)
    assert mel.shape == (2, 80, SR // 256 + 1)
    fb = spectral.mel_filterbank()  # (F, M)
    for row, f_hz in zip(mel, (1000.0, 300.0)):
        band = int(row[:, 10:-10].mean(-1).argmax())
        assert fb[round(f_hz * spectral.MEL.n_fft / SR), band] > 0  # the peak band's filter covers f
    assert torch.allclose(mel[1], spectral.mel_spectrogram(x[1]), atol=1e-5)


def test_pseudo_inverse_is_non_negative_and_maps_back_to_the_same_mel(voice):
    mel = spectral.mel_spectrogram(torch.from_numpy(voice))
    mag = spectral.mel_to_magnitude(mel)
    assert mag.shape == (513, mel.shape[-1]) and float(mag.min()) >= 0
    remel = torch.einsum("fm,ft->mt", spectral.mel_filterbank(), mag)
    assert float((remel - mel).norm() / mel.norm()) < 0.15  # the clamp at 0 is the only loss


def test_log_mel_distance_is_zero_for_equal_clips_and_grows_with_noise(voice):
    x = torch.from_numpy(voice)
    g = torch.Generator().manual_seed(0)
    assert float(spectral.log_mel_distance_db(x, x)) == 0.0
    d_small = float(spectral.log_mel_distance_db(x, x + 0.003 * torch.randn(x.shape, generator=g)))
    d_large = float(spectral.log_mel_distance_db(x, x + 0.03 * torch.randn(x.shape, generator=g)))
    assert 0 < d_small < d_large


# ---- Griffin-Lim projections ------------------------------------------------------------------
@pytest.mark.parametrize("target", ["consistent", "mel pseudo-inverse"])
def test_gla_iterations_never_increase_spectral_inconsistency(voice, target):
    x = torch.from_numpy(voice)
    mag = spectral.stft(x, spectral.MEL.n_fft, spectral.MEL.hop_samples).abs() if target == "consistent" else \
        spectral.mel_to_magnitude(spectral.mel_spectrogram(x))
    g = torch.Generator().manual_seed(1)
    for start in (0.1 * torch.randn(x.shape, generator=g), x + 0.2 * torch.randn(x.shape, generator=g)):
        y, dist = start, [float(spectral.spectral_inconsistency(start, mag))]
        for _ in range(12):  # one Griffin-Lim iteration per call (Griffin & Lim 1984: a descent)
            y = spectral.fast_griffin_lim(mag, spectral.stft(y, spectral.MEL.n_fft, spectral.MEL.hop_samples), len(x), n_iter=1)
            dist.append(float(spectral.spectral_inconsistency(y, mag)))
        assert all(b <= a * (1 + 1e-5) for a, b in zip(dist, dist[1:])), dist
        # GLA-Grad's projection (fast GLA with momentum, several iterations) ends closer too
        settings = vocode.GlaGradSettings()
        projected = vocode.gla_projection(mag, len(x), settings)(start, 0)
        assert float(spectral.spectral_inconsistency(projected, mag)) < 0.5 * dist[0]
        assert vocode.gla_projection(mag, len(x), settings)(start, settings.n_projected) is start


def test_fast_griffin_lim_keeps_a_consistent_start_and_refuses_bad_momentum(voice):
    x = torch.from_numpy(voice)
    spec = spectral.stft(x, spectral.MEL.n_fft, spectral.MEL.hop_samples)
    y = spectral.fast_griffin_lim(spec.abs(), spec, len(x), n_iter=4)
    assert float((y - x).abs().max()) < 1e-4  # already a fixed point: nothing moves
    with pytest.raises(ValueError, match="momentum"):
        spectral.fast_griffin_lim(spec.abs(), spec, len(x), momentum=1.0)
