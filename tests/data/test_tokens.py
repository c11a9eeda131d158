"""hiaudio/data/tokens.py: chorales as grid tokens."""
import numpy as np
import pytest

from hiaudio.data.chorales import PARTS
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, detokenize, tokenize, transpose, transpositions


def test_tokens_round_trip_and_label_the_structure(bwv269):
    grid = tokenize(bwv269)
    assert grid.tokens.shape == (round(bwv269.duration_q * 4), 4)
    notes = detokenize(grid.tokens)
    for part in PARTS:
        assert notes[part] == [(n.pitch, n.onset_q, n.duration_q) for n in bwv269.parts[part]]
    # the pickup: beat 3 of bar 0, i.e. eight 16ths into the bar; bar 1 starts at step 4
    assert (grid.bar[0], grid.position[0], grid.beat[0]) == (0, 8, 2)
    assert (grid.bar[4], grid.position[4], grid.beat[4]) == (1, 0, 0)
    assert set(np.unique(grid.position)) == set(range(12))
    # phrases: the index rises by one at each phrase end; fermata steps sit just before
    first_end = round(bwv269.phrase_ends_q[0] * 4)
    assert grid.phrase[first_end - 1] == 0 and grid.phrase[first_end] == 1
    assert grid.phrase[-1] == len(bwv269.phrase_ends_q) - 1 and grid.fermata[first_end - 1]
    # tokens: an onset then holds; rests are REST
    s = grid.tokens[:, 0]
    assert s[0] == PITCH_OFFSET + bwv269.parts["soprano"][0].pitch
    assert set(np.unique(s[s < PITCH_OFFSET])) <= {REST, HOLD}


def test_transposition_moves_pitches_and_key_only(bwv269):
    grid = tokenize(bwv269)
    up = transpose(grid, 2)
    assert up.key_tonic_pc == (grid.key_tonic_pc + 2) % 12 and np.array_equal(up.bar, grid.bar)
    p, q = grid.pitches(), up.pitches()
    assert np.array_equal(q[p >= 0], p[p >= 0] + 2) and np.array_equal(q < 0, p < 0)
    assert np.array_equal(transpose(up, -2).tokens, grid.tokens)
    shifts = transpositions(grid)
    assert 0 in shifts and len(shifts) > 3
    with pytest.raises(ValueError, match="MIDI range"):
        transpose(grid, 60)


def test_detokenize_ignores_a_hold_after_a_rest():
    tokens = np.array([[REST] * 4, [HOLD] * 4, [PITCH_OFFSET + 60] * 4, [HOLD] * 4, [REST] * 4])
    assert detokenize(tokens)["alto"] == [(60, 0.5, 0.5)]
