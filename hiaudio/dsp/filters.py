"""All-pole vocal-tract filters parameterized by line spectral frequencies (LSFs).

An order-P all-pole filter H(z) = g / A(z) is minimum phase -- hence stable -- exactly when its
LSFs are strictly increasing inside (0, pi) (Soong & Juang 1984). UMSS (Schulze-Forster et al.
2023) predicts LSFs for this reason, and so do we: `lsf_from_logits` maps any real vector to a
valid LSF vector, and `all_pole_response` evaluates the filter at arbitrary frequencies without
ever forming the polynomial A(z), which keeps it cheap, batched and differentiable.

Conventions: angles in radians per sample (pi = Nyquist); P even; shapes `(..., P)` for LSFs and
`(..., F)` for frequencies, leading dimensions broadcast.
"""
from __future__ import annotations

import math

import numpy as np
import torch

TILT_PIVOT_HZ = 1000.0  # spectral tilt (brightness) pivots about this frequency
MIN_LSF_GAP_RAD = 0.004  # keeps neighbouring LSFs apart, so the filter keeps a finite Q


def lsf_from_logits(logits: torch.Tensor, min_gap_rad: float = MIN_LSF_GAP_RAD) -> torch.Tensor:
    """Any real `(..., P)` tensor -> LSFs strictly increasing in (0, pi) (cumulative softmax).

    Neighbours stay at least `min_gap_rad` apart, so the filter's Q stays finite and its
    polynomial stays well conditioned even in float32.
    """
    *lead, p = logits.shape
    steps = torch.softmax(torch.cat([logits, torch.zeros(*lead, 1, dtype=logits.dtype,
                                                         device=logits.device)], -1), -1)
    steps = min_gap_rad + (math.pi - (p + 1) * min_gap_rad) * steps
    return torch.cumsum(steps, -1)[..., :p]


def flat_lsf(order: int) -> np.ndarray:
    """The LSFs of A(z) = 1 (a flat filter): i * pi / (P + 1)."""
    return np.arange(1, order + 1) * (math.pi / (order + 1))


def _pq_log(lsf_rad: torch.Tensor, omega: torch.Tensor):
    """Log-magnitudes and signs of the real factors Pr, Qr with
    A(e^jw) = 1/2 e^{-jw(P+1)/2} (Pr + j Qr).

    P(z) = (1 + z^-1) prod_{odd i} (1 - 2 cos w_i z^-1 + z^-2) holds w_1, w_3, ...; Q(z) the even
    ones with (1 - z^-1). On the unit circle each section is e^{-jw} 2 (cos w - cos w_i). The
    products run in the log domain: crowded LSFs make |A| tiny, far below float32's range.
    """
    cos_w = torch.cos(omega).unsqueeze(-1)  # (..., F, 1)
    cos_lsf = torch.cos(lsf_rad).unsqueeze(-2)  # (..., 1, P)
    sections = 2.0 * (cos_w - cos_lsf)  # (..., F, P)
    log_abs = torch.log(sections.abs().clamp_min(1e-30))
    negative = (sections < 0).to(omega.dtype)
    half_cos, half_sin = 2.0 * torch.cos(omega / 2), 2.0 * torch.sin(omega / 2)
    log_p = torch.log(half_cos.abs().clamp_min(1e-30)) + log_abs[..., 0::2].sum(-1)
    log_q = torch.log(half_sin.abs().clamp_min(1e-30)) + log_abs[..., 1::2].sum(-1)
    sign_p = 1.0 - 2.0 * torch.remainder(negative[..., 0::2].sum(-1) + (half_cos < 0), 2)
    sign_q = 1.0 - 2.0 * torch.remainder(negative[..., 1::2].sum(-1) + (half_sin < 0), 2)
    return log_p, sign_p, log_q, sign_q


def all_pole_response(lsf_rad: torch.Tensor, gain_db: torch.Tensor, omega: torch.Tensor,
                      with_phase: bool = False):
    """Log-magnitude (dB) -- and optionally phase (rad) -- of g / A(e^jw).

    lsf_rad: (..., P); gain_db: (...); omega: (..., F) radians per sample.
    Returns mag_db (..., F) [, phase (..., F)].
    """
    log_p, sign_p, log_q, sign_q = _pq_log(lsf_rad, omega)
    # |A|^2 = (Pr^2 + Qr^2) / 4
    log_power_a = torch.logaddexp(2 * log_p, 2 * log_q) - math.log(4.0)
    mag_db = gain_db.unsqueeze(-1) - (10.0 / math.log(10.0)) * log_power_a
    if not with_phase:
        return mag_db
    top = torch.maximum(log_p, log_q)
    angle = torch.atan2(sign_q * torch.exp(log_q - top), sign_p * torch.exp(log_p - top))
    order = lsf_rad.shape[-1]
    phase_a = -omega * (order + 1) / 2 + angle
    return mag_db, -phase_a


def lsf_to_lpc_torch(lsf_rad: torch.Tensor) -> torch.Tensor:
    """LSFs (..., P) -> A(z) coefficients (..., P+1), differentiable, without loops.

    A(e^jw) = 1/2 e^{-jw(P+1)/2} (Pr + j Qr) is known in closed form at any w (`_pq_log`'s
    factors), so A is sampled at N >= P+2 points of the unit circle and an inverse FFT returns
    its coefficients exactly (A has degree P < N).
    """
    *lead, order = lsf_rad.shape
    n_points = 1 << math.ceil(math.log2(order + 2))
    omega = torch.arange(n_points, dtype=torch.float64, device=lsf_rad.device) * (2 * math.pi / n_points)
    x = lsf_rad.double()
    sections = 2.0 * (torch.cos(omega).unsqueeze(-1) - torch.cos(x).unsqueeze(-2))  # (..., N, P)
    pr = 2.0 * torch.cos(omega / 2) * sections[..., 0::2].prod(-1)  # (..., N)
    qr = 2.0 * torch.sin(omega / 2) * sections[..., 1::2].prod(-1)
    shift = torch.polar(torch.ones_like(omega), -omega * (order + 1) / 2)  # e^{-jw(P+1)/2}
    a = torch.fft.ifft(0.5 * shift * torch.complex(pr, qr), dim=-1).real
    return a[..., :order + 1].to(lsf_rad.dtype)


def interpolated_response(a: torch.Tensor, gain_db: torch.Tensor, omega: torch.Tensor,
                          n_fft: int = 4096, with_phase: bool = False):
    """Like `all_pole_response`, from A(z)'s coefficients a (..., P+1), at any omega (..., F),
    by linear interpolation of A(e^jw) on an n_fft-point FFT grid.

    A is a low-order polynomial, smooth on that grid, so this is accurate (tested against the
    exact form) and several times faster than the product form for many frequencies.
    """
    spec = torch.fft.rfft(a, n_fft)  # (..., n_fft//2+1) complex
    # numpy's rule: torch.broadcast_shapes imports sympy on its first call (half a second per process)
    lead = np.broadcast_shapes(tuple(a.shape[:-1]), tuple(omega.shape[:-1]))
    spec = spec.expand(*lead, spec.shape[-1])
    pos = omega.clamp(0, math.pi).expand(*lead, omega.shape[-1]) * (n_fft / (2 * math.pi))
    lo = pos.floor().long().clamp(max=n_fft // 2 - 1)
    frac = (pos - lo.to(pos.dtype)).to(a.dtype)
    re, im = spec.real, spec.imag
    re_w = torch.lerp(re.gather(-1, lo), re.gather(-1, lo + 1), frac)
    im_w = torch.lerp(im.gather(-1, lo), im.gather(-1, lo + 1), frac)
    power_a = (re_w * re_w + im_w * im_w).clamp_min(1e-30)
    mag_db = gain_db.unsqueeze(-1) - (10.0 / math.log(10.0)) * torch.log(power_a)
    if not with_phase:
        return mag_db
    return mag_db, -torch.atan2(im_w, re_w)


def grid_response_db(a: torch.Tensor, gain_db: torch.Tensor, n_fft: int) -> torch.Tensor:
    """|g / A| in dB on the n_fft//2+1 bins from 0 to Nyquist: a (..., P+1), gain_db (...)."""
    spec = torch.fft.rfft(a, n_fft)
    power_a = spec.real ** 2 + spec.imag ** 2
    return gain_db.unsqueeze(-1) - 10.0 * torch.log10(power_a.clamp_min(1e-20))


def tilt_db(tilt_db_per_oct: torch.Tensor, freqs_hz: torch.Tensor) -> torch.Tensor:
    """Spectral tilt in dB: tilt * log2(f / 1 kHz); (...), (..., F) -> (..., F)."""
    octaves = torch.log2(freqs_hz.clamp_min(50.0) / TILT_PIVOT_HZ)
    return tilt_db_per_oct.unsqueeze(-1) * octaves


def enforce_lsf_order(lsf_rad: np.ndarray, gap: float = MIN_LSF_GAP_RAD) -> np.ndarray:
    """Sort and push LSFs apart so each frame is strictly increasing inside (0, pi)."""
    lsf = np.sort(np.asarray(lsf_rad, dtype=np.float64), axis=-1)
    order = lsf.shape[-1]
    lo = gap * np.arange(1, order + 1)
    hi = math.pi - gap * np.arange(order, 0, -1)
    lsf = np.clip(lsf, lo, hi)
    # forward pass pushes up, backward pass pushes down; the clip bounds keep both feasible
    for i in range(1, order):
        lsf[..., i] = np.maximum(lsf[..., i], lsf[..., i - 1] + gap)
    for i in range(order - 2, -1, -1):
        lsf[..., i] = np.minimum(lsf[..., i], lsf[..., i + 1] - gap)
    return lsf


# ---- analysis side: power spectrum -> LPC -> LSF (numpy; not differentiated) -----------------

def levinson(r: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Levinson-Durbin on autocorrelations r (..., >= order+1) -> (a (..., order+1), error (...)).

    Vectorized over leading dimensions; the loop runs over the order only.
    """
    r = np.asarray(r, dtype=np.float64)
    lead = r.shape[:-1]
    a = np.zeros(lead + (order + 1,))
    a[..., 0] = 1.0
    err = r[..., 0].copy()
    for i in range(1, order + 1):
        acc = np.einsum("...j,...j->...", a[..., :i], r[..., i:0:-1])
        k = -acc / np.maximum(err, 1e-30)
        k = np.clip(k, -0.9999, 0.9999)  # numerical guard: keeps A(z) minimum phase
        a_prev = a[..., :i + 1].copy()
        a[..., 1:i + 1] = a_prev[..., 1:i + 1] + k[..., None] * a_prev[..., i - 1::-1][..., :i]
        err = err * (1.0 - k * k)
    return a, err


def lpc_to_lsf(a: np.ndarray, grid_size: int = 1024) -> np.ndarray:
    """LPC polynomials (..., P+1) with a[0] = 1 -> LSFs (..., P), sorted, in (0, pi).

    The symmetric/antisymmetric polynomials P(z)/(1+z^-1) and Q(z)/(1-z^-1) become cosine
    series on the unit circle; their zeros are found as sign changes on a dense grid (exact up
    to linear interpolation) with a Chebyshev root-finder for the rare frame where two zeros
    share a grid cell.
    """
    a = np.asarray(a, dtype=np.float64)
    lead = a.shape[:-1]
    order = a.shape[-1] - 1
    a2 = a.reshape(-1, order + 1)
    ext = np.concatenate([a2, np.zeros((a2.shape[0], 1))], 1)  # (N, P+2)
    rev = ext[:, ::-1]
    p_poly = _deflate(ext + rev, -1.0)  # divide by (1 + z^-1): (N, P+1), symmetric
    q_poly = _deflate(ext - rev, 1.0)  # divide by (1 - z^-1)
    omega = (np.arange(grid_size) + 0.5) * (math.pi / grid_size)
    half = order // 2
    lsf = np.empty((a2.shape[0], order))
    for slot, poly in ((0, p_poly), (1, q_poly)):
        # e^{jwP/2} C(e^jw) = c_{P/2} + 2 sum_m c_{P/2-m} cos(m w): a cosine series in w
        series = np.concatenate([poly[:, half:half + 1], 2 * poly[:, half - 1::-1]], 1)  # (N, h+1)
        values = series @ np.cos(np.outer(np.arange(half + 1), omega))  # (N, G)
        lsf[:, slot::2] = _grid_zeros(values, omega, series, half)
    return enforce_lsf_order(lsf).reshape(lead + (order,))


def _deflate(poly: np.ndarray, root: float) -> np.ndarray:
    """Divide polynomials in z^-1 (N, D+1) by (1 - root z^-1) -- synthetic division, exact root."""
    out = np.zeros((poly.shape[0], poly.shape[1] - 1))
    acc = np.zeros(poly.shape[0])
    for i in range(poly.shape[1] - 1):
        acc = poly[:, i] + root * acc
        out[:, i] = acc
    return out


def _grid_zeros(values: np.ndarray, omega: np.ndarray, series: np.ndarray, count: int) -> np.ndarray:
    n = values.shape[0]
    out = np.empty((n, count))
    sign_change = np.signbit(values[:, :-1]) != np.signbit(values[:, 1:])  # (N, G-1)
    good = sign_change.sum(1) == count
    rows, cols = np.nonzero(sign_change[good])
    v0, v1 = values[good][rows, cols], values[good][rows, cols + 1]
    frac = v0 / (v0 - v1)
    zeros = omega[cols] + frac * (omega[1] - omega[0])
    out[good] = zeros.reshape(-1, count)
    for i in np.nonzero(~good)[0]:  # rare: fall back to the Chebyshev roots in x = cos w
        roots = np.polynomial.chebyshev.chebroots(series[i])
        roots = np.clip(np.real(roots), -1.0, 1.0)
        w = np.sort(np.arccos(roots))
        out[i] = np.interp(np.linspace(0, 1, count), np.linspace(0, 1, len(w)), w) \
            if len(w) != count else w
    return out


def formants_from_response(freqs_hz: np.ndarray, mag_db: np.ndarray, max_count: int = 5,
                           min_hz: float = 150.0) -> list[tuple[float, float]]:
    """Peaks of one filter response: [(frequency Hz, -3 dB bandwidth Hz), ...], lowest first."""
    peaks = np.nonzero((mag_db[1:-1] > mag_db[:-2]) & (mag_db[1:-1] >= mag_db[2:]))[0] + 1
    out = []
    for i in peaks:
        if freqs_hz[i] < min_hz:
            continue
        level = mag_db[i] - 3.0
        lo = i
        while lo > 0 and mag_db[lo] > level:
            lo -= 1
        hi = i
        while hi < len(mag_db) - 1 and mag_db[hi] > level:
            hi += 1
        out.append((float(freqs_hz[i]), float(freqs_hz[hi] - freqs_hz[lo])))
        if len(out) == max_count:
            break
    return out
