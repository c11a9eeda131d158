"""hiaudio/voice/edit.py: the edits and their specification."""
import math

import numpy as np
import pytest

from hiaudio.dsp import filters
from hiaudio.dsp import units
from hiaudio.voice import analysis, edit, synthesis
from tests import helpers
from tests.helpers import harmonic_voice

SR = 16000


def median_f0(audio, sr=SR):
    return helpers.median_f0(audio, sr)


def test_transpose_moves_f0_and_keeps_duration(vowel):
    audio, _, params = vowel
    out = synthesis.render(edit.apply_edits(params, edit.Edits(transpose_semitones=3)))
    assert len(out) == params.n_samples
    cents = 1200 * math.log2(median_f0(out) / median_f0(synthesis.render(params)))
    assert abs(cents - 300) < 10


def test_formant_shift_moves_the_filter_and_not_f0(vowel):
    params = vowel[2]
    shifted = edit.apply_edits(params, edit.Edits(formant_shift=1.2))
    assert np.array_equal(shifted.f0_hz, params.f0_hz)
    freqs = np.linspace(0, SR / 2, 2049)
    t = params.n_frames // 2
    peaks = []
    for p in (params, shifted):
        mag = synthesis.tract_response_db(p, freqs, [t])[0]
        peaks.append([f for f, _ in filters.formants_from_response(freqs, mag)][:2])
    for before, after in zip(*peaks):
        assert after / before == pytest.approx(1.2, rel=0.06)
    assert abs(math.log2(median_f0(synthesis.render(shifted)) / median_f0(synthesis.render(params)))) * 1200 < 10


def test_vibrato_percent_scales_the_vibrato(vowel):
    params = vowel[2]
    interior = slice(40, -40)

    def depth(p):
        return np.std(edit.pitch_layers(p)["vibrato"][interior])

    flat = edit.apply_edits(params, edit.Edits(vibrato_pct=0))
    double = edit.apply_edits(params, edit.Edits(vibrato_pct=200))
    assert depth(flat) < 0.2 * depth(params)
    assert depth(double) == pytest.approx(2 * depth(params), rel=0.2)
    # the mean pitch is unchanged
    assert np.median(flat.f0_hz) == pytest.approx(np.median(params.f0_hz), rel=0.01)


def test_pitch_correction_pulls_notes_to_the_scale():
    audio, _ = harmonic_voice(440 * 2 ** (0.35 / 12), SR)  # A4 + 35 cents
    params = analysis.analyze(audio, SR)
    half = edit.apply_edits(params, edit.Edits(pitch_correction_pct=50))
    full = edit.apply_edits(params, edit.Edits(pitch_correction_pct=100))
    off = lambda p: np.median(units.hz_to_cents(p.f0_hz[20:-20]))  # cents from A4
    assert off(params) == pytest.approx(35, abs=3)
    assert off(half) == pytest.approx(17.5, abs=3)
    assert off(full) == pytest.approx(0, abs=2)
    # in A minor pentatonic (A C D E G), a note near B (between A and C) goes to the nearer one
    assert edit.nearest_scale_cents(np.array([180.0]), "A", "minor pentatonic")[0] == 300.0


def test_edits_are_pure(vowel):
    params = vowel[2]
    before = params.to_json()
    edit.apply_edits(params, edit.Edits(transpose_semitones=-5, formant_shift=0.8, breathiness_db=6,
                                        brightness_db_per_oct=3, vibrato_pct=0, pitch_correction_pct=100))
    assert params.to_json() == before


def test_transposing_down_fills_the_spectrum(vowel):
    params = vowel[2]
    down = edit.apply_edits(params, edit.Edits(transpose_semitones=-12))
    assert down.n_harmonics >= 2 * params.n_harmonics - 2
    assert down.f0_hz.max() * down.n_harmonics > 0.45 * SR


def test_edits_out_of_range_are_refused():
    with pytest.raises(ValueError, match="formant_shift"):
        edit.Edits(formant_shift=5.0)
    with pytest.raises(ValueError, match="scale_mode"):
        edit.Edits(scale_mode="lydian-ish")
    with pytest.raises(ValueError, match="scale_degrees"):
        edit.Edits(scale_degrees=2.5)  # whole steps only
    with pytest.raises(ValueError, match="transpose_semitones"):
        edit.Edits(transpose_semitones=float("nan"))
    # from a tab's controls: a whole-number field arrives as a float and is rounded
    e = edit.Edits.from_values(("scale_degrees", "gain_db"), (2.0, -3.0))
    assert e.scale_degrees == 2 and isinstance(e.scale_degrees, int) and e.gain_db == -3.0
    with pytest.raises(ValueError, match="expected 2 edit values"):
        edit.Edits.from_values(("scale_degrees", "gain_db"), (2.0,))
