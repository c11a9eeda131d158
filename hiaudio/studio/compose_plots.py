"""A piano roll of a chorale for the studio's Compose tab: one colour per voice, bar and phrase lines.

    fig = piano_roll(grid, plan.bars_per_phrase, "s-ape, seed 0")
"""
from __future__ import annotations

import numpy as np

from hiaudio.data.tokens import STEPS_PER_QUARTER, detokenize
from hiaudio.studio.plots import base_layout, figure

VOICE_COLORS = {"soprano": "#d93025", "alto": "#e8710a", "tenor": "#188038", "bass": "#1a73e8"}
NOTE_WIDTH_PX = 7
QUARTERS_PER_BAR = 4


def piano_roll(grid: np.ndarray, bars_per_phrase=(), title: str = "", height_px: int = 360,
               prompt_steps: int = 0):
    """grid (N, 4) tokens -> plotly figure; x in bars (from 1), y in MIDI pitch. prompt_steps: the
    opening that was given (a MIDI file continued), shaded and labelled "opening"."""
    traces = []
    for part, notes in detokenize(np.asarray(grid)).items():
        x, y, text = [], [], []
        for pitch, onset_q, dur_q in notes:
            a, b = 1 + onset_q / QUARTERS_PER_BAR, 1 + (onset_q + dur_q * 0.97) / QUARTERS_PER_BAR
            x += [a, b, None]
            y += [pitch, pitch, None]
            text += [f"{part} {pitch}"] * 2 + [None]
        traces.append({"type": "scatter", "mode": "lines", "name": part, "x": x, "y": y, "text": text,
                       "hoverinfo": "text", "line": {"color": VOICE_COLORS[part], "width": NOTE_WIDTH_PX}})
    n_bars = len(grid) / STEPS_PER_QUARTER / QUARTERS_PER_BAR
    phrase_ends = set(np.cumsum(bars_per_phrase).tolist())
    shapes = []
    for bar in range(int(np.ceil(n_bars)) + 1):
        phrase = bar in phrase_ends
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": 1 + bar, "x1": 1 + bar, "y0": 0, "y1": 1,
                       "line": {"color": "#5f6368" if phrase else "#dadce0", "width": 2 if phrase else 1,
                                "dash": "solid" if phrase else "dot"}, "layer": "below"})
    layout = base_layout(title or "Piano roll", {"title": "bar (solid lines: phrase ends)", "range": [1, 1 + n_bars]},
                         {"title": "MIDI pitch"}, height_px)
    if prompt_steps:
        end = 1 + prompt_steps / STEPS_PER_QUARTER / QUARTERS_PER_BAR
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": 1, "x1": end, "y0": 0, "y1": 1,
                       "fillcolor": "#e8eaed", "opacity": 0.6, "line": {"width": 0}, "layer": "below"})
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": end, "x1": end, "y0": 0, "y1": 1,
                       "line": {"color": "#a142f4", "width": 2}})
        layout["annotations"] = [{"text": "opening (given) | continued", "x": end, "xref": "x", "y": 1.0,
                                  "yref": "paper", "showarrow": False, "xanchor": "center", "yanchor": "bottom",
                                  "font": {"color": "#a142f4", "size": 11}}]
    layout["shapes"] = shapes
    return figure(traces, layout)
