"""One F0 track per choir part from a multi-pitch salience map.

The salience model (`hiaudio.models.salience`) says which pitches sound in each 5 ms frame, not
who sings them. `assign_voices` decodes all parts at once, by a beam search over joint states:

* candidates: each frame's salience peaks above `candidate_salience`, at most `max_candidates`
  (the strongest);
* a state gives every part (soprano, alto, tenor, bass, top-down) one candidate or "unvoiced",
  the voiced parts in pitch order (S >= A >= T >= B; two parts on one candidate are a unison);
* its score: per voiced part log s(k) + log range_prior_v(k); per unvoiced part log
  `unvoiced_salience`; log(1 - s(j)) for every peak j above `peak_threshold` that no part takes
  (a strong line left unsung argues against the state); `unison_cost` per pair of parts on one
  line (three parts on one line pay three times: parts piling onto the strongest line was a
  common failure);
* continuity, per part: a cost per octave of frame-to-frame movement, jumps over
  `max_jump_cents` barred, and a voiced <-> unvoiced switch cost;
* the `beam` best states survive each frame; the best path is read back at the end.

The parts were decoded one at a time before (top-down, then from the outside in). Each order
failed where a ridge was missing: top-down, a missing soprano ridge made every part below take
the next part's line (a cascade); from the outside in, the inner parts of clean four-part
chorales, decoded last, were left what the outer ones did not take (alto RPA 0.49 on our own
renders). Decoded jointly, a line counts for the part that explains the frame best.

    times_s, f0_hz = decode_f0(salience, hop_s=0.005, n_voices=4)   # f0_hz (V, T), 0 = unvoiced
    masked, synth, f0 = separate(mix, 16000, 4)                      # bench/choir_separation.py slot
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from hiaudio.dsp.units import cents_between, cents_to_hz
from hiaudio.models import salience

PARTS = ("soprano", "alto", "tenor", "bass")
VOICE_RANGES_HZ = {"soprano": (260.0, 880.0), "alto": (175.0, 700.0), "tenor": (130.0, 520.0),
                   "bass": (80.0, 350.0)}  # typical SATB ranges


@dataclasses.dataclass
class DecodeConfig:
    f0_min_hz: float = 50.0  # the salience grid: bin k is f0_min_hz * 2**(k * bin_cents / 1200)
    bin_cents: float = 20.0
    # range_slope_per_octave and peak_threshold were searched on 12 validation excerpts (held-out
    # timbres) for salience.pt; unvoiced_salience and unison_cost with the joint decoder on the
    # choir tuning set (salience_choirs.pt; unison cost 0.5 / 1 / 2 / 4: RPA 0.533 / 0.547 /
    # 0.525 / 0.510 counted per adjacent pair, 0.560 at 1 per pair of any parts; BENCHMARKS.md,
    # choir separation); the rest as first set.
    range_slope_per_octave: float = 24.0  # -log prior per octave outside a part's range
    jump_cost_per_octave: float = 10.0  # -log prob per octave of frame-to-frame movement
    max_jump_cents: float = 1300.0  # larger moves between consecutive frames are barred
    switch_cost: float = 6.0  # -log prob of a voiced <-> unvoiced switch
    unvoiced_salience: float = 0.02  # a part's unvoiced state scores as a line of this salience (0.05: RPA 0.510)
    peak_threshold: float = 0.1  # a peak no part takes counts against the state above this salience
    unison_cost: float = 1.0  # -log prob per pair of parts on one line (chorales: 3-4 % of frames)
    candidate_salience: float = 0.03  # peaks below this are no candidates (the true F0 is a peak
    # above 0.02 in 89-95 % of a part's frames on the tuning set)
    max_candidates: int = 7  # the strongest peaks of a frame (5 or 9: RPA within 0.001)
    beam: int = 48  # joint states kept per frame


def parabolic_peak(sal: np.ndarray, t: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-bin position of the peak at bins k (rows t) by a parabola through 3 bins."""
    n = sal.shape[1]
    lo, hi = np.clip(k - 1, 0, n - 1), np.clip(k + 1, 0, n - 1)
    a, b, c = sal[t, lo], sal[t, k], sal[t, hi]
    den = a - 2 * b + c
    off = np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(np.abs(den) > 1e-9, den, 1.0), 0.0)
    return k + np.clip(off, -0.5, 0.5)


def _joint_states(n_candidates: int, n_voices: int):
    """Every state of n_voices parts on n_candidates peaks sorted by falling pitch: (states (N, V)
    int, -1 = unvoiced, voiced parts' candidates non-decreasing; taken (N, C) bool; unisons (N,):
    the pairs of parts on one candidate, so three parts on one line count 3, four count 6)."""
    states = [c for c in itertools.product(range(-1, n_candidates), repeat=n_voices)
              if all(a <= b for a, b in itertools.pairwise([x for x in c if x >= 0]))]
    states = np.array(states, dtype=np.int64).reshape(-1, n_voices)
    taken = np.zeros((len(states), n_candidates), dtype=bool)
    for v in range(n_voices):
        voiced = states[:, v] >= 0
        taken[np.nonzero(voiced)[0], states[voiced, v]] = True
    unisons = np.zeros(len(states))
    for v, u in itertools.combinations(range(n_voices), 2):  # pairs of parts on one line
        unisons += (states[:, v] >= 0) & (states[:, v] == states[:, u])
    return states, taken, unisons


def assign_voices(salience: np.ndarray, n_voices: int = 4, cfg: DecodeConfig = DecodeConfig()) -> np.ndarray:
    """Per-part F0 from salience (T, K) in [0, 1] -> f0_hz (n_voices, T), 0 where unvoiced.

    Parts are the top n_voices of soprano, alto, tenor, bass (1..4), decoded jointly (module docstring).
    """
    if not 1 <= n_voices <= 4:
        raise ValueError(f"n_voices is {n_voices}; the decoder knows 1..4 parts (S, A, T, B)")
    sal = np.clip(np.asarray(salience, dtype=np.float64), 1e-6, 1 - 1e-6)  # (T, K)
    t_len, k = sal.shape
    pad = np.pad(sal, ((0, 0), (1, 1)))
    is_candidate = (sal >= pad[:, :-2]) & (sal > pad[:, 2:]) & (sal > cfg.candidate_salience)
    hz = cents_to_hz(np.arange(k) * cfg.bin_cents, cfg.f0_min_hz)
    ranges = np.array([VOICE_RANGES_HZ[p] for p in PARTS[:n_voices]])  # (V, 2)
    outside = np.maximum(np.log2(ranges[None, :, 0] / hz[:, None]), 0) + np.maximum(
        np.log2(hz[:, None] / ranges[None, :, 1]), 0)  # (K, V) octaves outside each part's range
    log_prior = -cfg.range_slope_per_octave * outside
    log_sal, log_miss = np.log(sal), np.log1p(-sal)
    max_jump_bins = cfg.max_jump_cents / cfg.bin_cents
    jump_per_bin = cfg.jump_cost_per_octave * cfg.bin_cents / 1200
    parts = np.arange(n_voices)
    tables = {}
    kept, backs = [], []
    score = prev = None
    for t in range(t_len):
        peaks = np.nonzero(is_candidate[t])[0]
        if len(peaks) > cfg.max_candidates:
            peaks = peaks[np.argsort(sal[t, peaks])[::-1][:cfg.max_candidates]]
        peaks = np.sort(peaks)[::-1]  # falling pitch
        if len(peaks) not in tables:
            tables[len(peaks)] = _joint_states(len(peaks), n_voices)
        states, taken, unisons = tables[len(peaks)]
        voiced = states >= 0
        bins = np.where(voiced, peaks[np.maximum(states, 0)] if len(peaks) else 0, -1)  # (N, V)
        at = np.maximum(bins, 0)
        emit = np.where(voiced, log_sal[t, at] + log_prior[at, parts], np.log(cfg.unvoiced_salience)).sum(1)
        if len(peaks):
            unsung = np.where(sal[t, peaks] > cfg.peak_threshold, log_miss[t, peaks], 0.0)  # (C,)
            emit = emit + (~taken * unsung).sum(1) - cfg.unison_cost * unisons
        if score is None:
            back, score = np.zeros(len(states), dtype=np.int64), emit
        else:
            before, now = prev[:, None, :], bins[None]  # (B, 1, V), (1, N, V)
            both = (before >= 0) & (now >= 0)
            step = np.abs(before - now)
            trans = np.where(both, np.where(step > max_jump_bins, -np.inf, -jump_per_bin * step), 0.0)
            trans = (trans - cfg.switch_cost * ((before >= 0) != (now >= 0))).sum(-1) + score[:, None]  # (B, N)
            back = trans.argmax(0)
            score = trans[back, np.arange(len(states))] + emit
        keep = np.argsort(score)[::-1][:cfg.beam]
        kept.append(bins[keep])
        backs.append(back[keep])
        score, prev = score[keep], bins[keep]
    path = np.empty((t_len, n_voices), dtype=np.int64)
    i = int(np.argmax(score))
    for t in range(t_len - 1, -1, -1):
        path[t], i = kept[t][i], backs[t][i]
    f0 = np.zeros((n_voices, t_len))
    for v in range(n_voices):
        tv = np.nonzero(path[:, v] >= 0)[0]
        f0[v, tv] = cents_to_hz(parabolic_peak(sal, tv, path[tv, v]) * cfg.bin_cents, cfg.f0_min_hz)
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
