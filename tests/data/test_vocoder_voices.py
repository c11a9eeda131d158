"""hiaudio/data/vocoder_voices.py: the vocoder's voices, split by voice and language."""
import numpy as np
import pytest

from hiaudio.data import speech, vocoder_voices as vv


def test_voice_splits_share_no_voice_and_test_adds_unheard_languages():
    for engine_split in (vv.ESPEAK_VARIANTS, vv.MBROLA_VOICES):
        seen = [set(v) for v in engine_split.values()]
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    new_languages = set(vv.TEST_LANGUAGES) - set(vv.TRAIN_LANGUAGES)
    assert {"it", "pt", "fi", "hu", "el"} <= new_languages
    assert vv.voice_split(vv.Voice("espeak", "m1", "it")) == "test"  # a training variant in a new language
    assert vv.voice_split(vv.Voice("mbrola", "la1", "la")) == "test"
    assert vv.voice_split(vv.Voice("model", "speaker@1.100", "de")) == "validation"
    with pytest.raises(ValueError, match="no split"):
        vv.voice_split(vv.Voice("model", "singer@1.06", "de"))  # the gap between splits


@pytest.mark.parametrize("split", vv.VOICE_SPLITS)
def test_plans_are_deterministic_and_draw_only_their_splits_voices(split):
    bank = vv.VoiceBank(split, n_clips=60)
    plans = [bank.plan(i) for i in range(60)]
    assert plans == [vv.VoiceBank(split, n_clips=60).plan(i) for i in range(60)]
    for plan in plans:
        assert vv.voice_split(vv.Voice(**plan["voice"])) == vv.split_voices(split)
    engines = {p["engine"] for p in plans}
    assert engines == {"espeak", "mbrola", "model"}
    if split == "seen":  # training voices, sentences never trained on
        assert all(p["text"] in speech.sentences("validation") for p in plans)


def test_an_espeak_clip_renders_at_the_planned_level(tmp_path):
    bank = vv.VoiceBank("validation", n_clips=8, cache_dir=tmp_path)
    i = next(k for k in range(8) if bank.plan(k)["engine"] == "espeak")
    wave, meta = bank.clip(i)
    assert wave.dtype == np.float32 and len(wave) > vv.SAMPLE_RATE // 2
    assert 20 * np.log10(np.abs(wave).max()) == pytest.approx(meta["peak_dbfs"], abs=0.05)
    again, _ = bank.clip(i)  # from the cache
    assert np.array_equal(wave, again)
