"""Units and music constants: Hz / MIDI / cents, note and key names, scales, key profiles.

Every conversion between pitch units in hiaudio goes through here (12-TET, A4 = 440 Hz).
The functions take numpy arrays, torch tensors or plain numbers and return the same kind.
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

A4_HZ = 440.0
A4_MIDI = 69.0

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")  # pitch labels, scale keys
# a key's tonic as key signatures spell it (B-flat major, not A-sharp major)
KEY_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_SPELLED_PC = {"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "E#": 5, "Fb": 4, "B#": 0}
MODES = ("major", "minor")

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

# Krumhansl & Kessler (1982) key profiles, tonic first
KEY_PROFILES = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}


def _log2(x):
    if isinstance(x, torch.Tensor):
        return torch.log2(x)
    return np.log2(x) if isinstance(x, np.ndarray) else math.log2(x)


def midi_to_hz(midi):
    """MIDI note number (fractional allowed) -> Hz."""
    if isinstance(midi, (list, tuple)):
        midi = np.asarray(midi, dtype=np.float64)
    return A4_HZ * 2.0 ** ((midi - A4_MIDI) / 12.0)


def hz_to_midi(f_hz):
    """Hz (> 0) -> fractional MIDI note number."""
    return A4_MIDI + 12.0 * _log2(f_hz / A4_HZ)


def cents_between(f_hz, ref_hz):
    """The interval from ref_hz up to f_hz, in cents (both > 0)."""
    return 1200.0 * _log2(f_hz / ref_hz)


def hz_to_cents(f_hz, ref_hz: float = A4_HZ):
    """Cents above ref_hz (A4 by default)."""
    if not isinstance(f_hz, torch.Tensor):
        f_hz = np.asarray(f_hz, dtype=np.float64)
    return cents_between(f_hz, ref_hz)


def cents_to_hz(cents, ref_hz: float = A4_HZ):
    """Cents above ref_hz (A4 by default) -> Hz."""
    if isinstance(cents, (list, tuple)):
        cents = np.asarray(cents, dtype=np.float64)
    return ref_hz * 2.0 ** (cents / 1200.0)


def note_name(f_hz: float) -> str:
    """The nearest 12-TET note, e.g. "G#2"; "" for a gap (0, negative or not finite)."""
    if not np.isfinite(f_hz) or f_hz <= 0:
        return ""
    return midi_name(int(round(hz_to_midi(float(f_hz)))))


def midi_name(midi: int) -> str:
    """"C4" for 60."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


# ---- keys ------------------------------------------------------------------------------------

def parse_key(text: str) -> tuple[int, str]:
    """"G major", "f# minor", "Bb", "c" (lower case: minor) -> (tonic pitch class, mode)."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(major|minor|maj|min|m)?\s*", text or "")
    if not m:
        raise ValueError(f"cannot read the key {text!r}; write it like 'G major', 'F# minor' or 'Bb'")
    letter, accidental, mode = m.groups()
    name = letter.upper() + accidental
    pc = _SPELLED_PC.get(name, KEY_TONIC_NAMES.index(letter.upper())
                         + (1 if accidental == "#" else -1 if accidental == "b" else 0))
    if mode is None:
        mode = "minor" if letter.islower() else "major"
    mode = "minor" if mode in ("minor", "min", "m") else "major"
    return pc % 12, mode


def key_name(tonic_pc: int, mode: str) -> str:
    """"Bb major" for (10, "major")."""
    return f"{KEY_TONIC_NAMES[tonic_pc % 12]} {mode}"


def estimate_key(pitch_class_weights: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, mode) whose Krumhansl-Kessler profile correlates best with a (12,)
    pitch-class histogram (Krumhansl-Schmuckler); (0, "major") for an empty one."""
    h = np.asarray(pitch_class_weights, dtype=np.float64)
    if h.sum() == 0:
        return 0, "major"
    best, key = -np.inf, (0, "major")
    for mode in MODES:
        for tonic in range(12):
            r = np.corrcoef(h, np.roll(KEY_PROFILES[mode], tonic))[0, 1]
            if r > best:
                best, key = r, (tonic, mode)
    return key
