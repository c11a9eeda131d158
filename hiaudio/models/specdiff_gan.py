"""SpecDiff-GAN in small (Baoueb, Liu, Fontaine, Le Roux & Richard, 2024): a HiFi-GAN-like
generator, trained against discriminators that see real and generated audio only through a
forward diffusion with spectrally shaped noise.

Generator (`Generator`): HiFi-GAN's design (Kong et al. 2020) -- a convolution on the log mel,
transposed-convolution upsampling, each followed by a multi-receptive-field fusion (MRF) of
dilated residual blocks (HiFi-GAN V3's "type 2" blocks) -- whose last upsamplings are replaced
by an inverse STFT, as in iSTFTNet (Kaneko et al. 2022): after upsampling by prod(upsample)
the network outputs a log magnitude and a phase per bin of a small STFT (hop = 256 /
prod(upsample), n_fft = 4 hop), which `spectral.istft` turns into samples. That keeps every
convolution at <= 1/32 of the sample rate, which is what makes it run at tens of times real
time on one CPU thread.

Discriminators (`Discriminators`): HiFi-GAN's multi-period discriminator (periods 2 3 5 7 11)
and UnivNet's multi-resolution spectrogram discriminator, as in SpecDiff-GAN, narrowed, each
sub-discriminator also given the diffusion step t (an embedding added after its first layer,
Diffusion-GAN's t-conditioned D).

The diffusion (`diffuse`): y_t = sqrt(abar_t) x + sqrt(1 - abar_t) sigma L z, the same for
real and generated audio, L the mel's spectral envelope (`noise_shaping`, "specgrad" prior,
at the speech's level) or white. The number of steps T adapts (`adapt_t`, Diffusion-GAN):
when the discriminator is too sure of the real clips, T grows, and the task gets harder.

    g = Generator()
    audio = g(log_mel)          # (B, 80, T) -> (B, T * 256)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hiaudio import checkpoints
from hiaudio.dsp import noise_shaping, spectral

LRELU = 0.1  # HiFi-GAN's leaky-ReLU slope


def _pad(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


class ResBlock(nn.Module):
    """HiFi-GAN's residual block "type 2": one dilated convolution per dilation, each residual."""

    def __init__(self, channels: int, kernel: int, dilations=(1, 2)):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel, padding=_pad(kernel, d), dilation=d)
                                   for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU))
        return x


class MRF(nn.Module):
    """Multi-receptive-field fusion: the mean of resblocks of different kernels and dilations."""

    def __init__(self, channels: int, kernels=(3, 5, 7), dilations=((1, 2), (2, 6), (3, 12))):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(channels, k, d) for k, d in zip(kernels, dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(block(x) for block in self.blocks) / len(self.blocks)


class Generator(nn.Module):
    """Log mel (B, n_mels, T) -> waveform (B, T * hop_samples).

    channels: width at the frame rate, halved at each upsampling; upsample: factors of the
    transposed convolutions; the rest of the hop (hop_samples / prod(upsample)) is the hop of
    the output iSTFT, whose n_fft is 4 times that.
    """

    def __init__(self, n_mels: int = 80, hop_samples: int = 256, channels: int = 256, upsample=(8,),
                 frame_mrf: bool = True, phase: str = "direct", istft_fft_factor: int = 4):
        super().__init__()
        upsample = tuple(int(u) for u in upsample)
        if hop_samples % math.prod(upsample):
            raise ValueError(f"upsampling {upsample} does not divide the hop of {hop_samples} samples")
        self.n_mels, self.hop_samples, self.upsample = n_mels, hop_samples, upsample
        if phase not in ("direct", "integrated"):
            raise ValueError(f"phase is {phase!r}: 'direct' or 'integrated'")
        self.phase = phase
        self.istft_hop = hop_samples // math.prod(upsample)
        self.istft_fft = istft_fft_factor * self.istft_hop
        self.conv_pre = nn.Conv1d(n_mels, channels, 7, padding=3)
        self.frame_mrf = MRF(channels) if frame_mrf else None  # capacity at the frame rate is cheap
        self.ups, self.mrfs = nn.ModuleList(), nn.ModuleList()
        width = channels
        for u in upsample:
            self.ups.append(nn.ConvTranspose1d(width, width // 2, 2 * u, stride=u, padding=u // 2 + u % 2,
                                               output_padding=u % 2))
            width //= 2
            self.mrfs.append(MRF(width))
        n_bins = self.istft_fft // 2 + 1
        self.conv_post = nn.Conv1d(width, 2 * n_bins, 7, padding=3)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        b, _, t = log_mel.shape
        x = self.conv_pre(log_mel)  # (B, C, T)
        if self.frame_mrf is not None:
            x = self.frame_mrf(x)
        for up, mrf in zip(self.ups, self.mrfs):
            x = mrf(up(F.leaky_relu(x, LRELU)))  # (B, C / 2, T * u)
        x = self.conv_post(F.leaky_relu(x, LRELU))  # (B, 2 * bins, T * prod(upsample))
        log_mag, phase = x.chunk(2, dim=1)  # (B, bins, T') each
        if self.phase == "integrated":
            # the network gives each bin's phase advance per frame, as a deviation from the bin
            # centre's own advance (2 pi k hop / n_fft); the phase is their running sum, so a steady
            # partial is a constant output -- the phase vocoder's instantaneous frequency
            k = torch.arange(phase.shape[1], device=phase.device, dtype=phase.dtype)[:, None]
            advance = 2 * math.pi * k * self.istft_hop / self.istft_fft + math.pi * torch.tanh(phase)
            phase = torch.cumsum(advance, dim=-1)
        spec = torch.polar(log_mag.clamp(max=6.0).exp(), phase)  # magnitude capped at e^6 (Vocos' clip)
        n = t * self.hop_samples
        # frame k of the small STFT centred on sample k * istft_hop: T' = n / istft_hop frames; the
        # inverse wants one more (the centred frame past the end), so repeat the last
        spec = torch.cat([spec, spec[..., -1:]], -1)
        return spectral.istft(spec, self.istft_fft, self.istft_hop, n)


checkpoints.register("specdiff_gan", "hiaudio.models.specdiff_gan:Generator")


# ---- discriminators ---------------------------------------------------------------------------
def step_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the diffusion step t (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1e4) * torch.arange(half, device=t.device) / half)
    arg = t.float()[:, None] * freqs[None]
    return torch.cat([arg.sin(), arg.cos()], -1)


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's sub-discriminator for one period: the waveform folded (B, 1, S / p, p), 2-D convs."""

    def __init__(self, period: int, widths=(8, 32, 64, 64)):
        super().__init__()
        self.period = period
        chans = (1,) + tuple(widths)
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], (5, 1), (3, 1), padding=(2, 0))
                                   for i in range(len(widths)))
        self.step = nn.Linear(64, widths[0])
        self.post = nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor):
        b, s = x.shape
        pad = (-s) % self.period
        x = F.pad(x, (0, pad), mode="reflect").reshape(b, 1, (s + pad) // self.period, self.period)  # (B, 1, S/p, p)
        features = []
        for i, conv in enumerate(self.convs):
            x = F.leaky_relu(conv(x), LRELU)
            if i == 0:
                x = x + self.step(t_emb)[:, :, None, None]
            features.append(x)
        x = self.post(x)
        features.append(x)
        return x.flatten(1), features


class ResolutionDiscriminator(nn.Module):
    """UnivNet's sub-discriminator for one STFT resolution: 2-D convs on the magnitude (B, 1, T, F)."""

    def __init__(self, n_fft: int, hop: int, width: int = 8):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.convs = nn.ModuleList([nn.Conv2d(1, width, (3, 9), padding=(1, 4)),
                                    nn.Conv2d(width, width, (3, 9), stride=(1, 2), padding=(1, 4)),
                                    nn.Conv2d(width, width, (3, 9), stride=(1, 2), padding=(1, 4)),
                                    nn.Conv2d(width, width, (3, 3), padding=(1, 1))])
        self.step = nn.Linear(64, width)
        self.post = nn.Conv2d(width, 1, (3, 3), padding=(1, 1))

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor):
        mag = spectral.stft(x, self.n_fft, self.hop).abs().transpose(-1, -2)[:, None]  # (B, 1, T, F)
        h = mag
        features = []
        for i, conv in enumerate(self.convs):
            h = F.leaky_relu(conv(h), LRELU)
            if i == 0:
                h = h + self.step(t_emb)[:, :, None, None]
            features.append(h)
        h = self.post(h)
        features.append(h)
        return h.flatten(1), features


class Discriminators(nn.Module):
    """All sub-discriminators: x (B, S), t (B,) -> list of (scores (B, N), features)."""

    def __init__(self, periods=(2, 3, 5, 7, 11), resolutions=((512, 128), (1024, 256), (256, 64))):
        super().__init__()
        self.subs = nn.ModuleList([PeriodDiscriminator(p) for p in periods] +
                                  [ResolutionDiscriminator(n, h) for n, h in resolutions])

    def forward(self, x: torch.Tensor, t: torch.Tensor):
        t_emb = step_embedding(t, 64)
        return [sub(x, t_emb) for sub in self.subs]




class SpecDiffGAN(nn.Module):
    """What training holds: the generator, the discriminators and the adaptive diffusion length
    (a buffer, so a resumed run continues with it). Only the generator ships."""

    def __init__(self, generator: dict | None = None, t_start: int = 10):
        super().__init__()
        self.generator_kwargs = dict(generator or {})
        self.generator = Generator(**self.generator_kwargs)
        self.discriminators = Discriminators()
        self.register_buffer("t_max", torch.tensor(int(t_start)))  # Diffusion-GAN's T, adapted in training
        self.register_buffer("updates", torch.tensor(0))  # training updates so far


checkpoints.register("specdiff_gan_pair", "hiaudio.models.specdiff_gan:SpecDiffGAN")


# ---- the forward diffusion the discriminators see ---------------------------------------------
def diffusion_alpha_bars(t_max: int, beta_first: float = 1e-4, beta_last: float = 0.02) -> torch.Tensor:
    """sqrt(alpha_bar) for steps 0..t_max of Diffusion-GAN's linear schedule (step 0: no noise): (t_max + 1,)."""
    betas = torch.linspace(beta_first, beta_last, max(t_max, 1), dtype=torch.float64)
    abar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])
    return abar[: t_max + 1].sqrt()


def diffuse(x: torch.Tensor, t: torch.Tensor, root_abar: torch.Tensor, prior: noise_shaping.NoisePrior,
            sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """q(y_t | x): sqrt(abar_t) x + sqrt(1 - abar_t) sigma L z, x (B, S), t (B,) steps into root_abar."""
    a = root_abar.to(x.device)[t].to(x.dtype)[:, None]  # (B, 1)
    return a * x + (1 - a ** 2).sqrt() * sigma * prior.sample(generator)


def adapt_t(t_max: int, real_sign_mean: float, target: float = 0.6, step: int = 10, t_min: int = 5,
            t_limit: int = 500) -> int:
    """Diffusion-GAN's adaptive diffusion length: r_d = E[sign(D(real))] says how sure the
    discriminator is of the real clips; above `target` T grows by `step` (harder), below it shrinks."""
    return int(min(t_limit, max(t_min, t_max + (step if real_sign_mean > target else -step))))
