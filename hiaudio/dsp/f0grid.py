"""F0 tracks on frame grids: from one frame rate to another, from notes, and where a note holds.

An F0 track here is (..., T) Hz, one value per frame t at t * hop, 0 where nothing sounds.
"""
from __future__ import annotations

import numpy as np

from hiaudio.dsp.units import midi_to_hz


def known_f0(f0_hz: np.ndarray, f0_hop_s: float, n_frames: int, hop_s: float) -> np.ndarray:
    """An F0 track on another frame grid -> n_frames analysis frames (nearest frame), float64."""
    f0 = np.asarray(f0_hz, dtype=np.float64).reshape(-1)
    if len(f0) == 0:
        return np.zeros(n_frames)
    idx = np.clip(np.round(np.arange(n_frames) * hop_s / f0_hop_s).astype(np.int64), 0, len(f0) - 1)
    return np.where(np.isfinite(f0[idx]) & (f0[idx] > 0), f0[idx], 0.0)


def score_f0(notes, n_frames: int, hop_samples: int, sample_rate: int) -> np.ndarray:
    """F0 (Hz) on frames t * hop_samples: the pitch of the note sounding there, 0 where none does."""
    t_s = np.arange(n_frames) * hop_samples / sample_rate
    f0 = np.zeros(n_frames, np.float32)
    for pitch, start_s, dur_s in notes:
        f0[(t_s >= start_s) & (t_s < start_s + dur_s)] = midi_to_hz(pitch)
    return f0


def stable_frames(f0_hz: np.ndarray, margin_frames: int) -> np.ndarray:
    """Voiced frames whose score pitch is the same `margin_frames` on either side (away from note
    changes and rests). f0_hz (..., T) -> bool (..., T)."""
    ok = f0_hz > 0
    for k in range(1, margin_frames + 1):
        same_prev = np.zeros_like(ok)
        same_next = np.zeros_like(ok)
        same_prev[..., k:] = f0_hz[..., k:] == f0_hz[..., :-k]
        same_next[..., :-k] = f0_hz[..., :-k] == f0_hz[..., k:]
        ok &= same_prev & same_next
    return ok
