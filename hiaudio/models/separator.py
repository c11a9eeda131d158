"""The choir separation network (UMSS-style, Schulze-Forster et al. 2023): from the mixture and
each part's F0, every part's source-filter parameters -- a gain and an all-pole vocal tract (LSF)
per frame -- whose harmonics, summed over the parts, should rebuild the mixture.

The parts are synthesized in the STFT-magnitude domain: each harmonic is the analysis window's
lobe at k * f0 (`hiaudio.separation.comb`), so training needs only the mixture (the loss is the
KL divergence between the mixture magnitude and the sum of the parts) and inference gives the
parts' magnitudes for ratio masks at once.

    net = ChoirSeparatorNet()
    amps = net(mag, f0_hz)     # mag (B, F, T) mixture STFT magnitude, f0_hz (B, V, T) -> (B, V, T, K)
    models = comb_magnitudes(amps, f0_hz, ...)   # (B, V, F, T) each part's magnitude
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from hiaudio import checkpoints
from hiaudio.dsp import filters
from hiaudio.dsp.partials import comb_layout, voice_magnitudes

SAMPLE_RATE, N_FFT, HOP = 16000, 1024, 256  # the mask STFT of hiaudio.separation.choir
F0_REF_HZ = 220.0


def harmonic_readout(mag: torch.Tensor, f0_hz: torch.Tensor, n_harmonics: int, sample_rate: int,
                     n_fft: int) -> torch.Tensor:
    """The mixture's log magnitude at each part's harmonics, linearly interpolated between bins.

    mag (B, F, T), f0_hz (B, V, T) -> (B, V, T, K); 0 where the part is silent or k f0 >= Nyquist.
    """
    b, n_bins, t = mag.shape
    k = torch.arange(1, n_harmonics + 1, dtype=mag.dtype, device=mag.device)
    pos = f0_hz[..., None] * k * n_fft / sample_rate  # (B, V, T, K) fractional bins
    valid = (f0_hz[..., None] > 0) & (pos < n_bins - 2)
    pos = pos.clamp(0, n_bins - 2)
    lo = pos.floor().long()
    frac = pos - lo
    log_mag = torch.log(mag + 1e-5).transpose(1, 2)  # (B, T, F)
    v = f0_hz.shape[1]
    table = log_mag[:, None].expand(b, v, t, n_bins)  # (B, V, T, F)
    at = torch.gather(table, -1, lo) * (1 - frac) + torch.gather(table, -1, lo + 1) * frac
    return torch.where(valid, at, torch.zeros_like(at)), valid


class ChoirSeparatorNet(nn.Module):
    def __init__(self, n_voices: int = 4, n_harmonics: int = 40, lsf_order: int = 12, hidden: int = 64,
                 sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT):
        super().__init__()
        self.n_voices, self.n_harmonics, self.lsf_order = n_voices, n_harmonics, lsf_order
        self.sample_rate, self.n_fft = sample_rate, n_fft
        n_in = n_harmonics + n_voices * n_harmonics + 1 + n_voices  # own, every part's, log f0, part id
        self.net = nn.Sequential(
            nn.Conv1d(n_in, hidden, 5, padding=2), nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=4, dilation=2), nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=8, dilation=4), nn.GELU(),
            nn.Conv1d(hidden, 1 + lsf_order, 1),
        )

    def forward(self, mag: torch.Tensor, f0_hz: torch.Tensor) -> torch.Tensor:
        """mag (B, F, T), f0_hz (B, V, T) -> harmonic amplitudes (B, V, T, K), 0 where not sounding."""
        b, v, t = f0_hz.shape
        k = self.n_harmonics
        read, valid = harmonic_readout(mag, f0_hz, k, self.sample_rate, self.n_fft)  # (B, V, T, K)
        level = read.sum((1, 2, 3), keepdim=True) / valid.sum((1, 2, 3), keepdim=True).clamp(min=1)  # (B, 1, 1, 1)
        read = torch.where(valid, read - level, torch.zeros_like(read))
        every = read.permute(0, 2, 1, 3).reshape(b, 1, t, v * k).expand(b, v, t, v * k)  # (B, V, T, V*K)
        log_f0 = torch.where(f0_hz > 0, torch.log2(f0_hz.clamp(min=1.0) / F0_REF_HZ), torch.zeros_like(f0_hz))
        part = torch.eye(v, dtype=mag.dtype, device=mag.device)[None, :, None, :].expand(b, v, t, v)
        x = torch.cat([read, every, log_f0[..., None], part], -1)  # (B, V, T, C)
        x = x.reshape(b * v, t, -1).transpose(1, 2)  # (B*V, C, T) parts folded into the batch
        out = self.net(x).transpose(1, 2).reshape(b, v, t, -1)  # (B, V, T, 1 + P)
        gain_db = 20.0 * out[..., 0] / math.log(10.0) + 20.0 * level[..., 0] / math.log(10.0)  # (B, V, T)
        lsf = filters.lsf_from_logits(out[..., 1:])  # (B, V, T, P)
        harm = torch.arange(1, k + 1, dtype=mag.dtype, device=mag.device)
        omega = (2 * math.pi / self.sample_rate) * (f0_hz[..., None] * harm).clamp(0, self.sample_rate / 2)
        level_db = filters.all_pole_response(lsf, gain_db, omega)  # (B, V, T, K)
        amp = torch.pow(10.0, level_db.clamp(max=60.0) / 20.0)
        return torch.where(valid, amp, torch.zeros_like(amp))


def comb_magnitudes(amps: torch.Tensor, f0_hz: np.ndarray, sample_rate: int = SAMPLE_RATE,
                    n_fft: int = N_FFT) -> torch.Tensor:
    """Each part's STFT magnitude from its harmonic amplitudes: amps (V, T, K) -> (V, F, T), differentiable."""
    v, _, k = amps.shape
    index, weight = comb_layout(np.asarray(f0_hz), sample_rate, n_fft, k)  # (T, V, K, J)
    return voice_magnitudes(amps.permute(1, 0, 2), index, weight, torch.arange(v), v, n_fft // 2 + 1)


def kl_loss(mix_mag: torch.Tensor, parts: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Generalized KL divergence D(X | sum of parts), normalized by the mixture's total magnitude."""
    y = parts.sum(0) + eps
    x = mix_mag + eps
    return (x * torch.log(x / y) - x + y).sum() / x.sum()


checkpoints.register("separator", "hiaudio.models.separator:ChoirSeparatorNet")
