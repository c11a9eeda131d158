"""Each part's F0 in a choir mixture: blind, or near the score's notes.

The salience networks (`hiaudio.models.salience`, trained on our rendered chorales; the mean of
the shipped ones) say which pitches sound in each 5 ms frame. Blind, `multif0.assign_voices`
decodes all parts at once (a beam search over pitch-ordered joint states with range and
continuity priors), octave slips are folded back and each part is re-read on the
salience ridge near it. With a score, each
part's F0 is the salience ridge nearest the score's note, within SCORE_TOLERANCE_CENTS (so
intonation, vibrato and glides are the singer's, not the score's); where the ridge is too weak
the score's pitch is kept. Then each part's F0 is re-read to a few cents by a harmonic sum on
the mixture (`refine_f0`).

    times_s, f0_hz, confidence, warnings, warned = part_f0(x, n_voices=4)     # blind
    times_s, f0_hz, confidence, _, _ = part_f0(x, 4, notes=load_score(path, 4))  # near the score
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from scipy.ndimage import median_filter

from hiaudio.device import on_gpu, pick_device
from hiaudio.dsp.f0grid import score_f0
from hiaudio.dsp.spectral import stft
from hiaudio.dsp.units import cents_between, cents_to_hz
from hiaudio.limits import check_deadline
from hiaudio.models import salience as salience_model  # registers the "salience" checkpoint class
from hiaudio.separation import multif0
from hiaudio.separation.score import Notes, SeparationError

SAMPLE_RATE = salience_model.SAMPLE_RATE  # the salience model's rate; separation and stems run at it
F0_HOP_S = 0.005  # F0 frames (the salience model's hop)
SCORE_TOLERANCE_CENTS = 100.0  # how far from the score's note the sung F0 is looked for
SCORE_MIN_SALIENCE = 0.1  # below this the ridge is too weak to trust; keep the score's pitch
# The re-reading (`refine_f0`): harmonic sum of the first REFINE_HARMONICS partials over
# +-REFINE_RANGE_CENTS (4-cent steps, parabola), 128 ms windows, median over REFINE_MEDIAN_FRAMES;
# validation median F0 error 11.2 -> 5.1 cents (BENCHMARKS.md, choir separation, "Tuning log").
REFINE_HARMONICS = 5
REFINE_RANGE_CENTS = 32.0
REFINE_WINDOW = 2048  # samples at SAMPLE_RATE
REFINE_MEDIAN_FRAMES = 9
MIN_LINE_SHARE = 0.15  # n lines are sung if at least this share of the sounding frames has n at once


# How far each part's stem can be trusted (`part_f0`'s confidence, 0..1).
# Blind, no measure taken on the clip predicted which stems beat the mixture on renderer families
# left out of the fit (salience along the path, voiced share, energy share, agreement of the two
# STFT fits or of the three salience models: leave-one-family-out on the tuning set, the parts
# left unwarned were below the mixture 40-100 % of the time; BENCHMARKS.md, "Confidence"). So a
# blind part's confidence is the share of that part's stems that beat the mixture on the tuning
# set (18 excerpts, salience_choirs.pt, the joint decoder of multif0: 19 of 72 below the mixture),
# and every blind result carries BLIND_WARNING.
BLIND_PART_CONFIDENCE = (0.56, 0.72, 0.89, 0.78)  # soprano, alto, tenor, bass (top-down)
BLIND_WARNING = ("Blind separation: each part's line is guessed from the mixture alone, and on choirs unlike our "
                 "training renders about a quarter of the stems came out worse than the mixture itself (confidence: {parts}). "
                 "Give the score (MIDI or MusicXML) for stems you can rely on.")
# With the score, a part's confidence is the share of its scored frames where a salience ridge
# was found near the score's note (`score_support`). On the tuning set with the right score, 64
# of 72 parts reach MIN_SCORE_SUPPORT (63 with salience_choirs.pt), and the 8 below it include
# the stems furthest under the oracle mask (10-23 dB; one under the mixture); with every note two
# semitones off, no part passes 0.52 (a semitone off is within the search's reach, and is not seen). Below it, the part
# is said to be hard to hear or not to follow its score.
MIN_SCORE_SUPPORT = 0.5


def part_f0(x: np.ndarray, n_voices: int, notes: Sequence[Notes] | None = None,
            assets: Sequence[str] = salience_model.ASSETS) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """(times_s (T,), f0_hz (V, T) on the F0_HOP_S grid, confidence (V,), warnings, warned (V,)) of
    the mixture x (S,) at SAMPLE_RATE; notes: per part (top-down) the score's notes, checked, or
    None for blind. The confidence and the warnings are the module's BLIND_* and
    MIN_SCORE_SUPPORT's; warned[v] says whether a warning covers part v (blind: every part)."""
    sal = part_salience(x, assets)  # (T, K)
    times_s = np.arange(sal.shape[0]) * F0_HOP_S
    warnings: list[str] = []
    if notes is None:
        f0_hz = multif0.assign_voices(sal, n_voices)
        # octave slips folded back, then each part's F0 re-read on the salience ridge near it
        f0_hz = f0_near_score(sal, fold_octave_jumps(f0_hz))
        peak = float(np.max(np.abs(x)))
        frame_rms = np.sqrt(np.convolve(x ** 2, np.ones(int(F0_HOP_S * SAMPLE_RATE * 4)) /
                                        int(F0_HOP_S * SAMPLE_RATE * 4), mode="same"))
        loud = frame_rms[np.clip((times_s * SAMPLE_RATE).astype(int), 0, len(x) - 1)] > 10 ** (-40 / 20) * peak
        warnings = check_parts_found(f0_hz, loud, n_voices)
        confidence = np.array(BLIND_PART_CONFIDENCE[:n_voices])
        parts = ", ".join(f"{multif0.PARTS[v]} {c:.2f}" for v, c in enumerate(confidence))
        warnings.append(BLIND_WARNING.format(parts=parts))
        warned = np.ones(n_voices, dtype=bool)
    else:
        hop = round(F0_HOP_S * SAMPLE_RATE)
        score_hz = np.stack([score_f0(p, len(times_s), hop, SAMPLE_RATE) for p in notes])
        f0_hz = f0_near_score(sal, score_hz)
        confidence = score_support(sal, score_hz)
        warned = confidence < MIN_SCORE_SUPPORT
        for v in np.nonzero(warned)[0]:
            warnings.append(f"the {multif0.PARTS[v]} is heard near its score's notes in only {confidence[v]:.0%} of "
                            "its time: the score may not be this recording's (check its pitch and where it starts), "
                            "or the part is hard to hear. Its stem may be poor, even worse than the mixture itself.")
    return times_s, refine_f0(x, f0_hz), confidence, warnings, warned


def score_support(salience: np.ndarray, score_hz: np.ndarray, tolerance_cents: float = SCORE_TOLERANCE_CENTS,
                  min_salience: float = SCORE_MIN_SALIENCE) -> np.ndarray:
    """Per part, the share of its scored frames whose salience reaches min_salience within
    tolerance_cents of the score's note: salience (T, K), score_hz (V, T) -> (V,); 0 for a part
    the score leaves silent. (`f0_near_score` keeps the score's pitch in the other frames.)"""
    score_hz = score_hz[:, :salience.shape[0]]
    out = np.zeros(score_hz.shape[0])
    for v in range(score_hz.shape[0]):
        t, cand, _ = near_score_bins(score_hz[v], salience.shape[1], tolerance_cents)
        if len(t):
            out[v] = float((salience[t[:, None], cand].max(1) >= min_salience).mean())
    return out


def near_score_bins(score_hz: np.ndarray, n_bins: int, tolerance_cents: float):
    """Where one part's score sings and the salience bins around its note: score_hz (T,) ->
    frames t (N,), candidate bins (N, W) within tolerance_cents of the note (clipped inside
    1 .. n_bins - 2, so a peak can be refined between neighbours) and their offsets (W,) in bins."""
    half = int(np.ceil(tolerance_cents / salience_model.BIN_CENTS))
    offsets = np.arange(-half, half + 1)
    t = np.nonzero(score_hz > 0)[0]
    centre = np.round(cents_between(score_hz[t], salience_model.F0_MIN_HZ) / salience_model.BIN_CENTS)
    return t, np.clip(centre.astype(np.int64)[:, None] + offsets, 1, n_bins - 2), offsets


@on_gpu
def part_salience(x: np.ndarray, assets: Sequence[str] = salience_model.ASSETS) -> np.ndarray:
    """The salience models on the mixture (S,) at SAMPLE_RATE -> (T, K) numpy, on the GPU when there is one."""
    return salience_model.salience_map(x, assets, pick_device())


def f0_near_score(salience: np.ndarray, score_hz: np.ndarray, tolerance_cents: float = SCORE_TOLERANCE_CENTS,
                  min_salience: float = SCORE_MIN_SALIENCE) -> np.ndarray:
    """The salience ridge nearest the score: salience (T, K), score_hz (V, T) -> f0_hz (V, T).

    In each frame where the part sings, the strongest salience bin within tolerance_cents of the
    score's note -- and less than halfway to another part's different note in that frame, so a
    part a semitone from its neighbour does not take the neighbour's ridge -- refined to a
    fraction of a bin; the score's own pitch where that is weaker than min_salience. A 5-frame
    median smooths single-frame jumps between neighbouring ridges.
    """
    BIN_CENTS, F0_MIN_HZ = salience_model.BIN_CENTS, salience_model.F0_MIN_HZ
    score_hz = score_hz[:, :salience.shape[0]]
    cents = np.where(score_hz > 0, cents_between(np.maximum(score_hz, 1e-3), F0_MIN_HZ), np.nan)  # (V, T)
    gap = np.abs(cents[:, None] - cents[None, :])  # (V, V, T) to every other part's note
    gap[(gap < 1.0) | np.isnan(gap)] = np.inf  # unisons and silent parts do not narrow the search
    reach = np.minimum(tolerance_cents, 0.5 * gap.min(axis=1))  # (V, T)
    out = np.zeros_like(score_hz, dtype=np.float64)
    for v in range(score_hz.shape[0]):
        t, cand, offsets = near_score_bins(score_hz[v], salience.shape[1], tolerance_cents)
        if len(t) == 0:
            continue
        near = np.abs(offsets[None, :]) * BIN_CENTS < reach[v, t, None]  # (N, W); the centre always
        values = np.where(near | (offsets[None, :] == 0), salience[t[:, None], cand], -np.inf)
        best = cand[np.arange(len(t)), values.argmax(1)]
        refined = multif0.parabolic_peak(salience, t, best)
        f0 = cents_to_hz(refined * BIN_CENTS, F0_MIN_HZ)
        out[v, t] = np.where(values.max(1) >= min_salience, f0, score_hz[v, t])
    smooth = median_filter(out, size=(1, 5), mode="nearest")
    return np.where((out > 0) & (smooth > 0), smooth, out)


def refine_f0(x: np.ndarray, f0_hz: np.ndarray, harmonics: int = REFINE_HARMONICS,
              range_cents: float = REFINE_RANGE_CENTS, window: int = REFINE_WINDOW,
              median_frames: int = REFINE_MEDIAN_FRAMES) -> np.ndarray:
    """Each part's F0 re-read on the mixture: x (S,) at SAMPLE_RATE, f0_hz (V, T) on the F0_HOP_S
    grid -> (V, T), where each voiced frame's F0 maximizes the sum of the mixture's magnitude at
    its first `harmonics` partials within +-range_cents, median-filtered along each voiced run."""
    hop = round(F0_HOP_S * SAMPLE_RATE)
    n_fft = 4 * window  # zero-padded: the partials are read between bins by linear interpolation
    spec = stft(torch.from_numpy(np.asarray(x, np.float32)), n_fft, hop, window,
                pad_mode="reflect").abs().numpy()  # (F, T')
    n_bins, n_frames = spec.shape
    step = 4.0
    cents = np.arange(-range_cents, range_cents + step / 2, step)  # (C,)
    k = np.arange(1, harmonics + 1)
    out = np.asarray(f0_hz, dtype=np.float64).copy()
    for v in range(out.shape[0]):
        check_deadline()
        t = np.nonzero(out[v, :n_frames] > 0)[0]
        if len(t) == 0:
            continue
        pos = out[v, t, None, None] * 2.0 ** (cents[None, :, None] / 1200) * k * n_fft / SAMPLE_RATE  # (N, C, K)
        inside = pos < n_bins - 2
        lo = np.minimum(pos.astype(np.int64), n_bins - 2)
        frac = (pos - lo).astype(np.float32)
        col = t[:, None, None]
        total = ((spec[lo, col] * (1 - frac) + spec[lo + 1, col] * frac) * inside).sum(-1)  # (N, C)
        best = np.clip(total.argmax(1), 1, len(cents) - 2)
        offset = cents[0] + multif0.parabolic_peak(total, np.arange(len(t)), best) * step
        runs = np.split(np.arange(len(t)), np.nonzero(np.diff(t) > 1)[0] + 1)  # voiced runs
        for run in runs:
            offset[run] = median_filter(offset[run], min(median_frames, len(run)), mode="nearest")
        out[v, t] *= 2.0 ** (offset / 1200)
    return out


def fold_octave_jumps(f0_hz: np.ndarray, window_frames: int = 51) -> np.ndarray:
    """Move frames an octave (or more) away from their neighbourhood back to it: (V, T) -> (V, T).

    The blind decoder sometimes takes a part's 2nd harmonic (or its sub-octave) for a few
    frames. Each voiced frame is compared with the median log-F0 of the voiced frames within
    +-window_frames / 2; a frame more than 600 cents away is shifted by whole octaves toward it.
    """
    out = np.asarray(f0_hz, dtype=np.float64).copy()
    half = window_frames // 2
    for v in range(out.shape[0]):
        voiced = np.nonzero(out[v] > 0)[0]
        if len(voiced) < 3:
            continue
        cents = cents_between(out[v, voiced], 1.0)
        for i, t in enumerate(voiced):
            lo, hi = np.searchsorted(voiced, [t - half, t + half + 1])
            ref = np.median(cents[lo:hi])
            octaves = np.round((cents[i] - ref) / 1200)
            if octaves != 0:
                out[v, t] = out[v, t] * 2.0 ** -octaves
    return out


def check_parts_found(f0_hz: np.ndarray, loud: np.ndarray, n_voices: int) -> list[str]:
    """Warnings (or a SeparationError) when fewer than n_voices parts sing their own line.

    Lines are counted per frame: the parts voiced and not on a harmonic of another part
    nor in unison with a part above (`ghost_frames`: the salience model also answers to a solo
    voice's 2nd and 3rd harmonics, and the decoder may take a strong ridge twice).
    The clip has n lines if at least MIN_LINE_SHARE of its sounding frames have n at once.
    A solo where more parts are asked is an error; fewer lines than parts, a warning.
    """
    own_line = (f0_hz > 0) & ~multif0.ghost_frames(f0_hz)
    lines = own_line[:, loud].sum(axis=0) if loud.any() else np.zeros(1, np.int64)  # (T_loud,)
    found = max([n for n in range(n_voices + 1) if n == 0 or (lines >= n).mean() >= MIN_LINE_SHARE])
    if found <= 1 < n_voices:
        raise SeparationError(f"found one singing line in this clip where {n_voices} parts were asked -- it "
                              "sounds like a solo voice. Use the Voice tab (or `python -m hiaudio edit`) for a "
                              "solo, or give the score if several parts do sing.")
    if found < n_voices:
        return [f"only {found} parts sing at once in most of this clip, where {n_voices} were asked: some "
                f"parts may hold another part's harmonics. Try {found} voices, or give the score."]
    return []
