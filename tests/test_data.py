"""hiaudio.data: parsed chorales, rendered stems with score F0, splits, tokens and espeak speech.

Fast by design: two chorales are parsed straight from music21's corpus (never the whole
corpus), excerpts are a few seconds long, and every file goes to a temporary cache root.
"""
import dataclasses
import json

import numpy as np
import pytest
import torch

from hiaudio.data import splits
from hiaudio.data.__main__ import main as data_cli
from hiaudio.data.cache import hash_split
from hiaudio.data.chorales import PARTS, Chorale, Note, parse_chorale
from hiaudio.data.dataset import ChoraleDataset
from hiaudio.data.render import render_chorale, sample_singer
from hiaudio.dsp.f0grid import stable_frames
from hiaudio.data.speech import SpeechDataset, sentences
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, detokenize, tokenize, transpose, transpositions
from hiaudio.dsp.pitch import estimate_f0


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # The F0 estimator's Viterbi runs ~600 tiny torch ops per second of audio; on a busy machine
    # each multi-threaded op waits for a descheduled worker (11 s instead of 0.2 s for 3 s of audio).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _cache_root(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HIAUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "hiaudio-cache"))


@pytest.fixture(scope="module")
def bwv269() -> Chorale:
    return parse_chorale("bwv269")  # 3/4 with a one-beat pickup, six fermatas


@pytest.fixture(scope="module")
def bwv10_7() -> Chorale:
    return parse_chorale("bwv10.7")  # 4/4


# ---- parsing -----------------------------------------------------------------------------------

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


# ---- rendering ---------------------------------------------------------------------------------

def _pitch_agreement(ex, margin_frames=4):
    """Fraction of frames within 50 cents of the score, over frames that are voiced in both the
    score (away from note changes) and the estimate; and how many frames were compared."""
    stable = stable_frames(ex.f0_hz, margin_frames)  # (4, T)
    good = compared = 0
    for i, stem in enumerate(ex.stems):
        est, _ = estimate_f0(torch.tensor(stem), ex.sample_rate, ex.hop_samples)
        est = est.numpy()[: ex.f0_hz.shape[1]]
        both = stable[i] & (est > 0)
        cents = 1200 * np.abs(np.log2(est[both] / ex.f0_hz[i, both]))
        good += int((cents < 50).sum())
        compared += int(both.sum())
    return good / max(compared, 1), compared, int(stable.sum())


@pytest.mark.parametrize("renderer", ["fluidsynth", "voice"])
def test_render_stems_sum_to_mix_and_follow_the_score(bwv10_7, renderer):
    ex = render_chorale(bwv10_7, 16000, renderer, seed=3, duration_s=3.0)
    n = 3 * 16000
    assert ex.mixture.shape == (n,) and ex.stems.shape == (4, n) and ex.mixture.dtype == np.float32
    assert ex.f0_hz.shape == (4, int(np.ceil(n / ex.hop_samples))) and ex.hop_samples == 80
    np.testing.assert_allclose(ex.mixture, ex.stems.sum(0), rtol=0, atol=1e-6)
    peak_db = 20 * np.log10(np.abs(ex.mixture).max())
    assert -12.01 <= peak_db <= -0.99 and np.isclose(peak_db, ex.meta["mix_peak_dbfs"], atol=0.01)
    assert all(np.abs(s).max() > 1e-3 for s in ex.stems)  # every part sings in the excerpt
    assert 60 <= ex.meta["tempo_qpm"] <= 100 and ex.meta["renderer"] == renderer
    frac, compared, stable = _pitch_agreement(ex)
    assert compared > 0.8 * stable, f"only {compared} of {stable} steady score frames were voiced"
    assert frac >= 0.9, f"{frac:.1%} of frames within 50 cents of the score"
    if renderer == "voice":  # the F0 the voice sang: vibrato and drift around the score
        sung = ex.f0_sung_hz
        both = (sung > 0) & stable_frames(ex.f0_hz, 4)
        assert np.percentile(np.abs(1200 * np.log2(sung[both] / ex.f0_hz[both])), 95) < 60


def test_render_is_deterministic_in_the_seed(bwv10_7):
    a = render_chorale(bwv10_7, 16000, "fluidsynth", seed=5, duration_s=1.5)
    b = render_chorale(bwv10_7, 16000, "fluidsynth", seed=5, duration_s=1.5)
    c = render_chorale(bwv10_7, 16000, "fluidsynth", seed=6, duration_s=1.5)
    assert np.array_equal(a.stems, b.stems) and a.meta == b.meta
    assert a.meta["tempo_qpm"] != c.meta["tempo_qpm"]


def test_score_f0_is_zero_where_a_part_rests(bwv269):
    # from bar 1 at 60 bpm: the first phrase ends with a fermata at q = 12, then all voices go on
    ex = render_chorale(bwv269, 8000, "fluidsynth", seed=0, start_q=1.0, duration_s=2.0, tempo_qpm=60.0)
    first = bwv269.parts["bass"][1]
    hz = 440 * 2 ** ((first.pitch - 69) / 12)
    assert np.allclose(ex.f0_hz[3, :10], hz)  # the bass's second note sounds at the window's start
    tail = render_chorale(bwv269, 8000, "fluidsynth", seed=0, start_q=bwv269.duration_q - 1, tempo_qpm=60.0)
    assert tail.meta["duration_s"] == pytest.approx(1.5)  # the last quarter plus 0.5 s of tail
    assert (tail.f0_hz[:, -50:] == 0).all() and (tail.f0_hz[:, :50] > 0).all()


def test_held_out_timbres_never_reach_training():
    rng = np.random.default_rng(0)
    for part in PARTS:
        for _ in range(100):
            seen = sample_singer(part, "seen", rng)
            assert not splits.is_held_out_singer(part, seen.vowel, seen.formant_ratio)
            held = sample_singer(part, "held_out", rng)
            assert splits.is_held_out_singer(part, held.vowel, held.formant_ratio)
    assert not set(splits.SEEN_PROGRAMS) & set(splits.HELD_OUT_PROGRAMS)
    with pytest.raises(ValueError, match="evaluation only"):
        splits.timbre_split_for("train", "held_out")
    assert splits.timbre_split_for("test", "held_out") == "held_out"


# ---- splits ------------------------------------------------------------------------------------

def test_chorale_split_is_deterministic_and_follows_the_melody(bwv269, bwv10_7):
    for c in (bwv269, bwv10_7):
        assert splits.chorale_split(c) == splits.chorale_split(Chorale.from_json(c.to_json()))
    # a reharmonization of the same tune, in another key, lands in the same split
    moved = tuple(n._replace(pitch=n.pitch + 3) for n in bwv269.parts["soprano"])
    other = dataclasses.replace(bwv269, piece_id="bwv-copy", parts=bwv269.parts | {"soprano": moved})
    assert splits.melody_key(other) == splits.melody_key(bwv269)
    assert splits.chorale_split(other) == splits.chorale_split(bwv269)


def test_hash_split_is_disjoint_with_the_documented_fractions():
    keys = [f"melody:{i}" for i in range(20000)]
    first = [hash_split(k, splits.PIECE_FRACTIONS) for k in keys]
    assert first == [hash_split(k, splits.PIECE_FRACTIONS) for k in keys]  # same on every call
    counts = {s: first.count(s) / len(keys) for s in splits.SPLITS}
    assert sum(counts.values()) == 1.0  # each key in exactly one split
    for s, frac in splits.PIECE_FRACTIONS.items():
        assert abs(counts[s] - frac) < 0.015


def test_speech_splits_are_disjoint():
    assert not set(splits.SPEECH_TRAIN_VARIANTS) & set(splits.SPEECH_HELD_OUT_VARIANTS)
    assert splits.speech_variants("validation") == splits.SPEECH_TRAIN_VARIANTS
    texts = {s: set(sentences(s)) for s in splits.SPLITS}
    assert all(texts.values())
    assert not (texts["train"] & texts["validation"]) and not (texts["train"] & texts["test"])
    assert not (texts["validation"] & texts["test"])


# ---- dataset -----------------------------------------------------------------------------------

def test_dataset_is_deterministic_and_cached(bwv269, bwv10_7, tmp_path):
    split = splits.chorale_split(bwv10_7)
    kw = dict(split=split, renderer="fluidsynth", n_examples=2, duration_s=1.0, sample_rate=8000,
              chorales=[bwv269, bwv10_7])
    ds = ChoraleDataset(cache_dir=tmp_path, **kw)
    item = ds[1]
    assert (tmp_path / "000001.npz").exists() and (tmp_path / "config.json").exists()
    assert item["stems"].shape == (4, 8000) and item["f0_hz"].shape == (4, 200)
    meta = json.loads(item["meta"])
    assert meta["split"] == split and meta["index"] == 1 and meta["data_version"] == ds.config["version"]
    again = ChoraleDataset(cache_dir=tmp_path, **kw)[1]  # read back
    fresh = ChoraleDataset(cache=False, **kw)[1]  # rendered again
    assert torch.equal(item["mixture"], again["mixture"]) and torch.equal(item["mixture"], fresh["mixture"])
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert batch["stems"].shape == (2, 4, 8000)
    with pytest.raises(ValueError, match="other settings"):
        ChoraleDataset(cache_dir=tmp_path, **(kw | {"sample_rate": 16000}))


# ---- tokens ------------------------------------------------------------------------------------

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


# ---- speech ------------------------------------------------------------------------------------

def test_speech_builder_makes_a_clip_per_voice(tmp_path):
    ds = SpeechDataset("test", n_clips=len(splits.SPEECH_HELD_OUT_VARIANTS), sample_rate=16000, cache_dir=tmp_path)
    seen = set()
    for i in range(len(ds)):
        item = ds[i]
        meta = json.loads(item["meta"])
        wave = item["audio"].numpy()
        assert 1.0 < len(wave) / 16000 < 8.0 and np.abs(wave).max() > 0.2
        assert meta["voice"]["variant"] in splits.SPEECH_HELD_OUT_VARIANTS and meta["text"] in sentences("test")
        seen.add(meta["voice"]["variant"])
        assert ds.path(i).exists() and ds.path(i).with_suffix(".json").exists()
    assert seen == set(splits.SPEECH_HELD_OUT_VARIANTS)
    again = SpeechDataset("test", n_clips=1, cache_dir=tmp_path)[0]
    assert torch.equal(again["audio"], ds[0]["audio"])


def test_cli_builds_speech_and_refuses_held_out_training(tmp_path, capsys):
    assert data_cli(["speech", "--n", "2", "--split", "validation", "--out", str(tmp_path)]) == 0
    assert "2 clips" in capsys.readouterr().out
    assert data_cli(["chorales", "--split", "train", "--timbre", "held_out"]) == 2
    assert "evaluation only" in capsys.readouterr().err


def test_notes_are_named_tuples():
    n = Note(60, 1.0, 0.5, False)
    assert n.end_q == 1.5 and list(n) == [60, 1.0, 0.5, False]
