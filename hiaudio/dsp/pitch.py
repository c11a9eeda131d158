"""F0 and voicing of a monophonic voice: YIN's difference function with pYIN's probabilistic
thresholding and an HMM decoded by Viterbi, written in torch.

References: de Cheveigne & Kawahara 2002 (YIN, the cumulative-mean-normalized difference);
Mauch & Dixon 2014 (pYIN, a distribution over thresholds instead of one threshold, and a
pitch/voicing HMM). Our twist is that the threshold distribution is integrated in closed form:
a dip at lag tau is "the first dip below threshold s" exactly for s in (d'(tau), min of the
earlier dips], so its probability is a difference of the threshold CDF -- no sampling, no loop.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from hiaudio.dsp.units import cents_between, cents_to_hz
from hiaudio.limits import check_deadline


@dataclasses.dataclass
class PitchConfig:
    f0_min_hz: float = 50.0  # lowest F0 searched (bass singers reach ~65 Hz)
    f0_max_hz: float = 1100.0  # highest F0 searched (sopranos reach ~1 kHz)
    bin_cents: float = 20.0  # resolution of the HMM's pitch grid
    max_jump_cents: float = 400.0  # largest pitch move between consecutive frames
    jump_cost_per_octave: float = 12.0  # -log prob per octave of frame-to-frame pitch change
    switch_prob: float = 0.01  # voiced <-> unvoiced transition probability
    beta_a: float = 2.0  # threshold distribution Beta(a, b): mean 0.2, pYIN's most lenient
    beta_b: float = 8.0
    unvoiced_weight: float = 0.002  # emission of 'unvoiced' is this times the unclaimed mass
    no_dip_prob: float = 0.01  # pYIN's p_a: weight of the global minimum when no dip qualifies
    silence_db: float = -55.0  # frames this far below the loudest are unvoiced
    min_voiced_s: float = 0.03  # shorter voiced runs are dropped (clicks, fricative artefacts)


def cmndf(frames: torch.Tensor, window: int, max_lag: int) -> torch.Tensor:
    """YIN's cumulative-mean-normalized difference d'(tau), tau = 0..max_lag.

    frames: (..., window + max_lag) -> (..., max_lag + 1). d(tau) = E_0 + E_tau - 2 r(tau) with
    r computed by FFT and the energies E by cumulative sums.
    """
    n_fft = 1 << math.ceil(math.log2(window + max_lag))
    head = frames[..., :window]
    spec = torch.fft.rfft(frames, n_fft) * torch.conj(torch.fft.rfft(head, n_fft))
    r = torch.fft.irfft(spec, n_fft)[..., :max_lag + 1]  # (..., L) cross-correlation
    sq = torch.cumsum(torch.nn.functional.pad(frames * frames, (1, 0)), -1)  # (..., W+L+1)
    lags = torch.arange(max_lag + 1, device=frames.device)
    energy_lag = sq[..., lags + window] - sq[..., lags]  # (..., L): sum of x^2 over [tau, tau+W)
    diff = (sq[..., window:window + 1] + energy_lag - 2 * r).clamp_min(0)  # (..., L)
    cum = torch.cumsum(diff[..., 1:], -1)
    norm = diff[..., 1:] * torch.arange(1, max_lag + 1, device=frames.device) / cum.clamp_min(1e-12)
    return torch.cat([torch.ones_like(diff[..., :1]), norm], -1)


def _beta_cdf(x: torch.Tensor, a: float, b: float, grid: int = 2048) -> torch.Tensor:
    """CDF of Beta(a, b) at x in [0, 1] by a tabulated trapezoid integral (a, b >= 1)."""
    t = torch.linspace(0, 1, grid, dtype=torch.float64)
    pdf = t.pow(a - 1) * (1 - t).pow(b - 1)
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64),
                     torch.cumsum((pdf[1:] + pdf[:-1]) / 2, 0)])
    cdf = cdf / cdf[-1]
    pos = x.clamp(0, 1).to(torch.float64) * (grid - 1)
    lo = pos.floor().long().clamp(max=grid - 2)
    frac = pos - lo
    return (cdf[lo] * (1 - frac) + cdf[lo + 1] * frac).to(x.dtype)


def frame_signal(x: torch.Tensor, hop: int, length: int, n_frames: int, offset: int) -> torch.Tensor:
    """Frames (..., n_frames, length) where frame t starts at sample t*hop - offset (zero padded)."""
    pad_right = max(0, (n_frames - 1) * hop + length - offset - x.shape[-1])
    padded = torch.nn.functional.pad(x, (offset, pad_right))
    return padded.unfold(-1, length, hop)[..., :n_frames, :]


def estimate_f0(audio: torch.Tensor, sample_rate: int, hop: int,
                config: PitchConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """F0 (Hz) and voicing of a mono signal, one frame every `hop` samples, frame t at t*hop.

    audio: (S,). Returns f0_hz (T,) -- 0 where unvoiced -- and voiced_prob (T,), the
    probability mass the chosen pitch had (0 where unvoiced); T = ceil(S / hop).
    """
    cfg = config or PitchConfig()
    n_frames = max(1, math.ceil(audio.shape[-1] / hop))
    min_lag = max(2, int(sample_rate / cfg.f0_max_hz))
    max_lag = int(math.ceil(sample_rate / cfg.f0_min_hz)) + 1
    window = max_lag  # integrate over one longest period
    frames = frame_signal(audio, hop, window + max_lag, n_frames, offset=(window + max_lag) // 2)
    frames = frames - frames.mean(-1, keepdim=True)
    d = cmndf(frames, window, max_lag)  # (T, L)

    # dips: local minima of d' inside the searched lag range
    inner = d[:, 1:-1]
    is_dip = (inner < d[:, :-2]) & (inner <= d[:, 2:])
    lag = torch.arange(1, max_lag, device=d.device)
    is_dip &= (lag >= min_lag) & (lag < max_lag - 1)
    dip_value = torch.where(is_dip, inner, torch.full_like(inner, float("inf")))
    # probability of being the first dip below a threshold s ~ Beta(a, b), in closed form
    earlier_min = torch.cummin(dip_value, -1).values
    earlier_min = torch.cat([torch.full_like(earlier_min[:, :1], float("inf")), earlier_min[:, :-1]], -1)
    cdf = lambda v: _beta_cdf(v, cfg.beta_a, cfg.beta_b)  # noqa: E731
    prob = torch.where(is_dip & (earlier_min > dip_value),
                       cdf(earlier_min.clamp(max=1.0)) - cdf(dip_value.clamp(max=1.0)),
                       torch.zeros_like(inner))
    best = dip_value.argmin(-1)  # global minimum gets p_a of the mass no threshold claimed
    unclaimed = cdf(dip_value.min(-1).values.clamp(max=1.0))
    has_dip = torch.isfinite(dip_value.min(-1).values)
    prob[torch.arange(n_frames), best] += torch.where(has_dip, cfg.no_dip_prob * unclaimed, 0.0)

    # parabolic interpolation of each dip's lag
    left, mid, right = d[:, :-2], inner, d[:, 2:]
    curvature = left - 2 * mid + right
    delta = torch.where(curvature.abs() > 1e-9, 0.5 * (left - right) / curvature, torch.zeros_like(mid))
    f0_of_lag = sample_rate / (lag + delta.clamp(-1, 1))  # (T, L-1)

    # pitch grid of the HMM
    n_bins = int(math.floor(1200 * math.log2(cfg.f0_max_hz / cfg.f0_min_hz) / cfg.bin_cents)) + 1
    cents = cents_between(f0_of_lag.clamp(cfg.f0_min_hz, cfg.f0_max_hz), cfg.f0_min_hz)
    bin_of_lag = torch.round(cents / cfg.bin_cents).long().clamp(0, n_bins - 1)
    obs = torch.zeros(n_frames, n_bins, dtype=d.dtype).scatter_add_(1, bin_of_lag, prob)
    f0_sum = torch.zeros_like(obs).scatter_add_(1, bin_of_lag, prob * f0_of_lag)

    # energy gate: very quiet frames are unvoiced whatever their periodicity
    rms_db = 10 * torch.log10(frames.pow(2).mean(-1) + 1e-20)
    quiet = rms_db < rms_db.max() + cfg.silence_db

    path = _viterbi(obs, quiet, cfg, n_bins)
    voiced = _drop_short_runs(path < n_bins, max(1, round(cfg.min_voiced_s * sample_rate / hop)))
    chosen = path.clamp(max=n_bins - 1)
    rows = torch.arange(n_frames)
    mass = obs[rows, chosen]
    bin_hz = cents_to_hz(chosen.to(d.dtype) * cfg.bin_cents, cfg.f0_min_hz)
    f0 = torch.where(mass > 0, f0_sum[rows, chosen] / mass.clamp_min(1e-12), bin_hz)
    return torch.where(voiced, f0, torch.zeros_like(f0)), torch.where(voiced, mass, torch.zeros_like(mass))


def _viterbi(obs: torch.Tensor, quiet: torch.Tensor, cfg: PitchConfig, n_bins: int) -> torch.Tensor:
    """Most likely state per frame: 0..n_bins-1 voiced at that pitch bin, n_bins unvoiced."""
    n_frames = obs.shape[0]
    eps = 1e-9
    # emissions; a little blur across neighbouring bins makes the path robust to bin edges
    blurred = obs + 0.5 * (torch.nn.functional.pad(obs[:, 1:], (0, 1)) +
                           torch.nn.functional.pad(obs[:, :-1], (1, 0)))
    total = obs.sum(-1).clamp(max=1.0)
    log_voiced = torch.log(blurred.clamp(max=1.0) + eps)
    log_voiced = torch.where(quiet.unsqueeze(-1), log_voiced + math.log(eps), log_voiced)
    log_unvoiced = torch.log(cfg.unvoiced_weight * (1 - total).clamp_min(0) + eps)
    log_unvoiced = torch.where(quiet, torch.zeros_like(log_unvoiced), log_unvoiced)

    reach = int(cfg.max_jump_cents // cfg.bin_cents)
    steps = np.abs(np.arange(-reach, reach + 1, dtype=np.float64))
    jump = -cfg.jump_cost_per_octave * steps * cfg.bin_cents / 1200  # (2R+1,)
    log_switch, log_stay = math.log(cfg.switch_prob), math.log(1 - cfg.switch_prob)
    # the recursion runs in numpy: hundreds of tiny steps per second of audio, where torch's
    # per-op overhead (and its thread pool, on a busy machine) would dominate
    lv, lu = log_voiced.double().numpy(), log_unvoiced.double().numpy()
    score_v, score_u = lv[0].copy(), float(lu[0])
    back_v = np.zeros((n_frames, n_bins), dtype=np.int64)  # previous state of each voiced bin
    back_u = np.zeros(n_frames, dtype=np.int64)
    offsets = np.arange(n_bins)[:, None] + np.arange(-reach, reach + 1)  # (n_bins, 2R+1)
    valid = (offsets >= 0) & (offsets < n_bins)
    offsets = offsets.clip(0, n_bins - 1)
    for t in range(1, n_frames):
        if t % 256 == 0:
            check_deadline()
        cand = np.where(valid, score_v[offsets] + jump, -np.inf)  # (n_bins, 2R+1)
        arg = cand.argmax(-1)
        best_v = cand[np.arange(n_bins), arg]
        from_u = score_u + log_switch
        take_u = from_u > best_v
        back_v[t] = np.where(take_u, n_bins, offsets[np.arange(n_bins), arg])
        new_v = np.where(take_u, from_u, best_v) + lv[t]
        arg_prev_v = int(score_v.argmax())
        best_prev_v = score_v[arg_prev_v]
        stay_u = score_u + log_stay
        if stay_u >= best_prev_v + log_switch:
            new_u, back_u[t] = stay_u, n_bins
        else:
            new_u, back_u[t] = best_prev_v + log_switch, arg_prev_v
        score_v, score_u = new_v, new_u + lu[t]
    path = np.empty(n_frames, dtype=np.int64)
    state = n_bins if score_u >= score_v.max() else int(score_v.argmax())
    for t in range(n_frames - 1, -1, -1):
        path[t] = state
        state = int(back_u[t]) if state == n_bins else int(back_v[t, state])
    return torch.as_tensor(path)


def _drop_short_runs(mask: torch.Tensor, min_len: int) -> torch.Tensor:
    """Set runs of True shorter than `min_len` frames to False."""
    edges = torch.diff(torch.nn.functional.pad(mask.long(), (1, 1)))
    starts, ends = torch.nonzero(edges == 1).flatten(), torch.nonzero(edges == -1).flatten()
    out = mask.clone()
    for s, e in zip(starts.tolist(), ends.tolist()):
        if e - s < min_len:
            out[s:e] = False
    return out
