"""The Choir tab's figure: every part's F0 over the mixture's spectrogram, coloured by part.

Gradio-free (plotly). The spectrogram is thinned to at most MAX_BINS x MAX_FRAMES cells so a
figure stays small enough to send on every edit; the parts' F0 as separated are dotted, as
edited solid.
"""
from __future__ import annotations

import numpy as np

from hiaudio.studio.plots import base_layout, figure, json_list, note_blob_traces, pitch_axis, spectrogram_trace

PART_COLORS = {"soprano": "#d93025", "alto": "#f29900", "tenor": "#1e8e3e", "bass": "#1a73e8"}
MIN_FREQ_HZ, MAX_FREQ_HZ = 50.0, 2000.0  # where the parts' F0 and low partials sit (a log axis: no 0 Hz)


def mixture_spectrogram(mix: np.ndarray, sample_rate: int) -> dict:
    """The mixture's heatmap trace, MIN_FREQ_HZ..MAX_FREQ_HZ (computed once per separation)."""
    return spectrogram_trace(mix, sample_rate, MAX_FREQ_HZ, MIN_FREQ_HZ, name="mixture")


def choir_figure(spectrogram: dict, parts: dict[str, tuple], edited: dict[str, tuple] | None = None,
                 blobs=(), selected: int | None = None, blob_color: str = "#5f6368"):
    """parts: name -> (times_s, f0_hz) as separated; edited: name -> (times_s, f0_hz) after edits;
    blobs: one part's notes (`session.NoteBlob`), the selected one highlighted. The frequency
    axis is logarithmic and fit to the parts' pitch."""
    traces = [spectrogram] + note_blob_traces(blobs, selected, blob_color)
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
    sung = [np.asarray(f0) for _, f0 in parts.values()] + [np.asarray(f0) for _, f0 in (edited or {}).values()]
    layout = base_layout("Parts' pitch over the mixture", xaxis={"title": {"text": "time (s)"}},
                         yaxis=pitch_axis(np.concatenate(sung) if sung else np.zeros(0), "pitch"), height_px=380)
    return figure(traces, layout)
