"""The studio's Voice tab through its HTTP API (gradio_client), plus the figures it draws.

The app is served once per session (tests/conftest.py: `studio_url`); each Client is one
browser session with its own gr.State.
"""
import json
import time

import numpy as np
import plotly.graph_objects as go
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from hiaudio.ui import voice as voice_ui
from hiaudio.audio import STUDIO_RATE
from hiaudio.dsp.pitch import estimate_f0
from hiaudio.studio import plots
from hiaudio.voice.edit import PRESETS, Edits
from hiaudio.studio.session import render_session, start_session
from hiaudio.ui.common import safe_stem
from hiaudio.voice import apply_edits, files
from hiaudio.voice.edit import EDIT_SPEC, SPEC
from tests.helpers import voice_outputs

EXAMPLE = voice_ui.EXAMPLES_DIR / "speech_en.wav"
# gradio's queue statistics use pandas options that pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def _plots(client) -> dict:
    """The plots /redraw draws for the session as it is now: a skipped one is {"__type__": "update"}."""
    return dict(zip(("f0_plot", "filter_plot"), client.predict(api_name="/redraw")))


def _figure(plot_output) -> dict:
    assert plot_output["type"] == "plotly"
    return json.loads(plot_output["plot"])


def _trace(fig: dict, name: str) -> np.ndarray:
    (trace,) = [t for t in fig["data"] if t["name"] == name]
    return np.array([np.nan if v is None else v for v in trace["y"]], dtype=float)


def _median_f0_hz(path) -> float:
    wave, sr = sf.read(path, dtype="float32")
    f0, _ = estimate_f0(torch.from_numpy(wave), sr, hop=256)
    f0 = f0.numpy()
    return float(np.median(f0[f0 > 0]))


@pytest.fixture(scope="module")
def client(studio_url):
    """One session that has analysed the spoken example."""
    c = Client(studio_url, verbose=False)
    out = voice_outputs(c.predict(handle_file(str(EXAMPLE)), api_name="/analyze"))
    assert "speech_en.wav" in out["status"]
    return c


# ---- the happy path ---------------------------------------------------------------------------

def test_endpoints_are_named(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/analyze", "/render", "/preset", "/reset", "/listen", "/export"} <= set(named)
    params = [p["parameter_name"] for p in named["/render"]["parameters"]]
    assert params == [*voice_ui.VOICE_EDITS, "note", "note_semitones", "note_vibrato_pct", "note_drift_pct",
                      "note_length_pct"]


def test_transpose_moves_pitch_up_three_semitones(client):
    flat = voice_outputs(client.predict(api_name="/render"))
    up = voice_outputs(client.predict(transpose_semitones=3, api_name="/render"))
    a, _ = sf.read(flat["audio"], dtype="float32")
    b, _ = sf.read(up["audio"], dtype="float32")
    assert a.shape == b.shape and np.abs(a - b).max() > 0.05
    cents = 1200 * np.log2(_median_f0_hz(up["audio"]) / _median_f0_hz(flat["audio"]))
    assert abs(cents - 300) < 50, cents
    # the pitch plot shows the same move, exactly (it draws the parameters)
    fig = _figure(_plots(client)["f0_plot"])
    edited, original = _trace(fig, "edited"), _trace(fig, "original")
    shift = 1200 * np.log2(np.nanmedian(edited) / np.nanmedian(original))
    assert abs(shift - 300) < 5, shift
    assert "transpose +3" in up["status"]


def test_formant_only_change_keeps_the_pitch_plot(client):
    client.predict(transpose_semitones=2, api_name="/render")
    _plots(client)
    client.predict(transpose_semitones=2, formant_shift=1.2, api_name="/render")
    out = _plots(client)
    assert out["f0_plot"] == {"__type__": "update"}  # skipped (gr.skip): the pitch did not change
    fig = _figure(out["filter_plot"])
    formants = {t["name"]: t["x"] for t in fig["data"] if t["name"].endswith("formants")}
    assert formants["edited formants"][0] > formants["original formants"][0]


def test_ab_toggle_and_presets(client):
    client.predict(transpose_semitones=5, api_name="/render")
    original, sr = sf.read(client.predict("Original", api_name="/listen"), dtype="float32")
    analysed, _ = sf.read(EXAMPLE, dtype="float32")
    assert sr == STUDIO_RATE and np.abs(original - analysed).max() < 1e-3
    edited, _ = sf.read(client.predict("Edited", api_name="/listen"), dtype="float32")
    assert np.abs(edited - original).max() > 0.05
    values = client.predict("male -> female", api_name="/preset")
    preset = dict(zip(voice_ui.VOICE_EDITS, values))
    assert preset["formant_shift"] == PRESETS["male -> female"].formant_shift
    reset = voice_outputs(client.predict(api_name="/reset"))["rest"]  # the results, then the controls
    defaults = {f: getattr(Edits(), f) for f in voice_ui.VOICE_EDITS}
    assert dict(zip(voice_ui.VOICE_EDITS, reset)) == defaults
    assert reset[-1] == "original"


def test_export_writes_wav_and_params(client):
    client.predict(transpose_semitones=-2, api_name="/render")
    wav, json_file, status = client.predict(api_name="/export")
    assert wav["label"] == "⬇ speech_en_edited.wav" and wav["variant"] == "primary"  # it shows it worked
    wav_path, json_path = wav["value"], json_file["value"]
    wave, sr = sf.read(wav_path)
    assert sr == STUDIO_RATE and abs(len(wave) - sf.info(str(EXAMPLE)).frames) <= 1
    assert wav_path.endswith("speech_en_edited.wav")
    assert "Exported **speech_en_edited.wav** and **speech_en_params.json**" in status
    params, edits = files.load(json_path)  # the analysis and the edits on it
    assert edits.transpose_semitones == -2
    session = start_session(*sf.read(EXAMPLE, dtype="float32"))
    assert np.allclose(params.f0_hz, session.params.f0_hz, atol=1e-3)  # the analysis, to the file's 3 decimals
    edited = apply_edits(params, edits)
    voiced = edited.voiced > 0.5
    cents = 1200 * np.log2(edited.f0_hz[voiced] / session.params.f0_hz[voiced])
    assert abs(np.median(cents) + 200) < 5


def test_export_after_a_gain_cut(client):
    client.predict(gain_db=-6, api_name="/render")
    _, json_file, _ = client.predict(api_name="/export")
    params, edits = files.load(json_file["value"])
    assert edits.gain_db == -6 and apply_edits(params, edits).gain_db.max() < params.gain_db.max()


# ---- bad input: a message a person can act on, and the session goes on ----------------------

def _still_serving(client):
    out = voice_outputs(client.predict(transpose_semitones=1, api_name="/render"))
    assert out["audio"] and "transpose +1" in out["status"]


def _write_bad(kind: str, path):
    sr = STUDIO_RATE
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("these are my lyrics, not audio\n" * 20)
    elif kind == "silence":
        sf.write(path, np.zeros(sr, np.int16), sr, subtype="PCM_16")
    elif kind == "nan":
        x = 0.1 * np.sin(np.arange(sr) / 10).astype(np.float32)
        x[100:200] = np.nan
        sf.write(path, x, sr, subtype="FLOAT")
    elif kind == "too long":
        rng = np.random.default_rng(0)
        sf.write(path, (rng.standard_normal(8000 * 61) * 3000).astype(np.int16), 8000,
                 subtype="PCM_16")
    return path


@pytest.mark.parametrize("kind, words", [
    ("empty", ["empty"]),
    ("text", ["could not be read", "WAV"]),
    ("silence", ["silence"]),
    ("nan", ["NaN", "damaged"]),
    ("too long", ["61", "limit"]),
])
def test_bad_upload_is_explained_and_the_session_survives(client, tmp_path, kind, words):
    bad = _write_bad(kind, tmp_path / f"{kind.replace(' ', '_')}.wav")
    started = time.perf_counter()
    with pytest.raises(AppError) as err:
        client.predict(handle_file(str(bad)), api_name="/analyze")
    message = str(err.value)
    assert all(w.lower() in message.lower() for w in words), message
    assert "Traceback" not in message and time.perf_counter() - started < 10
    _still_serving(client)  # the earlier analysis is still there


def test_96k_stereo_24bit_is_resampled_and_analysed(studio_url, tmp_path):
    wave, sr = sf.read(EXAMPLE, dtype="float32")
    hi = AF.resample(torch.from_numpy(wave[: 2 * sr]), sr, 96000).numpy()
    path = tmp_path / "studio_take.wav"
    sf.write(path, np.stack([hi, 0.5 * hi], axis=1), 96000, subtype="PCM_24")
    c = Client(studio_url, verbose=False)
    out = voice_outputs(c.predict(handle_file(str(path)), api_name="/analyze"))
    played, out_sr = sf.read(out["audio"])
    assert out_sr == STUDIO_RATE and abs(len(played) / out_sr - 2.0) < 0.01
    assert "studio_take.wav" in out["status"]


def test_clipped_clip_is_analysed_with_a_warning(studio_url, tmp_path):
    wave, sr = sf.read(EXAMPLE, dtype="float32")
    path = tmp_path / "hot.wav"
    sf.write(path, np.clip(8 * wave[:sr], -1, 1), sr, subtype="PCM_16")
    job = Client(studio_url, verbose=False).submit(handle_file(str(path)), api_name="/analyze")
    assert "hot.wav" in voice_outputs(job.result())["status"]
    updates, logs = job.communicator.updates, []  # every status message; gr.Warning's are "log"s
    while not updates.empty():
        update = updates.get_nowait()
        if getattr(update, "log", None):
            logs.append(update.log)
    assert any(level == "warning" and "clipped" in text for text, level in logs), logs


def test_slider_before_analyze_says_what_to_do(studio_url):
    c = Client(studio_url, verbose=False)
    with pytest.raises(AppError, match="Analyze a clip first"):
        c.predict(transpose_semitones=3, api_name="/render")
    with pytest.raises(AppError, match="No clip yet"):
        c.predict(None, api_name="/analyze")


def test_out_of_range_edit_is_refused(client):
    with pytest.raises(AppError, match="greater than maximum value 24"):  # gradio's slider check
        client.predict(transpose_semitones=99, api_name="/render")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(scale_mode="lydian", api_name="/render")
    _still_serving(client)


def test_unexpected_failure_is_one_line_and_keeps_state(client, monkeypatch):
    def broken(session, edits):
        raise RuntimeError("synthesis exploded\nwith a long internal story")

    monkeypatch.setattr(voice_ui, "render_session", broken)
    with pytest.raises(AppError) as err:
        client.predict(transpose_semitones=4, api_name="/render")
    message = str(err.value)
    assert "Rendering failed unexpectedly (RuntimeError)" in message
    assert "exploded" not in message and "Traceback" not in message
    monkeypatch.undo()
    _still_serving(client)


# ---- the controls and the figures -------------------------------------------------------------

def test_every_edit_is_a_control_with_its_spec_range(client):
    """The tab's controls are EDIT_SPEC's: same ranges, steps and choices as the edits accept."""
    config = client.config
    by_id = {c["props"].get("elem_id"): c["props"] for c in config["components"]}
    for name in voice_ui.VOICE_EDITS:
        spec = SPEC[name]
        props = by_id[f"voice-{spec.flag}"]
        if spec.choices:
            assert [c[0] for c in props["choices"]] == list(spec.choices)
            continue
        assert (props["minimum"], props["maximum"], props["step"]) == (spec.minimum, spec.maximum, spec.step)
        for value in (spec.minimum, spec.maximum):
            Edits(**{name: value})
        span = spec.maximum - spec.minimum
        for value in (spec.minimum - 0.01 * span, spec.maximum + 0.01 * span):
            with pytest.raises(ValueError):
                Edits(**{name: value})
    assert set(voice_ui.VOICE_EDITS) == {s.name for s in EDIT_SPEC}  # the Voice tab offers every edit


def test_safe_stem_never_makes_a_path():
    assert safe_stem("/tmp/x/../../etc/passwd") == "passwd"
    assert safe_stem("C:\\Users\\me\\my take (2).wav").startswith("C_Users_me_my_take_2")
    assert safe_stem("...wav") == "clip" and "/" not in safe_stem("a/b/c d.mp3")


@pytest.fixture(scope="module")
def analysed():
    wave, sr = sf.read(EXAMPLE, dtype="float32")
    session, _ = render_session(start_session(wave, sr), Edits(transpose_semitones=3, formant_shift=1.2))
    return session


def test_figures_are_valid_plotly(analysed):
    p, q = analysed.params, analysed.edited
    for make in (lambda: plots.f0_figure(p.times_s, p.f0_hz, p.voiced, q.f0_hz, q.voiced),
                 lambda: plots.filter_figure(p, q)):
        go.Figure(make().to_dict())  # validates every property


def test_f0_figure_gaps_and_note_axis():
    t = np.arange(400) * 0.005
    f0 = np.full(400, 220.0)
    voiced = np.r_[np.ones(100), np.zeros(100), np.ones(200)]
    fig = plots.f0_figure(t, f0, voiced, 2 * f0, voiced).to_dict()
    y = fig["data"][0]["y"]
    assert y[50] == 220.0 and y[150] is None
    ticks = fig["layout"]["yaxis"]["ticktext"]
    assert {"A3", "C4", "A4"} <= set(ticks) and not any("#" in n for n in ticks), ticks
    assert fig["layout"]["yaxis"]["type"] == "log"


def test_filter_figure_marks_formants_and_follows_the_shift(analysed):
    fig = plots.filter_figure(analysed.params, analysed.edited).to_dict()
    marks = {t["name"]: t for t in fig["data"] if t["name"].endswith("formants")}
    assert marks["original formants"]["text"][:2] == ["F1", "F2"]
    f_orig, f_edit = marks["original formants"]["x"], marks["edited formants"]["x"]
    assert f_edit[0] > f_orig[0]  # formant shift 1.2 moves F1 up
