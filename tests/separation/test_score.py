"""hiaudio/separation/score.py: reading scores."""
import sys

import pytest

from hiaudio.separation.score import SeparationError, load_score


def test_load_score_orders_parts_top_down(tmp_path):
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    for pitch in (48, 72, 60):  # bass, soprano, tenor in file order
        inst = pretty_midi.Instrument(0)
        inst.notes = [pretty_midi.Note(80, pitch, 0.0, 1.0)]
        midi.instruments.append(inst)
    midi.write(str(tmp_path / "s.mid"))
    parts = load_score(tmp_path / "s.mid")
    assert [p[0][0] for p in parts] == [72, 60, 48]
    with pytest.raises(SeparationError, match="not MIDI"):
        load_score(tmp_path / "s.txt")


def test_a_missing_score_reader_is_told_apart_from_a_bad_file(tmp_path, monkeypatch):
    (tmp_path / "bad.mid").write_bytes(b"not a midi file")
    with pytest.raises(SeparationError, match="export it again"):
        load_score(tmp_path / "bad.mid")
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(80, 60, 0.0, 1.0)]
    midi.instruments.append(inst)
    midi.write(str(tmp_path / "good.mid"))
    monkeypatch.setitem(sys.modules, "pretty_midi", None)  # as if it were not installed
    with pytest.raises(SeparationError, match="cannot read .mid scores.*requirements"):
        load_score(tmp_path / "good.mid")
