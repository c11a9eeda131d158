"""WaveGrad (Chen et al., ICLR 2021): a conditional diffusion vocoder on log mels, downsized for a CPU.

The network follows the paper -- an upsampling path from the mel (UBlocks) modulated by FiLM
from a downsampling path over the noisy waveform (DBlocks) and the noise level -- with four
blocks of 4x (hop 256 = 4^4) and 16..128 channels instead of 5 blocks of 128..768, so it
trains on two CPU cores. The diffusion maths (forward noising, the reverse sampler) are plain
functions below the network; `sample` takes an optional `project` so GLA-Grad can reuse it.

    model = WaveGrad()
    eps_hat = model(noisy, log_mel, noise_level)   # (B, S), (B, 80, S // 256), (B,) -> (B, S)
    audio = sample(model, log_mel, betas, generator=torch.Generator().manual_seed(0))
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from hiaudio import checkpoints
from hiaudio.dsp import noise_shaping
from hiaudio.limits import check_deadline

# the continuous noise levels training draws from (WaveGrad / lmnt-com: 1000 linear betas)
TRAIN_BETAS = torch.linspace(1e-6, 0.01, 1000, dtype=torch.float64)
SEARCHED_STEPS = (6, 25)  # reverse-step counts whose schedules the search after training finds


def geometric_betas(n_steps: int, first: float, last: float) -> torch.Tensor:
    """(n_steps,) float64 betas rising geometrically from `first` to `last` (the shape of WaveGrad's
    hand-found 6-step schedule, 1e-6 .. 1e-1 by decades)."""
    if n_steps == 1:
        return torch.tensor([last], dtype=torch.float64)
    return torch.logspace(math.log10(first), math.log10(last), n_steps, dtype=torch.float64)


def noise_level_embedding(noise_level: torch.Tensor, dim: int, scale: float = 5000.0) -> torch.Tensor:
    """Sinusoidal embedding of sqrt(alpha_bar) (WaveGrad eq. 9): (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1e4) * torch.arange(half, device=noise_level.device) / half)  # (half,)
    arg = scale * noise_level[:, None].float() * freqs[None]  # (B, half)
    return torch.cat([arg.sin(), arg.cos()], dim=-1)


class FiLM(nn.Module):
    """Features of the noisy waveform + noise-level embedding -> (shift, scale) for a UBlock."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.inp = nn.Conv1d(in_ch, in_ch, 3, padding=1)
        self.shift = nn.Conv1d(in_ch, out_ch, 3, padding=1)
        self.scale = nn.Conv1d(in_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor, level_emb: torch.Tensor):
        h = F.leaky_relu(self.inp(x), 0.2) + level_emb[:, :, None]  # (B, C, T)
        return self.shift(h), self.scale(h)


class UBlock(nn.Module):
    """Upsample by `factor` with FiLM-modulated dilated convolutions (WaveGrad fig. 3)."""

    def __init__(self, in_ch: int, out_ch: int, factor: int, dilations=(1, 2, 4, 8)):
        super().__init__()
        self.factor = factor
        self.skip = nn.Conv1d(in_ch, out_ch, 1)
        d1, d2, d3, d4 = dilations
        self.c1 = nn.Conv1d(in_ch, out_ch, 3, padding=d1, dilation=d1)
        self.c2 = nn.Conv1d(out_ch, out_ch, 3, padding=d2, dilation=d2)
        self.c3 = nn.Conv1d(out_ch, out_ch, 3, padding=d3, dilation=d3)
        self.c4 = nn.Conv1d(out_ch, out_ch, 3, padding=d4, dilation=d4)

    def forward(self, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        up = lambda h: F.interpolate(h, scale_factor=self.factor, mode="nearest")  # noqa: E731
        h = self.c1(up(F.leaky_relu(x, 0.2)))  # (B, out, T * factor)
        h = self.c2(F.leaky_relu(scale * h + shift, 0.2))
        x = h + self.skip(up(x))
        h = self.c3(F.leaky_relu(scale * x + shift, 0.2))
        h = self.c4(F.leaky_relu(scale * h + shift, 0.2))
        return x + h


class DBlock(nn.Module):
    """Downsample the noisy waveform's features by `factor` (strided conv) with a residual."""

    def __init__(self, in_ch: int, out_ch: int, factor: int):
        super().__init__()
        self.factor = factor
        self.skip = nn.Conv1d(in_ch, out_ch, 1)
        self.down = nn.Conv1d(in_ch, in_ch, 2 * factor + 1, stride=factor, padding=factor)
        self.c1 = nn.Conv1d(in_ch, out_ch, 3, padding=1)
        self.c2 = nn.Conv1d(out_ch, out_ch, 3, padding=2, dilation=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(x[..., ::self.factor])  # (B, out, T / factor)
        h = self.down(x)
        h = self.c2(F.leaky_relu(self.c1(F.leaky_relu(h, 0.2)), 0.2))
        return h + skip


class WaveGrad(nn.Module):
    """eps_theta(noisy waveform, log mel, sqrt(alpha_bar)): predicts the noise in the waveform.

    channels: widths from the mel's frame rate up to the sample rate, one per resolution
        (len(factors) + 1 entries); factors: the upsampling per UBlock, their product = hop.
    """

    def __init__(self, n_mels: int = 80, channels=(128, 128, 64, 32, 16), factors=(4, 4, 4, 4),
                 noise: str = "white"):
        super().__init__()
        if noise not in noise_shaping.NOISE_KINDS:
            raise ValueError(f"unknown noise prior {noise!r}; choose one of {', '.join(noise_shaping.NOISE_KINDS)}")
        self.noise = noise  # the prior it was trained with (noise_shaping.noise_prior)
        channels, factors = tuple(channels), tuple(factors)
        if len(channels) != len(factors) + 1:
            raise ValueError(f"{len(channels)} channel widths for {len(factors)} upsampling blocks; "
                             "give one more width than factors")
        self.n_mels, self.hop_samples = n_mels, math.prod(factors)
        self.channels, self.factors = channels, factors
        self.mel_in = nn.Conv1d(n_mels, channels[0], 3, padding=1)
        self.ublocks = nn.ModuleList(UBlock(channels[i], channels[i + 1], f) for i, f in enumerate(factors))
        # the down path mirrors the up path: width channels[-1] at the sample rate, then coarser
        down_widths = channels[::-1][:-1]  # sample rate .. one resolution above the frame rate
        self.wave_in = nn.Conv1d(1, down_widths[0], 5, padding=2)
        self.dblocks = nn.ModuleList(DBlock(down_widths[i], down_widths[i + 1], f)
                                     for i, f in enumerate(factors[::-1][:-1]))
        self.films = nn.ModuleList(FiLM(w, w) for w in down_widths)  # sample rate first
        self.out = nn.Conv1d(channels[-1], 1, 3, padding=1)
        # inference noise schedules, overwritten by the schedule search after training and
        # shipped in the checkpoint's state; until then a geometric guess
        for n in SEARCHED_STEPS:
            self.register_buffer(f"betas_{n}", geometric_betas(n, 1e-4, 0.5))
        # 1 where betas_<n> came from the search (a schedule chosen for this model), 0 for the guess
        self.register_buffer("searched", torch.zeros(len(SEARCHED_STEPS)))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints from before the `searched` flags (2026-11) always carried searched schedules
        state_dict.setdefault(prefix + "searched", torch.ones(len(SEARCHED_STEPS)))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_schedule(self, n_steps: int, betas: torch.Tensor) -> None:
        """Store the searched schedule for `n_steps` (one of SEARCHED_STEPS) and mark it searched."""
        getattr(self, f"betas_{n_steps}").copy_(betas)
        self.searched[SEARCHED_STEPS.index(n_steps)] = 1.0

    def is_searched(self, n_steps: int) -> bool:
        """True when `n_steps` has a schedule the search chose for this model."""
        return n_steps in SEARCHED_STEPS and bool(self.searched[SEARCHED_STEPS.index(n_steps)] > 0)

    def inference_betas(self, n_steps: int) -> torch.Tensor:
        """(n_steps,) float64 schedule: the searched one for 6 or 25 steps; for another count, the
        geometric schedule between the end points searched for the nearest of those."""
        if n_steps < 1:
            raise ValueError(f"{n_steps} reverse steps; give at least 1")
        if n_steps in SEARCHED_STEPS:
            return getattr(self, f"betas_{n_steps}").double().cpu()
        near = min(SEARCHED_STEPS, key=lambda n: abs(math.log(n / n_steps)))
        ref = getattr(self, f"betas_{near}").double().cpu()
        return geometric_betas(n_steps, float(ref[0]), float(ref[-1]))

    def prior(self, log_mel: torch.Tensor, n_samples: int) -> noise_shaping.NoisePrior:
        """The noise prior of clips with this log mel (B, n_mels, T): std (B, n_samples)."""
        return noise_shaping.noise_prior(log_mel, self.noise, n_samples)

    def forward(self, noisy: torch.Tensor, log_mel: torch.Tensor, noise_level: torch.Tensor) -> torch.Tensor:
        """noisy (B, S), log_mel (B, n_mels, S // hop), noise_level (B,) -> predicted noise (B, S).

        The network proper: with a data-dependent prior it sees the noisy waveform whitened by the
        prior (`prior.unshape`) and predicts the white draw z; `predict_noise` wraps it."""
        h = self.wave_in(noisy[:, None])  # (B, C_last, S)
        films = []
        for i, film in enumerate(self.films):
            films.append(film(h, noise_level_embedding(noise_level, h.shape[1])))
            if i < len(self.dblocks):
                h = self.dblocks[i](h)  # (B, C, S / 4^(i+1))
        x = self.mel_in(log_mel)  # (B, C_0, T)
        for ublock, (shift, scale) in zip(self.ublocks, films[::-1]):
            x = ublock(x, shift, scale)  # (B, C, T * prod(factors so far))
        return self.out(F.leaky_relu(x, 0.2))[:, 0]


checkpoints.register("wavegrad", "hiaudio.models.wavegrad:WaveGrad")


# ---- diffusion: forward noising and the reverse sampler (Ho et al. 2020; WaveGrad sec. 2-3) ----
def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """Cumulative products prod_{i<=n} (1 - beta_i): (N,) -> (N,)."""
    return torch.cumprod(1 - betas.double(), 0)


def draw_noise_level(batch: int, generator: torch.Generator | None = None,
                     betas: torch.Tensor = TRAIN_BETAS) -> torch.Tensor:
    """WaveGrad's continuous noise level: sqrt(alpha_bar) uniform between two adjacent steps of a
    random step of `betas`: (batch,) float32 in (0, 1]."""
    root = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars(betas).sqrt()])  # (N + 1,)
    step = torch.randint(1, len(root), (batch,), generator=generator)
    u = torch.rand(batch, generator=generator, dtype=torch.float64)
    return (root[step] + u * (root[step - 1] - root[step])).float()


def add_noise(clean: torch.Tensor, noise_level: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """q(y_n | y_0): sqrt(alpha_bar) y_0 + sqrt(1 - alpha_bar) eps; clean, noise (B, S), level (B,)."""
    level = noise_level[:, None].to(clean.dtype)
    return level * clean + (1 - level ** 2).clamp(min=0).sqrt() * noise


def reverse_step(noisy: torch.Tensor, eps_hat: torch.Tensor, beta: float, alpha_bar: float,
                 alpha_bar_prev: float, noise: torch.Tensor | None) -> torch.Tensor:
    """One ancestral step y_n -> y_{n-1} of the reverse process (WaveGrad algorithm 2).

    mean = (y_n - beta / sqrt(1 - alpha_bar) eps_hat) / sqrt(1 - beta); the posterior std
    sigma = sqrt((1 - alpha_bar_prev) / (1 - alpha_bar) beta) scales `noise` (None at the last step).
    """
    mean = (noisy - beta / math.sqrt(1 - alpha_bar) * eps_hat) / math.sqrt(1 - beta)
    if noise is None:
        return mean
    sigma = math.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar) * beta)
    return mean + sigma * noise


def predict_noise(model: Callable, noisy: torch.Tensor, log_mel: torch.Tensor, noise_level: torch.Tensor,
                  prior: noise_shaping.NoisePrior) -> torch.Tensor:
    """eps_hat = L model(L^-1 y): the network works on the whitened waveform, the prior shapes its
    answer back. noisy (B, S) -> (B, S). For white noise, the network's output as it is."""
    if prior.kind == "white":
        return model(noisy, log_mel, noise_level)
    return prior.shape(model(prior.unshape(noisy), log_mel, noise_level))


def sample(model: Callable, log_mel: torch.Tensor, betas: torch.Tensor,
           generator: torch.Generator | None = None,
           project: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
           prior: noise_shaping.NoisePrior | None = None) -> torch.Tensor:
    """Reverse diffusion from the prior's noise: log_mel (B, n_mels, T) -> waveform (B, T * hop).

    betas: (N,) the inference noise schedule, first (least noisy) to last. `project(y, k)`, when
    given, is applied to y_{n-1} after reverse step k = 0, 1, ... (k = 0 is the noisiest) --
    GLA-Grad's hook; it returns the projected waveform or y unchanged. `prior`: the noise the
    model was trained with (default: `model.prior(log_mel, ...)`, or white noise for a bare
    callable). The result is not clipped.
    """
    b, _, t = log_mel.shape
    hop = getattr(model, "hop_samples", 256)
    if prior is None:
        prior = model.prior(log_mel, t * hop) if hasattr(model, "prior") else \
            noise_shaping.noise_prior(log_mel, "white", t * hop)
    betas = betas.double().cpu()
    abar = alpha_bars(betas)
    y = prior.sample(generator)
    for k, n in enumerate(range(len(betas) - 1, -1, -1)):
        check_deadline()
        level = torch.full((b,), float(abar[n].sqrt()), dtype=log_mel.dtype, device=log_mel.device)
        eps_hat = predict_noise(model, y, log_mel, level, prior)
        noise = prior.sample(generator) if n > 0 else None
        y = reverse_step(y, eps_hat, float(betas[n]), float(abar[n]), float(abar[n - 1]) if n > 0 else 1.0, noise)
        if project is not None:
            y = project(y, k)
    return y
