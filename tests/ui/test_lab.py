"""The studio's Analysis lab through its HTTP API (gradio_client), plus its figures and scores.

The app is served once per session (tests/conftest.py: `studio_url`). Requests are kept small
(few starts and steps) so the module runs in well under a minute on two cores.
"""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import soundfile as sf
from gradio_client import Client
from gradio_client.exceptions import AppError

from hiaudio.ui import lab as lab_ui
from hiaudio.studio import ddsp_lab, lab_plots

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
# a pure tone, so that SOT's descent is known to find it (tests/test_losses.py)
TONE = {"target_f0_hz": 220, "n_harmonics": 1, "amplitude_mode": "roll-off",
        "rolloff_db_per_oct": -6, "seed": 0, "noise_db": -60}


@pytest.fixture(scope="module")
def client(studio_url):
    return Client(studio_url, verbose=False)


def _figure(plot_output) -> dict:
    assert plot_output["type"] == "plotly"
    fig = json.loads(plot_output["plot"])
    go.Figure(fig)  # plotly's own validation: the figures are built with _validate=False
    return fig


def _traces(fig: dict) -> dict:
    return {t["name"]: t for t in fig["data"]}


def test_lab_endpoints_are_named(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/landscape", "/fit", "/analyze"} <= set(named)
    params = [p["parameter_name"] for p in named["/fit"]["parameters"]]
    assert params == [*TONE, "loss_names", "n_inits", "spread_oct", "steps"]


def test_landscape_has_a_trace_per_loss_and_sot_points_home(client):
    plot, status = client.predict(**TONE, range_oct=1, loss_names=["mss", "sot", "l2"],
                                  api_name="/landscape")
    traces = _traces(_figure(plot))
    for name in ("mss", "sot", "l2"):
        assert name in traces and f"{name} descent" in traces
    assert not {"l1", "sot+mss"} & set(traces)
    x = np.array(traces["sot"]["x"])
    assert len(x) == lab_ui.LANDSCAPE_POINTS and np.isclose([x.min(), x.max()], [110, 440]).all()
    # descent direction: up (> 0) below the target, down above it
    descent = np.array(traces["sot descent"]["y"], dtype=float)
    assert (descent[x < 210] > 0).all() and (descent[x > 230] < 0).all()
    loss = np.array(traces["sot"]["y"], dtype=float)
    assert abs(x[np.argmin(loss)] - 220) < 5 and loss.min() == 0 and loss.max() == 1
    assert "**sot** 100 %" in status


def test_fit_table_has_a_row_per_loss_and_players_for_them(client):
    plot, table, target, *players, status = client.predict(
        **TONE, loss_names=["l2", "sot"], n_inits=3, spread_oct=0.4, steps=60, api_name="/fit")
    assert table["headers"] == lab_ui.FIT_TABLE_HEADERS
    rows = {r[0]: r for r in table["data"]}
    assert list(rows) == ["l2", "sot"]
    assert rows["sot"][1] == 100.0 and rows["sot"][3] < 50  # SOT finds a pure tone
    traces = _figure(plot)["data"]
    assert sorted({t["name"] for t in traces}) == ["l2", "sot"] and len(traces) == 6
    assert all(len(t["x"]) == 61 for t in traces)  # steps + 1 points
    # a player per loss, shown for the losses fitted (the client sees gradio's updates)
    audio = dict(zip(lab_ui.LOSS_NAMES, players))
    assert [audio[n]["visible"] for n in lab_ui.LOSS_NAMES] == [n in ("l2", "sot")
                                                            for n in lab_ui.LOSS_NAMES]
    assert audio["sot"]["label"].startswith("sot: fit from ")
    wave, sr = sf.read(audio["sot"]["value"])
    ref, _ = sf.read(target)
    assert sr == ddsp_lab.LAB_RATE and len(wave) == len(ref) == lab_ui.LAB_LISTEN_S * sr
    assert "Most successful: **sot**" in status


@pytest.mark.parametrize("change, words", [
    ({"target_f0_hz": 1500, "n_harmonics": 8}, ["Harmonic 8", "Nyquist", "below 1000 Hz"]),
    ({"loss_names": []}, ["at least one loss"]),
    ({"steps": 300, "n_inits": 16}, ["more than one request", "fewer steps"]),
])
def test_bad_fit_request_is_explained_and_the_app_keeps_serving(client, change, words):
    request = {**TONE, "loss_names": ["sot", "mss"], "n_inits": 2, "spread_oct": 1,
               "steps": 50, **change}
    with pytest.raises(AppError) as err:
        client.predict(**request, api_name="/fit")
    message = str(err.value)
    assert all(w in message for w in words), message
    assert "Traceback" not in message
    plot, _ = client.predict(**TONE, range_oct=0.5, loss_names=["l1"], api_name="/landscape")
    assert "l1" in _traces(_figure(plot))


def test_landscape_refuses_an_empty_loss_choice(client):
    with pytest.raises(AppError, match="at least one loss"):
        client.predict(**TONE, range_oct=1, loss_names=[], api_name="/landscape")


# ---- the gradio-free pieces ---------------------------------------------------------------

def test_harmonic_amplitudes_rolloff_and_seed():
    a = lab_plots.harmonic_amplitudes(4, rolloff_db_per_oct=-6.0)
    assert np.isclose(a.sum(), lab_plots.AMPLITUDE_SUM)
    assert np.isclose(20 * np.log10(a[1] / a[0]), -6.0) and np.isclose(a[3] / a[1], 10 ** -0.3)
    r1, r2 = (lab_plots.harmonic_amplitudes(5, random_seed=3) for _ in range(2))
    assert np.array_equal(r1, r2) and not np.array_equal(r1, lab_plots.harmonic_amplitudes(
        5, random_seed=4))


def test_inits_and_scores():
    inits = lab_plots.init_f0s(200.0, 5, 1.0)
    assert np.allclose(inits, [100, 200 / 2 ** 0.5, 200, 200 * 2 ** 0.5, 400])
    s = lab_plots.score_estimates([200 * 2 ** (40 / 1200), 200 * 2 ** (60 / 1200), 410, 99], 200)
    assert s["success"].tolist() == [True, False, False, False]
    assert s["octave_error"].tolist() == [False, False, True, True]


def test_trajectories_figure_is_valid_and_grouped_by_loss():
    traj = {"mss": np.full((11, 3), 180.0), "sot": np.full((11, 3), 220.0)}
    fig = lab_plots.trajectories_figure(traj, 220.0)
    go.Figure(fig.to_dict())
    assert [t["showlegend"] for t in fig.to_dict()["data"]] == [True, False, False] * 2
    assert fig.to_dict()["data"][3]["y"][0] == 0.0
