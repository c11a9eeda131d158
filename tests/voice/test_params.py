"""hiaudio/voice/params.py: the parameters and their checked JSON form."""
import numpy as np
import pytest

from hiaudio.voice.params import ParamsError, VoiceParams
from hiaudio.voice import synthesis


def test_params_round_trip_through_json(vowel, tmp_path):
    params = vowel[2]
    path = tmp_path / "p.json"
    params.save(path)
    back = VoiceParams.load(path)
    for name in ("f0_hz", "voiced", "lsf_rad", "gain_db", "harmonic_db", "noise_db", "tilt_db_per_oct"):
        assert np.allclose(getattr(back, name), getattr(params, name), atol=2e-3), name
    assert np.abs(synthesis.render(back) - synthesis.render(params)).max() < 0.02


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(schema="other"), "schema"),
    (lambda d: d.pop("f0_hz"), "lacks f0_hz"),
    (lambda d: d.update(f0_hz=d["f0_hz"][:-1]), "shape"),
    (lambda d: d.update(sample_rate="16000"), "integer"),
    (lambda d: d["lsf_rad"][0].reverse(), "increasing"),
    (lambda d: d.update(f0_hz=[1e9] * len(d["f0_hz"])), "f0_hz must lie"),
    (lambda d: d.update(harmonic_db=[["x"]]), "array of numbers"),
])
def test_bad_parameter_files_are_refused(vowel, mutate, words):
    data = vowel[2].to_dict()
    mutate(data)
    with pytest.raises(ParamsError, match=words):
        VoiceParams.from_dict(data)


def test_params_json_that_is_not_json():
    with pytest.raises(ParamsError, match="not valid JSON"):
        VoiceParams.from_json(b"\x00\xff garbage")
