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


# ---- notes ---------------------------------------------------------------------------------------

PHRASE = [(60, 0.10, 0.50), (64, 0.70, 0.50), (67, 1.30, 0.60)]  # C4 E4 G4 with rests between


@pytest.fixture(scope="module")
def phrase():
    """Three sung notes (our voice model, no vibrato or drift: the F0 is the score's) and their
    analysis-free parameters: the notes are found exactly where they were sung."""
    from hiaudio.voice import Singer, sing

    params = sing([(p, s, d, 0.8) for p, s, d in PHRASE], SR, Singer(vibrato_cents=0, drift_cents=0,
                                                                    portamento_s=0.0), seed=0)
    layers = edit.pitch_layers(params)
    return params, layers, edit.find_notes(layers, params.voiced)


def _note_cents(params, note) -> float:
    """The median F0 (cents re A4) over the middle half of a note's frames."""
    a, b = note.start + (note.stop - note.start) // 4, note.stop - (note.stop - note.start) // 4
    return float(np.median(units.hz_to_cents(params.f0_hz[a:b])))


def test_notes_are_found_where_they_were_sung(phrase):
    params, layers, notes = phrase
    frame_s = params.hop_samples / params.sample_rate
    assert [round(n.midi) for n in notes] == [60, 64, 67]
    for note, (_, start_s, dur_s) in zip(notes, PHRASE):
        assert abs(note.start * frame_s - start_s) < 0.03 and abs(note.stop * frame_s - (start_s + dur_s)) < 0.03


def test_a_note_edit_moves_that_note_and_leaves_its_neighbours(phrase):
    params, layers, notes = phrase
    out = edit.apply_edits(params, edit.Edits(notes=(edit.NoteEdit(1, semitones=2.0),)), layers)
    moved = [_note_cents(out, n) - _note_cents(params, n) for n in notes]
    assert moved[1] == pytest.approx(200.0, abs=1.0)
    assert abs(moved[0]) < 1.0 and abs(moved[2]) < 1.0
    # global edits still apply on top
    both = edit.apply_edits(params, edit.Edits(transpose_semitones=-1, notes=(edit.NoteEdit(1, semitones=2.0),)), layers)
    assert _note_cents(both, notes[1]) - _note_cents(params, notes[1]) == pytest.approx(100.0, abs=1.0)
    assert _note_cents(both, notes[0]) - _note_cents(params, notes[0]) == pytest.approx(-100.0, abs=1.0)


def test_a_stretched_note_keeps_its_start_and_the_clip_its_length(phrase):
    params, layers, notes = phrase
    out = edit.apply_edits(params, edit.Edits(notes=(edit.NoteEdit(0, length_pct=150.0),)), layers)
    assert out.n_frames == params.n_frames
    # the notes found again (longer than 0.1 s: the squeezed rest may leave a short glide)
    after = [n for n in edit.find_notes(edit.pitch_layers(out), out.voiced) if n.stop - n.start > 20]
    before_len = notes[0].stop - notes[0].start
    assert abs(after[0].start - notes[0].start) <= 1
    # (found notes end where voicing fades below 0.5: the release ramp is stretched with the note)
    assert after[0].stop - after[0].start == pytest.approx(1.5 * before_len, rel=0.06)
    where = edit.time_map(params.n_frames, notes, [edit.NoteEdit(0, length_pct=150.0)])
    start, stop = notes[0].start, notes[0].stop
    end_out = start + 1.5 * (stop - start)  # where the note's last input frame now sits
    assert where[start] == start and where[int(end_out)] <= stop <= where[int(end_out) + 1]
    assert np.all(np.diff(where) > 0) and where[notes[1].stop] == notes[1].stop  # monotone; the next note ends in time
    assert [round(n.midi) for n in after] == [60, 64, 67]
    assert abs(after[1].stop - notes[1].stop) <= 1 and abs(after[2].start - notes[2].start) <= 1  # the rest in time
    shorter = edit.apply_edits(params, edit.Edits(notes=(edit.NoteEdit(2, length_pct=50.0),)), layers)
    last = [n for n in edit.find_notes(edit.pitch_layers(shorter), shorter.voiced) if n.stop - n.start > 20][2]
    assert last.stop - last.start == pytest.approx(0.5 * (notes[2].stop - notes[2].start), rel=0.1)


def test_note_edits_are_checked_and_identities_dropped():
    with pytest.raises(ValueError, match="length_pct"):
        edit.NoteEdit(0, length_pct=300.0)
    with pytest.raises(ValueError, match="same note"):
        edit.Edits(notes=(edit.NoteEdit(1, semitones=1.0), edit.NoteEdit(1, semitones=2.0)))
    e = edit.Edits(notes=(edit.NoteEdit(3), edit.NoteEdit(0, drift_pct=50.0)))
    assert e.notes == (edit.NoteEdit(0, drift_pct=50.0),)
    assert e.with_note(edit.NoteEdit(0)).notes == () and e.note(5) == edit.NoteEdit(5)
    assert "note 1 drift 50 %" in e.describe()
    assert e.key(edit.PITCH) != edit.NO_EDITS.key(edit.PITCH)
    assert e.key(edit.TRACT) == edit.NO_EDITS.key(edit.TRACT)  # only a note's length moves the tract


def test_an_edit_of_a_note_the_voice_lacks_is_refused(phrase):
    params, layers, _ = phrase
    with pytest.raises(ValueError, match="note 9 is not in this voice"):
        edit.apply_edits(params, edit.Edits(notes=(edit.NoteEdit(8, semitones=1.0),)), layers)
