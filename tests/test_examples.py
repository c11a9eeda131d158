"""hiaudio.examples: the committed example clips and the espeak-ng generator."""

import shutil

import numpy as np
import pytest
import soundfile as sf

from hiaudio.examples import (ASSETS_DIR, CHOIR_EXAMPLE, CHOIR_SCORE, SPEECH_EXAMPLES, SUNG_EXAMPLE, ensure_examples,
                              make_speech_example)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")


@pytest.mark.parametrize("name", sorted(SPEECH_EXAMPLES))
def test_committed_examples_are_small_studio_wavs(name):
    path = ASSETS_DIR / "examples" / name
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    assert 2.0 < info.duration < 10.0
    assert path.stat().st_size < 500_000


@needs_espeak
def test_make_speech_example_resamples(tmp_path):
    path = make_speech_example(tmp_path / "hi.wav", "Hello there.", voice="en", sr=16000)
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert 0.3 < info.duration < 3.0


@needs_espeak
def test_ensure_examples_writes_only_missing(tmp_path):
    kept = tmp_path / "examples" / "speech_en.wav"
    kept.parent.mkdir()
    kept.write_bytes(b"already here")
    paths = ensure_examples(tmp_path)
    assert set(paths) == set(SPEECH_EXAMPLES) | {SUNG_EXAMPLE, CHOIR_EXAMPLE, CHOIR_SCORE}
    assert kept.read_bytes() == b"already here"
    assert sf.info(str(paths["speech_en_f.wav"])).samplerate == 22050
    assert sf.info(str(paths[SUNG_EXAMPLE])).duration > 5.0


def test_choir_example_is_four_parts_with_a_matching_score(tmp_path):
    """The Choir tab's example: its MIDI has four parts, top-down, as long as the recording."""
    from hiaudio.separation.score import check_score, load_score

    wav, mid = ASSETS_DIR / "examples" / CHOIR_EXAMPLE, ASSETS_DIR / "examples" / CHOIR_SCORE
    info = sf.info(str(wav))
    assert info.samplerate == 16000 and abs(info.duration - 10.0) < 0.01
    parts = check_score(load_score(mid, 4), info.duration, 4)
    means = [np.mean([n[0] for n in p]) for p in parts]
    assert means == sorted(means, reverse=True)  # soprano, alto, tenor, bass
