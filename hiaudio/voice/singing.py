"""Singing from notes with our own voice model: notes + a vowel -> `VoiceParams`.

This is how hiaudio makes sung material without recordings: the example clip in the studio,
rendered chorale stems for training, and the composer's synthetic choir. Everything a singer
varies is a parameter: vowel (formants), vibrato, intonation drift, portamento, breathiness,
loudness, spectral tilt.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from hiaudio.dsp import filters
from hiaudio.dsp.units import cents_to_hz
from hiaudio.voice.params import MAX_HARMONICS, VoiceParams
from hiaudio.voice.synthesis import harmonic_levels_db

# Formant frequencies (Hz) and bandwidths (Hz) of sung vowels, a rough average of published
# tables for classical singers (Sundberg 1987; Peterson & Barney 1952 for the speech-like ones).
VOWELS = {
    "a": ((800, 1150, 2800, 3500, 4950), (80, 90, 120, 130, 140)),
    "e": ((400, 1700, 2600, 3200, 4950), (70, 80, 100, 120, 140)),
    "i": ((280, 2200, 2950, 3500, 4950), (60, 90, 100, 120, 140)),
    "o": ((450, 800, 2830, 3500, 4950), (70, 80, 100, 130, 140)),
    "u": ((325, 700, 2530, 3500, 4950), (50, 60, 170, 180, 200)),
}
# Formants scale with vocal-tract length: a soprano's sit ~15 % above a bass's.
VOICE_FORMANT_RATIO = {"soprano": 1.15, "alto": 1.08, "tenor": 1.0, "bass": 0.92}


@dataclasses.dataclass(frozen=True)
class Singer:
    vowel: str = "a"  # one of VOWELS
    formant_ratio: float = 1.0  # vocal-tract length scaling
    vibrato_cents: float = 35.0  # vibrato depth (peak deviation)
    vibrato_hz: float = 5.5  # vibrato rate
    vibrato_onset_s: float = 0.25  # vibrato fades in over this long within each note
    drift_cents: float = 8.0  # slow random intonation wander (std)
    portamento_s: float = 0.06  # glide time between notes
    source_slope_db_per_oct: float = -12.0  # glottal source roll-off
    breathiness_db: float = -35.0  # noise level relative to the tract
    attack_s: float = 0.04  # note onset ramp
    release_s: float = 0.06  # note release ramp
    level_db: float = 0.0  # overall level


def vowel_lsf(vowel: str, sample_rate: int, ratio: float = 1.0) -> np.ndarray:
    """LSFs of an all-pole filter with the vowel's formants (scaled by `ratio`)."""
    return formant_lsf(*VOWELS[vowel], sample_rate, ratio)


def formant_lsf(freqs_hz, bands_hz, sample_rate: int, ratio: float = 1.0, fixed_order: bool = False) -> np.ndarray:
    """LSFs (rad) of an all-pole filter with these resonances (Hz, bandwidths Hz), scaled by `ratio`.

    A resonance at or above 0.48 x the sample rate is dropped; with `fixed_order` it is moved
    down to 0.46 x the sample rate instead, so every filter has order 2 x len(freqs_hz) and
    filters of successive segments can be interpolated.
    """
    poly = np.array([1.0])
    for f, b in zip(freqs_hz, bands_hz):
        f = f * ratio
        if fixed_order:
            f = min(f, 0.46 * sample_rate)
        elif f >= 0.48 * sample_rate:
            continue
        r = math.exp(-math.pi * b / sample_rate)
        theta = 2 * math.pi * f / sample_rate
        poly = np.convolve(poly, [1.0, -2 * r * math.cos(theta), r * r])
    if len(poly) % 2 == 0:  # odd order: add a real pole for an even order
        poly = np.convolve(poly, [1.0, -0.1])
    return filters.lpc_to_lsf(poly[None])[0]


def sing(notes, sample_rate: int, singer: Singer | None = None, hop_samples: int | None = None,
         duration_s: float | None = None, seed: int = 0) -> VoiceParams:
    """Parameters of a voice singing `notes`: iterable of (midi pitch, start s, duration s[, velocity 0..1]).

    Between notes closer than the portamento time the pitch glides; elsewhere the voice is
    silent (unvoiced, with the noise floor far below). Randomness (drift) comes from `seed`.
    """
    s = singer or Singer()
    hop = hop_samples or round(0.005 * sample_rate)
    notes = sorted((float(n[0]), float(n[1]), float(n[2]), float(n[3]) if len(n) > 3 else 0.8) for n in notes)
    if not notes:
        raise ValueError("no notes to sing")
    end_s = duration_s or max(start + dur for _, start, dur, _ in notes) + 0.2
    n_frames = max(1, math.ceil(end_s * sample_rate / hop))
    t = np.arange(n_frames) * hop / sample_rate

    # pitch: held notes, glides into each note, vibrato fading in, slow drift
    cents = np.full(n_frames, np.nan)
    loud = np.zeros(n_frames)
    onset_age = np.full(n_frames, 1e9)
    for pitch, start, dur, vel in notes:
        inside = (t >= start) & (t < start + dur)
        cents[inside] = (pitch - 69) * 100
        env = np.minimum(1, np.minimum((t - start) / s.attack_s, (start + dur - t) / s.release_s))
        loud[inside] = np.maximum(loud[inside], vel * np.clip(env[inside], 0, 1))
        onset_age[inside] = t[inside] - start
    voiced = ~np.isnan(cents)
    idx = np.arange(n_frames)
    if not voiced.any():
        raise ValueError("the notes fall outside the clip")
    cents = np.interp(idx, idx[voiced], cents[voiced])
    glide = max(1, round(s.portamento_s * sample_rate / hop))
    kernel = np.ones(glide) / glide
    cents = np.convolve(np.pad(cents, (glide // 2, glide - 1 - glide // 2), mode="edge"), kernel, "valid")
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal(n_frames))
    walk = np.convolve(walk - walk.mean(), np.ones(60) / 60, "same")
    drift = s.drift_cents * walk / (walk.std() + 1e-9)
    vib_env = np.clip(onset_age / max(s.vibrato_onset_s, 1e-3), 0, 1)
    phase0 = rng.uniform(0, 2 * np.pi)
    vibrato = s.vibrato_cents * vib_env * np.sin(2 * np.pi * s.vibrato_hz * t + phase0)
    f0 = cents_to_hz(cents + drift + vibrato)

    lsf = vowel_lsf(s.vowel, sample_rate, s.formant_ratio)
    order = len(lsf)
    max_harm = int(min(MAX_HARMONICS, sample_rate / 2 / f0.min()))
    k = np.arange(1, max_harm + 1)
    level_db = 20 * np.log10(np.maximum(loud, 1e-6))  # loudness curve on the tract gain
    harmonic_db = np.broadcast_to(s.source_slope_db_per_oct * np.log2(k), (n_frames, max_harm))
    # calibrate: a full-velocity note peaks near -6 dBFS
    params = VoiceParams(
        sample_rate=int(sample_rate), hop_samples=hop,
        f0_hz=f0.astype(np.float32), voiced=(loud > 1e-3).astype(np.float32) * np.clip(loud * 20, 0, 1).astype(np.float32),
        lsf_rad=np.broadcast_to(lsf, (n_frames, order)).astype(np.float32),
        gain_db=np.clip(level_db, -120, 0).astype(np.float32),
        harmonic_db=harmonic_db.astype(np.float32),
        noise_db=np.full((n_frames, 8), s.breathiness_db, np.float32) + np.where(loud > 1e-3, 0, -60)[:, None].astype(np.float32),
        tilt_db_per_oct=np.zeros(n_frames, np.float32),
        formant_ratio=np.ones(n_frames, np.float32),
    )
    return _normalize(params, s.level_db)


def _normalize(params: VoiceParams, level_db: float) -> VoiceParams:
    """Shift the tract gain so that the loudest frame's harmonics peak near -6 dBFS + level_db."""
    with torch.no_grad():
        db, _ = harmonic_levels_db(torch.as_tensor(params.f0_hz), torch.as_tensor(params.lsf_rad),
                                         torch.as_tensor(params.gain_db), torch.as_tensor(params.harmonic_db),
                                         torch.as_tensor(params.tilt_db_per_oct), params.sample_rate)
    amp_sum = torch.pow(10.0, db / 20).sum(-1).numpy() * params.voiced  # crude peak bound per frame
    loudest = float(amp_sum.max()) if amp_sum.max() > 0 else 1.0
    shift = 20 * math.log10(0.5 / loudest) + level_db
    # silent frames sit ~120 dB down; a large shift must not push them past the valid range
    return params.replace(gain_db=np.clip(params.gain_db + shift, -180, 180).astype(np.float32)).validate()
