"""hiaudio/data/chorales.py: chorales parsed from music21's corpus."""
import json

import pytest

from hiaudio.data.chorales import PARTS, Chorale, Note, parse_chorale


def test_parse_keeps_satb_with_bars_keys_and_phrases(bwv269):
    c = bwv269
    assert tuple(c.parts) == PARTS and all(len(v) > 20 for v in c.parts.values())
    lows = {p: min(n.pitch for n in c.parts[p]) for p in PARTS}
    assert lows["soprano"] > lows["alto"] > lows["tenor"] > lows["bass"]
    assert c.time_signatures[0][1:3] == (3, 4)
    assert c.bars[0].number == 0 and c.bars[0].start_q == -2.0  # pickup: beat 3 of a 3/4 bar
    assert (c.key_sharps, c.key_tonic_pc, c.key_mode) == (1, 7, "major")  # G major
    assert len(c.phrase_ends_q) == 6 and c.phrase_ends_q[-1] == c.duration_q
    # every phrase end is the end of a soprano note marked with a fermata
    ends = {n.end_q for n in c.parts["soprano"] if n.fermata}
    assert set(c.phrase_ends_q) <= ends | {c.duration_q}
    assert Chorale.from_json(json.loads(json.dumps(c.to_json()))) == c


def test_parse_refuses_scores_that_are_not_satb():
    with pytest.raises(ValueError, match="not exactly S, A, T, B"):
        parse_chorale("bwv1.6")  # a horn part above the four voices


def test_notes_are_named_tuples():
    n = Note(60, 1.0, 0.5, False)
    assert n.end_q == 1.5 and list(n) == [60, 1.0, 0.5, False]
