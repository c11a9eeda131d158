"""Chord labels (hiaudio/data/chords.py): known answers."""
import numpy as np

from hiaudio.data import chords


def test_chord_labels_known_answers():
    p = np.array([[72, 67, 64, 48],  # C major, root in the bass
                  [69, 64, 60, 45],  # A minor
                  [71, 65, 62, 55],  # G7 (no fifth)
                  [71, 65, 62, 59],  # B diminished
                  [72, 67, 64, 52],  # C major in first inversion
                  [-1, -1, -1, -1]])
    assert [chords.chord_name(c) for c in chords.chord_labels(p)] == ["C", "Am", "G7", "Bdim", "C", "N"]
