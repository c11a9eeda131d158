"""hiaudio/voice/analysis.py: a voice analysed and resynthesized."""
import numpy as np
import pytest
import torch

from hiaudio.voice import synthesis
from tests import helpers

SR = 16000


def median_f0(audio, sr=SR):
    return helpers.median_f0(audio, sr)


def test_analysis_finds_f0_and_voicing(vowel):
    audio, f0_true, params = vowel
    interior = slice(10, -10)
    assert params.voiced[interior].min() == 1.0
    truth = f0_true[np.arange(params.n_frames) * params.hop_samples][interior]
    assert np.all(np.abs(params.f0_hz[interior] / truth - 1) < 0.01)


def test_resynthesis_is_close_to_the_original(vowel):
    audio, _, params = vowel
    out = synthesis.render(params)[:len(audio)]
    spec = lambda x: torch.stft(torch.as_tensor(x), 1024, 256, window=torch.hann_window(1024),
                                return_complex=True).abs().pow(2).mean(-1)
    ref, got = spec(audio), spec(out)
    band = slice(5, 300)  # 80 Hz .. 4.7 kHz, where the vowel has its energy
    lsd = (10 * torch.log10(ref[band] + 1e-9) - 10 * torch.log10(got[band] + 1e-9)).pow(2).mean().sqrt()
    assert lsd < 6.0, f"long-term spectra differ by {lsd:.1f} dB"
    assert np.std(out) == pytest.approx(np.std(audio), rel=0.25)
