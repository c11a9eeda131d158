"""The project's one STFT / inverse STFT, the mel front end every vocoder and every vocoder
metric uses, and the STFT phase retrieval (Griffin-Lim) around it. Pure torch functions; every
mel setting lives in `MelConfig`.

    spec = stft(audio, n_fft=1024, hop=256)      # (..., S) -> (..., 513, S // 256 + 1) complex

    cfg = MEL                                    # 16 kHz, n_fft 1024, hop 256, 80 mel bands
    mel = mel_spectrogram(audio, cfg)            # (..., S) -> (..., 80, S // 256 + 1), magnitude
    mag = mel_to_magnitude(mel, cfg)             # (..., 513, T) non-negative pseudo-inverse
    audio = griffin_lim(mag, cfg, n_iter=64)     # torchaudio's fast Griffin-Lim

Frames are centred (frame t sits on sample t * hop), so an STFT of S samples has S // hop + 1
frames and the inverse of those frames gives S samples back. The edges are zero-padded, not
reflected as torchaudio's `Spectrogram` does: with zero padding `istft` is the exact
least-squares inverse of `stft`, which is what makes each Griffin-Lim iteration a descent step
(tests/dsp/test_spectral.py checks it); `griffin_lim` itself is torchaudio's, with its reflect padding.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch
import torchaudio

from hiaudio.limits import check_deadline


@dataclasses.dataclass(frozen=True)
class MelConfig:
    """The one set of mel settings (vocoders, training, metrics)."""
    sample_rate: int = 16000  # Hz; PESQ-WB and our espeak-ng speech data are 16 kHz
    n_fft: int = 1024  # FFT size = Hann window length, 64 ms
    hop_samples: int = 256  # 16 ms; = 4*4*4*4, the WaveGrad upsampling factors
    n_mels: int = 80  # mel bands
    f_min_hz: float = 0.0
    f_max_hz: float = 8000.0  # Nyquist at 16 kHz
    log_floor: float = 1e-5  # log mel = ln(max(mel, log_floor)): -11.5 is silence

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1


MEL = MelConfig()


def hann(win_length: int, like: torch.Tensor) -> torch.Tensor:
    """A periodic Hann window in `like`'s real dtype, on its device."""
    return torch.hann_window(win_length, dtype=like.real.dtype if like.is_complex() else like.dtype,
                             device=like.device)


def stft(audio, n_fft: int, hop: int, win_length: int | None = None, center: bool = True,
         pad_mode: str = "constant"):
    """The project's one STFT: complex (..., S) -> (..., n_fft // 2 + 1, T), Hann window of
    win_length samples (default n_fft; zero-padded to n_fft), frame t centred on sample t * hop
    when `center` (T = S // hop + 1), else only whole frames inside the signal.

    A tensor gives a tensor (window in its dtype); an ndarray is taken in float64 and gives an
    ndarray. pad_mode: how centred frames see past the edges, "constant" (zeros: `istft` is then
    the exact least-squares inverse) or "reflect".
    """
    if isinstance(audio, np.ndarray):
        return stft(torch.from_numpy(np.asarray(audio, dtype=np.float64)), n_fft, hop, win_length, center,
                    pad_mode).numpy()
    *lead, s = audio.shape
    win_length = win_length or n_fft
    spec = torch.stft(audio.reshape(-1, s), n_fft, hop, win_length, window=hann(win_length, audio),
                      center=center, pad_mode=pad_mode, return_complex=True)  # (N, F, T)
    return spec.reshape(*lead, *spec.shape[-2:])


def istft(spec, n_fft: int, hop: int, length: int, win_length: int | None = None):
    """Least-squares inverse of `stft` (Griffin & Lim 1984), centred frames: (..., F, T) -> (..., length).

    A tensor gives a tensor; an ndarray gives a float32 ndarray.
    """
    if isinstance(spec, np.ndarray):
        out = istft(torch.from_numpy(np.ascontiguousarray(spec)), n_fft, hop, length, win_length)
        return out.numpy().astype(np.float32)
    *lead, f, t = spec.shape
    win_length = win_length or n_fft
    audio = torch.istft(spec.reshape(-1, f, t), n_fft, hop, win_length, window=hann(win_length, spec),
                        center=True, length=length)  # (N, length)
    return audio.reshape(*lead, length)


@functools.lru_cache(maxsize=8)
def _filterbank(cfg: MelConfig) -> torch.Tensor:
    # Slaney-style mel scale and area normalisation, as librosa and HiFi-GAN use
    return torchaudio.functional.melscale_fbanks(cfg.n_freqs, cfg.f_min_hz, cfg.f_max_hz, cfg.n_mels,
                                                 cfg.sample_rate, norm="slaney", mel_scale="slaney")


def mel_filterbank(cfg: MelConfig = MEL, dtype=torch.float32) -> torch.Tensor:
    """(n_freqs, n_mels) triangular filters: mel = fb.T @ magnitude."""
    return _filterbank(cfg).to(dtype)


@functools.lru_cache(maxsize=8)
def _pinv(cfg: MelConfig) -> torch.Tensor:
    return torch.linalg.pinv(_filterbank(cfg).double()).float()  # (n_mels, n_freqs)


def mel_spectrogram(audio: torch.Tensor, cfg: MelConfig = MEL) -> torch.Tensor:
    """Magnitude (power 1) mel spectrogram: (..., S) -> (..., n_mels, S // hop + 1)."""
    mag = stft(audio, cfg.n_fft, cfg.hop_samples).abs()  # (..., F, T)
    return torch.einsum("fm,...ft->...mt", mel_filterbank(cfg, mag.dtype).to(mag.device), mag)


def log_mel(audio: torch.Tensor, cfg: MelConfig = MEL) -> torch.Tensor:
    """ln(max(mel, floor)): (..., S) -> (..., n_mels, T); what the WaveGrad model is conditioned on."""
    return torch.log(mel_spectrogram(audio, cfg).clamp(min=cfg.log_floor))


def mel_to_magnitude(mel: torch.Tensor, cfg: MelConfig = MEL) -> torch.Tensor:
    """Non-negative pseudo-inverse of the mel filterbank: (..., n_mels, T) -> (..., n_freqs, T).

    The minimum-norm least-squares magnitude (torch.linalg.pinv), clamped at zero -- what
    torchaudio's InverseMelScale computes, without a solver per call.
    """
    pinv = _pinv(cfg).to(mel.device, mel.dtype)  # (M, F)
    return torch.einsum("mf,...mt->...ft", pinv, mel).clamp(min=0.0)


def griffin_lim(mag: torch.Tensor, cfg: MelConfig = MEL, n_iter: int = 64, momentum: float = 0.99,
                length: int | None = None) -> torch.Tensor:
    """torchaudio's fast Griffin-Lim (Perraudin et al. 2013) from a magnitude STFT, zero-phase start.

    mag: (..., n_freqs, T) -> (..., length or (T - 1) * hop).
    """
    *lead, f, t = mag.shape
    length = length if length is not None else (t - 1) * cfg.hop_samples
    audio = torchaudio.functional.griffinlim(mag.reshape(-1, f, t), hann(cfg.n_fft, mag), cfg.n_fft,
                                             cfg.hop_samples, cfg.n_fft, power=1.0, n_iter=n_iter,
                                             momentum=momentum, length=length, rand_init=False)
    return audio.reshape(*lead, length)


def fast_griffin_lim(mag: torch.Tensor, spec: torch.Tensor, length: int, cfg: MelConfig = MEL,
                     n_iter: int = 8, momentum: float = 0.99) -> torch.Tensor:
    """Fast Griffin-Lim started from the phase of a given complex STFT; returns the waveform.

    mag: (..., F, T) target magnitude (clamped >= 0); spec: (..., F, T) complex start, e.g. the
    STFT of a waveform estimate. The iteration is torchaudio's `griffinlim` (same update, same
    momentum scaling, previous iterate starting at zero) with the start phase given instead of
    drawn, so GLA-Grad can project a diffusion estimate without forgetting its phase.
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum is {momentum}; fast Griffin-Lim needs 0 <= momentum < 1")
    mag = mag.clamp(min=0.0)
    alpha = momentum / (1 + momentum)  # torchaudio's scaling; only the phase of the update is kept
    angles = spec / (spec.abs() + 1e-16)
    previous = torch.zeros_like(spec)  # momentum state starts at zero
    for _ in range(n_iter):
        check_deadline()
        # the consistent STFT nearest mag * angles
        rebuilt = stft(istft(mag * angles, cfg.n_fft, cfg.hop_samples, length), cfg.n_fft, cfg.hop_samples)
        angles = rebuilt - alpha * previous
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    return istft(mag * angles, cfg.n_fft, cfg.hop_samples, length)


def spectral_inconsistency(audio: torch.Tensor, mag: torch.Tensor, cfg: MelConfig = MEL) -> torch.Tensor:
    """|| |STFT(audio)| - mag ||_F / ||mag||_F over the last two dims: how far audio is from a signal
    with STFT magnitude `mag` (the quantity Griffin-Lim's iterations never increase).

    audio: (..., S), mag: (..., F, S // hop + 1) -> (...)
    """
    diff = stft(audio, cfg.n_fft, cfg.hop_samples).abs() - mag
    return diff.square().sum((-2, -1)).sqrt() / mag.square().sum((-2, -1)).sqrt().clamp(min=1e-12)


def log_mel_distance_db(reference: torch.Tensor, estimate: torch.Tensor, cfg: MelConfig = MEL,
                        floor_db: float = -80.0) -> torch.Tensor:
    """Mean over frames of the RMS over mel bands of the dB difference of the magnitude mels.

    Both mels are floored at the reference's largest value + floor_db, so silence counts but
    cannot dominate. reference, estimate: (..., S) of equal length -> (...) in dB; 0 if equal.
    """
    ref_db = 20 * torch.log10(mel_spectrogram(reference, cfg).clamp(min=1e-12))  # (..., M, T)
    est_db = 20 * torch.log10(mel_spectrogram(estimate, cfg).clamp(min=1e-12))
    floor = ref_db.amax((-2, -1), keepdim=True) + floor_db
    diff = torch.maximum(ref_db, floor) - torch.maximum(est_db, floor)
    return diff.square().mean(-2).sqrt().mean(-1)
