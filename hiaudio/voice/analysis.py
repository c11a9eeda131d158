"""Analysis of a monophonic voice into `VoiceParams`, and resynthesis back to audio.

Analysis by synthesis, in four steps per frame (5 ms hop):
1. F0 and voicing: `dsp.pitch.estimate_f0` (YIN difference function, pYIN-style HMM).
2. Harmonic amplitudes: the peak of the zero-padded STFT magnitude near every k * F0.
3. The vocal tract: an all-pole fit (autocorrelation method) to the envelope through those
   harmonic peaks -- through the periodogram in unvoiced frames -- stored as LSFs; what the
   filter does not explain is the source level of each harmonic (`harmonic_db`).
4. Noise: what the harmonic model leaves in the spectrum, per band, relative to the filter.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from hiaudio.dsp import filters, pitch
from hiaudio.dsp.f0grid import known_f0
from hiaudio.voice.params import MAX_HARMONICS, VoiceParams
from hiaudio.voice.synthesis import band_interpolation, render_harmonic

HOP_S = 0.005  # analysis frame step
PERIODS_PER_WINDOW = 3.0  # pitch-adaptive analysis window, in periods of F0
NOISE_PERIODS_PER_WINDOW = 6.0  # longer, for the noise: its main lobes leave valleys
# Valley residuals still hold some leakage of the harmonics (an F0 error of 0.5 % moves the 30th
# harmonic by 15 % of F0), so in voiced frames they overstate the noise. This back-off was
# measured on bench/voice_roundtrip.py (espeak-ng speech + GM choir): 6 dB lowered the
# log-spectral distance and raised PESQ on every clip group; see BENCHMARKS.md.
VOICED_NOISE_BACKOFF_DB = 6.0
VALLEY_FRACTION = 0.35  # noise is read at bins at least this far (in F0) from a harmonic
MIN_WINDOW_S, MAX_WINDOW_S, UNVOICED_WINDOW_S = 0.010, 0.060, 0.025
N_NOISE_BANDS = 8
FLOOR_DB = -120.0
SPECTRA_CHUNK_FRAMES = 256  # `adaptive_spectra` transforms this many frames at a time (peak memory)


def lpc_order_for(sample_rate: int) -> int:
    """Two poles per kHz of bandwidth plus four for glottal and radiation tilt (even)."""
    return 2 * round(sample_rate / 2000) + 4


def hop_for(sample_rate: int) -> int:
    return round(HOP_S * sample_rate)


def analyze(audio: np.ndarray, sample_rate: int, pitch_config: pitch.PitchConfig | None = None,
            f0_hz: np.ndarray | None = None, f0_hop_s: float | None = None) -> VoiceParams:
    """Estimate the voice model's parameters from a mono float signal in [-1, 1].

    With `f0_hz` (T',) given -- an F0 track known from elsewhere (a choir part's), 0 where
    unvoiced, one value every `f0_hop_s` seconds -- step 1 uses it instead of the pitch tracker.
    """
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    hop = hop_for(sample_rate)
    if f0_hz is None:
        f0_hz, _ = pitch.estimate_f0(x, sample_rate, hop, pitch_config)
    else:
        f0_hz = torch.as_tensor(known_f0(f0_hz, f0_hop_s or HOP_S, len(x) // hop + 1, hop / sample_rate))
    n_frames = f0_hz.shape[0]
    voiced = f0_hz > 0
    f0_filled = fill_unvoiced_f0(f0_hz.numpy())

    n_fft = 1 << math.ceil(math.log2(4 * MAX_WINDOW_S * sample_rate))  # 4x zero padding
    win_lengths = window_lengths(f0_filled, voiced.numpy(), sample_rate)
    power, amp_scale, noise_scale = adaptive_spectra(x, hop, n_frames, win_lengths, n_fft)
    bin_hz = sample_rate / n_fft

    # 2. harmonic peaks
    f0_t = torch.as_tensor(f0_filled, dtype=torch.float64)
    voiced_f0 = f0_t[voiced] if bool(voiced.any()) else f0_t
    n_harm = int(min(MAX_HARMONICS, math.floor(sample_rate / 2 / float(voiced_f0.min()))))
    n_harm = max(n_harm, 1)
    k = torch.arange(1, n_harm + 1, dtype=torch.float64)
    harm_hz = f0_t.unsqueeze(-1) * k  # (T, K)
    below_nyquist = harm_hz < sample_rate / 2 - bin_hz
    peak_power, peak_hz = _harmonic_peaks(power, harm_hz, f0_t, bin_hz)
    amps = torch.sqrt(peak_power) * amp_scale.unsqueeze(-1)  # (T, K) sinusoid amplitudes

    # 3. the vocal tract: all-pole fit to the harmonic envelope (voiced) or periodogram
    order = lpc_order_for(sample_rate)
    env_bins = 512
    grid_hz = torch.linspace(0, sample_rate / 2, env_bins + 1, dtype=torch.float64)
    env_db = _interpolate_db(harm_hz, 20 * torch.log10(amps + 1e-12), below_nyquist, grid_hz)
    periodogram = _downsample_bins(power * noise_scale.unsqueeze(-1), env_bins + 1)
    env_power = torch.where(voiced.unsqueeze(-1), 10 ** (env_db / 10), periodogram)
    autocorr = torch.fft.irfft(env_power, 2 * env_bins)[:, :order + 1].numpy()
    lag_window = np.exp(-0.5 * (2 * np.pi * 40.0 / sample_rate * np.arange(order + 1)) ** 2)
    autocorr = autocorr * lag_window
    autocorr[:, 0] *= 1.0 + 1e-6  # white-noise correction keeps Levinson well conditioned
    silent = autocorr[:, 0] <= 1e-20
    autocorr[silent, 0] = 1e-20
    a, err = filters.levinson(autocorr, order)
    lsf = filters.lpc_to_lsf(a)
    gain_db = 10 * np.log10(np.maximum(err, 1e-20))
    lsf_t, gain_t = torch.as_tensor(lsf), torch.as_tensor(gain_db)

    omega = (2 * math.pi / sample_rate) * harm_hz.clamp(max=sample_rate / 2)
    tract_db = filters.all_pole_response(lsf_t, gain_t, omega)  # (T, K)
    harmonic_db = 20 * torch.log10(amps + 1e-12) - tract_db
    harmonic_db = torch.where(below_nyquist, harmonic_db, torch.full_like(harmonic_db, math.nan))
    harmonic_db = _fill_harmonics(harmonic_db.numpy(), voiced.numpy())

    params = VoiceParams(
        sample_rate=int(sample_rate), hop_samples=hop,
        f0_hz=f0_filled.astype(np.float32),
        voiced=voiced.numpy().astype(np.float32),
        lsf_rad=lsf.astype(np.float32),
        gain_db=np.clip(gain_db, -150, 150).astype(np.float32),  # room for edits within +-200
        harmonic_db=np.clip(harmonic_db, FLOOR_DB, 99).astype(np.float32),
        noise_db=np.full((n_frames, N_NOISE_BANDS), FLOOR_DB, np.float32),
        tilt_db_per_oct=np.zeros(n_frames, np.float32),
        formant_ratio=np.ones(n_frames, np.float32),
    )

    # 4. noise, by synthesis: what our harmonic part leaves in the spectrum, per band, relative
    # to the filter. Seen through the same windows, the synthesized harmonics carry the same
    # main-lobe spread and in-window F0 motion as the original ones, so the difference is noise.
    # Longer windows than for the harmonics leave real valleys between them.
    n_bins = power.shape[-1]
    del power, periodogram, env_power  # no longer needed: keep the peak memory down
    harmonic = torch.as_tensor(render_harmonic(params))
    noise_wins = window_lengths(f0_filled, voiced.numpy(), sample_rate, NOISE_PERIODS_PER_WINDOW)
    residual, _, noise_scale = adaptive_spectra(x, hop, n_frames, noise_wins, n_fft)
    residual -= adaptive_spectra(harmonic, hop, n_frames, noise_wins, n_fft)[0]  # observed - predicted
    tract_db_grid = filters.grid_response_db(filters.lsf_to_lpc_torch(lsf_t), gain_t, n_fft)
    # between the harmonics (valleys) the harmonic model is weakest, so read the noise there
    bin_f0 = torch.arange(n_bins, dtype=torch.float64).unsqueeze(0) * bin_hz / f0_t.unsqueeze(-1)
    valley = (bin_f0 - torch.round(bin_f0)).abs() >= VALLEY_FRACTION  # (T, F)
    del bin_f0
    mask = valley | ~voiced.unsqueeze(-1)
    noise_db = _noise_levels(residual, mask, noise_scale, tract_db_grid, sample_rate, n_fft)
    noise_db = noise_db - VOICED_NOISE_BACKOFF_DB * voiced.numpy()[:, None]
    return params.replace(noise_db=np.clip(noise_db, FLOOR_DB, 99).astype(np.float32)).validate()


def window_lengths(f0_hz: np.ndarray, voiced: np.ndarray, sample_rate: int,
                   periods: float = PERIODS_PER_WINDOW) -> np.ndarray:
    """Pitch-adaptive analysis windows (samples): `periods` periods where voiced (3 as in WORLD's
    CheapTrick), UNVOICED_WINDOW_S elsewhere, clamped to [MIN_WINDOW_S, MAX_WINDOW_S]."""
    seconds = np.where(voiced, periods / np.maximum(f0_hz, 1.0), UNVOICED_WINDOW_S)
    seconds = np.clip(seconds, MIN_WINDOW_S, MAX_WINDOW_S)
    return np.round(seconds * sample_rate).astype(np.int64)


def adaptive_spectra(x: torch.Tensor, hop: int, n_frames: int, win_lengths: np.ndarray, n_fft: int):
    """Power spectra (T, n_fft//2+1) with a Hann window of its own length per frame, centred on
    t * hop; also each frame's sinusoid-amplitude scale 2/sum(w) and noise scale 1/sum(w^2)."""
    width = int(win_lengths.max()) | 1
    frames = pitch.frame_signal(x.double(), hop, width, n_frames, offset=width // 2)  # (T, W)
    lengths = torch.as_tensor(win_lengths, dtype=torch.float64).unsqueeze(-1)  # (T, 1)
    n = torch.arange(width, dtype=torch.float64) - width // 2  # (W,) centred sample index
    window = torch.where(n.abs() < lengths / 2, 0.5 + 0.5 * torch.cos(2 * math.pi * n / lengths),
                         torch.zeros((), dtype=torch.float64))  # (T, W)
    power = torch.empty(frames.shape[0], n_fft // 2 + 1, dtype=torch.float64)
    for start in range(0, frames.shape[0], SPECTRA_CHUNK_FRAMES):  # the complex spectra a chunk at a time
        stop = start + SPECTRA_CHUNK_FRAMES
        spec = torch.fft.rfft(frames[start:stop] * window[start:stop], n_fft)
        power[start:stop] = spec.real ** 2 + spec.imag ** 2
    return power, 2.0 / window.sum(-1), 1.0 / (window * window).sum(-1)


def fill_unvoiced_f0(f0_hz: np.ndarray, default_hz: float = 120.0) -> np.ndarray:
    """Interpolate F0 (in log frequency) through unvoiced frames (0), holding the ends."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    voiced = f0 > 0
    if not voiced.any():
        return np.full_like(f0, default_hz)
    idx = np.arange(len(f0))
    return np.exp(np.interp(idx, idx[voiced], np.log(f0[voiced])))


def _harmonic_peaks(power: torch.Tensor, harm_hz: torch.Tensor, f0_hz: torch.Tensor,
                    bin_hz: float, max_reach: int = 8):
    """Largest STFT power within +-15 % of F0 of each harmonic, parabolic-interpolated in dB."""
    n_frames, n_bins = power.shape
    center = torch.round(harm_hz / bin_hz).long()  # (T, K)
    reach = (0.15 * f0_hz / bin_hz).floor().long().clamp(1, max_reach)  # (T,)
    offsets = torch.arange(-max_reach, max_reach + 1)
    cand = center.unsqueeze(-1) + offsets  # (T, K, R)
    inside = offsets.abs() <= reach.view(-1, 1, 1)
    cand = cand.clamp(1, n_bins - 2)
    rows = torch.arange(n_frames).view(-1, 1, 1)
    vals = torch.where(inside, power[rows, cand], torch.zeros(()))
    best = vals.argmax(-1, keepdim=True)
    top = cand.gather(-1, best).squeeze(-1)  # (T, K) bin of the peak
    r2 = torch.arange(n_frames).view(-1, 1)
    db = lambda b: 10 * torch.log10(power[r2, b] + 1e-30)  # noqa: E731
    left, mid, right = db(top - 1), db(top), db(top + 1)
    curv = left - 2 * mid + right
    delta = torch.where(curv < -1e-9, 0.5 * (left - right) / curv, torch.zeros_like(mid)).clamp(-0.5, 0.5)
    peak_db = mid - 0.25 * (left - right) * delta
    return 10 ** (peak_db / 10), (top + delta) * bin_hz


def _interpolate_db(harm_hz: torch.Tensor, level_db: torch.Tensor, valid: torch.Tensor,
                    grid_hz: torch.Tensor) -> torch.Tensor:
    """Per frame, piecewise-linear interpolation of harmonic levels onto a frequency grid."""
    n_frames, n_harm = harm_hz.shape
    # invalid harmonics (above Nyquist) repeat the last valid one, keeping xs increasing
    last_valid = valid.long().sum(-1).clamp(min=1) - 1  # (T,)
    k_idx = torch.minimum(torch.arange(n_harm).expand(n_frames, -1), last_valid.unsqueeze(-1))
    xs = harm_hz.gather(-1, k_idx)
    ys = level_db.gather(-1, k_idx)
    grid = grid_hz.expand(n_frames, -1).contiguous()
    idx = torch.searchsorted(xs.contiguous(), grid).clamp(1, n_harm - 1) if n_harm > 1 else \
        torch.ones_like(grid, dtype=torch.long)
    if n_harm == 1:
        return ys[:, :1].expand_as(grid).clone()
    x0, x1 = xs.gather(-1, idx - 1), xs.gather(-1, idx)
    y0, y1 = ys.gather(-1, idx - 1), ys.gather(-1, idx)
    w = ((grid - x0) / (x1 - x0).clamp_min(1e-9)).clamp(0, 1)
    return y0 + (y1 - y0) * w


def _downsample_bins(power: torch.Tensor, n_out: int) -> torch.Tensor:
    """Average adjacent STFT bins down to n_out bins spanning 0..Nyquist."""
    edges = torch.linspace(0, power.shape[-1], n_out + 1).round().long()
    csum = torch.nn.functional.pad(torch.cumsum(power, -1), (1, 0))
    width = (edges[1:] - edges[:-1]).clamp_min(1)
    return (csum[:, edges[1:]] - csum[:, edges[:-1]]) / width


def _fill_harmonics(harmonic_db: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Fill harmonics above Nyquist with the highest valid one, unvoiced frames from the nearest
    voiced frame, so that pitch edits and voicing changes find sensible source levels."""
    h = harmonic_db.copy()
    n_frames, n_harm = h.shape
    valid = ~np.isnan(h)
    last = np.maximum(valid.sum(1) - 1, 0)
    fill = h[np.arange(n_frames), last]
    h = np.where(valid, h, fill[:, None])
    h = np.nan_to_num(h, nan=FLOOR_DB)
    if voiced.any() and not voiced.all():
        idx = np.arange(n_frames)
        vidx = idx[voiced]
        nearest = vidx[np.clip(np.searchsorted(vidx, idx), 0, len(vidx) - 1)]
        prev = vidx[np.clip(np.searchsorted(vidx, idx) - 1, 0, len(vidx) - 1)]
        nearest = np.where(np.abs(prev - idx) < np.abs(nearest - idx), prev, nearest)
        h = h[nearest]
    return h


def _noise_levels(residual_power, mask, noise_scale, tract_db, sample_rate, n_fft) -> np.ndarray:
    """Band levels (dB, relative to the filter) of the power the harmonics leave unexplained.

    Per band, the median over the bins where `mask` (bool, (T, F)) is set of residual / filter
    power, divided by ln 2 (the median of an exponential variable -- a noise periodogram bin --
    is ln 2 times its mean). The median shrugs off the harmonic leakage that a mean would count
    as noise.
    """
    n_frames, n_bins = residual_power.shape
    ratio = residual_power * noise_scale.unsqueeze(-1) / (10 ** (tract_db / 10) + 1e-30)
    ratio[~mask] = math.nan
    freqs_hz = torch.arange(n_bins, dtype=torch.float32) * (sample_rate / n_fft)
    owner = band_interpolation(N_NOISE_BANDS, sample_rate, freqs_hz).argmax(0)  # (F,)
    out = np.full((n_frames, N_NOISE_BANDS), FLOOR_DB)
    for band in range(N_NOISE_BANDS):
        cols = torch.nonzero(owner == band).flatten()
        if len(cols):
            med = torch.nanmedian(ratio[:, cols], -1).values / math.log(2)
            out[:, band] = (10 * torch.log10(torch.nan_to_num(med, nan=0.0).clamp_min(1e-20))).numpy()
    return out
