"""The composer's sequences (hiaudio/data/sequence.py): step-major tokens behind a key token,
windows, and the labels each token carries."""
import numpy as np
import pytest

from hiaudio.data import chords, sequence
from hiaudio.data.chorales import PARTS, parse_chorale
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, detokenize
from tests.composer_fixture import chorale_grid


@pytest.fixture(scope="module")
def grid():
    return chorale_grid()


def test_chorale_survives_grid_and_sequence_round_trip(grid):
    chorale = parse_chorale("bwv10.7")
    seq = sequence.to_sequence(grid)
    assert seq.tokens.shape == (1 + 4 * grid.n_steps,) and seq.tokens[0] == sequence.key_token(
        chorale.key_tonic_pc, chorale.key_mode)
    notes = detokenize(sequence.from_sequence(seq.tokens))
    for part in PARTS:
        want = [(n.pitch, n.onset_q, n.duration_q) for n in chorale.parts[part]]
        assert notes[part] == want
    # step-major: token 1 + 4k + v is voice v of step k
    k, v = 37, 2
    assert seq.tokens[1 + 4 * k + v] == grid.tokens[k, v] and seq.labels["voice"][1 + 4 * k + v] == v
    assert seq.labels["bar"][1 + 4 * k] == grid.bar[k] - grid.bar[0]


def test_window_keeps_piece_labels_and_turns_held_notes_into_onsets(grid):
    start = int(np.flatnonzero((grid.position == 0) & (grid.tokens == HOLD).any(1))[0])
    seq = sequence.to_sequence(grid, start, 32)
    first = seq.tokens[1:5]
    assert (first >= PITCH_OFFSET).sum() + (first == REST).sum() == 4  # no HOLD opens a window
    np.testing.assert_array_equal(first[grid.tokens[start] == HOLD] - PITCH_OFFSET,
                                  grid.pitches()[start][grid.tokens[start] == HOLD])
    assert seq.labels["bar"][1] == grid.bar[start] - grid.bar[0] > 0


def test_tokens_carry_the_previous_steps_chord(grid):
    seq = sequence.to_sequence(grid)
    step_chords = chords.chord_labels(grid.pitches())
    assert seq.labels["chord"][1] == chords.NO_CHORD
    np.testing.assert_array_equal(seq.labels["chord"][1 + 4 * 10:1 + 4 * 11], step_chords[9])
