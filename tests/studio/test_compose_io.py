"""MIDI in (hiaudio/studio/compose_io.py): a single track dealt to voices, bad files refused."""
import pretty_midi
import pytest

from hiaudio.data.tokens import HOLD, PITCH_OFFSET
from hiaudio.studio import compose_io


def test_single_track_midi_is_dealt_to_voices_from_the_top(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    for p in (72, 67, 64, 48):
        piano.notes.append(pretty_midi.Note(90, p, 0.0, 1.0))  # a half note at 120 qpm
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "chord.mid"))
    read = compose_io.read_midi_prompt(tmp_path / "chord.mid", 16)
    assert read.shape == (8, 4) and read[0].tolist() == [PITCH_OFFSET + p for p in (72, 67, 64, 48)]
    assert (read[1:] == HOLD).all()


def test_corrupt_and_empty_midi_are_refused_with_a_message(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ValueError, match="not a readable MIDI"):
        compose_io.read_midi_prompt(bad, 64)
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(ValueError, match="no pitched notes"):
        compose_io.read_midi_prompt(empty, 64)
