"""The Compose tab (hiaudio/ui/compose.py): the handler side by side and on bad input, and over HTTP."""
import json
import os

import gradio as gr
import plotly.graph_objects as go
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from hiaudio.data.chorales import PARTS
from hiaudio.ui import compose as ui

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


def test_compose_tab_handler_side_by_side_and_bad_input():
    state = ui.ComposeTab()
    out = ui.compose_pair(state, "s-ape", "none", 2, 1, "G major", 0.9, 0, 5, False, None)
    state, status, fig_a, audio_a, files_a, fig_b, audio_b, files_b = out
    assert "2 bars" in status and "G major" in status and audio_a is None
    assert [f.rsplit(".", 1)[1] for f in files_a] == ["mid", "musicxml"] and "none" in files_b[0]
    for fig in (fig_a, fig_b):
        d = go.Figure(fig.to_dict()).to_dict()  # plotly's validation
        assert [t["name"] for t in d["data"]] == list(PARTS) and len(d["layout"]["shapes"]) == 3
    folder = state.folder
    ui.compose_pair(state, "learned", ui.OFF, 2, 1, "C major", 1.0, 0, 0, False, None)
    assert state.folder != folder and not os.path.exists(folder)  # old downloads removed
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
