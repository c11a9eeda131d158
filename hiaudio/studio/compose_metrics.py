"""How chorale-like is a generated chorale: metrics on (N, 4) grids of 16th-note steps, S A T B.

Per piece (bars are 16 steps of 4/4; a real chorale's bars come from its own labels):
  * chroma self-similarity matrix (SSM): cosine similarity of the bars' duration-weighted
    chroma vectors, (bars, bars). `ssm_distance` is the mean absolute difference between two
    pieces' SSMs over their common bars -- how alike their large-scale repetition is.
  * chroma similarity and grooving similarity (Wu & Yang 2020, the Jazz Transformer's MusDr
    metrics): the mean over all pairs of bars of the cosine similarity of their chroma, and
    of 1 - (Hamming distance of their onset patterns) / 16. Higher = more self-similar.
  * note density: note onsets per bar (all voices).
  * pitch-class histogram, transposed so that the piece's key tonic is 0 (so pieces in
    different keys compare); `histogram_overlap` = sum of the element-wise minimum.
  * key (Krumhansl-Schmuckler with the Krumhansl-Kessler profiles): a piece is key-consistent
    when its estimated key equals the key it was asked for (or annotated with), and in a close
    key when the estimate is that key, its relative, or its dominant or subdominant key in the
    same mode (`close_keys`; issue 19's measure).
  * voice-leading faults, per 100 steps: voice crossings (a lower voice above the next
    higher one at a step), parallel fifths and octaves between any two voices (both move in the
    same direction from one chord change to the next and keep a perfect fifth / octave or
    unison, compound or not) and out-of-range notes (`VOICE_RANGES`); the parallels also per
    100 chord changes (steps where some voice starts a note), the unit issue 19's target uses.
  * cadences: at each planned phrase end, is the chord sounding on the fermata the tonic or
    the dominant of the key (a full or half cadence)? A structure metric the labels ask for.
"""
from __future__ import annotations

import itertools

import numpy as np

from hiaudio.data import chords
from hiaudio.data.chorales import PARTS
from hiaudio.data.sequence import STEPS_PER_BAR
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, VOICE_RANGES
from hiaudio.dsp import units


def sounding(grid: np.ndarray) -> np.ndarray:
    """(N, 4) grid tokens -> (N, 4) MIDI pitch sounding, -1 where the voice rests."""
    grid = np.asarray(grid)
    out = np.full(grid.shape, -1, np.int64)
    current = np.full(grid.shape[1], -1, np.int64)
    for k, row in enumerate(grid):
        current = np.where(row >= PITCH_OFFSET, row - PITCH_OFFSET, np.where(row == HOLD, current, -1))
        out[k] = current
    return out


def onsets(grid: np.ndarray) -> np.ndarray:
    """(N, 4) bool: a note starts here."""
    return np.asarray(grid) >= PITCH_OFFSET


def chroma_per_step(grid: np.ndarray) -> np.ndarray:
    """(N, 12) how many voices sound each pitch class at each step."""
    p = sounding(grid)
    out = np.zeros((p.shape[0], 12))
    rows, cols = np.nonzero(p >= 0)
    np.add.at(out, (rows, p[rows, cols] % 12), 1.0)
    return out


def bar_chroma(grid: np.ndarray, steps_per_bar: int = STEPS_PER_BAR) -> np.ndarray:
    """(bars, 12) duration-weighted chroma of each whole bar."""
    c = chroma_per_step(grid)
    n = c.shape[0] // steps_per_bar
    return c[:n * steps_per_bar].reshape(n, steps_per_bar, 12).sum(1)  # (bars, 12)


def _cosine_matrix(x: np.ndarray) -> np.ndarray:
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    return unit @ unit.T


def chroma_ssm(grid: np.ndarray) -> np.ndarray:
    return _cosine_matrix(bar_chroma(grid))


def ssm_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |SSM_a - SSM_b| over the bars both pieces have."""
    sa, sb = chroma_ssm(a), chroma_ssm(b)
    n = min(len(sa), len(sb))
    return float(np.abs(sa[:n, :n] - sb[:n, :n]).mean()) if n else float("nan")


def _mean_offdiagonal(m: np.ndarray) -> float:
    n = len(m)
    return float((m.sum() - np.trace(m)) / (n * (n - 1))) if n > 1 else float("nan")


def chroma_similarity(grid: np.ndarray) -> float:
    return _mean_offdiagonal(chroma_ssm(grid))


def grooving_similarity(grid: np.ndarray, steps_per_bar: int = STEPS_PER_BAR) -> float:
    on = onsets(grid).any(1)  # (N,) some voice starts a note
    n = on.shape[0] // steps_per_bar
    bars = on[:n * steps_per_bar].reshape(n, steps_per_bar).astype(float)  # (bars, 16)
    hamming = np.abs(bars[:, None, :] - bars[None, :, :]).sum(-1)  # (bars, bars)
    return _mean_offdiagonal(1.0 - hamming / steps_per_bar)


def note_density(grid: np.ndarray, steps_per_bar: int = STEPS_PER_BAR) -> float:
    """Note onsets per bar, all voices."""
    return float(onsets(grid).sum() / max(len(grid) / steps_per_bar, 1e-9))


def pitch_class_histogram(grid: np.ndarray, tonic_pc: int = 0) -> np.ndarray:
    """(12,) duration-weighted, sums to 1, index 0 = the tonic."""
    h = np.roll(chroma_per_step(grid).sum(0), -int(tonic_pc))
    return h / max(h.sum(), 1e-9)


def histogram_overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.minimum(a, b).sum())


def estimate_key(grid: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, mode) whose Krumhansl-Kessler profile correlates best with the piece."""
    return units.estimate_key(chroma_per_step(grid).sum(0))


def close_keys(tonic_pc: int, mode: str) -> set[tuple[int, str]]:
    """The key and its closest relatives: relative major/minor, dominant and subdominant (same mode)."""
    t = int(tonic_pc) % 12
    relative = ((t + 9) % 12, "minor") if mode == "major" else ((t + 3) % 12, "major")
    return {(t, mode), relative, ((t + 7) % 12, mode), ((t + 5) % 12, mode)}


def voice_leading_faults(grid: np.ndarray, ranges: dict = VOICE_RANGES) -> dict:
    """Counts per 100 steps: crossings, parallel fifths, parallel octaves, out-of-range notes."""
    p = sounding(grid)  # (N, 4)
    n = max(len(p), 1)
    both = (p[:, :-1] >= 0) & (p[:, 1:] >= 0)
    crossings = int((both & (p[:, 1:] > p[:, :-1])).sum())
    # chord changes: steps where some voice starts a note; compare consecutive such verticals
    change = np.flatnonzero(onsets(grid).any(1))
    fifths = octaves = 0
    for a, b in zip(change[:-1], change[1:]):
        for i, j in itertools.combinations(range(p.shape[1]), 2):
            x0, y0, x1, y1 = p[a, i], p[a, j], p[b, i], p[b, j]
            if min(x0, y0, x1, y1) < 0 or x0 == x1 or y0 == y1:
                continue
            if np.sign(x1 - x0) != np.sign(y1 - y0):
                continue
            iv0, iv1 = (x0 - y0) % 12, (x1 - y1) % 12
            fifths += int(iv0 == 7 and iv1 == 7)
            octaves += int(iv0 == 0 and iv1 == 0)
    starts = onsets(grid)
    out_of_range = 0
    for v, part in enumerate(PARTS):
        lo, hi = ranges[part]
        pitches = np.asarray(grid)[starts[:, v], v] - PITCH_OFFSET
        out_of_range += int(((pitches < lo) | (pitches > hi)).sum())
    scale = 100.0 / n
    per_change = 100.0 / max(len(change) - 1, 1)
    return {"crossings": crossings * scale, "parallel_fifths": fifths * scale,
            "parallel_octaves": octaves * scale, "out_of_range": out_of_range * scale,
            "parallels_per_100_changes": (fifths + octaves) * per_change}


def cadence_rate(grid: np.ndarray, phrase_end_steps, tonic_pc: int, mode: str) -> float:
    """Fraction of phrase ends whose fermata chord (the step before each end) is I or V."""
    p = sounding(grid)
    labels = chords.chord_labels(p)
    dominant = (tonic_pc + 7) % 12
    good = 0
    ends = [e for e in phrase_end_steps if 0 < e <= len(p)]
    for e in ends:
        c = int(labels[e - 1])
        good += int(c != chords.NO_CHORD and int(chords.chord_root(c)) in (tonic_pc % 12, dominant))
    return good / max(len(ends), 1)


def piece_metrics(grid: np.ndarray, tonic_pc: int, mode: str, phrase_end_steps=()) -> dict:
    """Everything that is a property of one piece (the set-level comparisons use these)."""
    est = estimate_key(grid)
    return {"chroma_similarity": chroma_similarity(grid), "grooving_similarity": grooving_similarity(grid),
            "note_density": note_density(grid), "key_consistent": float(est == (tonic_pc % 12, mode)),
            "key_close": float(est in close_keys(tonic_pc, mode)),
            "cadence_rate": cadence_rate(grid, phrase_end_steps, tonic_pc, mode) if len(phrase_end_steps) else float("nan"),
            **voice_leading_faults(grid)}


def fermata_hold_rate(grid: np.ndarray, fermata: np.ndarray) -> float:
    """Fraction of fermata spans (runs of `fermata` steps) over which the soprano sustains one
    note: it sounds at the span's first step and starts no new note inside the span."""
    fermata = np.asarray(fermata, bool)
    starts = np.flatnonzero(fermata & ~np.concatenate([[False], fermata[:-1]]))
    if not len(starts):
        return float("nan")
    p = sounding(grid)[:, 0]
    on = onsets(grid)[:, 0]
    held = 0
    for a in starts:
        b = a
        while b < len(fermata) and fermata[b]:
            b += 1
        held += int(p[a] >= 0 and not on[a + 1:b].any())
    return held / len(starts)
