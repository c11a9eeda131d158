"""Planning and sampling (hiaudio/studio/compose.py): the plan's labels, the sampler's constraints
across windows, prompts and the key read off a MIDI opening, the shipped composers."""
import numpy as np
import pretty_midi
import pytest
import torch
from music21 import converter

from hiaudio import checkpoints
from hiaudio.data import sequence
from hiaudio.data.chorales import PARTS, parse_chorale
from hiaudio.data.tokens import HOLD, VOICE_RANGES, tokenize
from hiaudio.dsp import units
from hiaudio.models.composer import PE_KINDS
from hiaudio.studio import compose, compose_io
from hiaudio.studio import compose_metrics as cm
from tests.composer_fixture import chorale_grid, tiny

SHIPPED = [pe for pe in PE_KINDS if (checkpoints.ASSETS_DIR / compose.asset_name(pe)).exists()]


@pytest.fixture(scope="module")
def grid():
    return chorale_grid()


def test_plan_puts_fermatas_at_phrase_ends_and_rejects_bad_layouts():
    plan = compose.Plan.make(10, 3, "F# minor")
    assert plan.bars_per_phrase == (4, 3, 3) and (plan.tonic_pc, plan.mode) == (6, "minor")
    steps = plan.steps()
    ends = np.cumsum(plan.bars_per_phrase) * 16
    assert steps.n_steps == 160 and np.flatnonzero(np.diff(steps.phrase)).tolist() == [e - 1 for e in ends[:-1]]
    assert steps.fermata.sum() == 3 * 8 and all(steps.fermata[e - 8:e].all() for e in ends)
    assert steps.to_end[0] == 63 and steps.to_end[63] == 0 and steps.to_end[64] == 47  # 16ths left in the phrase
    np.testing.assert_array_equal(sequence.steps_to_phrase_end(np.array([0, 0, 0, 1, 2, 2])), [2, 1, 0, 0, 1, 0])
    assert sequence.token_labels(steps)["to_end"].max() == sequence.LABEL_SIZES["to_end"] - 1  # clipped at 32
    for bad in [dict(n_bars=0), dict(n_bars=65), dict(n_bars=4, n_phrases=5), dict(n_bars=4, key="H major")]:
        with pytest.raises(ValueError):
            compose.Plan.make(**bad)


def test_sampling_keeps_voices_in_range_across_windows_and_writes_midi_and_xml(tmp_path):
    model = tiny("learned", block_size=1 + 4 * 32)  # 2-bar windows: 6 bars go through 4 re-encodings
    plan = compose.Plan.make(6, 3, "D major")
    g = compose.sample(model, plan, 1.3, 0, torch.Generator().manual_seed(1))
    assert g.shape == (96, 4)
    again = compose.sample(model, plan, 1.3, 0, torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(g, again)  # the seed decides
    assert not (g[0] == HOLD).any()  # nothing to hold at the start
    pm = pretty_midi.PrettyMIDI(str(compose_io.write_midi(g, tmp_path / "out.mid")))
    assert [i.name for i in pm.instruments] == [p.capitalize() for p in PARTS]
    for inst, part in zip(pm.instruments, PARTS):
        lo, hi = VOICE_RANGES[part]
        assert inst.notes and all(lo <= n.pitch <= hi for n in inst.notes)
    assert cm.voice_leading_faults(g)["out_of_range"] == 0
    score = converter.parse(str(compose_io.write_musicxml(g, plan, tmp_path / "out.musicxml")))
    assert len(score.parts) == 4 and score.parts[0].flatten().notes[0].pitch.midi == pretty_midi.PrettyMIDI(
        str(tmp_path / "out.mid")).instruments[0].notes[0].pitch
    fermatas = [n for n in score.parts[0].flatten().notes if n.expressions]
    assert 1 <= len(fermatas) <= 3 * 2  # one per phrase end (a tied note may carry it twice)


def test_keep_order_forbids_crossings():
    model = tiny("s-ape")
    plan = compose.Plan.make(4, 2, "C major")
    free = compose.sample(model, plan, 1.5, 0, torch.Generator().manual_seed(0))
    kept = compose.sample(model, plan, 1.5, 0, torch.Generator().manual_seed(0), keep_order=True)
    assert cm.voice_leading_faults(free)["crossings"] > 10  # an untrained model crosses all the time
    assert cm.voice_leading_faults(kept)["crossings"] == 0


def test_a_midi_prompt_is_read_back_and_continued(grid, tmp_path):
    first_bar = int(np.flatnonzero(grid.position == 0)[0])  # start on a bar line, as a plan does
    opening = sequence.from_sequence(sequence.to_sequence(grid, first_bar, 48).tokens)
    path = compose_io.write_midi(opening, tmp_path / "prompt.mid")
    read = compose_io.read_midi_prompt(path, 64)
    np.testing.assert_array_equal(read[:len(opening)], opening)
    plan = compose.Plan.make(5, 2, "C major")
    g = compose.sample(tiny("s-ape"), plan, 1.0, 0, torch.Generator().manual_seed(0), read)
    np.testing.assert_array_equal(g[:len(read)], read)
    assert g.shape == (80, 4)


@pytest.mark.parametrize("piece_id, key", [("bwv116.6", "A major"), ("bwv153.5", "A minor"), ("bwv177.5", "G minor")])
def test_continuing_a_midi_file_reads_its_key_off_the_opening(piece_id, key, tmp_path):
    # Krumhansl-Schmuckler on a 4-bar opening: the annotated key in 23 of the 39 test chorales, a
    # close key (relative, dominant, subdominant) in 32 -- these three are read exactly
    g = tokenize(parse_chorale(piece_id))
    first_bar = int(np.flatnonzero(g.position == 0)[0])
    opening = sequence.from_sequence(sequence.to_sequence(g, first_bar, 64).tokens)
    path = compose_io.write_midi(opening, tmp_path / "opening.mid")
    assert units.key_name(*cm.estimate_key(compose_io.read_midi_prompt(path, 64))) == key
    assert units.key_name(g.key_tonic_pc, g.key_mode) == key  # music21's analysis of the whole piece agrees
    _, plan = compose.compose("s-ape", n_bars=5, key=None, prompt_midi=path)  # what --key auto does
    assert plan.key_name == key


def test_every_encoding_ships_with_a_card():
    assert SHIPPED == list(PE_KINDS)
    cards = (checkpoints.ASSETS_DIR / "MODELS.md").read_text()
    for pe in PE_KINDS:
        path = checkpoints.ASSETS_DIR / compose.asset_name(pe)
        assert path.stat().st_size < 3 * 2**20 and f"card:{path.name}" in cards
        assert compose.load_composer(pe).config.pe == pe
