"""The Voice tab's way back in: a parameters JSON (Export's, or `python -m hiaudio analyze`'s)
loaded into a session, and every kind of bad file refused with a message a person can act on.

Most tests call the handlers directly (fast); one goes through the served app (gradio_client).
"""
import json
import re
import time

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import pytest
import soundfile as sf
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from hiaudio.ui import voice as voice_ui
from hiaudio.audio import STUDIO_RATE
from hiaudio.dsp.pitch import estimate_f0
from hiaudio.voice.params import MAX_FRAMES, MAX_HARMONICS
from hiaudio.voice import NO_EDITS, apply_edits, files, synthesis
from hiaudio.studio.session import MAX_PARAMS_BYTES, MAX_SESSION_FRAMES, edited_params, start_session
from tests.helpers import harmonic_voice

# gradio's queue statistics use pandas options that pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
DEFAULTS = voice_ui.apply_preset("original")  # every control at its default, in VOICE_EDITS order


def _values(**changes) -> tuple:
    return tuple(changes.get(f, v) for f, v in zip(voice_ui.VOICE_EDITS, DEFAULTS))


def _median_f0_hz(wave: np.ndarray, sr: int) -> float:
    f0, _ = estimate_f0(torch.from_numpy(wave), sr, hop=256)
    return float(np.median(f0.numpy()[f0.numpy() > 0]))


@pytest.fixture(scope="module")
def analysed() -> voice_ui.VoiceTab:
    """The tab after analysing a 1 s vowel and transposing it +3: what a bad file must leave."""
    wave, _ = harmonic_voice(196.0, sample_rate=STUDIO_RATE, duration_s=1.0)
    state = voice_ui.VoiceTab(session=start_session(wave, STUDIO_RATE), clip_name="vowel",
                         summary="Analyzed **vowel.wav**.")
    return voice_ui.render_edits(state, *_values(transpose_semitones=3))[0]


@pytest.fixture(scope="module")
def exported(analysed) -> str:
    """Export's parameters JSON of the analysed vowel (the analysis and the +3 st edit): vowel_params.json."""
    _, _, json_file, _ = voice_ui.export(analysed)
    return json_file["value"]


def _read(path) -> np.ndarray:
    return sf.read(path, dtype="float32")[0]


# ---- the round trip --------------------------------------------------------------------------

def test_exported_parameters_load_as_they_were_exported(analysed, exported):
    """Loading the export restores the analysis with the sliders at the edits that made it: the
    render is the exported sound (the edits applied once, not twice)."""
    state, audio, ab, status, wav, js, spectrogram, menu, *controls = voice_ui.load_params_file(
        exported, voice_ui.VoiceTab())
    values = dict(zip(voice_ui.VOICE_EDITS, controls))
    assert values["transpose_semitones"] == 3 and state.session.edits.transpose_semitones == 3
    params, edits = files.load(exported)
    assert edits == analysed.session.edits
    exported_wave = synthesis.limit_peak(synthesis.render(apply_edits(params, edits)))[0]
    loaded = _read(audio)
    assert loaded.shape == exported_wave.shape and np.abs(loaded - exported_wave).max() < 2 / 32767  # 16-bit step
    before = _median_f0_hz(_read(voice_ui.render_edits(analysed, *_values(transpose_semitones=3))[1]), STUDIO_RATE)
    assert abs(1200 * np.log2(_median_f0_hz(loaded, STUDIO_RATE) / before)) < 10  # not +6 st
    drawn, f0_plot, filter_plot = voice_ui.redraw(state, ())  # what follows the load in the page
    assert isinstance(f0_plot, go.Figure) and isinstance(filter_plot, go.Figure) and ab == "Edited"
    assert voice_ui.redraw(state, drawn)[1:] == (gr.skip(), gr.skip())  # drawn already
    assert "vowel_params.json" in status and "No recording" in status and '"Original"' in status
    # A/B "Original" is the analysis rendered without edits
    original = _read(voice_ui.listen(state, "Original"))
    assert np.abs(original - synthesis.limit_peak(synthesis.render(params))[0]).max() < 2 / 32767

    up = voice_ui.render_edits(state, *_values(transpose_semitones=12))  # the sliders say +12 now
    edited = up[0].session.edited
    assert np.allclose(edited.f0_hz, 2 * params.f0_hz, rtol=1e-4)  # an octave, frame by frame
    cents = 1200 * np.log2(_median_f0_hz(_read(up[1]), STUDIO_RATE) / _median_f0_hz(original, STUDIO_RATE))
    assert abs(cents - 1200) < 50, cents
    assert "transpose +12" in up[3]
    _, wav_file, json_file, _ = voice_ui.export(up[0])  # and Export goes on from there
    assert wav_file["value"].endswith("vowel_edited.wav") and json_file["value"].endswith("vowel_params.json")
    again, again_edits = files.load(json_file["value"])
    assert again_edits.transpose_semitones == 12 and np.allclose(again.f0_hz, params.f0_hz, atol=1e-3)


def test_an_older_file_without_edits_loads_as_the_voice_it_holds(analysed, tmp_path):
    """A file of edited parameters with no "edits" (before they were written) is a voice with no edits."""
    path = tmp_path / "old_params.json"
    edited_params(analysed.session).save(path)
    state, *_rest = voice_ui.load_params_file(str(path), voice_ui.VoiceTab())
    assert state.session.edits == NO_EDITS
    assert np.allclose(state.session.params.f0_hz, analysed.session.edited.f0_hz, rtol=1e-4)


# ---- bad files -------------------------------------------------------------------------------

def _frames(n: int, n_harmonics: int = 2) -> dict:
    """The per-frame fields of a plain voice of n frames (two LSFs, two noise bands)."""
    per_frame = {"f0_hz": 200.0, "voiced": 1.0, "gain_db": 0.0, "tilt_db_per_oct": 0.0,
                 "formant_ratio": 1.0}
    return dict({k: [v] * n for k, v in per_frame.items()}, lsf_rad=[[0.5, 2.5]] * n,
                harmonic_db=[[-10.0] * n_harmonics] * n, noise_db=[[-40.0] * 2] * n)


def _set(field, index, value):
    def mutate(d):
        d[field][index] = value
    return mutate


def _text(change):
    """Mark a change as one to the file's text (for what json.dumps would not write)."""
    change.on_text = True
    return change


def _first_value(field: str, literal: str):
    """`literal` as the field's first value (NaN, Infinity: not JSON, yet Python reads them)."""
    return _text(lambda t: re.sub(rf'("{field}":\[+)[^,\]]+', rf"\g<1>{literal}", t, count=1))


BAD_FILES = [  # (name, a change to Export's dict or a function of its text, words in the message)
    ("not JSON", _text(lambda t: t.replace('"', "'")), ["not valid JSON"]),
    ("empty", _text(lambda t: ""), ["empty"]),
    ("a list", _text(lambda t: f"[{t}]"), ["holds a list", "not an object"]),
    ("wrong schema", lambda d: d.update(schema="hiaudio.voice_params/2"), ["schema", "/2"]),
    ("missing field", lambda d: d.pop("voiced"), ["lacks voiced"]),
    ("unknown field", lambda d: d.update(f0=[1.0]), ["unknown fields f0"]),
    ("string rate", lambda d: d.update(sample_rate="22050"), ["sample_rate", "integer", '"22050"']),
    ("bool as number", _set("voiced", 3, True), ["voiced", "true"]),
    ("string as number", _set("f0_hz", 0, "220"), ["f0_hz", 'string "220"']),
    ("null", _set("gain_db", 2, None), ["gain_db", "null"]),
    ("NaN", _first_value("gain_db", "NaN"), ["gain_db", "NaN"]),
    ("Infinity", _first_value("noise_db", "-Infinity"), ["noise_db", "infinite"]),
    ("1e999", _first_value("tilt_db_per_oct", "1e999"), ["tilt_db_per_oct", "infinite"]),
    ("huge integer", _set("gain_db", 0, 10 ** 400), ["gain_db", "too large"]),
    ("1e38", _set("formant_ratio", 0, 1e38), ["formant_ratio", "out of range"]),
    ("negative f0", _set("f0_hz", 5, -100.0), ["f0_hz must lie in 20"]),
    ("zero f0 where voiced", _set("f0_hz", 5, 0.0), ["f0_hz must lie in 20"]),
    ("lengths differ", lambda d: d["voiced"].pop(), ["'voiced' has shape"]),
    ("ragged rows", lambda d: d["harmonic_db"][2].pop(), ["harmonic_db", "same length"]),
    ("unsorted LSF", lambda d: d["lsf_rad"][4].reverse(), ["lsf_rad", "increasing"]),
    ("nested garbage", lambda d: d.update(harmonic_db={"a": [[1]]}), ["harmonic_db", "nested"]),
    ("frames in a number", lambda d: d.update(f0_hz=[[200.0]] * len(d["f0_hz"])),
     ["f0_hz", "holds a list"]),
    ("deep nesting", _text(lambda t: t.replace('"voiced":', '"voiced":' + "[" * 100_000, 1)),
     ["nested too deeply"]),
    ("hop too long", lambda d: d.update(hop_samples=4096), ["hop_samples", "10 ms"]),
    ("too many frames", lambda d: d.update(_frames(MAX_FRAMES + 1), hop_samples=1),
     [f"{MAX_FRAMES + 1} frames"]),
    ("too many frames for the studio",
     lambda d: d.update(_frames(MAX_SESSION_FRAMES + 1), hop_samples=4),
     [f"{MAX_SESSION_FRAMES + 1} frames", "studio"]),
    ("too long for the studio", lambda d: d.update(_frames(12_100)), ["60.36 s", "to 60 s"]),
    ("too many harmonics", lambda d: d.update(_frames(40, MAX_HARMONICS + 1)),
     ["harmonic_db", f"(40, 1..{MAX_HARMONICS})"]),
    ("over the byte limit", _text(lambda t: t[:-1] + ',"pad":"' + " " * MAX_PARAMS_BYTES + '"}'),
     ["over", "MB"]),
]


def _bad_file(exported: str, change, path) -> str:
    """Export's file with `change` applied to its text (marked by _text) or to its dict."""
    text = open(exported, encoding="utf-8").read()
    if getattr(change, "on_text", False):
        text = change(text)
    else:
        data = json.loads(text)
        change(data)
        text = json.dumps(data, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name, change, words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_parameter_file_is_explained_and_the_tab_keeps_its_clip(analysed, exported, tmp_path,
                                                                    name, change, words):
    path = _bad_file(exported, change, tmp_path / "bad_params.json")
    session = analysed.session
    before = (analysed.clip_name, session.edits, session.renders, session.original.copy(),
              session.params.f0_hz.copy())
    started = time.perf_counter()
    with pytest.raises(gr.Error) as err:
        voice_ui.load_params_file(path, analysed)
    message = err.value.message
    assert all(w.lower() in message.lower() for w in words), message
    assert "Voice tab" in message and "python -m hiaudio analyze" in message, message  # what to do
    assert err.value.title == "Cannot use this parameter file"
    assert "Traceback" not in message and len(message) < 400, message
    assert time.perf_counter() - started < 5
    after = (analysed.clip_name, session.edits, session.renders)
    assert analysed.session is session and after == before[:3]
    assert np.array_equal(session.original, before[3])
    assert np.array_equal(session.params.f0_hz, before[4])


def test_no_file_says_what_to_do(analysed):
    with pytest.raises(gr.Error, match="No parameter file yet: export parameters"):
        voice_ui.load_params_file(None, analysed)


# ---- through the served app ------------------------------------------------------------------

def test_load_params_through_the_app(studio_url, exported, tmp_path):
    c = Client(studio_url, verbose=False)
    audio, ab, status, _, _, _, _, transpose, *_ = c.predict(handle_file(exported), api_name="/load_params")
    assert "No recording" in status and ab == "Edited" and transpose == 3  # the slider shows the export's edit
    loaded, sr = sf.read(audio, dtype="float32")
    original, _ = sf.read(c.predict("Original", api_name="/listen"), dtype="float32")
    cents = 1200 * np.log2(_median_f0_hz(loaded, sr) / _median_f0_hz(original, sr))
    assert sr == STUDIO_RATE and abs(cents - 300) < 50, cents  # the export: +3 st on the analysis
    up, *_ = c.predict(transpose_semitones=12, api_name="/render")
    edited, _ = sf.read(up, dtype="float32")
    cents = 1200 * np.log2(_median_f0_hz(edited, sr) / _median_f0_hz(original, sr))
    assert abs(cents - 1200) < 50, cents

    bad = tmp_path / "bad_params.json"
    bad.write_text('{"schema": "hiaudio.voice_params/1"}')
    with pytest.raises(AppError) as err:
        c.predict(handle_file(str(bad)), api_name="/load_params")
    assert "lacks" in str(err.value) and "Traceback" not in str(err.value)
    assert "transpose +12" in c.predict(transpose_semitones=12, api_name="/render")[2]  # kept
