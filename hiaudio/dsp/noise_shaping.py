"""Noise shaped by a mel spectrogram: the data-dependent priors of diffusion vocoders.

A diffusion vocoder's noise eps need not be white: drawn from N(0, Sigma) with Sigma read off
the mel, it already sits where the speech is, and the network has less to undo. Three priors
(`noise_prior`), each eps = std * L z with z white of unit variance:

* ``white``: std = 1, L = I -- plain WaveGrad / DDPM noise.
* ``priorgrad``: std = the RMS of the signal the mel implies, frame by frame (Parseval over the
  mel's pseudo-inverse magnitude), interpolated to the samples, floored at `FLOOR`; L = I
  (PriorGrad, Lee et al. ICLR 2022: a diagonal prior from the mel's frame energy).
* ``specgrad``: that std, and L a time-varying filter with the mel's spectral envelope
  (SpecGrad, Koizumi et al. Interspeech 2022): L z = iSTFT(shape * STFT(z)), the shape the
  cepstrum of the mel's log envelope liftered to `N_CEPSTRUM` coefficients, scaled to
  unit frame std. Unlike SpecGrad the gain is zero-phase (real), not minimum-phase -- the same
  spectrum and variance, another time structure within a frame -- and it is floored
  `SHAPE_RANGE_DB` below each frame's peak and smoothed over frames, so that the approximate
  inverse L^-1 y = iSTFT(STFT(y) / shape) inverts it closely (SpecGrad's L^-1 too is this).

Noise from the data-dependent priors sits at the level of the speech (a clip at -20 dBFS RMS
gets noise of std ~0.1 in its voiced frames, `FLOOR` in silence), not at unit variance.

    prior = noise_prior(log_mel, "specgrad", n_samples)   # log_mel (B, 80, T); std (B, S)
    eps = prior.sample(generator)                           # (B, S), std ~ prior.std
    z = prior.unshape(eps)                                  # ~ the white draw again
"""
from __future__ import annotations

import dataclasses

import torch

from hiaudio.dsp import spectral

NOISE_KINDS = ("white", "priorgrad", "specgrad")
FLOOR = 3e-4  # absolute amplitude: ~-70 dBFS, 50-60 dB below our clips' speech
N_CEPSTRUM = 24  # cepstral coefficients kept for the envelope (SpecGrad's order)
SHAPE_RANGE_DB = 30.0  # the spectral shape spans at most this far below its peak in each frame
SHAPE_SMOOTH_FRAMES = 3  # moving average of the log shape over frames
# measured on 3 training clips: unshape(shape(z)) - z has mean square 0.005-0.009 with a 30 dB
# range and 3-frame smoothing, 0.03-0.19 unsmoothed, 0.16-0.96 with 40 dB, up to 45 with 60 dB


def window_power(cfg: spectral.MelConfig = spectral.MEL) -> float:
    """sum of the Hann window squared: the STFT of unit white noise has this variance per bin."""
    return float((torch.hann_window(cfg.n_fft, dtype=torch.float64) ** 2).sum())


def full_spectrum_mean(power: torch.Tensor) -> torch.Tensor:
    """Mean over the full (two-sided) spectrum of a one-sided power (..., n_fft // 2 + 1, T) -> (..., T)."""
    n_fft = 2 * (power.shape[-2] - 1)
    inner = power[..., 1:-1, :].sum(-2)
    return (power[..., 0, :] + 2 * inner + power[..., -1, :]) / n_fft


def signal_std(mag: torch.Tensor, cfg: spectral.MelConfig = spectral.MEL) -> torch.Tensor:
    """RMS (amplitude) of the signal under each frame of an STFT magnitude (..., F, T) -> (..., T)
    (Parseval over one Hann-windowed frame)."""
    return (full_spectrum_mean(mag.square()) / window_power(cfg)).sqrt()


def frame_std(filt: torch.Tensor) -> torch.Tensor:
    """The standard deviation that `shape` gives unit white noise, frame by frame: (..., F, T) -> (..., T)."""
    return full_spectrum_mean(filt.square()).sqrt()


def mel_to_linear_envelope(mel: torch.Tensor, cfg: spectral.MelConfig = spectral.MEL) -> torch.Tensor:
    """A smooth, positive magnitude envelope on the STFT bins from a magnitude mel (..., n_mels, T):
    each bin takes the mean of the mel bands covering it, weighted by their filters -> (..., F, T).
    (The pseudo-inverse is exact on the mel but zero between a voice's low harmonics, which a
    log envelope cannot take.)"""
    fb = spectral.mel_filterbank(cfg, mel.dtype).to(mel.device)  # (F, M)
    weights = fb / fb.sum(-1, keepdim=True).clamp(min=1e-12)  # rows sum to 1 (0 where no band reaches)
    env = torch.einsum("fm,...mt->...ft", weights, mel)
    # bins no filter covers (DC): the nearest covered bin's value
    covered = fb.sum(-1) > 0
    first = int(covered.nonzero()[0])
    env[..., :first, :] = env[..., first:first + 1, :]
    return env


def cepstral_envelope(mag: torch.Tensor, n_cepstrum: int = N_CEPSTRUM, floor: float = 1e-8) -> torch.Tensor:
    """Smooth spectral envelope of a positive magnitude (..., F, T): the real cepstrum of log|mag|
    liftered to its first `n_cepstrum` quefrencies (both sides) -> (..., F, T), positive."""
    log_mag = torch.log(mag.clamp(min=floor)).transpose(-1, -2)  # (..., T, F)
    cep = torch.fft.irfft(log_mag, dim=-1)  # (..., T, n_fft) real, even
    n = cep.shape[-1]
    lifter = torch.zeros(n, dtype=cep.dtype, device=cep.device)
    lifter[:n_cepstrum] = 1.0
    lifter[n - n_cepstrum + 1:] = 1.0  # the mirrored quefrencies
    smooth = torch.fft.rfft(cep * lifter, dim=-1).real  # (..., T, F)
    return smooth.exp().transpose(-1, -2)


def spectral_shape(log_mel: torch.Tensor, cfg: spectral.MelConfig = spectral.MEL, n_cepstrum: int = N_CEPSTRUM,
                   range_db: float = SHAPE_RANGE_DB, smooth_frames: int = SHAPE_SMOOTH_FRAMES) -> torch.Tensor:
    """The mel's spectral envelope as a gain of unit frame std: (..., n_mels, T) -> (..., F, T).

    Cepstral envelope of the mel spread over the STFT bins (`mel_to_linear_envelope`), floored `range_db` below each frame's peak,
    its log smoothed over `smooth_frames` frames (so that `unshape` nearly inverts `shape`), then
    scaled so that `frame_std` is 1 in every frame.
    """
    env = cepstral_envelope(mel_to_linear_envelope(log_mel.exp(), cfg), n_cepstrum)  # (..., F, T)
    env = env / frame_std(env).clamp(min=1e-12)[..., None, :]
    env = env.clamp(min=10 ** (-range_db / 20) * env.amax(-2, keepdim=True))
    if smooth_frames > 1:
        *lead, f, t = env.shape
        log_env = env.log().reshape(-1, f, t)  # (N, F, T): smooth along T
        log_env = torch.nn.functional.avg_pool1d(log_env, smooth_frames, 1, smooth_frames // 2,
                                                 count_include_pad=False)
        env = log_env.exp().reshape(*lead, f, t)
    return env / frame_std(env).clamp(min=1e-12)[..., None, :]


def frame_to_samples(frame_values: torch.Tensor, n_samples: int, cfg: spectral.MelConfig = spectral.MEL) -> torch.Tensor:
    """Values on the mel's frame grid (..., T) -> (..., n_samples): at each sample, the mean of the
    frames' values weighted by their window squared there (how the least-squares iSTFT mixes them)."""
    hop, n_fft = cfg.hop_samples, cfg.n_fft
    *lead, t = frame_values.shape
    w2 = torch.hann_window(n_fft, dtype=frame_values.dtype, device=frame_values.device).square()[None, None]
    need = -(-(n_samples + n_fft // 2) // hop)  # frames whose windows reach the last sample
    flat = frame_values.reshape(-1, t)
    if t < need:  # hold the last frame
        flat = torch.cat([flat, flat[:, -1:].expand(-1, need - t)], -1)

    def overlap_add(x):  # (N, T') frame k centred on sample k * hop -> (N, n_samples)
        out = torch.nn.functional.conv_transpose1d(x[:, None], w2, stride=hop)[:, 0]
        return out[:, n_fft // 2: n_fft // 2 + n_samples]

    out = overlap_add(flat) / overlap_add(torch.ones_like(flat)).clamp(min=1e-12)
    return out.reshape(*lead, n_samples)


@dataclasses.dataclass(frozen=True)
class NoisePrior:
    """The noise of one batch of clips: eps = std * L_shape z, with z white and of unit variance.

    std: (..., S) the noise's standard deviation at each sample (the level the mel says, floored);
    spectral: (..., F, T) its spectral shape per frame (unit frame std), None for flat noise.
    """
    kind: str
    std: torch.Tensor
    spectral: torch.Tensor | None = None

    def shape(self, white: torch.Tensor) -> torch.Tensor:
        """L z: white noise (..., S) -> prior noise (..., S)."""
        if self.spectral is not None:
            white = _apply(white, self.spectral)
        return self.std * white

    def unshape(self, audio: torch.Tensor) -> torch.Tensor:
        """L^-1 y: exact for white and priorgrad, nearly so for specgrad (see SHAPE_RANGE_DB)."""
        white = audio / self.std
        if self.spectral is not None:
            white = _apply(white, 1.0 / self.spectral)
        return white

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw of the prior noise (..., S) (the white draw on the CPU, so a seed gives the same
        noise on any device)."""
        z = torch.randn(self.std.shape, generator=generator, dtype=self.std.dtype).to(self.std.device)
        return self.shape(z)


def noise_prior(log_mel: torch.Tensor, kind: str, n_samples: int, cfg: spectral.MelConfig = spectral.MEL,
                floor: float = FLOOR) -> NoisePrior:
    """The prior noise for clips of `n_samples` samples whose log mel (..., n_mels, T) is given.

    white: unit variance; priorgrad: the frame RMS the mel implies (floored at `floor`),
    interpolated to the samples; specgrad: that level with the mel's spectral envelope.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {', '.join(NOISE_KINDS)}")
    *lead, _, t = log_mel.shape
    if kind == "white":
        return NoisePrior(kind, torch.ones(*lead, n_samples, dtype=log_mel.dtype, device=log_mel.device))
    level = signal_std(spectral.mel_to_magnitude(log_mel.exp(), cfg), cfg).clamp(min=floor)  # (..., T)
    std = frame_to_samples(level, n_samples, cfg)
    return NoisePrior(kind, std, spectral_shape(log_mel, cfg) if kind == "specgrad" else None)


def _apply(audio: torch.Tensor, gain: torch.Tensor, cfg: spectral.MelConfig = spectral.MEL) -> torch.Tensor:
    """iSTFT(gain * STFT(audio)): audio (..., S), gain (..., F, T) on the mel grid (the last frame
    held when the STFT has more frames) -> (..., S)."""
    s = audio.shape[-1]
    spec = spectral.stft(audio, cfg.n_fft, cfg.hop_samples)  # (..., F, S // hop + 1)
    t = spec.shape[-1]
    if gain.shape[-1] < t:
        gain = torch.cat([gain, gain[..., -1:].expand(*gain.shape[:-1], t - gain.shape[-1])], -1)
    return spectral.istft(spec * gain[..., :t], cfg.n_fft, cfg.hop_samples, s)
