"""Choir separation by synthesis: a mixture (and optionally its score) -> one voice model per part.

The pipeline, for 1-4 parts taken top-down (soprano, alto, tenor, bass):

1. **F0 per part** (`part_f0`): from the salience networks, blind or near the score's notes.
2. **Separation by synthesis.** Each part is a harmonic comb on its F0 track, its partials
   weighted by the part's spectral envelope (one per part, 3 bands per octave: source-filter)
   and a level per frame, smooth within each note, with release tracks where ended notes ring
   on, fitted to the mixture magnitude alone (`comb.fit_combs`); the masked stems are the
   mixture's STFT times each part's ratio mask, from fits on two STFT sizes (`MASK_FFTS`):
   with a score the long one's below `CROSSOVER_HZ` and the short one's above, blind averaged.
   (The UMSS-style network, `hiaudio.models.separator`, is trained but not used: started from
   its amplitudes the fit ended where it ends alone; see BENCHMARKS.md.)
3. **Voice models.** Each masked stem is analysed into `VoiceParams` -- the source-filter
   voice model (`hiaudio.voice`): the part's F0 from step 1, all-pole vocal tract, harmonic
   source, noise -- and resynthesized (`*_synth`). Those parameters are what the Choir tab edits.

    result = separate_choir(mix, sample_rate, n_voices=4)                 # blind
    result = separate_choir(mix, sample_rate, 4, notes=score.load_score(path))  # score-informed
    result.stems  # (V, S) masked stems   result.synth  # (V, S)   result.params[v]  # VoiceParams

Everything runs at `SAMPLE_RATE` (16 kHz, the salience model's rate); the input is resampled.
Every setting below was chosen on validation excerpts; the figures that chose them are in
BENCHMARKS.md (choir separation, "Tuning log").
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
from hiaudio.dsp.f0grid import known_f0
from hiaudio.dsp.spectral import stft
from hiaudio.limits import check_deadline
from hiaudio.models import salience as salience_model
from hiaudio.separation import comb, multif0
from hiaudio.separation.baselines import apply_masks
from hiaudio.separation.part_f0 import F0_HOP_S, MIN_SCORE_SUPPORT, SAMPLE_RATE, part_f0
from hiaudio.separation.score import Notes, SeparationError, check_score
from hiaudio.voice import VoiceParams, analyze, render

PARTS = multif0.PARTS
N_FFT, HOP = 1024, 256  # 64 ms / 16 ms: the mask STFT (the oracle's resolution in the benchmark)
# Comb fits on two STFT sizes: the long window resolves partials a bin or two apart, the short
# one follows onsets and vibrato (validation, with the score: 1024 alone 14.98 dB, both 15.18).
MASK_FFTS = (N_FFT, 2 * N_FFT)  # (short, long)
# With a score the two are joined by frequency: the long window's stems below, the short one's
# above (split at 400 Hz 15.77 dB against their mean 15.59); blind, averaged (the split lost).
CROSSOVER_HZ = 400.0
CROSSOVER_ORDER = 4
MASK_POWER = 1.5  # mask Y_v^p / sum Y^p (validation: p = 1 13.08 dB, 1.5 13.32, 2 13.21)
RELEASE_S = 0.4  # how long ended notes ring on (two release tracks; 0.4 s 15.59 dB, 0.5 s 15.57)
ANALYSIS_WORKERS = min(4, os.cpu_count() or 1)  # threads fitting the combs on each STFT size, then the voice models
SILENCE_DBFS = -60.0
LOW_CONFIDENCE = MIN_SCORE_SUPPORT  # a part's confidence below this is called low (tab, CLI)


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
    confidence: np.ndarray | None = None  # (V,) how far each part's stem can be trusted, 0..1 (`part_f0`)
    warnings: list[str] = dataclasses.field(default_factory=list)  # things the person should know
    warned: np.ndarray | None = None  # (V,) bool: a warning covers part v (`part_f0`)

    def params_json(self) -> dict:
        """{"format", "sample_rate", "score_informed", "warnings",
        "voices": {part: {confidence, warned, times_s, f0_hz, params}}}."""
        voices = {}
        for v, part in enumerate(self.parts):
            confidence = None if self.confidence is None else round(float(self.confidence[v]), 3)
            warned = None if self.warned is None else bool(self.warned[v])
            voices[part] = {"confidence": confidence, "warned": warned, "times_s": np.round(self.times_s, 4).tolist(),
                            "f0_hz": np.round(self.f0_hz[v], 3).tolist(),
                            "params": self.params[v].to_dict()}
        return {"format": "hiaudio.choir_separation/1", "sample_rate": self.sample_rate,
                "score_informed": self.score_informed, "warnings": list(self.warnings), "voices": voices}


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
    if notes is not None:
        notes = check_score(notes, len(x) / SAMPLE_RATE, n_voices)

    report(0.05, "finding each part's pitch")
    times_s, f0_hz, confidence, warnings, warned = part_f0(x, n_voices, notes, assets)

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
                           params=params, score_informed=notes is not None, confidence=confidence.astype(np.float32),
                           warnings=warnings, warned=warned)


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
