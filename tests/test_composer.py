"""The composer: sequence layout, chord labels, the Transformer's causality for every encoding,
the sampler's constraints, MIDI / MusicXML output and input, metrics, training, CLI and the
studio's Compose tab."""
import json
import subprocess
import sys

import gradio as gr
import numpy as np
import pretty_midi
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

from hiaudio import checkpoints, cli
from hiaudio.data import chords, sequence
from hiaudio.data.chorales import PARTS, parse_chorale
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, VOICE_RANGES, detokenize, tokenize, transpose
from hiaudio.models.composer import NO_DEGREE, PAIR_BIAS_SCALE, PE_KINDS, SRPE_MAX_DIFF, Composer, KVCache, sounding_pitches
from hiaudio.studio import compose
from hiaudio.studio import compose_metrics as cm
from hiaudio.train import composer_task
from hiaudio.ui import compose as ui

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
TINY = {"n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.0}
SHIPPED = [pe for pe in PE_KINDS if (checkpoints.ASSETS_DIR / compose.asset_name(pe)).exists()]


@pytest.fixture(scope="module")
def grid():
    return tokenize(parse_chorale("bwv10.7"))  # 4/4


def tiny(pe, **kw):
    torch.manual_seed(0)
    model = Composer(pe=pe, **{**TINY, **kw}).eval()
    if model.config.voice_pairs:  # trained tables are not zero: let the tests see the bias
        torch.nn.init.normal_(model.pair_bias)
    return model


def batch_of(grid, n_steps=24):
    seq = sequence.to_sequence(grid, 0, n_steps)
    lab = seq.shifted_labels()
    return (torch.from_numpy(seq.tokens[:-1])[None], {k: torch.from_numpy(v)[None] for k, v in lab.items()})


# ---- sequence and labels -----------------------------------------------------------------------

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


def test_chord_labels_known_answers():
    p = np.array([[72, 67, 64, 48],  # C major, root in the bass
                  [69, 64, 60, 45],  # A minor
                  [71, 65, 62, 55],  # G7 (no fifth)
                  [71, 65, 62, 59],  # B diminished
                  [72, 67, 64, 52],  # C major in first inversion
                  [-1, -1, -1, -1]])
    assert [chords.chord_name(c) for c in chords.chord_labels(p)] == ["C", "Am", "G7", "Bdim", "C", "N"]


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


# ---- the model ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pe", PE_KINDS)
def test_model_is_causal_and_the_cache_agrees(pe, grid):
    model = tiny(pe, key_conditioning="degrees", voice_pairs=True)  # what training builds
    idx, lab = batch_of(grid)
    logits, _ = model(idx, lab)
    t = 40
    idx2, lab2 = idx.clone(), {k: v.clone() for k, v in lab.items()}
    idx2[0, t + 1] = (idx2[0, t + 1] + 7) % 130
    for k in lab2:  # the future's labels change too
        lab2[k][0, t + 1:] = 0
    logits2, _ = model(idx2, lab2)
    assert torch.equal(logits[:, :t + 1], logits2[:, :t + 1])
    assert not torch.allclose(logits[:, t + 1:], logits2[:, t + 1:])  # the change is seen later
    cache, parts = KVCache.empty(model.config.n_layer), []
    for a, b in [(0, 17), (17, 18), (18, idx.shape[1])]:  # a prompt, one token, the rest
        out, _ = model(idx[:, a:b], {k: v[:, a:b] for k, v in lab.items()}, cache=cache)
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts, 1), logits, atol=2e-5, rtol=1e-4)


def test_the_key_reaches_every_position():
    """Without attention (no blocks) a position sees only its own input: the key must be in it."""
    idx = torch.tensor([[sequence.key_token(7, "major"), PITCH_OFFSET + 67, HOLD, PITCH_OFFSET + 62, REST]])
    other = idx.clone()
    other[0, 0] = sequence.key_token(2, "minor")
    for conditioning, reaches in [("token", False), ("every", True), ("degrees", True)]:
        model = tiny("none", n_layer=0, key_conditioning=conditioning)
        a, b = model(idx)[0], model(other)[0]
        assert not torch.equal(a[:, 0], b[:, 0])
        assert (not torch.allclose(a[:, 1:], b[:, 1:])) == reaches, conditioning
    with pytest.raises(ValueError, match="key token first"):
        tiny("none", key_conditioning="every")(idx[:, 1:])


def test_degree_embedding_is_the_same_for_a_scale_degree_in_every_key():
    model = tiny("none", key_conditioning="degrees")
    with torch.no_grad():
        model.degree_emb.weight.normal_()
        model.degree_emb.weight[-1] = 0  # the padding row, as trained
    deg = model.degree_index
    g_major, d_major, a_minor = sequence.key_token(7, "major"), sequence.key_token(2, "major"), sequence.key_token(9, "minor")
    k = lambda tok: tok - sequence.KEY_OFFSET  # noqa: E731
    assert deg[k(g_major), PITCH_OFFSET + 66] == deg[k(d_major), PITCH_OFFSET + 61] == 11  # F# in G = C# in D: leading tone
    assert deg[k(a_minor), PITCH_OFFSET + 57] == 12  # A in A minor: the minor table's tonic
    assert (deg[:, [REST, HOLD]] == NO_DEGREE).all() and (deg[:, sequence.KEY_OFFSET:] == NO_DEGREE).all()


def test_voice_pair_table_reads_intervals_and_motion_off_the_tokens():
    key = sequence.key_token(0, "major")
    # step 0: S C5, A F4 (a fifth apart); step 1: S up to D5 -- input 5 predicts the alto of step 1
    idx = torch.tensor([[key, PITCH_OFFSET + 72, PITCH_OFFSET + 65, PITCH_OFFSET + 60, PITCH_OFFSET + 53,
                         PITCH_OFFSET + 74]])
    model = tiny("none", voice_pairs=True)
    with torch.no_grad():
        model.pair_bias.zero_()
    base = model(idx)[0][0, 5].detach()
    fifth_up = (0 * 12 + 7) * 3 + 2  # pair (S, A), previous interval 7, soprano moving up
    with torch.no_grad():
        model.pair_bias[fifth_up, 7 * 3 + 2] = -50.0 / PAIR_BIAS_SCALE  # ... and the alto up a fifth below it
    moved = model(idx)[0][0, 5].detach() - base
    assert moved[PITCH_OFFSET + 67] == pytest.approx(-50.0)  # G4: the parallel fifth
    assert moved[PITCH_OFFSET + 79] == pytest.approx(-50.0)  # G5, above the soprano: the same cell mod 12
    assert moved[PITCH_OFFSET + 62].abs() < 1e-5 and moved[HOLD].abs() < 1e-5 and moved[REST].abs() < 1e-5
    np.testing.assert_array_equal(
        sounding_pitches(torch.tensor([[key, 74, 69, 64, 50, HOLD, HOLD, REST, HOLD, 75, HOLD, 66]])).numpy(),
        [[[72, 67, 62, 48], [72, 67, -1, 48], [73, 67, 64, -1]]])  # HOLD goes on, REST stops, a partial step


def test_srpe_joint_table_equals_the_sum_of_label_tables(grid):
    model = tiny("s-rpe")
    with torch.no_grad():
        for table in [*model.label_bias.values(), model.chord_bias]:
            table.weight.normal_()
    _, lab = batch_of(grid, 20)
    want = 0
    for name, d in SRPE_MAX_DIFF.items():  # the plain form: one lookup per label
        diff = lab[name][:, :, None] - lab[name][:, None, :]
        want = want + model.label_bias[name](diff.clamp(-d, d) + d)
    root = torch.where(lab["chord"] == chords.NO_CHORD, 12, lab["chord"] // len(chords.QUALITIES))
    none = (root[:, :, None] == 12) | (root[:, None, :] == 12)
    want = want + model.chord_bias(torch.where(none, 12, (root[:, :, None] - root[:, None, :]) % 12))
    torch.testing.assert_close(model._structure_bias(lab, lab), want)


def _triad_corpus(n: int, rng: np.random.Generator, n_steps: int = 16):
    """Toy pieces in random keys: every voice sings only the tonic triad (degrees 0, 4, 7 of a
    major key), a half note per chord, each voice inside its range."""
    items = []
    for _ in range(n):
        tonic = int(rng.integers(12))
        grid = np.full((n_steps, 4), HOLD, np.int64)
        for step in range(0, n_steps, 8):
            for v, part in enumerate(PARTS):
                lo, hi = VOICE_RANGES[part]
                choices = [p for p in range(lo, hi + 1) if (p - tonic) % 12 in (0, 4, 7)]
                grid[step, v] = PITCH_OFFSET + int(rng.choice(choices))
        tokens = np.concatenate([[sequence.key_token(tonic, "major")], grid.reshape(-1)])
        labels = sequence.token_labels(sequence.plan_steps([1] * (n_steps // 16)))
        items.append((torch.from_numpy(tokens), {k: torch.from_numpy(v) for k, v in labels.items()}))
    return items


@pytest.fixture
def one_thread():
    """Tiny models on a shared 2-core machine: one thread is 5-20x faster than two contending."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_tiny_model_trained_on_key_conditioned_pieces_follows_the_asked_key(one_thread):
    # with key_conditioning="token" the same 40 steps give 0-47 % triad notes: the key is not used yet
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Composer(pe="s-ape", key_conditioning="degrees", block_size=1 + 4 * 16, **TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss, _ = composer_task.loss_fn(model, composer_task.collate(_triad_corpus(8, rng)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    for key, tonic in [("G major", 7), ("Eb major", 3)]:  # the same seed in two keys
        grid = compose.sample(model, compose.Plan.make(1, 1, key), 1.0, 0, torch.Generator().manual_seed(3))
        p = cm.sounding(grid)
        in_triad = ((p[p >= 0] - tonic) % 12)[:, None] == np.array([0, 4, 7])
        assert in_triad.any(1).mean() > 0.9, key


def test_unknown_encoding_and_missing_labels_are_refused():
    with pytest.raises(ValueError, match="positional encoding"):
        Composer(pe="rope")
    with pytest.raises(ValueError, match="labels"):
        tiny("s-ape")(torch.zeros(1, 4, dtype=torch.long))


def test_a_few_training_steps_lower_the_loss(grid):
    torch.manual_seed(0)
    np.random.seed(0)
    model = Composer(pe="s-rpe", **TINY)
    data = composer_task.ChoraleSequences([grid, transpose(grid, 2)], max_steps=16, random=True)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss, _ = composer_task.loss_fn(model, composer_task.collate([data[0], data[1]]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])


# ---- sampling and files ------------------------------------------------------------------------

def test_sampling_keeps_voices_in_range_across_windows_and_writes_midi_and_xml(tmp_path):
    model = tiny("learned", block_size=1 + 4 * 32)  # 2-bar windows: 6 bars go through 4 re-encodings
    plan = compose.Plan.make(6, 3, "D major")
    g = compose.sample(model, plan, 1.3, 0, torch.Generator().manual_seed(1))
    assert g.shape == (96, 4)
    again = compose.sample(model, plan, 1.3, 0, torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(g, again)  # the seed decides
    assert not (g[0] == HOLD).any()  # nothing to hold at the start
    pm = pretty_midi.PrettyMIDI(str(compose.write_midi(g, tmp_path / "out.mid")))
    assert [i.name for i in pm.instruments] == [p.capitalize() for p in PARTS]
    for inst, part in zip(pm.instruments, PARTS):
        lo, hi = VOICE_RANGES[part]
        assert inst.notes and all(lo <= n.pitch <= hi for n in inst.notes)
    assert cm.voice_leading_faults(g)["out_of_range"] == 0
    from music21 import converter

    score = converter.parse(str(compose.write_musicxml(g, plan, tmp_path / "out.musicxml")))
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
    path = compose.write_midi(opening, tmp_path / "prompt.mid")
    read = compose.read_midi_prompt(path, 64)
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
    path = compose.write_midi(opening, tmp_path / "opening.mid")
    assert compose.key_name(*cm.estimate_key(compose.read_midi_prompt(path, 64))) == key
    assert compose.key_name(g.key_tonic_pc, g.key_mode) == key  # music21's analysis of the whole piece agrees
    _, plan = compose.compose("s-ape", n_bars=5, key=None, prompt_midi=path)  # what --key auto does
    assert plan.key_name == key


def test_close_keys_known_answers():
    assert cm.close_keys(7, "major") == {(7, "major"), (4, "minor"), (2, "major"), (0, "major")}
    assert cm.close_keys(2, "minor") == {(2, "minor"), (5, "major"), (9, "minor"), (7, "minor")}


def test_single_track_midi_is_dealt_to_voices_from_the_top(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    for p in (72, 67, 64, 48):
        piano.notes.append(pretty_midi.Note(90, p, 0.0, 1.0))  # a half note at 120 qpm
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "chord.mid"))
    read = compose.read_midi_prompt(tmp_path / "chord.mid", 16)
    assert read.shape == (8, 4) and read[0].tolist() == [PITCH_OFFSET + p for p in (72, 67, 64, 48)]
    assert (read[1:] == HOLD).all()


def test_corrupt_and_empty_midi_are_refused_with_a_message(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ValueError, match="not a readable MIDI"):
        compose.read_midi_prompt(bad, 64)
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(ValueError, match="no pitched notes"):
        compose.read_midi_prompt(empty, 64)


# ---- metrics -----------------------------------------------------------------------------------

def _grid_from(pitches, dur_steps=4):
    """(chords, 4) MIDI pitches -> grid tokens, each chord held dur_steps."""
    rows = []
    for chord in pitches:
        rows.append([PITCH_OFFSET + p for p in chord])
        rows += [[HOLD] * 4] * (dur_steps - 1)
    return np.array(rows)


def test_voice_leading_faults_known_answers():
    parallel = _grid_from([[72, 67, 64, 48], [74, 69, 65, 50]])  # S/B octaves + A/B fifths, all rising
    faults = cm.voice_leading_faults(parallel)
    assert faults["parallel_octaves"] == 100 / 8 == faults["parallel_fifths"]  # S-B compound octaves, A-B fifths
    assert faults["parallels_per_100_changes"] == 200.0  # two parallels at the one chord change
    good = _grid_from([[72, 67, 64, 48], [71, 67, 62, 55]])  # C -> G: contrary motion, common tone
    assert cm.voice_leading_faults(good)["parallel_fifths"] == 0 == cm.voice_leading_faults(good)["parallel_octaves"]
    crossed = _grid_from([[64, 67, 60, 48]])  # alto above soprano
    assert cm.voice_leading_faults(crossed)["crossings"] == 100.0
    wild = _grid_from([[90, 67, 60, 48]])
    assert cm.voice_leading_faults(wild)["out_of_range"] == 100 / 4


def test_structure_metrics_known_answers():
    bar_c = _grid_from([[72, 67, 64, 48]] * 4)
    bar_g = _grid_from([[71, 67, 62, 55]] * 4)
    bar_f = _grid_from([[72, 69, 65, 53]] * 4)
    piece = np.concatenate([bar_c, bar_g, bar_f, bar_c])
    assert cm.grooving_similarity(piece) == pytest.approx(1.0)
    ssm = cm.chroma_ssm(piece)
    assert ssm[0, 3] == pytest.approx(1.0) and ssm[0, 1] < 0.9
    assert cm.ssm_distance(piece, piece) == 0.0 and cm.ssm_distance(piece, np.concatenate([bar_c] * 4)) > 0.05
    assert cm.note_density(piece) == 16.0
    assert cm.estimate_key(piece) == (0, "major")
    assert cm.cadence_rate(piece, [16, 32, 48, 64], 0, "major") == 0.75  # I, V, IV, I
    assert cm.cadence_rate(piece, [16], 2, "major") == 0.0  # neither D nor A
    h = cm.pitch_class_histogram(piece)
    assert cm.histogram_overlap(h, h) == pytest.approx(1.0)
    assert cm.histogram_overlap(h, cm.pitch_class_histogram(piece, tonic_pc=7)) < 0.9


# ---- shipped models: CLI and studio ------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hiaudio", "generate", *args], capture_output=True, text=True,
                          timeout=300)


def test_every_encoding_ships_with_a_card():
    assert SHIPPED == list(PE_KINDS)
    cards = (checkpoints.ASSETS_DIR / "MODELS.md").read_text()
    for pe in PE_KINDS:
        path = checkpoints.ASSETS_DIR / compose.asset_name(pe)
        assert path.stat().st_size < 3 * 2**20 and f"card:{path.name}" in cards
        assert compose.load_composer(pe).config.pe == pe


def test_cli_generates_midi_xml_and_wav(tmp_path):
    out = tmp_path / "c.mid"
    r = _cli("--out", str(out), "--bars", "2", "--phrases", "1", "--pe", "s-rpe", "--seed", "3", "--key", "A minor",
             "--xml", str(tmp_path / "c.musicxml"), "--wav", str(tmp_path / "c.wav"), "--gm-wav", str(tmp_path / "gm.wav"))
    assert r.returncode == 0, r.stderr
    assert "2 bars" in r.stdout and "A minor" in r.stdout
    pm = pretty_midi.PrettyMIDI(str(out))
    assert len(pm.instruments) == 4 and all(
        VOICE_RANGES[p][0] <= n.pitch <= VOICE_RANGES[p][1] for i, p in zip(pm.instruments, PARTS) for n in i.notes)
    import soundfile as sf

    for name in ("c.wav", "gm.wav"):  # sung by our voice model; played by the soundfont
        wave, sr = sf.read(tmp_path / name)
        assert sr == 22050 and len(wave) > 2 * 4 * 60 / compose.DEFAULT_TEMPO_QPM * sr and np.abs(wave).max() > 0.05
    assert (tmp_path / "c.musicxml").stat().st_size > 1000


def _cli_in_process(capsys, *args) -> tuple[int, str]:
    """(exit status, stderr) of `python -m hiaudio generate ...` run in this process."""
    try:
        code = cli.main(["generate", *args])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--bars", "0"], "bars must be"),
    (["--bars", "many"], "invalid int value"),
    (["--pe", "rope"], "invalid choice"),
    (["--key", "H major"], "cannot read the key"),
    (["--temperature", "0"], "temperature"),
    (["--bars", "4", "--phrases", "5"], "phrases must be"),
    (["--key", "auto"], "--key auto reads the key"),
])
def test_cli_bad_settings_exit_2(tmp_path, capsys, args, message):
    code, err = _cli_in_process(capsys, "--out", str(tmp_path / "x.mid"), *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def test_cli_corrupt_midi_to_continue_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"\x00" * 100)
    code, err = _cli_in_process(capsys, "--out", str(tmp_path / "x.mid"), "--continue", str(bad))
    assert code == 2 and "not a readable MIDI" in err and not (tmp_path / "x.mid").exists()


def test_compose_tab_handler_side_by_side_and_bad_input():
    state = ui.ComposeTab()
    out = ui.compose_pair(state, "s-ape", "none", 2, 1, "G major", 0.9, 0, 5, False, None)
    state, status, fig_a, audio_a, files_a, fig_b, audio_b, files_b = out
    assert "2 bars" in status and "G major" in status and audio_a is None
    assert [f.rsplit(".", 1)[1] for f in files_a] == ["mid", "musicxml"] and "none" in files_b[0]
    import plotly.graph_objects as go

    for fig in (fig_a, fig_b):
        d = go.Figure(fig.to_dict()).to_dict()  # plotly's validation
        assert [t["name"] for t in d["data"]] == list(PARTS) and len(d["layout"]["shapes"]) == 3
    folder = state.folder
    ui.compose_pair(state, "learned", ui.OFF, 2, 1, "C major", 1.0, 0, 0, False, None)
    assert state.folder != folder and not __import__("os").path.exists(folder)  # old downloads removed
    with pytest.raises(gr.Error, match="Bars"):
        ui.compose_pair(state, "s-ape", ui.OFF, 0, 1, "C major", 1.0, 0, 0, False, None)
    with pytest.raises(gr.Error, match="Phrases"):
        ui.compose_pair(state, "s-ape", ui.OFF, 2, 3, "C major", 1.0, 0, 0, False, None)
    ui.delete_state(state)
    assert state.folder is None


def test_compose_endpoint_over_http(studio_url):
    client = Client(studio_url, verbose=False)
    status, fig_a, audio_a, files_a, fig_b, audio_b, files_b = client.predict(
        "s-rpe", "rpe", 2, 1, "D minor", 0.9, 10, 1, True, None, True, api_name="/compose")
    assert "D minor" in status and audio_a is not None and audio_b is not None and len(files_a) == 3
    assert json.loads(fig_a["plot"])["data"][0]["name"] == "soprano"
    with pytest.raises(AppError) as err:
        client.predict("s-ape", "(off)", 2, 3, "C major", 1.0, 0, 0, False, None, True, api_name="/compose")
    assert "Phrases must be" in str(err.value) and "Traceback" not in str(err.value)
