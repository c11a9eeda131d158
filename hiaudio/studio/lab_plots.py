"""Figures and tables for the studio's Analysis lab (gradio-free; see hiaudio.studio.ddsp_lab).

Two figures, both plotly, both one trace (or trace group) per loss in a fixed colour:

    fig = landscape_figure(ddsp_lab.landscape(220.0, amps, ["mss", "sot"]))
    fig = trajectories_figure({"sot": fit.trajectory_hz}, target_f0_hz=220.0)

and the pieces both the lab and `bench/ddsp_sot.py` score fits with:

    amps = harmonic_amplitudes(5, rolloff_db_per_oct=-6.0)   # (K,)
    inits = init_f0s(220.0, n_inits=8, spread_oct=1.0)       # (N,) log-spaced around the target
    score = score_estimates(fit.f0_hz, 220.0)                # cents, success, octave_error
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from hiaudio.dsp.units import cents_between
from hiaudio.studio.plots import base_layout, figure, json_list

TOLERANCE_CENTS = 50.0  # an estimate within this of the target is a success (MIREX's RPA uses 50)
AMPLITUDE_SUM = 0.8  # harmonic amplitudes add up to this, so a tone's peak stays below 0 dBFS
LOSS_COLORS = {  # one colour per loss, the same in every figure of the lab
    "mss": "#1f77b4", "l1": "#9467bd", "l2": "#8c564b", "sot": "#e8710a", "sot+mss": "#2ca02c",
}
FIGURE_HEIGHT_PX = 520
LAB_MARGIN = {"l": 70, "r": 20, "t": 50, "b": 45}
COLOR_TARGET = "#5f6368"


# ---- tones, initializations and scores ------------------------------------------------------

def harmonic_amplitudes(n_harmonics: int, rolloff_db_per_oct: float = -6.0,
                        random_seed: int | None = None) -> np.ndarray:
    """Amplitudes (K,) of harmonics 1..K, summing to AMPLITUDE_SUM.

    Either a spectral roll-off (harmonic k is rolloff_db_per_oct * log2(k) dB below the first;
    -6 dB/oct is a sawtooth's 1/k) or, when random_seed is given, uniform in [0.1, 1] before
    scaling (seeded, so a seed always gives the same tone).
    """
    k = np.arange(1, n_harmonics + 1, dtype=np.float64)
    if random_seed is None:
        amps = 10.0 ** (rolloff_db_per_oct * np.log2(k) / 20.0)
    else:
        amps = np.random.default_rng(random_seed).uniform(0.1, 1.0, n_harmonics)
    return AMPLITUDE_SUM * amps / amps.sum()


def init_f0s(target_f0_hz: float, n_inits: int, spread_oct: float) -> np.ndarray:
    """Initial F0s (N,) evenly spaced in log frequency from spread_oct below the target to
    spread_oct above it; a single initialization starts spread_oct below."""
    offsets_oct = np.linspace(-spread_oct, spread_oct, n_inits) if n_inits > 1 else [-spread_oct]
    return target_f0_hz * 2.0 ** np.asarray(offsets_oct, dtype=np.float64)


def score_estimates(estimate_hz, target_hz, tolerance_cents: float = TOLERANCE_CENTS) -> dict:
    """Per estimate: "cents" from the target, "success" (within tolerance), "octave_error"
    (within tolerance of twice or half the target). Arrays broadcast; each value (N,)."""
    c = np.atleast_1d(cents_between(np.asarray(estimate_hz), np.asarray(target_hz))).astype(np.float64)
    return {"cents": c, "success": np.abs(c) <= tolerance_cents,
            "octave_error": np.abs(np.abs(c) - 1200.0) <= tolerance_cents}


def points_toward_target(result: dict, name: str) -> float:
    """Share of a landscape's candidates (away from the target by more than TOLERANCE_CENTS)
    where a step down the gradient moves toward the target: 1.0 is a loss one can descend."""
    cand = result["candidates_hz"]
    away = np.abs(cents_between(np.asarray(cand), np.asarray(result["target_f0_hz"]))) > TOLERANCE_CENTS
    toward = -np.sign(result[name]["grad"]) == np.sign(result["target_f0_hz"] - cand)
    return float(toward[away].mean()) if away.any() else math.nan


# ---- figures --------------------------------------------------------------------------------

def landscape_figure(result: dict, loss_names=None) -> go.Figure:
    """Two rows over the candidate F0 (log axis), one trace per loss:
    top, the loss scaled to [0, 1]; bottom, the descent direction -d loss / d log f scaled to
    [-1, 1] (above 0: gradient descent raises the F0, below: lowers it). A dashed line marks
    the target; left of it a good loss is above 0, right of it below.

    result: what ddsp_lab.landscape returns; loss_names: which of its losses to draw (default:
    all it holds).
    """
    cand = np.asarray(result["candidates_hz"], dtype=np.float64)  # (N,)
    target_hz = float(result["target_f0_hz"])
    names = list(loss_names) if loss_names is not None else [
        k for k in result if k not in ("candidates_hz", "target_f0_hz")]
    traces = []
    for name in names:
        loss = np.asarray(result[name]["loss"], dtype=np.float64)
        span = np.ptp(loss)
        loss_01 = (loss - loss.min()) / span if span > 0 else np.zeros_like(loss)
        # per log-Hz, as fit_tones descends on log F0; sign flipped: the way a step goes
        descent = -np.asarray(result[name]["grad"], dtype=np.float64) * cand
        peak = np.abs(descent).max()
        descent = descent / peak if peak > 0 else descent
        color = LOSS_COLORS.get(name, COLOR_TARGET)
        common = {"type": "scatter", "x": json_list(cand, 2), "legendgroup": name,
                  "line": {"color": color, "width": 2}}
        traces.append({**common, "y": json_list(loss_01, 4), "name": name, "mode": "lines",
                       "hovertemplate": "%{x:.1f} Hz: %{y:.3f}<extra>" + name + "</extra>"})
        traces.append({**common, "y": json_list(descent, 4), "name": f"{name} descent",
                       "mode": "lines+markers", "marker": {"size": 4, "color": color},
                       "xaxis": "x2", "yaxis": "y2", "showlegend": False,
                       "hovertemplate": "%{x:.1f} Hz: %{y:+.3f}<extra>" + name + "</extra>"})
    x_range = [math.log10(cand.min()), math.log10(cand.max())]
    xaxis = {"type": "log", "range": x_range, "matches": "x2", "showticklabels": False}
    xaxis2 = {"type": "log", "range": x_range, "title": {"text": "candidate F0 (Hz)"},
              "anchor": "y2"}
    layout = base_layout(f"Loss landscape around a {target_hz:.1f} Hz target", xaxis, {
        "title": {"text": "loss (scaled 0..1)"}, "domain": [0.55, 1.0], "range": [-0.05, 1.05]},
        FIGURE_HEIGHT_PX, LAB_MARGIN)
    layout["xaxis2"] = xaxis2
    layout["yaxis2"] = {"title": {"text": "descent direction"}, "domain": [0.0, 0.45],
                        "range": [-1.1, 1.1], "anchor": "x2", "zeroline": True,
                        "zerolinecolor": COLOR_TARGET, "tickvals": [-1, 0, 1],
                        "ticktext": ["-1 down", "0", "+1 up"]}
    # the target as traces, not shapes: shapes and annotations read log axes differently
    for xaxis_id, yaxis_id, y in (("x", "y", [-0.05, 1.05]), ("x2", "y2", [-1.1, 1.1])):
        traces.append({"type": "scatter", "x": [target_hz, target_hz], "y": y, "mode": "lines",
                       "name": "target", "xaxis": xaxis_id, "yaxis": yaxis_id,
                       "showlegend": False, "hoverinfo": "skip",
                       "line": {"color": COLOR_TARGET, "width": 1.5, "dash": "dash"}})
    layout["annotations"] = [{"text": f"target {target_hz:.1f} Hz",  # log axis: x in log10
                              "x": math.log10(target_hz),
                              "xref": "x", "y": 1.0, "yref": "y domain", "showarrow": False,
                              "yanchor": "bottom", "font": {"size": 11, "color": COLOR_TARGET}}]
    return figure(traces, layout)


def trajectories_figure(trajectories_hz: dict, target_f0_hz: float) -> go.Figure:
    """F0 during each fit, in cents from the target, against the step: a line per
    initialization, coloured by loss (one legend entry per loss toggles all of its lines).

    trajectories_hz: loss name -> (steps + 1, N) F0 after each step (FitResult.trajectory_hz).
    A band marks success (within TOLERANCE_CENTS); dotted lines mark the octave errors.
    """
    traces = []
    n_steps = 0
    for name, traj in trajectories_hz.items():
        c = cents_between(np.asarray(traj, dtype=np.float64), target_f0_hz)  # (steps + 1, N)
        n_steps = max(n_steps, c.shape[0] - 1)
        steps = list(range(c.shape[0]))
        color = LOSS_COLORS.get(name, COLOR_TARGET)
        for i in range(c.shape[1]):
            traces.append({
                "type": "scatter", "x": steps, "y": json_list(c[:, i], 1), "mode": "lines",
                "name": name, "legendgroup": name, "showlegend": i == 0,
                "line": {"color": color, "width": 1.5}, "opacity": 0.8,
                "hovertemplate": (f"{name}, start {c[0, i]:+.0f} cents<br>step %{{x}}: "
                                  "%{y:+.0f} cents<extra></extra>"),
            })
    layout = base_layout(f"Estimation by synthesis: F0 from each start ({target_f0_hz:.1f} Hz target)",
                         {"title": {"text": "step"}, "range": [0, max(n_steps, 1)]},
                         {"title": {"text": "F0 − target (cents)"}, "dtick": 600, "zeroline": True,
                          "zerolinecolor": COLOR_TARGET}, 420, LAB_MARGIN)
    layout["shapes"] = [
        {"type": "rect", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y",
         "y0": -TOLERANCE_CENTS, "y1": TOLERANCE_CENTS, "fillcolor": "#34a853", "opacity": 0.12,
         "line": {"width": 0}, "layer": "below"},
        *({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
           "line": {"color": COLOR_TARGET, "width": 1, "dash": "dot"}} for y in (-1200, 1200)),
    ]
    return figure(traces, layout)
