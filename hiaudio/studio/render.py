"""`VoiceParams` -> audio (numpy), with the harmonic and noise parts kept apart so that an edit
that touches only one of them re-synthesizes only that one."""
from __future__ import annotations

import numpy as np
import torch

from hiaudio.models import voice
from hiaudio.params import VoiceParams

NOISE_SEED = 0  # a fixed noise realization: A/B comparisons and slider moves hear the same noise


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def render_harmonic(params: VoiceParams) -> np.ndarray:
    p = params
    level_db, phase = voice.harmonic_levels_db(_tensor(p.f0_hz), _tensor(p.lsf_rad), _tensor(p.gain_db),
                                               _tensor(p.harmonic_db), _tensor(p.tilt_db_per_oct),
                                               p.sample_rate)
    amps = _tensor(p.voiced).unsqueeze(-1) * torch.pow(10.0, level_db / 20)
    from hiaudio.dsp import synth
    with torch.no_grad():
        return synth.harmonic_synth(_tensor(p.f0_hz), amps, phase, p.hop_samples, p.sample_rate).numpy()


def render_noise(params: VoiceParams, seed: int = NOISE_SEED) -> np.ndarray:
    p = params
    n_fft = voice.noise_fft_size(p.sample_rate)
    with torch.no_grad():
        mags = voice.noise_magnitudes(_tensor(p.lsf_rad), _tensor(p.gain_db), _tensor(p.noise_db),
                                      _tensor(p.tilt_db_per_oct), p.sample_rate, n_fft)
        from hiaudio.dsp import synth
        gen = torch.Generator().manual_seed(seed)
        return synth.filtered_noise(mags, p.hop_samples, n_fft, gen).numpy()


def render(params: VoiceParams, seed: int = NOISE_SEED) -> np.ndarray:
    """Synthesize the whole voice: float32 (n_frames * hop_samples,)."""
    return (render_harmonic(params) + render_noise(params, seed)).astype(np.float32)
