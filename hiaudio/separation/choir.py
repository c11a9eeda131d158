"""Choir separation by synthesis: a mixture (and optionally its score) -> one voice model per part.

The pipeline, for 1-4 parts taken top-down (soprano, alto, tenor, bass):

1. **F0 per part.** The salience networks (`hiaudio.models.salience`, trained on our rendered
   chorales; the mean of the shipped ones) say which pitches sound in each 5 ms frame. Blind: `multif0.assign_voices`
   decodes the parts top-down with range, ordering and continuity priors (Viterbi). With a
   score: each part's F0 is the salience ridge nearest to the score's note, within
   `SCORE_TOLERANCE_CENTS` (so intonation, vibrato and glides are the singer's, not the
   score's); where the ridge is too weak the score's pitch is kept. Then each part's F0 is
   re-read to a few cents by a harmonic sum on the mixture (`refine_f0`).
2. **Separation by synthesis.** Each part is a harmonic comb on its F0 track, its partials
   weighted by the part's spectral envelope (one per part, 3 bands per octave: source-filter)
   and a level per frame, smooth within each note, with release tracks where ended notes ring
   on, fitted to the mixture magnitude alone (`comb.fit_combs`); the masked stems are the
   mixture's STFT times each part's ratio mask, from fits on two STFT sizes (`MASK_FFTS`):
   with a score the long one's below `CROSSOVER_HZ` and the short one's above, blind averaged.
   (The UMSS-style network, `hiaudio.models.separator`, is trained but not used: started from
   its amplitudes the fit ended where it ends alone; see BENCHMARKS.md.)
3. **Voice models.** Each masked stem is analysed into `VoiceParams` -- the studio's
   source-filter model: the part's F0 from step 1, all-pole vocal tract, harmonic source,
   noise -- and resynthesized (`*_synth`). Those parameters are what the Choir tab edits.

    result = separate_choir(mix, sample_rate, n_voices=4)                 # blind
    result = separate_choir(mix, sample_rate, 4, notes=load_score(path))  # score-informed
    result.stems  # (V, S) masked stems   result.synth  # (V, S)   result.params[v]  # VoiceParams

Everything runs at `SAMPLE_RATE` (16 kHz, the salience model's rate); the input is resampled.
"""
from __future__ import annotations

import contextvars
import dataclasses
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from hiaudio import audio as audio_io
from hiaudio.device import on_gpu, pick_device
from hiaudio.models import salience as salience_model  # registers the "salience" checkpoint class
from hiaudio.limits import check_deadline
from hiaudio.separation import comb, multif0
from hiaudio.dsp.f0grid import known_f0, score_f0
from hiaudio.dsp.spectral import stft
from hiaudio.separation.baselines import apply_masks
from hiaudio.voice import VoiceParams, analyze, render

PARTS = multif0.PARTS
SAMPLE_RATE = 16000  # the salience model's rate; separation and stems run at it
N_FFT, HOP = 1024, 256  # 64 ms / 16 ms: the mask STFT (the oracle's resolution in the benchmark)
# The stems come from comb fits on two STFT sizes (hop HOP): the longer window resolves partials
# a bin or two apart, the shorter one follows onsets and vibrato. Averaged, on 12 validation
# excerpts with the score (before the Jacobi step of `comb.fit_combs`): 1024 alone 14.98 dB,
# 2048 alone 14.99, both 15.18 (better on every part but the tenor, 14.54 vs 14.58 with
# 2048 alone); 4096 alone 12.52.
# Earlier, before the level smoothing: 512 + 1024 13.24, 1024 + 2048 + 4096 14.13.
MASK_FFTS = (N_FFT, 2 * N_FFT)  # (short, long)
# ... and the two are joined by frequency, not averaged: below CROSSOVER_HZ the long window's stems
# (partials a few Hz apart: the bass and the low partials of the others), above it the short
# window's (onsets, vibrato), split by a zero-phase Butterworth-shaped pair that sums to one
# (`crossover`). On 24 validation excerpts with the score (two release tracks): the mean 15.59 dB
# (fluidsynth 18.88, voice 12.29), split at 400 Hz 15.77 (19.24 / 12.30); at 250 / 300 / 350 /
# 450 / 500 / 600 Hz 15.63 / 15.72 / 15.76 / 15.75 / 15.70 / 15.63; order 1 / 2 / 8 at 400 Hz
# 15.71 / 15.75 / 15.78; a third band below 100-300 Hz from a 4096-sample fit 15.77-15.25.
# Blind, where a part's F0 can be a wrong note for a while, the split lost (24 excerpts: mean
# 5.82, split 5.71), so without a score the two are averaged.
CROSSOVER_HZ = 400.0
CROSSOVER_ORDER = 4
F0_HOP_S = 0.005  # F0 frames (the salience model's hop)
MASK_POWER = 1.5  # mask Y_v^p / sum Y^p. With the envelope combs, on 12 validation excerpts with the
# score: p = 1 13.08 dB, 1.5 13.32, 2 13.21 (blind: 2.57, 2.62)
# Each part's ended notes also ring on this long after every change (release, reverb), with
# its own level. With a score, on 8 validation excerpts (held-out timbres) it took the fluidsynth
# renders from 10.8 to 13.2 dB (0.15 s: 12.7) and left the voice-model ones alike (9.8 / 9.7).
# Blind it first cost 0.3-1.2 dB (spurious note changes); with today's F0 it pays there too: on 12
# validation excerpts 3.76 -> 4.32 dB, on the 32 test excerpts 6.75 -> 7.22. Since its level may
# only fall (`comb.decay_within_notes`) a longer release pays: on 24 validation excerpts with the
# score 0.3 s 15.06 dB, 0.6 s 15.15, 0.64 s 15.13 (12 excerpts: 0.3 s 15.13, 0.6 s 15.18,
# 0.64 s 15.16, 0.96 s 15.11). With two release tracks per part (`comb.RELEASE_TRACKS`), a
# note's tail goes on under the next note's and a shorter release pays: 24 excerpts 0.4 s 15.59,
# 0.5 s 15.57 (12: 0.3 s 15.52, 0.4 s 15.66, 0.6 s 15.54).
RELEASE_S = 0.4
SCORE_TOLERANCE_CENTS = 100.0  # how far from the score's note the sung F0 is looked for
SCORE_MIN_SALIENCE = 0.1  # below this the ridge is too weak to trust; keep the score's pitch
# Each part's F0 is then re-read to a few cents on the mixture: the salience grid is 20 cents and
# its training targets were the score's notes, so it smooths vibrato away, while a comb's
# k-th partial misses by k times the F0 error. Harmonic sum of the first REFINE_HARMONICS
# partials over +-REFINE_RANGE_CENTS (4-cent steps, parabola), 128 ms windows, median over
# REFINE_MEDIAN_FRAMES. On 12 validation excerpts (held-out timbres, with the score) the median
# error against the voice renders' sung F0 fell from 11.2 to 5.1 cents and the masked SI-SDR
# rose 10.23 -> 11.07 dB on them, 13.89 -> 13.68 on the fluidsynth ones (mean 12.06 -> 12.37);
# 3 to 10 harmonics, +-20 to 60 cents, 64-256 ms windows all scored 11.9-12.4.
REFINE_HARMONICS = 5
REFINE_RANGE_CENTS = 32.0
REFINE_WINDOW = 2048  # samples at SAMPLE_RATE
REFINE_MEDIAN_FRAMES = 9
ANALYSIS_WORKERS = min(4, os.cpu_count() or 1)  # threads fitting the combs on each STFT size, then the voice models
MIN_LINE_SHARE = 0.15  # n lines are sung if at least this share of the sounding frames has n at once
SILENCE_DBFS = -60.0
MAX_SCORE_BYTES = 5 * 2**20  # a score file bigger than this is refused before parsing (a chorale is ~100 kB)
MAX_SCORE_UNZIPPED_BYTES = 50 * 2**20  # what a compressed MusicXML (.mxl) may expand to


class SeparationError(ValueError):
    """The clip or score cannot be separated as asked; the message says what to do."""


@dataclasses.dataclass
class ChoirSeparation:
    sample_rate: int
    mixture: np.ndarray  # (S,) float32 at sample_rate
    parts: tuple[str, ...]  # ("soprano", "alto", ...) top-down
    times_s: np.ndarray  # (T,) F0 frame times
    f0_hz: np.ndarray  # (V, T) each part's F0, 0 where unvoiced
    stems: np.ndarray  # (V, S) masked stems: they sum to the mixture
    synth: np.ndarray  # (V, S) each part resynthesized from its voice model
    params: list[VoiceParams]  # each part's voice model (F0, tract, source, noise)
    score_informed: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)  # things the person should know

    def params_json(self) -> dict:
        """{"format", "sample_rate", "score_informed", "voices": {part: {times_s, f0_hz, params}}}."""
        voices = {}
        for v, part in enumerate(self.parts):
            voices[part] = {"times_s": np.round(self.times_s, 4).tolist(),
                            "f0_hz": np.round(self.f0_hz[v], 3).tolist(),
                            "params": self.params[v].to_dict()}
        return {"format": "hiaudio.choir_separation/1", "sample_rate": self.sample_rate,
                "score_informed": self.score_informed, "voices": voices}


# ---- scores ----------------------------------------------------------------------------------
Notes = list[tuple[float, float, float]]  # (MIDI pitch, start s, duration s)


def load_score(path: str | Path, n_voices: int | None = None) -> list[Notes]:
    """Notes per part, top-down, from a MIDI (.mid/.midi) or MusicXML (.xml/.musicxml/.mxl) file.

    Parts are the MIDI instruments (or MusicXML parts) with notes, ordered by mean pitch, highest
    first; drums are skipped. MusicXML times follow its tempo marks (120 bpm when it has none).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mid", ".midi", ".xml", ".musicxml", ".mxl"):
        raise SeparationError(f"the score {path.name!r} is not MIDI (.mid) or MusicXML (.musicxml, .xml, .mxl)")
    _check_score_size(path)
    try:
        if suffix in (".mid", ".midi"):
            import pretty_midi

            midi = pretty_midi.PrettyMIDI(str(path))
            parts = [[(float(n.pitch), float(n.start), float(n.end - n.start)) for n in inst.notes]
                     for inst in midi.instruments if not inst.is_drum]
        else:  # MusicXML
            import music21

            score = music21.converter.parse(str(path))
            seconds = {id(el): (el["offsetSeconds"], el["durationSeconds"])
                       for el in score.flatten().secondsMap}  # offsets in seconds (tempo marks)
            parts = []
            for part in score.parts:
                notes = []
                for el in part.flatten().notes:
                    start_s, dur_s = seconds.get(id(el), (None, None))
                    if start_s is None:
                        start_s, dur_s = float(el.offset) * 0.5, float(el.quarterLength) * 0.5
                    for p in getattr(el, "pitches", ()):
                        notes.append((float(p.midi), float(start_s), float(dur_s)))
                parts.append(notes)
    except ImportError as err:  # a broken installation, not a bad file: say so
        raise SeparationError(f"this installation cannot read {suffix} scores ({err}); install the "
                              "project's requirements (pip install -r requirements.txt)") from None
    except Exception as err:  # noqa: BLE001 -- any parser failure means an unreadable file
        raise SeparationError(f"cannot read the score {path.name!r} ({type(err).__name__}); "
                              "export it again as MIDI or MusicXML") from None
    parts = [sorted(p, key=lambda n: n[1]) for p in parts if p]
    if not parts:
        raise SeparationError(f"the score {path.name!r} has no notes")
    parts.sort(key=lambda p: -np.mean([n[0] for n in p]))
    if n_voices is not None and len(parts) < n_voices:
        raise SeparationError(f"the score has {len(parts)} part(s) with notes; {n_voices} voices were asked. "
                              f"Ask for {len(parts)} voices or give a score with one part per voice.")
    return parts[:n_voices] if n_voices else parts


def _check_score_size(path: Path) -> None:
    """Refuse a score file too big to parse safely, and a compressed MusicXML that expands too far."""
    try:
        n_bytes = path.stat().st_size
    except OSError:
        raise SeparationError(f"cannot open the score {path.name!r}; upload it again") from None
    if n_bytes > MAX_SCORE_BYTES:
        raise SeparationError(f"the score {path.name!r} is {n_bytes / 2**20:.1f} MB; scores up to "
                              f"{MAX_SCORE_BYTES / 2**20:.0f} MB are read. Export only this recording's excerpt.")
    if path.suffix.lower() == ".mxl":
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                unzipped = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError):
            raise SeparationError(f"cannot read the score {path.name!r} (not a compressed MusicXML); "
                                  "export it again as MIDI or MusicXML") from None
        if unzipped > MAX_SCORE_UNZIPPED_BYTES:
            raise SeparationError(f"the score {path.name!r} expands to {unzipped / 2**20:.0f} MB; refused. "
                                  "Export it again as MIDI or uncompressed MusicXML.")


def check_score(notes: Sequence[Notes], duration_s: float, n_voices: int) -> list[Notes]:
    """The first n_voices parts, checked against the recording's length."""
    notes = [list(p) for p in notes]
    if len(notes) < n_voices:
        raise SeparationError(f"the score has {len(notes)} part(s); {n_voices} voices were asked")
    notes = notes[:n_voices]
    end_s = max((s + d for p in notes for _, s, d in p), default=0.0)
    if end_s <= 0:
        raise SeparationError("the score has no notes")
    if end_s > duration_s + 2.0 or end_s < 0.5 * duration_s:
        raise SeparationError(f"the score lasts {end_s:.1f} s but the recording {duration_s:.1f} s: they do not "
                              "match. Give the score of this recording, aligned with it (same tempo and start).")
    return notes


def f0_near_score(salience: np.ndarray, score_hz: np.ndarray, tolerance_cents: float = SCORE_TOLERANCE_CENTS,
                  min_salience: float = SCORE_MIN_SALIENCE) -> np.ndarray:
    """The salience ridge nearest the score: salience (T, K), score_hz (V, T) -> f0_hz (V, T).

    In each frame where the part sings, the strongest salience bin within tolerance_cents of the
    score's note -- and less than halfway to another part's different note in that frame, so a
    part a semitone from its neighbour does not take the neighbour's ridge -- refined to a
    fraction of a bin; the score's own pitch where that is weaker than min_salience. A 5-frame
    median smooths single-frame jumps between neighbouring ridges.
    """
    from scipy.ndimage import median_filter

    BIN_CENTS, F0_MIN_HZ = salience_model.BIN_CENTS, salience_model.F0_MIN_HZ
    n_frames, n_bins = salience.shape
    score_hz = score_hz[:, :n_frames]
    half = int(np.ceil(tolerance_cents / BIN_CENTS))
    offsets = np.arange(-half, half + 1)
    cents = np.where(score_hz > 0, 1200 * np.log2(np.maximum(score_hz, 1e-3) / F0_MIN_HZ), np.nan)  # (V, T)
    gap = np.abs(cents[:, None] - cents[None, :])  # (V, V, T) to every other part's note
    gap[(gap < 1.0) | np.isnan(gap)] = np.inf  # unisons and silent parts do not narrow the search
    reach = np.minimum(tolerance_cents, 0.5 * gap.min(axis=1))  # (V, T)
    out = np.zeros_like(score_hz, dtype=np.float64)
    for v in range(score_hz.shape[0]):
        t = np.nonzero(score_hz[v] > 0)[0]
        if len(t) == 0:
            continue
        centre = np.round(cents[v, t] / BIN_CENTS).astype(np.int64)
        cand = np.clip(centre[:, None] + offsets, 1, n_bins - 2)  # (N, W)
        near = np.abs(offsets[None, :]) * BIN_CENTS < reach[v, t, None]  # (N, W); the centre always
        values = np.where(near | (offsets[None, :] == 0), salience[t[:, None], cand], -np.inf)
        best = cand[np.arange(len(t)), values.argmax(1)]
        refined = multif0.parabolic_peak(salience, t, best)
        f0 = F0_MIN_HZ * 2.0 ** (refined * BIN_CENTS / 1200)
        out[v, t] = np.where(values.max(1) >= min_salience, f0, score_hz[v, t])
    smooth = median_filter(out, size=(1, 5), mode="nearest")
    return np.where((out > 0) & (smooth > 0), smooth, out)


def refine_f0(x: np.ndarray, f0_hz: np.ndarray, harmonics: int = REFINE_HARMONICS,
              range_cents: float = REFINE_RANGE_CENTS, window: int = REFINE_WINDOW,
              median_frames: int = REFINE_MEDIAN_FRAMES) -> np.ndarray:
    """Each part's F0 re-read on the mixture: x (S,) at SAMPLE_RATE, f0_hz (V, T) on the F0_HOP_S
    grid -> (V, T), where each voiced frame's F0 maximizes the sum of the mixture's magnitude at
    its first `harmonics` partials within +-range_cents, median-filtered along each voiced run."""
    from scipy.ndimage import median_filter

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
        cents = 1200 * np.log2(out[v, voiced])
        for i, t in enumerate(voiced):
            lo, hi = np.searchsorted(voiced, [t - half, t + half + 1])
            ref = np.median(cents[lo:hi])
            octaves = np.round((cents[i] - ref) / 1200)
            if octaves != 0:
                out[v, t] = out[v, t] * 2.0 ** -octaves
    return out


# ---- the pipeline --------------------------------------------------------------------------
def _check_parts_found(f0_hz: np.ndarray, loud: np.ndarray, n_voices: int) -> list[str]:
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


@on_gpu
def part_salience(x: np.ndarray, assets: Sequence[str] = salience_model.ASSETS) -> np.ndarray:
    """The salience models on the mixture (S,) at SAMPLE_RATE -> (T, K) numpy, on the GPU when there is one."""
    return salience_model.salience_map(x, assets, pick_device())


def in_parallel(fn: Callable, calls: Sequence[tuple], done: Callable[[int], None] | None = None) -> list:
    """[fn(*args) for args in calls] on ANALYSIS_WORKERS threads (torch and numpy release the GIL),
    each in a copy of this context, so the request's deadline holds there too; done(i) after each."""
    with ThreadPoolExecutor(max_workers=max(1, min(ANALYSIS_WORKERS, len(calls)))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, fn, *args) for args in calls]
        results = []
        for i, future in enumerate(futures):
            results.append(future.result())
            if done is not None:
                done(i)
        return results


def masked_stems(x: np.ndarray, f0_hz: np.ndarray, n_fft: int = N_FFT, hop: int = HOP,
                 device: torch.device | str | None = None) -> np.ndarray:
    """Every part's comb fitted to the mixture x (S,) on an n_fft STFT, then masked: -> (V, S) stems.

    f0_hz: (V, T) each part's F0 on the F0_HOP_S grid, 0 where it is silent. The fit runs on
    `device` (the CPU by default).
    """
    spec = stft(x, n_fft, hop)  # (F, T')
    f0_frames = np.stack([known_f0(f, F0_HOP_S, spec.shape[1], hop / SAMPLE_RATE) for f in f0_hz])  # (V, T')
    release_frames = int(round(RELEASE_S * SAMPLE_RATE / hop))
    models = comb.fit_combs(np.abs(spec), f0_frames, SAMPLE_RATE, n_fft, release_frames=release_frames, device=device)
    return apply_masks(x, models, n_fft, hop, MASK_POWER)


def crossover(low: np.ndarray, high: np.ndarray, cutoff_hz: float = CROSSOVER_HZ, order: int = CROSSOVER_ORDER,
              sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """`low`'s band below cutoff_hz plus `high`'s above it (..., S): zero-phase, the two gains
    1 / (1 + (f / fc)^2n) and its complement sum to one, so equal inputs come back unchanged."""
    n = low.shape[-1]
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    gain = 1.0 / (1.0 + (f / cutoff_hz) ** (2 * order))
    low_band = np.fft.irfft(np.fft.rfft(np.asarray(low, np.float64), axis=-1) * gain, n, axis=-1)
    high_band = np.fft.irfft(np.fft.rfft(np.asarray(high, np.float64), axis=-1) * (1 - gain), n, axis=-1)
    return (low_band + high_band).astype(np.float32)


@on_gpu
def fitted_stems(x: np.ndarray, f0_hz: np.ndarray, split: bool = True) -> np.ndarray:
    """The stems (V, S): `masked_stems` on the short and the long STFT of MASK_FFTS (fitted side
    by side, on the GPU when there is one), joined at CROSSOVER_HZ (`crossover`), or averaged
    if not split (blind separation)."""
    device = pick_device()
    short, long = in_parallel(masked_stems, [(x, f0_hz, n_fft, HOP, device) for n_fft in MASK_FFTS])
    return crossover(low=long, high=short) if split else 0.5 * (short + long)


def separate_choir(mix: np.ndarray, sample_rate: int, n_voices: int = 4, notes: Sequence[Notes] | None = None,
                   progress: Callable[[float, str], None] | None = None,
                   assets: Sequence[str] = salience_model.ASSETS,
                   analyze_voices: bool = True) -> ChoirSeparation:
    """Separate a choir mixture into n_voices parts (top-down) by synthesis; see the module docstring.

    mix: (S,) float mono at sample_rate. notes: per part (top-down) a list of (MIDI pitch,
    start s, duration s) aligned with the recording, or None for blind separation.
    progress(fraction, message) is called between the steps.
    """
    report = progress or (lambda fraction, message: None)
    if not 1 <= int(n_voices) <= 4:
        raise SeparationError(f"{n_voices} voices asked; choose 1 to 4 (soprano, alto, tenor, bass from the top)")
    n_voices = int(n_voices)
    x = np.asarray(mix, dtype=np.float32)
    if x.ndim != 1 or len(x) == 0:
        raise SeparationError("the mixture must be a mono, non-empty signal")
    if sample_rate != SAMPLE_RATE:
        x = audio_io.resample(x, sample_rate, SAMPLE_RATE)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if not np.isfinite(peak) or peak < 10 ** (SILENCE_DBFS / 20):
        raise SeparationError(f"the clip is silent (peak below {SILENCE_DBFS:.0f} dBFS): nothing to separate")
    duration_s = len(x) / SAMPLE_RATE
    warnings: list[str] = []
    if notes is not None:
        notes = check_score(notes, duration_s, n_voices)

    report(0.05, "finding each part's pitch")
    sal = part_salience(x, assets)  # (T, K)
    times_s = np.arange(sal.shape[0]) * F0_HOP_S
    if notes is None:
        f0_hz = multif0.assign_voices(sal, n_voices)
        # octave slips folded back, then each part's F0 re-read on the salience ridge near it
        f0_hz = f0_near_score(sal, fold_octave_jumps(f0_hz))
        frame_rms = np.sqrt(np.convolve(x ** 2, np.ones(int(F0_HOP_S * SAMPLE_RATE * 4)) /
                                        int(F0_HOP_S * SAMPLE_RATE * 4), mode="same"))
        loud = frame_rms[np.clip((times_s * SAMPLE_RATE).astype(int), 0, len(x) - 1)] > 10 ** (-40 / 20) * peak
        warnings = _check_parts_found(f0_hz, loud, n_voices)
    else:
        hop = round(F0_HOP_S * SAMPLE_RATE)
        f0_hz = f0_near_score(sal, np.stack([score_f0(p, len(times_s), hop, SAMPLE_RATE) for p in notes]))

    f0_hz = refine_f0(x, f0_hz)

    report(0.3, "separating the parts by synthesis")
    stems = fitted_stems(x, f0_hz, split=notes is not None)  # (V, S)

    params, synth = [], np.zeros_like(stems)
    if analyze_voices:
        def voice_model(v):
            check_deadline()
            p = analyze(stems[v], SAMPLE_RATE, f0_hz=f0_hz[v], f0_hop_s=F0_HOP_S)
            return p, render(p)[:len(x)]

        def done(v):
            report(0.5 + 0.45 * (v + 1) / n_voices, f"fitted the {PARTS[v]}'s voice model")

        for v, (p, synth[v]) in enumerate(in_parallel(voice_model, [(v,) for v in range(n_voices)], done)):
            params.append(p)
    report(1.0, "done")
    return ChoirSeparation(sample_rate=SAMPLE_RATE, mixture=x, parts=PARTS[:n_voices], times_s=times_s,
                           f0_hz=f0_hz.astype(np.float32), stems=stems, synth=synth.astype(np.float32),
                           params=params, score_informed=notes is not None, warnings=warnings)


def write_outputs(result: ChoirSeparation, out_dir: str | Path) -> list[Path]:
    """DIR/<part>.wav (masked), DIR/<part>_synth.wav, DIR/params.json; -> the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for v, part in enumerate(result.parts):
        for suffix, wave in (("", result.stems[v]), ("_synth", result.synth[v])):
            path = out_dir / f"{part}{suffix}.wav"
            audio_io.save_wav(path, np.clip(wave, -1.0, 1.0), result.sample_rate)
            written.append(path)
    path = out_dir / "params.json"
    path.write_text(json.dumps(result.params_json()))
    written.append(path)
    return written


def separate(mix: np.ndarray, sample_rate: int, n_voices: int, notes: Mapping | Sequence | None = None):
    """bench/choir_separation.py's model slot: -> (masked stems, direct synthesis, (times_s, f0_hz))."""
    if isinstance(notes, Mapping):
        notes = list(notes.values())
    result = separate_choir(mix, sample_rate, n_voices, notes=notes)
    return result.stems, result.synth, (result.times_s, result.f0_hz)
