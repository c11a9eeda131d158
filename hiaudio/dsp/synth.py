"""Differentiable harmonic and filtered-noise synthesis, in torch, without loops over samples.

Harmonic part: wavetable synthesis. For every frame the K harmonic amplitudes and phases are
turned into one period of the waveform with an inverse FFT; the output reads those periods at
the running phase (the integral of F0) and cross-fades between neighbouring frames. The cost is
T inverse FFTs plus four gathers per sample, whatever K is; harmonics at or above Nyquist are
left out of the table, so nothing aliases.

Noise part: white noise shaped in the STFT domain by a per-frame magnitude envelope, then
overlap-added (as in DDSP's filtered noise, Engel et al. 2020).

Shapes: f0 `(..., T)`, amplitudes `(..., T, K)`, audio `(..., T * hop)`; frame t sits at
sample t * hop.
"""
from __future__ import annotations

import math

import torch

from hiaudio.dsp import spectral


def upsample_frames(x: torch.Tensor, hop: int) -> torch.Tensor:
    """Linear interpolation of frame values (..., T) to samples (..., T * hop); frame t at t*hop."""
    *lead, n_frames = x.shape
    nxt = torch.cat([x[..., 1:], x[..., -1:]], -1)  # hold the last frame
    w = torch.arange(hop, dtype=x.dtype, device=x.device) / hop  # (hop,)
    out = x.unsqueeze(-1) * (1 - w) + nxt.unsqueeze(-1) * w  # (..., T, hop)
    return out.reshape(*lead, n_frames * hop)


def running_phase(f0_hz: torch.Tensor, hop: int, sample_rate: float,
                  initial_phase: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Phase in cycles, wrapped to [0, 1), of an oscillator following f0 (..., T) -> (..., T*hop).

    The cumulative sum runs in float64 so that minutes of audio keep sub-millisample accuracy.
    """
    f0_up = upsample_frames(f0_hz, hop)
    increments = (f0_up / sample_rate).to(torch.float64)
    cycles = torch.cumsum(increments, -1) - increments  # phase at sample 0 is the initial phase
    cycles = cycles + (torch.as_tensor(initial_phase, dtype=torch.float64, device=f0_hz.device)
                       / (2 * math.pi))
    # the wrap is piecewise constant, so gradients flow through `cycles` unchanged
    return (cycles - torch.floor(cycles).detach()).to(f0_hz.dtype)


def table_size_for(n_harmonics: int, oversampling: int = 8) -> int:
    """A power of two giving >= `oversampling` table points per cycle of the top harmonic."""
    return max(256, 1 << math.ceil(math.log2(oversampling * (n_harmonics + 1))))


def harmonic_synth(f0_hz: torch.Tensor, amplitudes: torch.Tensor, phases: torch.Tensor | None,
                   hop: int, sample_rate: float, table_size: int | None = None,
                   initial_phase: float = 0.0) -> torch.Tensor:
    """Sum of harmonics k * f0 (k = 1..K) with per-frame amplitudes and phase offsets.

    f0_hz: (..., T) Hz; amplitudes: (..., T, K) linear; phases: (..., T, K) radians or None (0).
    Harmonic k of frame t is silent where k * f0 reaches Nyquist in frames t-1, t or t+1, since
    the cross-fade sweeps the frequency between neighbouring frames.
    Returns (..., T * hop): sum_k a_k(t) cos(k theta(t) + phi_k(t)), theta the running phase.
    """
    *lead, n_frames, n_harm = amplitudes.shape
    n_table = table_size or table_size_for(n_harm)
    if n_table < 2 * n_harm + 2:
        raise ValueError(f"table_size {n_table} cannot hold {n_harm} harmonics")
    k = torch.arange(1, n_harm + 1, dtype=f0_hz.dtype, device=f0_hz.device)  # (K,)
    f0_peak = torch.maximum(f0_hz, torch.maximum(
        torch.cat([f0_hz[..., :1], f0_hz[..., :-1]], -1),
        torch.cat([f0_hz[..., 1:], f0_hz[..., -1:]], -1)))  # (..., T) neighbour max
    audible = (k * f0_peak.unsqueeze(-1) < sample_rate / 2).to(amplitudes.dtype)  # (..., T, K)
    amps = amplitudes * audible
    # one period per frame: irfft of a spectrum holding harmonic k in bin k
    if phases is None:
        spec = torch.complex(amps, torch.zeros_like(amps))
    else:
        spec = torch.polar(amps, phases)
    spec = torch.nn.functional.pad(spec, (1, n_table // 2 + 1 - n_harm - 1))  # (..., T, N/2+1)
    tables = torch.fft.irfft(spec * (n_table / 2), n=n_table)  # (..., T, N)
    tables = torch.cat([tables, tables[..., :1]], -1)  # (..., T, N+1): wrap point for interpolation

    phase = running_phase(f0_hz, hop, sample_rate, initial_phase)  # (..., S) cycles
    pos = phase * n_table
    idx = torch.floor(pos).detach().long().clamp_(0, n_table - 1)
    frac = pos - idx.to(pos.dtype)
    n_samples = n_frames * hop
    frame = torch.arange(n_samples, device=f0_hz.device) // hop  # (S,)
    blend = (torch.arange(n_samples, device=f0_hz.device) % hop).to(f0_hz.dtype) / hop
    frame_next = (frame + 1).clamp_(max=n_frames - 1)

    flat = tables.reshape(*lead, n_frames * (n_table + 1))

    def read(frame_index: torch.Tensor) -> torch.Tensor:
        base = (frame_index * (n_table + 1)).expand(*lead, n_samples) + idx
        lo = torch.gather(flat, -1, base)
        hi = torch.gather(flat, -1, base + 1)
        return lo + (hi - lo) * frac

    return read(frame) * (1 - blend) + read(frame_next) * blend


def filtered_noise(magnitudes: torch.Tensor, hop: int, n_fft: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """White noise shaped per frame: magnitudes (..., T, n_fft//2+1) -> audio (..., T * hop).

    A magnitude of m at a bin gives, locally around that bin, noise of standard deviation m
    (as if white noise of std m were filtered by an ideal band-pass at that bin).
    """
    *lead, n_frames, n_bins = magnitudes.shape
    if n_bins != n_fft // 2 + 1:
        raise ValueError(f"{n_bins} bins do not match n_fft={n_fft}")
    n_samples = n_frames * hop
    noise = torch.randn(*lead, n_samples, generator=generator, dtype=magnitudes.dtype,
                        device="cpu").to(magnitudes.device)
    spec = spectral.stft(noise.reshape(-1, n_samples), n_fft, hop, pad_mode="reflect")
    # (B, F, T+1): frame t centred on sample t * hop; the extra last frame reuses frame T-1's gains
    gains = magnitudes.reshape(-1, n_frames, n_bins).transpose(1, 2)  # (B, F, T)
    gains = torch.cat([gains, gains[..., -1:]], -1)
    out = spectral.istft(spec * gains, n_fft, hop, n_samples)
    return out.reshape(*lead, n_samples)
