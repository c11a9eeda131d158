"""`VoiceParams` -> audio (numpy), with the harmonic and noise parts kept apart so that an edit
that touches only one of them re-synthesizes only that one."""
from __future__ import annotations

import numpy as np
import torch

from hiaudio.dsp import filters
from hiaudio.models import voice
from hiaudio.params import VoiceParams

NOISE_SEED = 0  # a fixed noise realization: A/B comparisons and slider moves hear the same noise


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


@torch.no_grad()
def render_harmonic(params: VoiceParams) -> np.ndarray:
    p = params
    return voice.render_harmonic_part(_t(p.f0_hz), _t(p.voiced), _t(p.lsf_rad), _t(p.gain_db),
                                      _t(p.harmonic_db), _t(p.tilt_db_per_oct), p.sample_rate,
                                      p.hop_samples, _t(p.formant_ratio)).numpy()


@torch.no_grad()
def render_noise(params: VoiceParams, seed: int = NOISE_SEED) -> np.ndarray:
    p = params
    ratio = None if np.all(p.formant_ratio == 1.0) else _t(p.formant_ratio)  # None: no interpolation
    return voice.render_noise_part(_t(p.lsf_rad), _t(p.gain_db), _t(p.noise_db), _t(p.tilt_db_per_oct),
                                   p.sample_rate, p.hop_samples, torch.Generator().manual_seed(seed),
                                   ratio).numpy()


def render(params: VoiceParams, seed: int = NOISE_SEED) -> np.ndarray:
    """Synthesize the whole voice: float32 (n_frames * hop_samples,)."""
    return (render_harmonic(params) + render_noise(params, seed)).astype(np.float32)


PEAK_LIMIT = 0.99


def limit_peak(audio: np.ndarray, limit: float = PEAK_LIMIT) -> tuple[np.ndarray, float]:
    """Scale audio down (never clip) so its peak is at most `limit`; returns (audio, peak before)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return (audio * (limit / peak) if peak > limit else audio), peak


@torch.no_grad()
def tract_response_db(params: VoiceParams, freqs_hz: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
    """The vocal tract as heard (filter, formant warp and tilt) in dB: (N frames, F) at freqs_hz."""
    idx = np.arange(params.n_frames) if frames is None else np.asarray(frames)
    f = torch.as_tensor(np.asarray(freqs_hz, dtype=np.float64)).expand(len(idx), -1)
    lsf = torch.as_tensor(params.lsf_rad[idx], dtype=torch.float64)
    tract = voice.tract_response(lsf, torch.as_tensor(params.gain_db[idx], dtype=torch.float64), f,
                                 params.sample_rate, torch.as_tensor(params.formant_ratio[idx], dtype=torch.float64))
    return (tract + filters.tilt_db(torch.as_tensor(params.tilt_db_per_oct[idx], dtype=torch.float64), f)).numpy()
