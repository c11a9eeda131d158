"""Plotly figures for the studio: what an edit did to the pitch and to the vocal tract.

Gradio-free: each function takes arrays or `VoiceParams` and returns a `plotly` figure, which
the Voice tab (hiaudio/ui/voice.py) hands to `gr.Plot`. Frames are thinned before plotting (a
60 s clip has 12k frames at a 5 ms hop), so a figure costs a few milliseconds, not a re-analysis.

    fig = f0_figure(p.times_s, p.f0_hz, p.voiced, q.f0_hz, q.voiced)
    fig = filter_figure(p, q)
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from hiaudio.dsp import filters
from hiaudio.dsp.spectral import stft
from hiaudio.dsp.units import hz_to_midi, midi_name, midi_to_hz, note_name
from hiaudio.voice.params import VoiceParams
from hiaudio.voice.synthesis import tract_response_db

VOICED_THRESHOLD = 0.5  # frames with voicing below this are drawn as gaps in the F0 curve
MAX_F0_POINTS = 1500  # per trace; more than a plot's width in pixels
MAX_FILTER_FRAMES = 64  # frames averaged for the filter response (evenly spread over the clip)
FILTER_FFT_SIZE = 1024  # the filter response is drawn on this FFT's bins (~21 Hz apart at 22 kHz)
N_FORMANTS = 4  # F1..F4 are labelled

COLOR_ORIGINAL = "#9aa0a6"  # grey: what was recorded
COLOR_EDITED = "#e8710a"  # orange: what the edits make of it
COLOR_NOTES = "#4285f4"  # blue blobs: the notes
COLOR_SELECTED = "#a142f4"  # purple: the note being edited
SPECTROGRAM_MAX_BINS, SPECTROGRAM_MAX_FRAMES = 160, 400  # heatmap cells sent to the browser, at most
SPECTROGRAM_FFT, SPECTROGRAM_HOP = 2048, 256
FIGURE_HEIGHT_PX = 320


def pitch_axis(f0_hz: np.ndarray, title: str = "pitch") -> dict:
    """A log-frequency axis labelled with note names, fit to the voiced F0 values given: their
    5th..95th percentile plus a minor third each side, so that a stray octave error of a tracker
    does not squash the melody (autoscale, a double click, shows everything)."""
    axis = {"title": {"text": title}, "type": "log"}
    voiced = np.asarray(f0_hz, dtype=np.float64)
    voiced = voiced[np.isfinite(voiced) & (voiced > 0)]
    if voiced.size:
        lo_hz, hi_hz = np.percentile(voiced, [5, 95]) * np.array([2 ** (-3 / 12), 2 ** (3 / 12)])
        tick_hz, tick_text = _note_ticks(lo_hz, hi_hz)
        axis.update(range=[math.log10(lo_hz), math.log10(hi_hz)], tickvals=tick_hz, ticktext=tick_text)
    return axis


def note_blob_traces(blobs, selected: int | None, color: str = COLOR_NOTES) -> list[dict]:
    """Notes as blobs over a pitch plot (`session.NoteBlob`s): one wide translucent bar per note at
    its current pitch, the selected one in its own trace ("selected note"), numbered on hover."""
    traces = []
    for name, keep, blob_color, opacity in (("notes", lambda b: b.index != selected, color, 0.28),
                                            ("selected note", lambda b: b.index == selected, COLOR_SELECTED, 0.55)):
        x, y, text = [], [], []
        for b in blobs:
            if keep(b) and b.f0_hz > 0:
                x += [round(b.start_s, 3), round(b.stop_s, 3), None]
                y += [round(b.f0_hz, 2), round(b.f0_hz, 2), None]
                text += [f"note {b.index + 1}" + (" (edited)" if b.edited else "")] * 2 + [None]
        if x:
            traces.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "text": text,
                           "line": {"color": blob_color, "width": 12}, "opacity": opacity,
                           "hovertemplate": "%{text}: %{y:.0f} Hz<extra></extra>", "connectgaps": False})
    return traces


def f0_figure(times_s: np.ndarray, f0_orig: np.ndarray, voiced_orig: np.ndarray,
              f0_edit: np.ndarray, voiced_edit: np.ndarray,
              max_points: int = MAX_F0_POINTS, blobs=(), selected: int | None = None) -> go.Figure:
    """Original vs edited F0 over time, on a log-frequency axis labelled with note names, with
    the notes (`blobs`, the selected one highlighted) under the curves.

    times_s, f0_* (Hz), voiced_* ([0, 1]): shape (T,) each, one value per analysis frame.
    Frames with voicing below VOICED_THRESHOLD are gaps (the stored F0 there is interpolated,
    not heard). Traces are named "original" and "edited".
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    step = max(1, math.ceil(times_s.size / max_points))  # thin frames to <= max_points
    t = times_s[::step]
    curves = {}
    for name, f0, voiced in (("original", f0_orig, voiced_orig), ("edited", f0_edit, voiced_edit)):
        f0 = np.asarray(f0, dtype=np.float64)[::step]
        curves[name] = np.where(np.asarray(voiced)[::step] >= VOICED_THRESHOLD, f0, np.nan)  # (T',)

    traces = note_blob_traces(blobs, selected) + [{
        "type": "scatter", "x": json_list(t, 3), "y": json_list(curves[name], 2),
        "name": name, "mode": "lines",
        "connectgaps": False, "line": {"color": color, "width": width},
        "customdata": [note_name(f) for f in curves[name]],
        "hovertemplate": "%{x:.2f} s: %{y:.0f} Hz (%{customdata})<extra>" + name + "</extra>",
    } for name, color, width in (("original", COLOR_ORIGINAL, 1.5), ("edited", COLOR_EDITED, 2.0))]
    voiced_hz = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
    yaxis = pitch_axis(voiced_hz)
    layout = base_layout("Pitch: original vs edited", xaxis={"title": {"text": "time (s)"}},
                     yaxis=yaxis)
    if not voiced_hz.size:
        layout["annotations"] = [{"text": "no voiced frames found", "showarrow": False,
                                  "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}]
    return figure(traces, layout)


def filter_figure(params_orig: VoiceParams, params_edit: VoiceParams,
                  max_frames: int = MAX_FILTER_FRAMES, n_fft: int = FILTER_FFT_SIZE) -> go.Figure:
    """The vocal-tract filter (with the brightness tilt) in dB over frequency: original vs edited.

    Each curve is the mean, in dB, of the per-frame responses over the voiced frames (all frames
    when none is voiced), thinned to max_frames. Peaks of each curve are marked on it and named
    F1..F4 in a row of labels of their own above the curves (original, then edited), a label
    that would overlap its neighbour moved right of it.
    """
    traces, annotations = [], []
    for name, params, color, width in (("original", params_orig, COLOR_ORIGINAL, 1.5),
                                       ("edited", params_edit, COLOR_EDITED, 2.0)):
        freqs_hz, response_db = mean_response_db(params, max_frames, n_fft)  # (F,), (F,)
        traces.append({
            "type": "scatter", "x": json_list(freqs_hz, 1), "y": json_list(response_db, 2),
            "name": name, "mode": "lines",
            "legendgroup": name, "line": {"color": color, "width": width},
            "hovertemplate": "%{x:.0f} Hz: %{y:.1f} dB<extra>" + name + "</extra>",
        })
        formants = filters.formants_from_response(freqs_hz, response_db, max_count=N_FORMANTS)
        if formants:
            hz = [f for f, _ in formants]
            traces.append({
                "type": "scatter", "x": hz,
                "y": json_list(np.interp(hz, freqs_hz, response_db), 2),
                "name": f"{name} formants", "mode": "markers", "legendgroup": name,
                "showlegend": False, "text": [f"F{i + 1}" for i in range(len(formants))],
                "marker": {"color": color, "size": 7}, "customdata": [bw for _, bw in formants],
                "hovertemplate": "%{text}: %{x:.0f} Hz, bandwidth %{customdata:.0f} Hz"
                                 "<extra>" + name + "</extra>",
            })
            row_y = 0.99 if name == "original" else 0.91  # each curve's labels in a row of their own
            for i, x in enumerate(_label_centres(hz, params_orig.sample_rate / 2)):
                annotations.append({"text": f"F{i + 1}", "x": x, "xref": "x", "y": row_y, "yref": "paper",
                                    "xanchor": "center", "yanchor": "top", "showarrow": False,
                                    "font": {"color": color, "size": 11}})
    levels_db = [v for t in traces for v in t["y"] if v is not None]
    layout = base_layout("Vocal-tract filter: original vs edited",
                     xaxis={"title": {"text": "frequency (Hz)"},
                            "range": [0, params_orig.sample_rate / 2]},
                     yaxis={"title": {"text": "level (dB)"},  # headroom for the two rows of labels
                            "range": [min(levels_db) - 3, max(levels_db) + 16]})
    layout["annotations"] = annotations
    return figure(traces, layout)


LABEL_WIDTH = 0.05  # a formant label's width as a share of the frequency axis (~30 px of ~600)


def _label_centres(hz: list[float], top_hz: float) -> list[float]:
    """Where each formant label of one row goes (Hz): over its peak, or, when that would overlap
    the label before it, just right of that one (labels stay in order and never overlap)."""
    width = LABEL_WIDTH * top_hz
    centres: list[float] = []
    for f in hz:
        centres.append(max(f, centres[-1] + width) if centres else f)
    return centres


def spectrogram_trace(wave: np.ndarray, sample_rate: int, max_freq_hz: float, min_freq_hz: float = 0.0,
                      name: str = "input") -> dict:
    """A plotly heatmap trace of a clip's level (dB re. its peak) from min_freq_hz to max_freq_hz,
    pooled (max) to at most SPECTROGRAM_MAX_BINS x SPECTROGRAM_MAX_FRAMES cells, -70..0 dB."""
    mag = np.abs(stft(np.asarray(wave, np.float64), SPECTROGRAM_FFT, SPECTROGRAM_HOP))  # (F, T)
    freqs_hz = np.arange(mag.shape[0]) * sample_rate / SPECTROGRAM_FFT
    keep = (freqs_hz <= max_freq_hz) & (freqs_hz >= min_freq_hz)
    mag, freqs_hz = mag[keep], freqs_hz[keep]
    f_step = max(1, int(np.ceil(mag.shape[0] / SPECTROGRAM_MAX_BINS)))
    t_step = max(1, int(np.ceil(mag.shape[1] / SPECTROGRAM_MAX_FRAMES)))
    n_f, n_t = mag.shape[0] // f_step * f_step, mag.shape[1] // t_step * t_step
    pooled = mag[:n_f, :n_t].reshape(n_f // f_step, f_step, n_t // t_step, t_step).max(axis=(1, 3))
    level_db = 20 * np.log10(pooled / (pooled.max() + 1e-12) + 1e-6)
    times_s = (np.arange(n_t // t_step) * t_step + t_step / 2) * SPECTROGRAM_HOP / sample_rate
    return {"type": "heatmap", "x": json_list(times_s, 3), "y": json_list(freqs_hz[:n_f:f_step], 1),
            "z": np.round(np.maximum(level_db, -70.0), 1).tolist(), "zmin": -70, "zmax": 0,
            "colorscale": "Greys", "reversescale": True, "showscale": False, "name": name,
            "hovertemplate": "%{x:.2f} s, %{y:.0f} Hz: %{z:.0f} dB<extra>" + name + "</extra>"}


SPECTROGRAM_MAX_HZ = 5000.0  # the Voice tab's spectrogram: where a voice's formants are


def spectrogram_figure(wave: np.ndarray, sample_rate: int, title: str = "Input spectrogram") -> go.Figure:
    """The input's spectrogram, 0..5 kHz, under the pitch plot (same time axis)."""
    trace = spectrogram_trace(wave, sample_rate, min(SPECTROGRAM_MAX_HZ, sample_rate / 2))
    layout = base_layout(title, xaxis={"title": {"text": "time (s)"}},
                         yaxis={"title": {"text": "frequency (Hz)"}}, height_px=240)
    return figure([trace], layout)


def mean_response_db(params: VoiceParams, max_frames: int = MAX_FILTER_FRAMES,
                     n_fft: int = FILTER_FFT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Mean filter response plus tilt, in dB, over (up to max_frames) voiced frames.

    The same filter the synthesizer hears (`hiaudio.voice.synthesis.tract_response_db`): the
    all-pole response read at f / formant_ratio (held at Nyquist beyond it), plus the tilt at f.
    Returns (freqs_hz, response_db), both (n_fft // 2 + 1,), from 0 Hz to Nyquist.
    """
    frames = np.nonzero(np.asarray(params.voiced) >= VOICED_THRESHOLD)[0]
    if frames.size == 0:
        frames = np.arange(params.n_frames)
    pick = np.linspace(0, frames.size - 1, min(max_frames, frames.size)).round().astype(int)
    frames = frames[pick]  # (N,) evenly spread over the clip
    freqs_hz = np.arange(n_fft // 2 + 1) * (params.sample_rate / n_fft)  # (F,)
    return freqs_hz, tract_response_db(params, freqs_hz, frames).mean(0)


def figure(traces: list[dict], layout: dict) -> go.Figure:
    # _validate=False: plotly's per-property validation costs ~10x the rest of a figure here;
    # tests/ui/test_voice.py validates each figure once instead
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def base_layout(title: str, xaxis: dict, yaxis: dict, height_px: int = FIGURE_HEIGHT_PX,
           margin: dict | None = None) -> dict:
    """The studio's common figure layout (the lab's figures use it too)."""
    return {
        "title": {"text": title, "font": {"size": 14}}, "height": height_px,
        "margin": margin or {"l": 60, "r": 20, "t": 40, "b": 45}, "template": "plotly_white",
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        "xaxis": xaxis, "yaxis": yaxis, "hovermode": "closest",
    }


def json_list(x: np.ndarray, decimals: int) -> list:
    """Rounded plain floats, NaN as None (a gap): what plotly.js reads in every version."""
    x = np.round(np.asarray(x, dtype=np.float64), decimals)
    return [None if not np.isfinite(v) else v for v in x.tolist()]


def _note_ticks(lo_hz: float, hi_hz: float, max_ticks: int = 12) -> tuple[list[float], list[str]]:
    """Note frequencies (12-TET, A4 = 440 Hz) and names between lo_hz and hi_hz, <= max_ticks.

    The densest of these that fits: every semitone, the natural notes, C-E-G, C-G, C.
    """
    first, last = math.ceil(hz_to_midi(lo_hz)), math.floor(hz_to_midi(hi_hz))
    for pitch_classes in (range(12), (0, 2, 4, 5, 7, 9, 11), (0, 4, 7), (0, 7), (0,)):
        notes = [m for m in range(first, last + 1) if m % 12 in pitch_classes]
        if len(notes) <= max_ticks:
            break
    return [float(midi_to_hz(m)) for m in notes], [midi_name(m) for m in notes]
