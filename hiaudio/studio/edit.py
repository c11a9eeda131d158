"""Edits on `VoiceParams`, in the vocabulary of Melodyne and Praat, as pure functions.

Pitch is edited through a decomposition of the F0 curve (in cents) into three layers:

    cents(t) = note(t) + drift(t) + vibrato(t)

`vibrato` is what a 0.2 s and a 0.15 s moving average (nulls at 5, 6.7 and 10 Hz) remove;
`note` is the mean of the smoothed curve over each note (a new note starts where the curve leaves
the running note by more than 70 cents); `drift` is the slow rest. Transpose moves every layer,
pitch correction pulls `note` toward the scale, and the vibrato / drift percentages scale their
layers (100 % = as sung, 0 % = flat, 200 % = doubled).

Formant shift scales the vocal tract's frequency axis only; after any pitch change the source levels are
re-sampled at the new harmonic frequencies so that the timbre stays where it was.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from hiaudio.params import VoiceParams

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SCALES = {  # semitone steps above the key
    "chromatic": tuple(range(12)),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}
MAX_HARMONICS = 400
NOTE_BREAK_CENTS = 70.0


@dataclasses.dataclass(frozen=True)
class Edits:
    transpose_semitones: float = 0.0  # -24..24
    transpose_cents: float = 0.0  # -100..100, added to the semitones
    pitch_correction_pct: float = 0.0  # 0..100: how far notes are pulled to the scale
    scale_key: str = "C"  # tonic of the correction scale, one of NOTE_NAMES
    scale_mode: str = "chromatic"  # one of SCALES
    vibrato_pct: float = 100.0  # 0..200: 100 = as sung, 0 = flat
    drift_pct: float = 100.0  # 0..200: slow pitch wander within notes
    formant_shift: float = 1.0  # 0.5..2: ratio applied to the vocal-tract resonances
    brightness_db_per_oct: float = 0.0  # -12..12 spectral tilt about 1 kHz
    breathiness_db: float = 0.0  # -40..40 added to the noise level
    gain_db: float = 0.0  # -40..20 overall level
    scale_degrees: int = 0  # -14..14: move every note this many steps along the scale (re-harmonize)

    def validate(self) -> "Edits":
        limits = {"transpose_semitones": (-24, 24), "transpose_cents": (-100, 100),
                  "pitch_correction_pct": (0, 100), "vibrato_pct": (0, 200), "drift_pct": (0, 200),
                  "formant_shift": (0.5, 2.0), "brightness_db_per_oct": (-12, 12),
                  "breathiness_db": (-40, 40), "gain_db": (-40, 20), "scale_degrees": (-14, 14)}
        for name, (lo, hi) in limits.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name} = {value!r}; it must be a number in {lo}..{hi}")
        if self.scale_key not in NOTE_NAMES:
            raise ValueError(f"scale_key {self.scale_key!r} must be one of {', '.join(NOTE_NAMES)}")
        if self.scale_mode not in SCALES:
            raise ValueError(f"scale_mode {self.scale_mode!r} must be one of {', '.join(SCALES)}")
        return self

    @property
    def changes_pitch(self) -> bool:
        return not self.same_pitch_as(Edits())

    def same_pitch_as(self, other: "Edits") -> bool:
        """Whether both edits give the same F0 (what a pitch plot shows); timbre and level may differ."""
        return self._pitch() == other._pitch()

    def _pitch(self) -> tuple:
        """The fields that move the F0; the key and scale only where a correction or a move along
        the scale uses them."""
        scale = (self.scale_key, self.scale_mode) if self.pitch_correction_pct or self.scale_degrees else None
        return (self.transpose_semitones, self.transpose_cents, self.pitch_correction_pct, self.vibrato_pct,
                self.drift_pct, self.scale_degrees, scale)


# "Change gender" and friends: pitch and formants move together (Praat's "Change gender").
PRESETS = {
    "original": Edits(),
    "male -> female": Edits(transpose_semitones=9.0, formant_shift=1.18),
    "female -> male": Edits(transpose_semitones=-9.0, formant_shift=0.85),
    "child": Edits(transpose_semitones=12.0, formant_shift=1.3, brightness_db_per_oct=1.0),
    "giant": Edits(transpose_semitones=-12.0, formant_shift=0.75),
    "whisper-ish": Edits(breathiness_db=15.0, brightness_db_per_oct=-1.0),
}


# ---- pitch layers --------------------------------------------------------------------------

def hz_to_cents(f0_hz: np.ndarray) -> np.ndarray:
    """Cents relative to A4 = 440 Hz."""
    return 1200.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / 440.0)


def cents_to_hz(cents: np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** (np.asarray(cents) / 1200.0)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return x
    padded = np.pad(x, (width // 2, width - 1 - width // 2), mode="reflect" if len(x) > width else "edge")
    csum = np.cumsum(np.concatenate([[0.0], padded]))
    return (csum[width:] - csum[:-width]) / width


def pitch_layers(params: VoiceParams) -> dict[str, np.ndarray]:
    """Split the F0 curve into note, drift and vibrato layers (cents), as the module doc says."""
    frame_s = params.hop_samples / params.sample_rate
    cents = hz_to_cents(params.f0_hz)
    smooth = _moving_average(_moving_average(cents, max(1, round(0.2 / frame_s))),
                             max(1, round(0.15 / frame_s)))
    note = _note_means(smooth, params.voiced > 0.5)
    return {"note": note, "drift": smooth - note, "vibrato": cents - smooth}


def _note_means(smooth: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Piecewise-constant note level: the mean of `smooth` over each note segment."""
    seg_id = np.zeros(len(smooth), dtype=np.int64)
    seg, start = 0, 0
    for t in range(1, len(smooth)):
        new_run = voiced[t] and not voiced[t - 1]
        leaves = abs(smooth[t] - np.median(smooth[start:t])) > NOTE_BREAK_CENTS if t - start < 400 \
            else abs(smooth[t] - np.median(smooth[t - 400:t])) > NOTE_BREAK_CENTS
        if new_run or leaves:
            seg, start = seg + 1, t
        seg_id[t] = seg
    sums = np.bincount(seg_id, weights=smooth)
    counts = np.bincount(seg_id)
    return (sums / counts)[seg_id]


def nearest_scale_cents(cents: np.ndarray, key: str, mode: str) -> np.ndarray:
    """The nearest note of the scale (12-TET, A4 = 440 Hz), in cents relative to A4."""
    midi = 69.0 + np.asarray(cents) / 100.0
    tonic = NOTE_NAMES.index(key)
    pcs = np.array(sorted({(tonic + s) % 12 for s in SCALES[mode]}))
    base = np.floor(midi / 12.0) * 12.0  # C of this octave
    cand = base[..., None] + np.concatenate([pcs - 12, pcs, pcs + 12])  # (..., 3n)
    best = np.take_along_axis(cand, np.abs(cand - midi[..., None]).argmin(-1)[..., None], -1)[..., 0]
    return (best - 69.0) * 100.0


def shift_scale_degrees(cents: np.ndarray, degrees: int, key: str, mode: str) -> np.ndarray:
    """Cents moved `degrees` steps along the scale: each value's nearest scale note is taken
    that many scale steps up (or down) and the value follows it, keeping its offset from the
    scale (so a note sung 10 cents flat of E, moved up a third in C major, lands 10 cents flat
    of G). Relative to A4, like `nearest_scale_cents`."""
    cents = np.asarray(cents, dtype=np.float64)
    if degrees == 0:
        return cents
    tonic = NOTE_NAMES.index(key)
    pcs = np.array(sorted({(tonic + s) % 12 for s in SCALES[mode]}))
    n = len(pcs)
    nearest = 69.0 + nearest_scale_cents(cents, key, mode) / 100.0  # MIDI of the nearest scale note
    octave, pc = np.divmod(np.round(nearest).astype(np.int64), 12)
    index = np.searchsorted(pcs, pc)  # its place in the scale
    step = index + int(degrees)
    target = (octave + np.floor_divide(step, n)) * 12 + pcs[np.mod(step, n)]
    return cents + 100.0 * (target - nearest)


# ---- the edits -----------------------------------------------------------------------------

def edit_pitch(params: VoiceParams, edits: Edits, layers: dict | None = None) -> VoiceParams:
    """Transpose, correct toward a scale, and scale vibrato and drift.

    `layers` may pass `pitch_layers(params)` computed earlier (a session computes it once).
    """
    if not edits.changes_pitch:
        return params
    layers = layers if layers is not None else pitch_layers(params)
    note = layers["note"]
    if edits.pitch_correction_pct > 0:
        target = nearest_scale_cents(note, edits.scale_key, edits.scale_mode)
        note = note + (edits.pitch_correction_pct / 100.0) * (target - note)
    note = shift_scale_degrees(note, edits.scale_degrees, edits.scale_key, edits.scale_mode)
    cents = (note + layers["drift"] * (edits.drift_pct / 100.0)
             + layers["vibrato"] * (edits.vibrato_pct / 100.0)
             + 100.0 * edits.transpose_semitones + edits.transpose_cents)
    nyquist = params.sample_rate / 2
    f0 = np.clip(cents_to_hz(cents), 20.0, nyquist / 2)
    return retune(params, f0.astype(np.float32))


def retune(params: VoiceParams, f0_hz: np.ndarray) -> VoiceParams:
    """New F0 with the source levels re-sampled at the new harmonic frequencies.

    The source level is anchored to frequency rather than to harmonic number: what the all-pole
    filter does not capture of the envelope stays where it was, so timbre survives the move.
    The number of harmonics grows when the pitch goes down, so the spectrum stays full.
    """
    old_f0 = params.f0_hz.astype(np.float64)
    new_f0 = np.asarray(f0_hz, dtype=np.float64)
    n_harm = int(min(MAX_HARMONICS, max(1, math.floor(params.sample_rate / 2 / new_f0.min()))))
    k_old = np.arange(1, params.n_harmonics + 1)
    old_hz = old_f0[:, None] * k_old  # (T, K) increasing per row
    new_hz = new_f0[:, None] * np.arange(1, n_harm + 1)  # (T, K')
    # per-frame linear interpolation, vectorized through a row offset that keeps rows apart
    span = float(max(old_hz.max(), new_hz.max())) + 1.0
    offset = np.arange(params.n_frames)[:, None] * span
    levels = np.interp((new_hz + offset).ravel(), (old_hz + offset).ravel(),
                       params.harmonic_db.astype(np.float64).ravel())
    # beyond a frame's last old harmonic np.interp would reach into the next row: hold instead
    last = params.harmonic_db[:, -1:].astype(np.float64)
    levels = np.where(new_hz > old_hz[:, -1:], last, levels.reshape(new_hz.shape))
    first = params.harmonic_db[:, :1].astype(np.float64)
    levels = np.where(new_hz < old_hz[:, :1], first, levels)
    return params.replace(f0_hz=new_f0.astype(np.float32), harmonic_db=levels.astype(np.float32))


def shift_formants(params: VoiceParams, ratio: float) -> VoiceParams:
    """Scale the vocal tract's frequency axis by `ratio`: every formant moves by that ratio,
    the pitch and the source levels stay (a vocal-tract-length change, as in Praat's
    "Change gender")."""
    if ratio == 1.0:
        return params
    return params.replace(formant_ratio=np.clip(params.formant_ratio * ratio, 0.25, 4.0).astype(np.float32))


def apply_edits(params: VoiceParams, edits: Edits, layers: dict | None = None) -> VoiceParams:
    """All edits, in a fixed order; returns a new `VoiceParams` and leaves `params` untouched."""
    edits.validate()
    out = edit_pitch(params, edits, layers)
    out = shift_formants(out, edits.formant_shift)
    changes = {}
    if edits.brightness_db_per_oct:
        changes["tilt_db_per_oct"] = np.clip(out.tilt_db_per_oct + edits.brightness_db_per_oct, -24, 24)
    if edits.breathiness_db:
        changes["noise_db"] = np.clip(out.noise_db + edits.breathiness_db, -200, 100)
    if edits.gain_db:
        changes["gain_db"] = np.clip(out.gain_db + edits.gain_db, -200, 200)
    return out.replace(**{k: v.astype(np.float32) for k, v in changes.items()}) if changes else out
