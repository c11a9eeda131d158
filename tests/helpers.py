"""Signals with known answers, and other small helpers shared by the tests."""
import socket

import numpy as np


def free_port() -> int:
    """A localhost TCP port nobody listens on now (for serving a Gradio app in a test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def harmonic_voice(f0_hz, sample_rate=16000, duration_s=1.5, n_harmonics=30, vibrato_cents=0.0,
                   vibrato_hz=5.5, formants_hz=(700, 1200, 2600), seed=0):
    """A synthetic vowel: a harmonic source with -6 dB/octave roll-off, shaped by resonances."""
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = f0_hz * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * vibrato_hz * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    out = np.zeros_like(t)
    for k in range(1, n_harmonics + 1):
        fk = k * f0
        gain = np.ones_like(t) / k
        for fc in formants_hz:  # second-order resonance magnitudes, 80 Hz bandwidth
            gain *= 1.0 / np.sqrt((1 - (fk / fc) ** 2) ** 2 + (fk * 80 / fc ** 2) ** 2)
        gain[fk >= sample_rate / 2] = 0
        out += gain * np.sin(k * phase)
    rng = np.random.default_rng(seed)
    out += 0.001 * rng.standard_normal(len(t))
    return (0.5 * out / np.abs(out).max()).astype(np.float32), f0


def median_f0(audio, sr) -> float:
    """Median F0 (Hz) of the voiced frames of a clip, by the project's own tracker (5 ms hop)."""
    import torch

    from hiaudio.dsp import pitch

    f0, _ = pitch.estimate_f0(torch.as_tensor(audio), sr, round(0.005 * sr))
    return float(f0[f0 > 0].median())


def sung(notes, vowel, ratio, seed, sample_rate=16000):
    """Our voice model singing `notes` [(MIDI, start s, dur s)] on `vowel`: (S,) float32."""
    from hiaudio.voice import Singer, render, sing

    return render(sing(notes, sample_rate, Singer(vowel=vowel, formant_ratio=ratio, vibrato_cents=25), seed=seed))


def voice_outputs(result) -> dict:
    """Name what the Voice tab's /analyze, /load_params and /render return through the API: its
    RESULTS less the session state (which the API does not see), then anything after them."""
    names = ("audio", "ab", "status", "wav_file", "json_file")
    return dict(zip(names, result), rest=tuple(result[len(names):]))
