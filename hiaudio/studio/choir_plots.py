"""The Choir tab's figure: every part's F0 over the mixture's spectrogram, coloured by part.

Gradio-free (plotly). The spectrogram is thinned to at most MAX_BINS x MAX_FRAMES cells so a
figure stays small enough to send on every edit; the parts' F0 as separated are dotted, as
edited solid.
"""
from __future__ import annotations

import numpy as np

from hiaudio.dsp.spectral import stft
from hiaudio.studio.plots import base_layout, figure, json_list

PART_COLORS = {"soprano": "#d93025", "alto": "#f29900", "tenor": "#1e8e3e", "bass": "#1a73e8"}
MAX_FREQ_HZ = 2000.0  # the spectrogram shows the range where the parts' F0 and low partials sit
MAX_BINS, MAX_FRAMES = 160, 400
N_FFT, HOP = 2048, 256


def mixture_spectrogram(mix: np.ndarray, sample_rate: int) -> dict:
    """A plotly heatmap trace of the mixture's level (dB re. its peak), thinned, 0..MAX_FREQ_HZ."""
    mag = np.abs(stft(mix, N_FFT, HOP))  # (F, T)
    freqs_hz = np.arange(mag.shape[0]) * sample_rate / N_FFT
    keep = freqs_hz <= MAX_FREQ_HZ
    mag, freqs_hz = mag[keep], freqs_hz[keep]
    f_step = max(1, int(np.ceil(mag.shape[0] / MAX_BINS)))
    t_step = max(1, int(np.ceil(mag.shape[1] / MAX_FRAMES)))
    n_f, n_t = mag.shape[0] // f_step * f_step, mag.shape[1] // t_step * t_step
    pooled = mag[:n_f, :n_t].reshape(n_f // f_step, f_step, n_t // t_step, t_step).max(axis=(1, 3))
    level_db = 20 * np.log10(pooled / (pooled.max() + 1e-12) + 1e-6)
    times_s = (np.arange(n_t // t_step) * t_step + t_step / 2) * HOP / sample_rate
    return {"type": "heatmap", "x": json_list(times_s, 3), "y": json_list(freqs_hz[:n_f:f_step], 1),
            "z": np.round(np.maximum(level_db, -70.0), 1).tolist(), "zmin": -70, "zmax": 0,
            "colorscale": "Greys", "reversescale": True, "showscale": False, "name": "mixture",
            "hovertemplate": "%{x:.2f} s, %{y:.0f} Hz: %{z:.0f} dB<extra>mixture</extra>"}


def choir_figure(spectrogram: dict, parts: dict[str, tuple], edited: dict[str, tuple] | None = None):
    """parts: name -> (times_s, f0_hz) as separated; edited: name -> (times_s, f0_hz) after edits."""
    traces = [spectrogram]
    for name, (t, f0) in parts.items():
        color = PART_COLORS.get(name, "#5f6368")
        f0 = np.where(np.asarray(f0) > 0, f0, np.nan)
        step = max(1, len(t) // 1500)
        moved = edited is not None and name in edited
        traces.append({"type": "scatter", "mode": "lines", "x": json_list(t[::step], 3),
                       "y": json_list(f0[::step], 1), "name": name + (" (separated)" if moved else ""),
                       "line": {"color": color, "width": 1.5 if moved else 2.5, "dash": "dot" if moved else "solid"},
                       "connectgaps": False})
        if moved:
            te, fe = edited[name]
            fe = np.where(np.asarray(fe) > 0, fe, np.nan)
            step = max(1, len(te) // 1500)
            traces.append({"type": "scatter", "mode": "lines", "x": json_list(te[::step], 3),
                           "y": json_list(fe[::step], 1), "name": name + " (edited)",
                           "line": {"color": color, "width": 2.5}, "connectgaps": False})
    layout = base_layout("Parts' pitch over the mixture", xaxis={"title": {"text": "time (s)"}},
                         yaxis={"title": {"text": "frequency (Hz)"}, "range": [0, MAX_FREQ_HZ]}, height_px=380)
    return figure(traces, layout)
