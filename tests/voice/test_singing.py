"""hiaudio/voice/singing.py: singing from notes."""
import numpy as np
import torch

from hiaudio.dsp import pitch
from hiaudio.voice import singing, synthesis

SR = 16000


def test_sing_produces_the_notes_it_was_given():
    notes = [(57, 0.1, 0.6), (64, 0.8, 0.6)]  # A3, E4
    params = singing.sing(notes, SR, singing.Singer(vowel="o", vibrato_cents=0, drift_cents=0))
    audio = synthesis.render(params)
    assert np.abs(audio).max() < 1.0
    f0, _ = pitch.estimate_f0(torch.as_tensor(audio), SR, params.hop_samples)
    times = np.arange(len(f0)) * params.hop_samples / SR
    for midi, start, dur in notes:
        inside = (times > start + 0.15) & (times < start + dur - 0.1)
        expected = 440 * 2 ** ((midi - 69) / 12)
        assert np.all(np.abs(1200 * np.log2(f0[inside].numpy() / expected)) < 15)
    gap = (times > 0.72) & (times < 0.78)
    assert np.all(f0[gap].numpy() == 0), "silence between separated notes"
