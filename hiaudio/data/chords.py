"""A chord label per grid step by template matching on the four sounding pitch classes.

Templates: major, minor and diminished triads and the dominant seventh on each of the 12 roots
(48 chords), plus `NO_CHORD` (nothing sounds). A step's pitch classes score +1 per pitch class
in the template and -1 per sounding pitch class outside it; the best template wins, ties going
to the chord whose root is in the bass, then to the simpler chord (triad before seventh). This
is the plain template matcher of chord-recognition baselines (Fujishima 1999), enough to name
the harmony of four-part writing; passing tones simply lower the score of the right chord.

    chords = chord_labels(grid.pitches())   # (N,) int: root * 4 + quality, or NO_CHORD
    chord_name(chords[0])                   # "G" / "Em" / "F#dim" / "D7"
"""
from __future__ import annotations

import numpy as np

QUALITIES = ("", "m", "dim", "7")  # suffix of each chord quality in chord names
INTERVALS = ((0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 7, 10))  # semitones above the root, per quality
N_CHORDS = 12 * len(QUALITIES) + 1  # label = root * 4 + quality; the last one is NO_CHORD
NO_CHORD = N_CHORDS - 1
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# (48, 12) template of each chord as a 0/1 vector over pitch classes
TEMPLATES = np.zeros((N_CHORDS - 1, 12), np.float32)
for _root in range(12):
    for _q, _iv in enumerate(INTERVALS):
        TEMPLATES[_root * len(QUALITIES) + _q, [(_root + i) % 12 for i in _iv]] = 1.0


def chord_labels(pitches: np.ndarray) -> np.ndarray:
    """(N, V) MIDI pitch per step and voice (-1 = rest; the last voice is the bass) -> (N,) labels."""
    pitches = np.asarray(pitches)
    sounding = pitches >= 0  # (N, V)
    chroma = np.zeros((pitches.shape[0], 12), np.float32)  # (N, 12) which pitch classes sound
    rows, cols = np.nonzero(sounding)
    chroma[rows, pitches[rows, cols] % 12] = 1.0
    score = chroma @ TEMPLATES.T - chroma @ (1 - TEMPLATES.T)  # (N, 48) matches - extra notes
    # the lowest sounding voice names the bass; a root in the bass wins a tie, then fewer notes
    low = np.where(sounding, pitches, 999).min(1)  # (N,)
    root = np.arange(N_CHORDS - 1) // len(QUALITIES)  # (48,)
    score = score + 0.1 * (root[None, :] == (low % 12)[:, None])
    score = score - 0.01 * TEMPLATES.sum(1)[None, :]
    labels = score.argmax(1)
    labels[~sounding.any(1)] = NO_CHORD
    return labels.astype(np.int16)


def chord_root(label) -> np.ndarray:
    """Root pitch class of each label; 12 for NO_CHORD."""
    label = np.asarray(label)
    return np.where(label == NO_CHORD, 12, label // len(QUALITIES))


def chord_name(label: int) -> str:
    if label == NO_CHORD:
        return "N"
    return PITCH_NAMES[label // len(QUALITIES)] + QUALITIES[label % len(QUALITIES)]
