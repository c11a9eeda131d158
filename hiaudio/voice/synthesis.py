"""The source-filter synthesizer: parameters -> audio.

First as pure torch functions (differentiable, batched over leading dimensions, CPU or CUDA:
`render_voice`, `render_harmonic_part`, `render_noise_part`, `tract_response`), then on a
`VoiceParams` with numpy out (`render`, `render_harmonic`, `render_noise`), the harmonic and
noise parts kept apart so that an edit that touches only one of them re-synthesizes only that
one. The parameters mean what `hiaudio.voice.params.VoiceParams` documents.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from hiaudio.dsp import filters, synth
from hiaudio.voice.params import VoiceParams


def noise_band_centers_hz(n_bands: int, sample_rate: float) -> torch.Tensor:
    """Centres of the noise bands, evenly spaced on the mel scale from 0 to Nyquist."""
    mel_top = 2595 * math.log10(1 + (sample_rate / 2) / 700)
    mel = torch.linspace(0, mel_top, n_bands, dtype=torch.float64)
    return (700 * (10 ** (mel / 2595) - 1)).float()


def band_interpolation(n_bands: int, sample_rate: float, freqs_hz: torch.Tensor) -> torch.Tensor:
    """(n_bands, F) weights that interpolate band values linearly (in Hz) onto frequencies."""
    centers = noise_band_centers_hz(n_bands, sample_rate).to(freqs_hz)
    if n_bands == 1:
        return torch.ones(1, freqs_hz.shape[-1], dtype=freqs_hz.dtype)
    f = freqs_hz.clamp(float(centers[0]), float(centers[-1]))
    idx = torch.searchsorted(centers, f, right=True).clamp(1, n_bands - 1)
    lo, hi = centers[idx - 1], centers[idx]
    w_hi = (f - lo) / (hi - lo)
    weights = torch.zeros(n_bands, freqs_hz.shape[-1], dtype=freqs_hz.dtype)
    cols = torch.arange(freqs_hz.shape[-1])
    weights[idx - 1, cols] = 1 - w_hi
    weights[idx, cols] += w_hi
    return weights


def tract_response(lsf_rad: torch.Tensor, gain_db: torch.Tensor, freqs_hz: torch.Tensor,
                   sample_rate: float, formant_ratio: torch.Tensor | None = None,
                   with_phase: bool = False):
    """The vocal tract |H(f / ratio)| in dB (and its phase) at freqs_hz (..., T, F).

    `formant_ratio` (..., T) scales the tract's frequency axis -- a vocal-tract-length warp
    (1.2 = formants 20 % higher); past Nyquist the response holds its value at Nyquist.
    """
    if formant_ratio is not None:
        freqs_hz = freqs_hz / formant_ratio.unsqueeze(-1)
    omega = (2 * math.pi / sample_rate) * freqs_hz.clamp(0, sample_rate / 2)
    return filters.interpolated_response(filters.lsf_to_lpc_torch(lsf_rad), gain_db, omega,
                                         with_phase=with_phase)


def harmonic_levels_db(f0_hz: torch.Tensor, lsf_rad: torch.Tensor, gain_db: torch.Tensor,
                       harmonic_db: torch.Tensor, tilt_db_per_oct: torch.Tensor,
                       sample_rate: float, formant_ratio: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Level (dB) and phase (rad) of every harmonic: source + filter + tilt.

    f0_hz (..., T); lsf_rad (..., T, P); gain_db, tilt, formant_ratio (..., T);
    harmonic_db (..., T, K). The phase is the filter's (minimum phase): a zero-phase source
    pulse through the tract.
    """
    n_harm = harmonic_db.shape[-1]
    k = torch.arange(1, n_harm + 1, dtype=f0_hz.dtype, device=f0_hz.device)
    freqs_hz = f0_hz.unsqueeze(-1) * k  # (..., T, K)
    tract_db, tract_phase = tract_response(lsf_rad, gain_db, freqs_hz, sample_rate, formant_ratio,
                                           with_phase=True)
    level_db = harmonic_db + tract_db + filters.tilt_db(tilt_db_per_oct, freqs_hz)
    return level_db, tract_phase


def noise_magnitudes(lsf_rad: torch.Tensor, gain_db: torch.Tensor, noise_db: torch.Tensor,
                     tilt_db_per_oct: torch.Tensor, sample_rate: float, n_fft: int,
                     band_weights: torch.Tensor | None = None,
                     formant_ratio: torch.Tensor | None = None) -> torch.Tensor:
    """Noise magnitude per STFT bin (..., T, n_fft//2+1): filter x band level x tilt."""
    freqs_hz = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=lsf_rad.dtype,
                              device=lsf_rad.device)
    if band_weights is None:
        band_weights = band_interpolation(noise_db.shape[-1], sample_rate, freqs_hz)
    if formant_ratio is None:  # on the FFT grid itself: one rfft, no interpolation
        tract_db = filters.grid_response_db(filters.lsf_to_lpc_torch(lsf_rad), gain_db, n_fft)
    else:
        tract_db = tract_response(lsf_rad, gain_db, freqs_hz.expand(*gain_db.shape, -1), sample_rate,
                                  formant_ratio)  # (..., T, F)
    level_db = tract_db + noise_db @ band_weights.to(noise_db) + filters.tilt_db(tilt_db_per_oct, freqs_hz)
    return torch.pow(10.0, level_db / 20)


NOISE_WINDOW_S = 0.016


def noise_fft_size(sample_rate: float) -> int:
    """STFT size for the noise: ~23-32 ms, a power of two."""
    return 1 << round(math.log2(NOISE_WINDOW_S * sample_rate))


def render_voice(f0_hz: torch.Tensor, voiced: torch.Tensor, lsf_rad: torch.Tensor,
                 gain_db: torch.Tensor, harmonic_db: torch.Tensor, noise_db: torch.Tensor,
                 tilt_db_per_oct: torch.Tensor, sample_rate: float, hop: int,
                 generator: torch.Generator | None = None,
                 parts: bool = False, formant_ratio: torch.Tensor | None = None):
    """Synthesize a voice; shapes as in `harmonic_levels_db`, noise_db (..., T, B).

    Returns audio (..., T * hop), or (harmonic, noise) when `parts` is true.
    """
    harmonic = render_harmonic_part(f0_hz, voiced, lsf_rad, gain_db, harmonic_db, tilt_db_per_oct,
                                    sample_rate, hop, formant_ratio)
    noise = render_noise_part(lsf_rad, gain_db, noise_db, tilt_db_per_oct, sample_rate, hop,
                              generator, formant_ratio)
    return (harmonic, noise) if parts else harmonic + noise


def render_harmonic_part(f0_hz, voiced, lsf_rad, gain_db, harmonic_db, tilt_db_per_oct,
                         sample_rate: float, hop: int, formant_ratio=None) -> torch.Tensor:
    """The harmonic (voiced) part alone: (..., T * hop)."""
    level_db, phase = harmonic_levels_db(f0_hz, lsf_rad, gain_db, harmonic_db, tilt_db_per_oct,
                                         sample_rate, formant_ratio)
    amps = voiced.unsqueeze(-1) * torch.pow(10.0, level_db / 20)
    return synth.harmonic_synth(f0_hz, amps, phase, hop, sample_rate)


def render_noise_part(lsf_rad, gain_db, noise_db, tilt_db_per_oct, sample_rate: float, hop: int,
                      generator: torch.Generator | None = None, formant_ratio=None) -> torch.Tensor:
    """The filtered-noise part alone: (..., T * hop)."""
    n_fft = noise_fft_size(sample_rate)
    mags = noise_magnitudes(lsf_rad, gain_db, noise_db, tilt_db_per_oct, sample_rate, n_fft,
                            formant_ratio=formant_ratio)
    return synth.filtered_noise(mags, hop, n_fft, generator)


# ---- on VoiceParams -------------------------------------------------------------------------

NOISE_SEED = 0  # a fixed noise realization: A/B comparisons and slider moves hear the same noise


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


@torch.no_grad()
def render_harmonic(params: VoiceParams) -> np.ndarray:
    p = params
    return render_harmonic_part(_t(p.f0_hz), _t(p.voiced), _t(p.lsf_rad), _t(p.gain_db),
                                      _t(p.harmonic_db), _t(p.tilt_db_per_oct), p.sample_rate,
                                      p.hop_samples, _t(p.formant_ratio)).numpy()


@torch.no_grad()
def render_noise(params: VoiceParams, seed: int = NOISE_SEED) -> np.ndarray:
    p = params
    ratio = None if np.all(p.formant_ratio == 1.0) else _t(p.formant_ratio)  # None: no interpolation
    return render_noise_part(_t(p.lsf_rad), _t(p.gain_db), _t(p.noise_db), _t(p.tilt_db_per_oct),
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
    tract = tract_response(lsf, torch.as_tensor(params.gain_db[idx], dtype=torch.float64), f,
                                 params.sample_rate, torch.as_tensor(params.formant_ratio[idx], dtype=torch.float64))
    return (tract + filters.tilt_db(torch.as_tensor(params.tilt_db_per_oct[idx], dtype=torch.float64), f)).numpy()
