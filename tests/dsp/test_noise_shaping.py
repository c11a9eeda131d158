"""hiaudio/dsp/noise_shaping.py: the diffusion priors have the level, spectrum and variance they claim."""
import numpy as np
import pytest
import torch

from hiaudio.dsp import noise_shaping, spectral
from tests.helpers import harmonic_voice

SR = spectral.MEL.sample_rate
HOP = spectral.MEL.hop_samples


def _clip_with_silence(rms: float = 0.1):
    """0.5 s of silence, 1 s of a vowel at `rms`, 0.5 s of silence: (S,) float64, S whole hops."""
    voice, _ = harmonic_voice(150.0, SR, duration_s=1.0)
    voice = voice / np.sqrt(np.mean(voice.astype(np.float64) ** 2)) * rms
    wave = np.concatenate([np.zeros(SR // 2), voice, np.zeros(SR // 2)])
    return torch.from_numpy(wave[: len(wave) // HOP * HOP])


def _prior(kind, wave):
    log_mel = spectral.log_mel(wave)[:, : len(wave) // HOP]  # (80, T)
    return noise_shaping.noise_prior(log_mel, kind, len(wave))


def test_white_prior_is_unit_noise():
    prior = _prior("white", _clip_with_silence())
    assert torch.equal(prior.std, torch.ones_like(prior.std)) and prior.spectral is None
    z = torch.randn(3, prior.std.shape[-1], dtype=prior.std.dtype)
    assert torch.equal(prior.shape(z), z) and torch.equal(prior.unshape(z), z)


@pytest.mark.parametrize("kind", ["priorgrad", "specgrad"])
def test_prior_level_follows_the_speech_and_floors_the_silence(kind):
    wave = _clip_with_silence(rms=0.1)
    prior = _prior(kind, wave)
    voiced = prior.std[SR // 2 + 2000: SR + SR // 2 - 2000]  # well inside the vowel
    assert 0.07 < float(voiced.median()) < 0.13  # the vowel's RMS, 0.1, from its mel alone
    silent = prior.std[: SR // 2 - 1500]
    assert float(silent.max()) == pytest.approx(noise_shaping.FLOOR, rel=1e-6)


@pytest.mark.parametrize("kind", ["priorgrad", "specgrad"])
def test_shaped_noise_has_the_variance_the_prior_claims(kind):
    prior = _prior(kind, _clip_with_silence())
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([prior.sample(g) for _ in range(400)])  # (400, S)
    ratio = (draws.std(0) / prior.std).numpy()  # 400 draws: sampling error of a std ~3.5 %
    assert abs(np.median(ratio) - 1) < 0.03
    assert np.percentile(ratio, 2) > 0.85 and np.percentile(ratio, 98) < 1.15
    # and a claim that is wrong is caught: the same draws against twice the level
    assert abs(np.median((draws.std(0) / (2 * prior.std)).numpy()) - 1) > 0.4


def test_specgrad_noise_has_the_speech_spectral_envelope_and_priorgrad_is_flat():
    wave = _clip_with_silence()
    middle = slice(SR // 2 + 2000, SR + SR // 2 - 2000)

    def bands_db(power):  # (..., 513) -> (32,) dB in bands of 16 bins (250 Hz): the envelope, not the harmonics
        return 10 * torch.log10(power[..., :512].reshape(-1, 32, 16).mean((0, 2)) + 1e-20)

    speech_db = bands_db(spectral.stft(wave[middle], 1024, 256).abs().square().mean(-1))
    g = torch.Generator().manual_seed(1)
    corr = {}
    for kind in ("priorgrad", "specgrad"):
        noise = torch.stack([_prior(kind, wave).sample(g)[middle] for _ in range(20)])  # (20, S')
        noise_db = bands_db(spectral.stft(noise, 1024, 256).abs().square().mean(-1))
        corr[kind] = float(np.corrcoef(speech_db.numpy(), noise_db.numpy())[0, 1])
        if kind == "priorgrad":
            assert float(noise_db.std()) < 1.0  # flat within 1 dB
    assert corr["specgrad"] > 0.8 and abs(corr["priorgrad"]) < 0.3, corr


@pytest.mark.parametrize("kind,tolerance", [("priorgrad", 1e-10), ("specgrad", 0.02)])
def test_unshape_undoes_shape(kind, tolerance):
    prior = _prior(kind, _clip_with_silence())
    z = torch.randn(4, prior.std.shape[-1], generator=torch.Generator().manual_seed(2), dtype=prior.std.dtype)
    assert float((prior.unshape(prior.shape(z)) - z).square().mean()) < tolerance


def test_frame_values_spread_to_samples_by_window_weights():
    frames = torch.tensor([[1.0, 1.0, 3.0, 3.0, 3.0, 3.0]], dtype=torch.float64)
    out = noise_shaping.frame_to_samples(frames, 5 * HOP)  # (1, 1280)
    assert out.shape == (1, 5 * HOP)
    assert float(out[0, 0]) == pytest.approx(1.0 + 2.0 * 0.0, abs=0.2)  # frame 2's window barely reaches
    assert float(out[0, 4 * HOP]) == pytest.approx(3.0)  # only frames of value 3 around
    assert bool((out[0, 1:] >= out[0, :-1] - 1e-12).all())  # monotone between the two levels


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown noise kind"):
        noise_shaping.noise_prior(torch.zeros(80, 4), "pink", 4 * HOP)
