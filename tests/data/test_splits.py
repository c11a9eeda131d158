"""hiaudio/data/splits.py and cache.py: splits that never leak held-out material into training."""
import dataclasses

import numpy as np
import pytest

from hiaudio.data import splits
from hiaudio.data.cache import hash_split
from hiaudio.data.chorales import PARTS, Chorale
from hiaudio.data.render import sample_singer
from hiaudio.data.speech import sentences


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
