"""Where the partials of F0 tracks fall on an STFT's bins: sparse Hann-window kernels.

A partial at fractional bin c spreads over the bins near c as the window's transform does;
`comb_layout` keeps the 2 * LOBE_BINS bins nearest each partial, so a harmonic comb of
V voices x K partials costs O(T * V * K * LOBE_BINS), not O(T * F * V * K). Used by the comb
fit of the choir separation and by the separator network's comb magnitudes.
"""
from __future__ import annotations

import numpy as np
import torch

# Bins each side of a partial's centre that its kernel covers (main lobe +-2, then side lobes):
# 6 chosen on validation choirs (BENCHMARKS.md, choir separation, "Tuning log").
LOBE_BINS = 6
LOBE_SD_BINS = 0.6  # the Hann main lobe's own spread: its power-weighted sd is 0.57 bins
LAYOUT_CHUNK_FRAMES = 64  # `comb_layout` builds the kernels this many frames at a time


def hann_kernel(offset_bins: torch.Tensor) -> torch.Tensor:
    """|W(d)| / |W(0)| of a periodic Hann window at fractional bin offsets d (any shape).

    W(d) = sinc(d) / (1 - d^2) (sinc(x) = sin(pi x) / (pi x)); 0.5 at d = +-1.
    """
    d = offset_bins.double()
    den = 1.0 - d * d
    near_pole = den.abs() < 1e-6
    value = torch.sinc(d) / torch.where(near_pole, torch.ones_like(den), den)
    return torch.where(near_pole, torch.full_like(d, 0.5), value).abs()


def comb_layout(f0_hz: np.ndarray, sample_rate: int, n_fft: int, n_harmonics: int, lobe_bins: int = LOBE_BINS,
                spread_cents: float = 0.0):
    """Sparse comb kernels for F0 tracks f0_hz (V, T) (0 = silent).

    spread_cents > 0 widens each lobe for a section rather than one singer: singers spread by
    ~spread_cents (sd) about the track's F0 spread partial k over k times as many Hz, which adds
    in quadrature to the lobe's own width (LOBE_SD_BINS); the kernel keeps its peak of 1.
    Returns (index, weight): index (T, V, K, J) int64 bins, weight (T, V, K, J) float32 kernel
    values (0 for partials above Nyquist, outside the spectrum or in silent frames), with the
    J = 2 * lobe_bins bins nearest each partial's centre.
    """
    n_bins = n_fft // 2 + 1
    f0_all = torch.as_tensor(np.asarray(f0_hz, dtype=np.float64)).T  # (T, V)
    k = torch.arange(1, n_harmonics + 1, dtype=torch.float64)
    j = torch.arange(-lobe_bins + 1, lobe_bins + 1, dtype=torch.float64)  # (J,)
    shape = tuple(f0_all.shape) + (n_harmonics, len(j))
    index_out = torch.empty(shape, dtype=torch.long)
    weight_out = torch.empty(shape, dtype=torch.float32)
    # frames in chunks: the float64 temporaries of a whole clip (tens of MB each) would set the
    # fit's peak memory, which concurrent requests add up
    for start in range(0, shape[0], LAYOUT_CHUNK_FRAMES):
        f0 = f0_all[start:start + LAYOUT_CHUNK_FRAMES]
        centre = f0[..., None] * k * n_fft / sample_rate  # (t, V, K) fractional bins
        index = torch.floor(centre)[..., None] + j  # (t, V, K, J)
        offset = index - centre[..., None]
        if spread_cents > 0:
            spread_bins = centre * (spread_cents / 1200 * np.log(2))  # (t, V, K)
            offset = offset / torch.sqrt(1 + (spread_bins / LOBE_SD_BINS) ** 2)[..., None]
        weight = hann_kernel(offset)
        valid = (f0[..., None, None] > 0) & (centre[..., None] < n_bins - 2) & (index >= 0) & (index < n_bins)
        weight_out[start:start + len(f0)] = torch.where(valid, weight, torch.zeros_like(weight))
        index_out[start:start + len(f0)] = index.clamp(0, n_bins - 1)
    return index_out, weight_out


def voice_magnitudes(amps: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, owner, n_voices: int,
                     n_bins: int) -> torch.Tensor:
    """Each voice's magnitude (V, F, T) from every track's partial amplitudes amps (T, V', K) on
    `comb_layout`'s kernels (index, weight: (T, V', K, J)); owner (V',): the voice each track
    belongs to (a voice's release tracks add to it). Differentiable in amps."""
    n_frames = amps.shape[0]
    owner = torch.as_tensor(owner, device=amps.device)
    flat = (index + n_bins * (owner[None, :, None, None]
                              + n_voices * torch.arange(n_frames, device=amps.device)[:, None, None, None])).reshape(-1)
    out = torch.zeros(n_frames * n_voices * n_bins, dtype=amps.dtype, device=amps.device)
    out = out.index_add(0, flat, (weight.to(amps.dtype) * amps[..., None]).reshape(-1))
    return out.view(n_frames, n_voices, n_bins).permute(1, 2, 0)
