"""The studio's Vocoders tab: its generator handler directly, and its endpoint through gradio_client.

The diffusion methods run on a tiny untrained WaveGrad (monkeypatched in for the shipped one) in
the direct tests, so they check the tab's wiring, not the model; the HTTP test uses Griffin-Lim.
"""
import json

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import pytest
import soundfile as sf
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from hiaudio.models import wavegrad
from hiaudio.studio import vocode
from hiaudio.ui import vocoders
from tests.helpers import harmonic_voice

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
SR = vocode.SAMPLE_RATE


@pytest.fixture
def tiny_model(monkeypatch):
    torch.manual_seed(0)
    model = wavegrad.WaveGrad(channels=(8, 8, 8, 8, 8)).eval()
    monkeypatch.setattr(vocode, "load_wavegrad", lambda: model)
    return model


@pytest.fixture(scope="module")
def voice_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocoders") / "voice.wav"
    audio, _ = harmonic_voice(180.0, 22050, duration_s=0.8)
    sf.write(path, audio, 22050)
    return str(path)


def test_each_method_appears_as_it_finishes(voice_wav, tiny_model):
    updates = list(vocoders.vocode_clip(voice_wav, list(vocode.METHODS), 2, 1, 4, 0))
    assert len(updates) == 1 + len(vocode.METHODS)  # the original first, then one per method
    for k, update in enumerate(updates):
        table, status, *media = update
        assert len(table) == k and len(media) == 2 * (1 + len(vocode.METHODS))
        ready = [media[2 + 2 * i] is not None for i in range(len(vocode.METHODS))]
        assert ready == [i < k for i in range(len(vocode.METHODS))]
    table, status, *media = updates[-1]
    assert list(table["method"]) == ["Griffin-Lim", "WaveGrad-2", "GLA-Grad-2"]
    assert "Done" in status
    n = round(0.8 * SR)
    scales = set()
    for path, fig in zip(media[0::2], media[1::2]):
        info = sf.info(path)
        assert info.samplerate == SR and info.frames == n and info.subtype == "PCM_16"
        go.Figure(fig.to_dict())  # plotly's validation (figures are built without it)
        scales.add((fig.data[0].zmin, fig.data[0].zmax))
    assert len(scales) == 1  # every mel on the original's colour scale


def test_only_the_chosen_methods_run_and_long_clips_are_cut(tmp_path, tiny_model):
    path = tmp_path / "long.wav"
    audio, _ = harmonic_voice(150.0, SR, duration_s=vocoders.MAX_VOCODE_S + 1.5)
    sf.write(path, audio, SR)
    *_, last = vocoders.vocode_clip(str(path), ["griffin-lim"], 6, 3, 4, 0)
    table, status, original, _, gl, _, wg, wg_plot, gla, _ = last
    assert list(table["method"]) == ["Griffin-Lim"] and wg is None and gla is None and wg_plot is None
    assert sf.info(gl).frames == sf.info(original).frames == int(vocoders.MAX_VOCODE_S * SR)
    assert f"first {vocoders.MAX_VOCODE_S:.0f} s" in status


@pytest.mark.parametrize("path,methods,words", [
    (None, ["griffin-lim"], "Upload or record"),
    ("voice", [], "at least one method"),
    ("silent", ["griffin-lim"], "silence"),
])
def test_bad_requests_raise_a_readable_error(tmp_path, voice_wav, path, methods, words):
    if path == "voice":
        path = voice_wav
    elif path == "silent":
        path = str(tmp_path / "silent.wav")
        sf.write(path, np.zeros(SR, dtype=np.float32), SR)
    with pytest.raises(gr.Error) as err:
        list(vocoders.vocode_clip(path, methods, 6, 3, 4, 0))
    assert words in str(err.value)


def test_vocode_endpoint_over_http(studio_url, voice_wav):
    client = Client(studio_url, verbose=False)
    table, status, original, original_plot, gl, gl_plot, *rest = client.predict(
        handle_file(voice_wav), ["griffin-lim"], 6, 3, 16, 0, api_name="/vocode")
    assert [row[0] for row in table["data"]] == ["Griffin-Lim"]
    assert "Done" in status and gl is not None and rest[0] is None
    assert json.loads(gl_plot["plot"])["data"][0]["type"] == "heatmap"
    with pytest.raises(AppError) as err:
        client.predict(handle_file(voice_wav), [], 6, 3, 16, 0, api_name="/vocode")
    assert "at least one method" in str(err.value) and "Traceback" not in str(err.value)
