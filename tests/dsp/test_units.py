"""hiaudio/dsp/units.py: unit conversions and keys, known answers."""
import numpy as np
import pytest
import torch

from hiaudio.dsp import units


def test_pitch_units_known_answers_on_numbers_arrays_and_tensors():
    assert units.midi_to_hz(69) == 440.0 and units.midi_to_hz(57) == 220.0
    assert units.hz_to_midi(261.6255653005986) == pytest.approx(60.0)
    np.testing.assert_allclose(units.hz_to_cents(np.array([440.0, 880.0, 220.0])), [0.0, 1200.0, -1200.0])
    np.testing.assert_allclose(units.cents_to_hz([0.0, 700.0]), [440.0, 440.0 * 2 ** (7 / 12)])
    t = units.cents_between(torch.tensor([330.0]), 220.0)
    assert isinstance(t, torch.Tensor) and float(t) == pytest.approx(701.955, abs=1e-3)  # a just fifth
    x = np.geomspace(50, 2000, 7)
    np.testing.assert_allclose(units.midi_to_hz(units.hz_to_midi(x)), x)
    np.testing.assert_allclose(units.cents_to_hz(units.hz_to_cents(x, 100.0), 100.0), x)


def test_note_names():
    assert units.note_name(440.0) == "A4" and units.note_name(261.6) == "C4" and units.note_name(103.8) == "G#2"
    assert units.note_name(0.0) == "" and units.note_name(float("nan")) == ""


@pytest.mark.parametrize("text, key", [("G major", (7, "major")), ("f# minor", (6, "minor")), ("Bb", (10, "major")),
                                       ("c", (0, "minor")), ("Eb min", (3, "minor")), ("B#", (0, "major"))])
def test_parse_key(text, key):
    assert units.parse_key(text) == key


def test_parse_key_refuses_nonsense_and_key_names_round_trip():
    with pytest.raises(ValueError, match="cannot read the key"):
        units.parse_key("H major")
    for pc in range(12):
        for mode in units.MODES:
            assert units.parse_key(units.key_name(pc, mode)) == (pc, mode)
    assert units.key_name(10, "major") == "Bb major"


def test_estimate_key_finds_a_scale_and_its_tonic_weight():
    major = np.zeros(12)
    major[[0, 2, 4, 5, 7, 9, 11]] = 1.0
    major[[0, 7]] += 2.0  # tonic and dominant sound most
    assert units.estimate_key(np.roll(major, 2)) == (2, "major")  # D major
    minor = np.zeros(12)
    minor[[9, 11, 0, 2, 4, 5, 8]] = 1.0
    minor[[9, 4]] += 2.0
    assert units.estimate_key(minor) == (9, "minor")  # A harmonic minor
    assert units.estimate_key(np.zeros(12)) == (0, "major")
