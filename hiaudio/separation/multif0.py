"""One F0 track per choir part from a multi-pitch salience map.

The salience model (`hiaudio.models.salience`) says which pitches sound in each 5 ms frame, not
who sings them. `assign_voices` decodes the parts one at a time from the outside in -- bass from
below, soprano from above, then tenor from below and alto from above (`DECODE_ORDER`) -- each by a
Viterbi over pitch bins plus an unvoiced state:

* emission of bin k for part v: log s(k) + log range_prior_v(k) + sum of log(1 - p(j)) over the
  frame's remaining salience peaks j beyond k on the side the part is decoded from (a part
  decoded from above is the *highest* line not yet taken, so a strong untaken peak above k argues
  against k; from below, the lowest); unvoiced: log `unvoiced_salience` plus the same sum over
  all remaining peaks in the part's range; only peaks between the part's decoded neighbours count;
* ordering: a part stays between the parts above and below it decoded before it (S >= A >= T >= B);
* continuity: a cost per octave of frame-to-frame movement, jumps over `max_jump_cents` barred,
  and a voiced <-> unvoiced switch cost;
* once a part is decoded, the salience within `suppress_bins` of its path is scaled down, so the
  next part looks for another line (a unison is then found only if its ridge is wide or strong).

Top-down alone (soprano first) lost the parts in a cascade: where the soprano's ridge was missing
(30 % of its frames on the tuning set), the soprano took the alto's line, the alto the tenor's and
the tenor the bass's. From the outside in, an outer part that is missing costs only itself.

    times_s, f0_hz = decode_f0(salience, hop_s=0.005, n_voices=4)   # f0_hz (V, T), 0 = unvoiced
    masked, synth, f0 = separate(mix, 16000, 4)                      # bench/choir_separation.py slot
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hiaudio.dsp.units import cents_between, cents_to_hz
from hiaudio.models import salience

PARTS = ("soprano", "alto", "tenor", "bass")
# (part index, side it is decoded from): bass from below, soprano from above, then tenor, alto
DECODE_ORDER = ((3, "below"), (0, "above"), (2, "below"), (1, "above"))
VOICE_RANGES_HZ = {"soprano": (260.0, 880.0), "alto": (175.0, 700.0), "tenor": (130.0, 520.0),
                   "bass": (80.0, 350.0)}  # typical SATB ranges


@dataclasses.dataclass
class DecodeConfig:
    f0_min_hz: float = 50.0  # the salience grid: bin k is f0_min_hz * 2**(k * bin_cents / 1200)
    bin_cents: float = 20.0
    # peak_threshold and range_slope_per_octave were searched on 12 validation excerpts (held-out
    # timbres) for salience.pt: RPA 0.718 -> 0.760; unvoiced_salience and suppress_factor again
    # with DECODE_ORDER on the choir tuning set (salience_choirs.pt): RPA 0.519 -> 0.541
    # (BENCHMARKS.md, choir separation); the rest as first set.
    range_slope_per_octave: float = 24.0  # -log prior per octave outside a part's range
    jump_cost_per_octave: float = 10.0  # -log prob per octave of frame-to-frame movement
    max_jump_cents: float = 1300.0  # larger moves between consecutive frames are barred
    switch_cost: float = 6.0  # -log prob of a voiced <-> unvoiced switch
    unvoiced_salience: float = 0.02  # a part is voiced where its best bin beats this salience
    peak_threshold: float = 0.1  # salience peaks below this do not count as lines above a part
    peak_margin_bins: int = 3  # peaks within this many bins above k are k's own ridge
    suppress_bins: int = 3  # bins around a decoded path taken away from the next parts
    suppress_factor: float = 0.5  # what is left of the salience there


def _viterbi(emit: np.ndarray, voiced_ok: np.ndarray, trans: np.ndarray, switch_cost: float) -> np.ndarray:
    """Best state path. emit: (T, K + 1) log scores, the last state unvoiced; voiced_ok: (T, K)
    bool (False = barred); trans: (K, K) log transition between bins. Returns (T,) state indices."""
    t_len, k1 = emit.shape
    k = k1 - 1
    emit = emit.copy()
    emit[:, :k][~voiced_ok] = -np.inf
    score = emit[0].copy()
    back = np.zeros((t_len, k1), dtype=np.int64)
    for t in range(1, t_len):
        cand = score[:k, None] + trans  # (K from, K to)
        best_from = cand.argmax(0)  # (K,)
        best = cand[best_from, np.arange(k)]
        from_unv = score[k] - switch_cost
        use_unv = from_unv > best
        back[t, :k] = np.where(use_unv, k, best_from)
        new = np.empty(k1)
        new[:k] = np.maximum(best, from_unv) + emit[t, :k]
        voiced_best = int(np.argmax(score[:k]))
        if score[k] >= score[voiced_best] - switch_cost:
            back[t, k], new[k] = k, score[k] + emit[t, k]
        else:
            back[t, k], new[k] = voiced_best, score[voiced_best] - switch_cost + emit[t, k]
        score = new
    path = np.empty(t_len, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def parabolic_peak(sal: np.ndarray, t: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-bin position of the peak at bins k (rows t) by a parabola through 3 bins."""
    n = sal.shape[1]
    lo, hi = np.clip(k - 1, 0, n - 1), np.clip(k + 1, 0, n - 1)
    a, b, c = sal[t, lo], sal[t, k], sal[t, hi]
    den = a - 2 * b + c
    off = np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(np.abs(den) > 1e-9, den, 1.0), 0.0)
    return k + np.clip(off, -0.5, 0.5)


def assign_voices(salience: np.ndarray, n_voices: int = 4, cfg: DecodeConfig = DecodeConfig()) -> np.ndarray:
    """Per-part F0 from salience (T, K) in [0, 1] -> f0_hz (n_voices, T), 0 where unvoiced.

    Parts are the top n_voices of soprano, alto, tenor, bass (2..4), decoded in DECODE_ORDER.
    """
    if not 1 <= n_voices <= 4:
        raise ValueError(f"n_voices is {n_voices}; the decoder knows 1..4 parts (S, A, T, B)")
    sal = np.clip(np.asarray(salience, dtype=np.float64), 1e-6, 1 - 1e-6)  # (T, K)
    t_len, k = sal.shape
    bins = np.arange(k)
    hz = cents_to_hz(bins * cfg.bin_cents, cfg.f0_min_hz)
    octs = np.abs(bins[:, None] - bins[None, :]) * cfg.bin_cents / 1200  # (K, K) octaves apart
    trans = -cfg.jump_cost_per_octave * octs
    trans[octs * 1200 > cfg.max_jump_cents] = -np.inf
    remaining = sal.copy()
    paths: dict[int, np.ndarray] = {}
    f0 = np.zeros((n_voices, t_len))
    margin = cfg.peak_margin_bins + 1
    for v, side in (step for step in DECODE_ORDER if step[0] < n_voices):
        lo_hz, hi_hz = VOICE_RANGES_HZ[PARTS[v]]
        outside = np.maximum(np.log2(lo_hz / hz), 0) + np.maximum(np.log2(hz / hi_hz), 0)  # octaves
        log_prior = -cfg.range_slope_per_octave * outside  # (K,)
        # between the parts above and below it that are decoded already, where they sing
        upper, lower = np.full(t_len, k - 1), np.zeros(t_len, dtype=np.int64)
        for u, path in paths.items():
            sung = path < k
            if u < v:
                upper = np.where(sung, np.minimum(upper, path), upper)
            else:
                lower = np.where(sung, np.maximum(lower, path), lower)
        allowed = (bins[None, :] <= upper[:, None]) & (bins[None, :] >= lower[:, None])  # (T, K)
        pad = np.pad(remaining, ((0, 0), (1, 1)))
        is_peak = (remaining >= pad[:, :-2]) & (remaining > pad[:, 2:]) & (remaining > cfg.peak_threshold) & allowed
        miss = np.where(is_peak, np.log1p(-remaining), 0.0)  # (T, K) log P(no line at j)
        # log P(no untaken line beyond k + margin) on the side the part is decoded from
        if side == "above":
            beyond = np.cumsum(miss[:, ::-1], axis=1)[:, ::-1]  # sum over j >= k
            beyond = np.concatenate([beyond[:, margin:], np.zeros((t_len, margin))], axis=1)
        else:
            beyond = np.cumsum(miss, axis=1)  # sum over j <= k
            beyond = np.concatenate([np.zeros((t_len, margin)), beyond[:, :-margin]], axis=1)
        emit = np.empty((t_len, k + 1))
        emit[:, :k] = np.log(remaining) + log_prior[None] + beyond
        in_range = log_prior > -1.0
        emit[:, k] = np.log(cfg.unvoiced_salience) + np.where(in_range[None], miss, 0.0).sum(1)
        path = _viterbi(emit, allowed, trans, cfg.switch_cost)
        paths[v] = path
        tv = np.nonzero(path < k)[0]
        kb = parabolic_peak(remaining, tv, path[tv])
        f0[v, tv] = cents_to_hz(kb * cfg.bin_cents, cfg.f0_min_hz)
        # hand the next part what is left: this path's ridge suppressed
        for dk in range(-cfg.suppress_bins, cfg.suppress_bins + 1):
            kk = np.clip(path[tv] + dk, 0, k - 1)
            remaining[tv, kk] *= cfg.suppress_factor
    return f0


# a part at n x another part's F0 may be that part's harmonic; at 1 x (unison) the lower-listed
# part doubles the line of the part above it (the decoder may take a strong ridge twice)
GHOST_HARMONICS = (1, 2, 3, 4, 5)
GHOST_TOLERANCE_CENTS = 50.0


def ghost_frames(f0_hz: np.ndarray, harmonics=GHOST_HARMONICS, tolerance_cents: float = GHOST_TOLERANCE_CENTS):
    """Where a part sits on a harmonic of another part's F0: (V, T) bool, and that part's F0 / n.

    The salience model answers to strong 2nd and 3rd harmonics too; a part found there is
    usually a ghost of the lower line (it can also be a true octave or twelfth doubling). For
    n = 1 only the part listed later (the lower one) is marked: of a unison, one line remains.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    ghost = np.zeros(f0.shape, dtype=bool)
    for v in range(f0.shape[0]):
        for u in range(f0.shape[0]):
            if u == v:
                continue
            both = (f0[v] > 0) & (f0[u] > 0)
            ratio = np.where(both, f0[v] / np.where(f0[u] > 0, f0[u], 1.0), 0.0)
            for n in harmonics:
                if n == 1 and u > v:
                    continue
                ghost[v] |= both & (np.abs(cents_between(np.maximum(ratio, 1e-9), n)) < tolerance_cents)
    return ghost


def decode_f0(salience: np.ndarray, hop_s: float = 0.005, n_voices: int = 4,
              cfg: DecodeConfig = DecodeConfig()) -> tuple[np.ndarray, np.ndarray]:
    """salience (T, K) -> (times_s (T,), f0_hz (n_voices, T)); frame t is at t * hop_s."""
    f0 = assign_voices(salience, n_voices, cfg)
    return np.arange(f0.shape[1]) * hop_s, f0


def separate(mix: np.ndarray, sample_rate: int, n_voices: int, notes=None, assets=None):
    """bench/choir_separation.py's model slot: F0 per part from the mixture alone (no stems yet).

    Returns (None, None, (times_s, f0_hz)); `notes` is ignored (blind). assets: the salience
    checkpoints to average (default: hiaudio.models.salience.ASSETS).
    """
    if sample_rate != salience.SAMPLE_RATE:
        raise ValueError(f"the salience model runs at {salience.SAMPLE_RATE} Hz; the mixture is at {sample_rate} Hz")
    sal = salience.salience_map(mix, assets or salience.ASSETS)  # (T, K)
    return None, None, decode_f0(sal, salience.HOP_S, n_voices)
