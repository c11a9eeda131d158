"""Edits on `VoiceParams`, in the vocabulary of Melodyne and Praat, as pure functions, and the
one specification of every edit (`EDIT_SPEC`) that the tabs, the CLI and the renders read.

Pitch is edited through a decomposition of the F0 curve (in cents) into three layers:

    cents(t) = note(t) + drift(t) + vibrato(t)

`vibrato` is what a 0.2 s and a 0.15 s moving average (nulls at 5, 6.7 and 10 Hz) remove;
`note` is the mean of the smoothed curve over each note (a new note starts where the curve leaves
the running note by more than 70 cents); `drift` is the slow rest. Transpose moves every layer,
pitch correction pulls `note` toward the scale, and the vibrato / drift percentages scale their
layers (100 % = as sung, 0 % = flat, 200 % = doubled).

Formant shift scales the vocal tract's frequency axis only; after any pitch change the source levels are
re-sampled at the new harmonic frequencies so that the timbre stays where it was.

Notes. The F0 is cut into notes where a voiced run starts or the smoothed curve leaves the
running note by more than 70 cents (`find_notes`); `NoteEdit`s move one note's pitch, scale its
vibrato and drift, and stretch or shorten it in time, on top of the global edits. A note made
longer starts where it did and pushes the next note's start later, whose end stays: the clip
keeps its length, so a choir part stays in time with the others.

Each edit changes one of three things, and a render redoes only what its edits change:
PITCH edits the F0 (the harmonic part is re-synthesized), TRACT edits the vocal tract (both the
harmonic and the noise part), MIX edits are gains applied when the parts are mixed.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from hiaudio.dsp.units import NOTE_NAMES, SCALES, cents_to_hz, hz_to_cents
from hiaudio.voice.params import MAX_HARMONICS, VoiceParams

NOTE_BREAK_CENTS = 70.0
PITCH, TRACT, MIX = "pitch", "tract", "mix"  # what an edit changes (see the module docstring)


@dataclasses.dataclass(frozen=True)
class EditSpec:
    """One edit: its `Edits` field, how a person sees and sets it, and what it re-renders."""
    name: str  # the Edits field
    label: str  # as the tabs show it
    changes: str  # PITCH | TRACT | MIX
    help: str = ""  # one line under the control, and the CLI's help
    unit: str = ""  # shown after the value in a summary
    minimum: float | None = None  # a number's range; None for a choice
    maximum: float | None = None
    step: float = 1.0  # the slider's step
    whole: bool = False  # whole numbers only
    choices: tuple[str, ...] = ()  # a choice's options
    flag: str = ""  # the CLI's --flag, and the control's element id suffix

    @property
    def default(self):
        return Edits.__dataclass_fields__[self.name].default

    def check(self, value):
        """The value, or ValueError saying what this edit takes."""
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{self.name} {value!r} must be one of {', '.join(self.choices)}")
            return value
        lo, hi = self.minimum, self.maximum
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and lo <= value <= hi and (not self.whole or float(value).is_integer())
        if not ok:
            kind = "a whole number" if self.whole else "a number"
            raise ValueError(f"{self.name} = {value!r}; it must be {kind} in {lo:g}..{hi:g}")
        return value


EDIT_SPEC = (
    EditSpec("transpose_semitones", "Transpose (semitones)", PITCH, "moves every note", " st", -24, 24, 1,
             flag="transpose"),
    EditSpec("transpose_cents", "Fine tune (cents)", PITCH, "added to the transposition", " cents", -100, 100,
             1, flag="cents"),
    EditSpec("scale_degrees", "Re-harmonize (scale degrees)", PITCH,
             "moves every note along the scale below: +2 = a third up", " degrees", -14, 14, 1, whole=True,
             flag="degrees"),
    EditSpec("pitch_correction_pct", "Pitch correction (%)", PITCH, "pulls each note toward the scale below",
             " %", 0, 100, 5, flag="correction"),
    EditSpec("scale_key", "Scale key", PITCH, "tonic of the scale for correction and re-harmonizing",
             choices=NOTE_NAMES, flag="key"),
    EditSpec("scale_mode", "Scale mode", PITCH, "mode of that scale", choices=tuple(SCALES), flag="scale"),
    EditSpec("vibrato_pct", "Vibrato (%)", PITCH, "100 = as recorded, 0 = flat", " %", 0, 200, 5,
             flag="vibrato"),
    EditSpec("drift_pct", "Drift (%)", PITCH, "slow pitch wander within notes; 100 = as recorded", " %", 0, 200,
             5, flag="drift"),
    EditSpec("formant_shift", "Formant shift (ratio)", TRACT,
             "moves the vocal-tract resonances; >1 sounds smaller", "x", 0.5, 2.0, 0.01, flag="formant-shift"),
    EditSpec("brightness_db_per_oct", "Brightness (dB/octave)", TRACT, "spectral tilt about 1 kHz",
             " dB/oct", -12, 12, 0.5, flag="brightness"),
    EditSpec("breathiness_db", "Breathiness (dB)", MIX, "level of the breath noise", " dB", -40, 40, 1,
             flag="breathiness"),
    EditSpec("gain_db", "Gain (dB)", MIX, "overall level", " dB", -40, 20, 0.5, flag="gain"),
)
SPEC = {s.name: s for s in EDIT_SPEC}


NOTE_RANGES = {"semitones": (-24.0, 24.0), "vibrato_pct": (0.0, 200.0), "drift_pct": (0.0, 200.0),
               "length_pct": (50.0, 200.0)}
MIN_NOTE_FRAMES = 16  # a note is at least 80 ms of voiced frames (shorter runs are glides and ornaments)


@dataclasses.dataclass(frozen=True)
class NoteEdit:
    """One note's edit, on top of the global ones: its pitch moved, its vibrato and drift scaled,
    its length stretched (the next note's start moves with its end)."""
    index: int  # which note (`Note.index`)
    semitones: float = 0.0  # pitch move, -24..24 (fractions allowed)
    vibrato_pct: float = 100.0  # 0..200 of this note's vibrato
    drift_pct: float = 100.0  # 0..200 of this note's drift
    length_pct: float = 100.0  # 50..200 of its duration

    def __post_init__(self):
        if not isinstance(self.index, int) or isinstance(self.index, bool) or self.index < 0:
            raise ValueError(f"a note edit's index is {self.index!r}; it must be a note's number (0, 1, ...)")
        for name, (lo, hi) in NOTE_RANGES.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                    and lo <= value <= hi):
                raise ValueError(f"note {self.index}'s {name} = {value!r}; it must be a number in {lo:g}..{hi:g}")

    @property
    def is_identity(self) -> bool:
        return (self.semitones, self.vibrato_pct, self.drift_pct, self.length_pct) == (0.0, 100.0, 100.0, 100.0)

    def describe(self) -> str:
        parts = [f"{self.semitones:+g} st" if self.semitones else "",
                 f"vibrato {self.vibrato_pct:g} %" if self.vibrato_pct != 100 else "",
                 f"drift {self.drift_pct:g} %" if self.drift_pct != 100 else "",
                 f"length {self.length_pct:g} %" if self.length_pct != 100 else ""]
        return f"note {self.index + 1} " + " ".join(p for p in parts if p)


@dataclasses.dataclass(frozen=True)
class Note:
    """A sung note found in the F0 (`find_notes`): frames [start, stop) of the analysis."""
    index: int
    segment: int  # its segment in the pitch layers ("segment")
    start: int  # first voiced frame
    stop: int  # one past the last voiced frame
    cents: float  # its level (the note layer), cents re A4

    @property
    def midi(self) -> float:
        return 69.0 + self.cents / 100.0


@dataclasses.dataclass(frozen=True)
class Edits:
    """A set of edits; each field means what its `EDIT_SPEC` entry says. Checked when made: an
    `Edits` that exists is valid (ValueError otherwise), so nothing downstream checks again."""
    transpose_semitones: float = 0.0
    transpose_cents: float = 0.0
    pitch_correction_pct: float = 0.0
    scale_key: str = "C"
    scale_mode: str = "chromatic"
    vibrato_pct: float = 100.0
    drift_pct: float = 100.0
    formant_shift: float = 1.0
    brightness_db_per_oct: float = 0.0
    breathiness_db: float = 0.0
    gain_db: float = 0.0
    scale_degrees: int = 0
    notes: tuple[NoteEdit, ...] = ()  # per-note edits, one per note at most, by index; identities dropped

    def __post_init__(self):
        for spec in EDIT_SPEC:
            spec.check(getattr(self, spec.name))
        notes = tuple(self.notes)
        if not all(isinstance(n, NoteEdit) for n in notes):
            raise ValueError("notes must be NoteEdit values")
        indices = [n.index for n in notes]
        if len(set(indices)) != len(indices):
            raise ValueError("two edits of the same note; give one NoteEdit per note")
        object.__setattr__(self, "notes", tuple(sorted((n for n in notes if not n.is_identity),
                                                       key=lambda n: n.index)))

    def note(self, index: int) -> NoteEdit:
        """This edit of note `index` (the identity when it has none)."""
        return next((n for n in self.notes if n.index == index), NoteEdit(index))

    def with_note(self, edit: NoteEdit) -> "Edits":
        """These edits with `edit` in place of note edit.index's (an identity removes it)."""
        return dataclasses.replace(self, notes=tuple(n for n in self.notes if n.index != edit.index) + (edit,))

    @classmethod
    def from_values(cls, names, values, notes: tuple[NoteEdit, ...] = ()) -> "Edits":
        """Edits from controls' values in the order of `names` (fields not named keep their
        defaults), with these note edits; whole-number fields are rounded (a slider may send
        2.0). ValueError names the first value out of range."""
        names, values = tuple(names), tuple(values)
        if len(names) != len(values):
            raise ValueError(f"expected {len(names)} edit values, got {len(values)}")
        fields = {}
        for name, value in zip(names, values):
            if name not in SPEC:
                raise ValueError(f"no edit named {name!r}")
            if SPEC[name].whole and isinstance(value, float) and math.isfinite(value):
                value = int(round(value))
            fields[name] = value
        return cls(**fields, notes=tuple(notes))

    def values(self, names) -> tuple:
        """The values of the fields `names`, in that order (what a tab's controls show)."""
        return tuple(getattr(self, n) for n in names)

    def key(self, *changes: str) -> tuple:
        """The values of the edits that change any of `changes` (PITCH, TRACT, MIX): two edits
        with the same key render that much the same. The scale counts for PITCH only where a
        correction or a move along the scale uses it."""
        scale_used = bool(self.pitch_correction_pct or self.scale_degrees)
        key = tuple(getattr(self, s.name) for s in EDIT_SPEC if s.changes in changes
                    and (scale_used or s.name not in ("scale_key", "scale_mode")))
        if PITCH in changes:  # a note's pitch, vibrato, drift and timing move the F0
            key += (self.notes,)
        elif TRACT in changes:  # a note's timing moves the tract and the noise too
            key += (tuple((n.index, n.length_pct) for n in self.notes if n.length_pct != 100.0),)
        return key

    @property
    def changes_pitch(self) -> bool:
        return not self.same_pitch_as(NO_EDITS)

    def same_pitch_as(self, other: "Edits") -> bool:
        """Whether both edits give the same F0 (what a pitch plot shows); timbre and level may differ."""
        return self.key(PITCH) == other.key(PITCH)

    def describe(self) -> str:
        """The edits that differ from the defaults, in a person's words."""
        default, parts = NO_EDITS, [n.describe() for n in self.notes]
        scale = f"{self.scale_key} {self.scale_mode}"
        for spec in EDIT_SPEC:
            value = getattr(self, spec.name)
            if spec.choices or value == getattr(default, spec.name):
                continue
            label = spec.label.split(" (")[0].lower()
            shown = f"{value:+g}" if spec.minimum < 0 else f"{value:g}"
            in_scale = f" in {scale}" if spec.name in ("pitch_correction_pct", "scale_degrees") else ""
            parts.insert(len(parts) - len(self.notes), f"{label} {shown}{spec.unit}{in_scale}")
        return ", ".join(parts) or "none (the resynthesized original)"


NO_EDITS = Edits()  # the defaults: the voice as analysed

# "Change gender" and friends: pitch and formants move together (Praat's "Change gender").
PRESETS = {
    "original": NO_EDITS,
    "male -> female": Edits(transpose_semitones=9.0, formant_shift=1.18),
    "female -> male": Edits(transpose_semitones=-9.0, formant_shift=0.85),
    "child": Edits(transpose_semitones=12.0, formant_shift=1.3, brightness_db_per_oct=1.0),
    "giant": Edits(transpose_semitones=-12.0, formant_shift=0.75),
    "whisper-ish": Edits(breathiness_db=15.0, brightness_db_per_oct=-1.0),
}


# ---- pitch layers --------------------------------------------------------------------------

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
    segment = _note_segments(smooth, params.voiced > 0.5)
    sums = np.bincount(segment, weights=smooth)
    counts = np.bincount(segment)
    note = (sums / counts)[segment]  # piecewise constant: the mean of `smooth` over each segment
    return {"note": note, "drift": smooth - note, "vibrato": cents - smooth, "segment": segment}


def _note_segments(smooth: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """(T,) int: the note segment of every frame (a voiced run starts one, and so does the
    smoothed curve leaving the running note by more than NOTE_BREAK_CENTS)."""
    seg_id = np.zeros(len(smooth), dtype=np.int64)
    seg, start = 0, 0
    for t in range(1, len(smooth)):
        new_run = voiced[t] and not voiced[t - 1]
        leaves = abs(smooth[t] - np.median(smooth[start:t])) > NOTE_BREAK_CENTS if t - start < 400 \
            else abs(smooth[t] - np.median(smooth[t - 400:t])) > NOTE_BREAK_CENTS
        if new_run or leaves:
            seg, start = seg + 1, t
        seg_id[t] = seg
    return seg_id


def find_notes(layers: dict, voiced: np.ndarray) -> list[Note]:
    """The notes of a voice (its `pitch_layers` and voicing (T,)): each segment with at least
    MIN_NOTE_FRAMES voiced frames, from its first to its last voiced frame, numbered in time."""
    segment, on = layers["segment"], np.asarray(voiced) > 0.5
    notes = []
    for seg in np.unique(segment[on]):
        frames = np.nonzero(on & (segment == seg))[0]
        if len(frames) >= MIN_NOTE_FRAMES:
            notes.append(Note(index=len(notes), segment=int(seg), start=int(frames[0]), stop=int(frames[-1]) + 1,
                              cents=float(layers["note"][frames[0]])))
    return notes


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
    drift_scale, vibrato_scale = edits.drift_pct / 100.0, edits.vibrato_pct / 100.0
    if edits.notes:  # per note, on top: (T,) arrays instead of the global numbers
        by_index = {n.index: n for n in find_notes(layers, params.voiced)}
        drift_scale, vibrato_scale = np.full(len(note), drift_scale), np.full(len(note), vibrato_scale)
        note = note.copy()
        for ne in edits.notes:
            if ne.index not in by_index:
                raise ValueError(f"note {ne.index + 1} is not in this voice (it has {len(by_index)} notes)")
            frames = layers["segment"] == by_index[ne.index].segment
            note[frames] += 100.0 * ne.semitones
            drift_scale[frames] *= ne.drift_pct / 100.0
            vibrato_scale[frames] *= ne.vibrato_pct / 100.0
    cents = (note + layers["drift"] * drift_scale + layers["vibrato"] * vibrato_scale
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


def apply_edits(params: VoiceParams, edits: Edits, layers: dict | None = None, mix: bool = True) -> VoiceParams:
    """All edits, in a fixed order; returns a new `VoiceParams` and leaves `params` untouched.

    mix=False leaves out the MIX edits (breathiness and gain), which a session applies when it
    mixes the rendered parts instead of re-rendering them.
    """
    layers = layers if layers is not None or not edits.notes else pitch_layers(params)
    out = edit_pitch(params, edits, layers)
    out = shift_formants(out, edits.formant_shift)
    changes = {}
    if edits.brightness_db_per_oct:
        changes["tilt_db_per_oct"] = np.clip(out.tilt_db_per_oct + edits.brightness_db_per_oct, -24, 24)
    if mix and edits.breathiness_db:
        changes["noise_db"] = np.clip(out.noise_db + edits.breathiness_db, -200, 100)
    if mix and edits.gain_db:
        changes["gain_db"] = np.clip(out.gain_db + edits.gain_db, -200, 200)
    out = out.replace(**{k: v.astype(np.float32) for k, v in changes.items()}) if changes else out
    stretched = [n for n in edits.notes if n.length_pct != 100.0]
    return stretch_notes(out, find_notes(layers, params.voiced), stretched) if stretched else out


def time_map(n_frames: int, notes: list[Note], stretches: list[NoteEdit]) -> np.ndarray:
    """(n_frames,) float: for each output frame, the input frame it shows (a piecewise-linear warp).

    A note stretched by length_pct keeps its start; its end moves, and what followed it, up to
    the end of the first later note that still ends after the new end (or of the clip), is
    squeezed or spread to fill the rest, so nothing after that moves. (A note cannot outgrow the
    clip: it ends 2 frames before the clip does at the latest.)"""
    knots_out, knots_in = [0.0, float(n_frames - 1)], [0.0, float(n_frames - 1)]
    by_index = {n.index: n for n in notes}
    for edit in stretches:
        if edit.index not in by_index:
            raise ValueError(f"note {edit.index + 1} is not in this voice (it has {len(notes)} notes)")
        note = by_index[edit.index]
        end_out = note.start + (note.stop - note.start) * edit.length_pct / 100.0
        later = [n.stop for n in notes if n.index > edit.index and n.stop - 2 >= end_out]
        fixed = float(later[0] if later else n_frames - 1)
        end_out = min(end_out, fixed - 2)
        knots_out += [float(note.start), end_out, fixed]
        knots_in += [float(note.start), float(note.stop), fixed]
    order = np.argsort(knots_out, kind="stable")
    out, src = np.asarray(knots_out)[order], np.asarray(knots_in)[order]
    keep = np.concatenate([[True], np.diff(out) > 0])  # a knot repeated (a note's start after another's end)
    return np.interp(np.arange(n_frames, dtype=np.float64), out[keep], src[keep])


def stretch_notes(params: VoiceParams, notes: list[Note], stretches: list[NoteEdit]) -> VoiceParams:
    """Every per-frame track read through `time_map` (linear interpolation between frames): notes
    longer or shorter, the clip as long as it was."""
    where = time_map(params.n_frames, notes, stretches)
    lo = np.clip(np.floor(where).astype(np.int64), 0, params.n_frames - 1)
    hi = np.minimum(lo + 1, params.n_frames - 1)
    frac = (where - lo).astype(np.float32)

    def warp(x: np.ndarray) -> np.ndarray:
        w = frac.reshape((-1,) + (1,) * (x.ndim - 1))
        return (x[lo] * (1 - w) + x[hi] * w).astype(np.float32)
    fields = ("f0_hz", "voiced", "lsf_rad", "gain_db", "harmonic_db", "noise_db", "tilt_db_per_oct", "formant_ratio")
    return params.replace(**{name: warp(getattr(params, name)) for name in fields})
