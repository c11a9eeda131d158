"""Multi-pitch salience from a mixture: harmonically stacked log-frequency spectra and a small CNN.

A hybrid of a fixed DSP front end and a learned map (in the spirit of Bittner et al. 2017, "Deep
salience representations for F0 estimation in polyphonic music", whose HCQT stacks harmonics as
channels). Our front end reads one STFT magnitude (n_fft 2048, hop 80 = 5 ms at 16 kHz) on the
20-cent pitch grid of `hiaudio.dsp.pitch` (50..1100 Hz) at h * f for h in HARMONICS: channel c,
bin k holds the energy at HARMONICS[c] times the pitch of bin k, so a pitch's partials line up in
one column across channels and a 2-D CNN with small kernels sees them at once.

    model = SalienceCNN()
    logits = model(audio)              # audio (B, S) at 16 kHz -> (B, T, n_bins), T = S // 80 + 1
    bin_hz(model.n_bins)               # (n_bins,) the grid's frequencies in Hz
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from hiaudio import checkpoints
from hiaudio.dsp import spectral
from hiaudio.dsp.units import cents_between, cents_to_hz

SAMPLE_RATE = 16000
HOP = 80  # samples between frames (5 ms), every shipped model's
HOP_S = HOP / SAMPLE_RATE
F0_MIN_HZ, F0_MAX_HZ, BIN_CENTS = 50.0, 1100.0, 20.0  # the grid of hiaudio.dsp.pitch.PitchConfig
N_BINS = int(math.floor(1200 * math.log2(F0_MAX_HZ / F0_MIN_HZ) / BIN_CENTS)) + 1  # 268
HARMONICS = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)  # the sub-harmonic catches octave errors


def bin_hz(n_bins: int = N_BINS, f0_min_hz: float = F0_MIN_HZ, bin_cents: float = BIN_CENTS) -> torch.Tensor:
    """(n_bins,) frequency in Hz of each pitch bin."""
    return cents_to_hz(torch.arange(n_bins, dtype=torch.float64) * bin_cents, f0_min_hz)


def hz_to_bin(f0_hz: torch.Tensor, f0_min_hz: float = F0_MIN_HZ, bin_cents: float = BIN_CENTS) -> torch.Tensor:
    """Fractional bin index of f0_hz (any shape); meaningless where f0_hz <= 0."""
    return cents_between(f0_hz.clamp(min=1e-3), f0_min_hz) / bin_cents


def harmonic_stack(audio: torch.Tensor, sample_rate: int = SAMPLE_RATE, n_fft: int = 2048, hop: int = 80,
                   harmonics=HARMONICS, n_bins: int = N_BINS, f0_min_hz: float = F0_MIN_HZ,
                   bin_cents: float = BIN_CENTS) -> torch.Tensor:
    """Log-magnitude STFT read on the pitch grid at each harmonic.

    audio: (..., S) -> (..., H, T, n_bins), T = S // hop + 1 (frame t centred on sample t*hop).
    Values are log(|X| + 1e-4) linearly interpolated between FFT bins, standardized per clip
    (mean 0, std 1 over H, T and bins) so the mix level does not matter.
    """
    *lead, s = audio.shape
    x = audio.reshape(-1, s)
    mag = spectral.stft(x, n_fft, hop, pad_mode="reflect").abs()  # (N, F, T)
    logmag = torch.log(mag + 1e-4).transpose(1, 2)  # (N, T, F)
    f_hz = bin_hz(n_bins, f0_min_hz, bin_cents)[None, :] * torch.tensor(harmonics, dtype=torch.float64)[:, None]
    pos = (f_hz * n_fft / sample_rate).clamp(0, n_fft // 2 - 1e-6)  # (H, K) fractional FFT bin
    lo = pos.floor().long().to(audio.device)
    frac = (pos - pos.floor()).to(audio.dtype).to(audio.device)
    lo_vals = logmag[:, :, lo]  # (N, T, H, K)
    hi_vals = logmag[:, :, lo + 1]
    stack = (lo_vals * (1 - frac) + hi_vals * frac).permute(0, 2, 1, 3)  # (N, H, T, K)
    mean = stack.mean(dim=(1, 2, 3), keepdim=True)
    std = stack.std(dim=(1, 2, 3), keepdim=True)
    stack = (stack - mean) / (std + 1e-5)
    return stack.reshape(*lead, *stack.shape[1:])


class SalienceCNN(nn.Module):
    """Harmonic stack -> salience logits (B, T, n_bins): a few 2-D convolutions, then a 1x1 conv.

    channels: width of the hidden conv layers. The third hidden layer is dilated along frequency
    (3 bins = 60 cents apart) to widen the view across a semitone-plus without more weights.
    time_context: extra layers dilated along time (5 taps, 4, 8, ... frames apart), each widening
    the view by +-40, +-80, ... ms, so a note's onset and the line it continues are in sight.
    """

    def __init__(self, channels: int = 8, time_context: int = 0, n_fft: int = 2048, hop: int = 80,
                 sample_rate: int = SAMPLE_RATE):
        super().__init__()
        self.n_fft, self.hop, self.sample_rate = n_fft, hop, sample_rate
        self.n_bins = N_BINS
        h, c = len(HARMONICS), channels
        layers = [
            nn.Conv2d(h, c, 5, padding=2), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 5, padding=2), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=(1, 3), dilation=(1, 3)), nn.BatchNorm2d(c), nn.ReLU(),
        ]
        for i in range(time_context):
            d = 4 * 2 ** i
            layers += [nn.Conv2d(c, c, (5, 1), padding=(2 * d, 0), dilation=(d, 1)), nn.BatchNorm2d(c), nn.ReLU()]
        layers += [
            nn.Conv2d(c, c, (1, 25), padding=(0, 12)), nn.BatchNorm2d(c), nn.ReLU(),  # 25 bins = 500 cents
            nn.Conv2d(c, 1, 1),
        ]
        self.net = nn.Sequential(*layers)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, S) -> (B, H, T, n_bins) harmonic stack."""
        return harmonic_stack(audio, self.sample_rate, self.n_fft, self.hop)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, S) at `sample_rate` -> salience logits (B, T, n_bins)."""
        return self.net(self.features(audio))[:, 0]  # (B, T, K)

    @torch.no_grad()
    def salience(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (S,) -> salience in [0, 1], (T, n_bins)."""
        return torch.sigmoid(self(audio[None]))[0]


checkpoints.register("salience", "hiaudio.models.salience:SalienceCNN")

# The salience models the choir pipeline averages (blind four-part RPA on the test excerpts: salience.pt
# alone 0.843, with salience_ctx.pt 0.863, all three 0.880; BENCHMARKS.md).
ASSETS = ("salience.pt", "salience_ctx.pt", "salience_sub.pt")


def salience_map(audio, assets=ASSETS, device: torch.device | str = "cpu"):
    """Mean salience of the shipped models: audio (S,) numpy at SAMPLE_RATE -> (T, n_bins) numpy."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(device)
    maps = []
    for name in assets:
        model, _ = checkpoints.load_asset(name, "salience")
        if model.hop != HOP or model.sample_rate != SAMPLE_RATE:
            raise checkpoints.CheckpointError(f"{name} frames {model.hop} samples at {model.sample_rate} Hz; "
                                              f"the ensemble needs {HOP} at {SAMPLE_RATE}")
        with torch.no_grad():
            maps.append(model.to(device).salience(x))
    return (sum(maps) / len(maps)).cpu().numpy()
