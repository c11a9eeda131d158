"""hiaudio/data/render.py: chorales rendered part by part, with their score F0."""
import numpy as np
import pytest
import torch

from hiaudio.data.render import render_chorale
from hiaudio.dsp.f0grid import stable_frames
from hiaudio.dsp.pitch import estimate_f0


def _pitch_agreement(ex, margin_frames=4):
    """Fraction of frames within 50 cents of the score, over frames that are voiced in both the
    score (away from note changes) and the estimate; and how many frames were compared."""
    stable = stable_frames(ex.f0_hz, margin_frames)  # (4, T)
    good = compared = 0
    for i, stem in enumerate(ex.stems):
        est, _ = estimate_f0(torch.tensor(stem), ex.sample_rate, ex.hop_samples)
        est = est.numpy()[: ex.f0_hz.shape[1]]
        both = stable[i] & (est > 0)
        cents = 1200 * np.abs(np.log2(est[both] / ex.f0_hz[i, both]))
        good += int((cents < 50).sum())
        compared += int(both.sum())
    return good / max(compared, 1), compared, int(stable.sum())


@pytest.mark.parametrize("renderer", ["fluidsynth", "voice"])
def test_render_stems_sum_to_mix_and_follow_the_score(bwv10_7, renderer):
    ex = render_chorale(bwv10_7, 16000, renderer, seed=3, duration_s=3.0)
    n = 3 * 16000
    assert ex.mixture.shape == (n,) and ex.stems.shape == (4, n) and ex.mixture.dtype == np.float32
    assert ex.f0_hz.shape == (4, int(np.ceil(n / ex.hop_samples))) and ex.hop_samples == 80
    np.testing.assert_allclose(ex.mixture, ex.stems.sum(0), rtol=0, atol=1e-6)
    peak_db = 20 * np.log10(np.abs(ex.mixture).max())
    assert -12.01 <= peak_db <= -0.99 and np.isclose(peak_db, ex.meta["mix_peak_dbfs"], atol=0.01)
    assert all(np.abs(s).max() > 1e-3 for s in ex.stems)  # every part sings in the excerpt
    assert 60 <= ex.meta["tempo_qpm"] <= 100 and ex.meta["renderer"] == renderer
    frac, compared, stable = _pitch_agreement(ex)
    assert compared > 0.8 * stable, f"only {compared} of {stable} steady score frames were voiced"
    assert frac >= 0.9, f"{frac:.1%} of frames within 50 cents of the score"
    if renderer == "voice":  # the F0 the voice sang: vibrato and drift around the score
        sung = ex.f0_sung_hz
        both = (sung > 0) & stable_frames(ex.f0_hz, 4)
        assert np.percentile(np.abs(1200 * np.log2(sung[both] / ex.f0_hz[both])), 95) < 60


def test_render_is_deterministic_in_the_seed(bwv10_7):
    a = render_chorale(bwv10_7, 16000, "fluidsynth", seed=5, duration_s=1.5)
    b = render_chorale(bwv10_7, 16000, "fluidsynth", seed=5, duration_s=1.5)
    c = render_chorale(bwv10_7, 16000, "fluidsynth", seed=6, duration_s=1.5)
    assert np.array_equal(a.stems, b.stems) and a.meta == b.meta
    assert a.meta["tempo_qpm"] != c.meta["tempo_qpm"]


def test_score_f0_is_zero_where_a_part_rests(bwv269):
    # from bar 1 at 60 bpm: the first phrase ends with a fermata at q = 12, then all voices go on
    ex = render_chorale(bwv269, 8000, "fluidsynth", seed=0, start_q=1.0, duration_s=2.0, tempo_qpm=60.0)
    first = bwv269.parts["bass"][1]
    hz = 440 * 2 ** ((first.pitch - 69) / 12)
    assert np.allclose(ex.f0_hz[3, :10], hz)  # the bass's second note sounds at the window's start
    tail = render_chorale(bwv269, 8000, "fluidsynth", seed=0, start_q=bwv269.duration_q - 1, tempo_qpm=60.0)
    assert tail.meta["duration_s"] == pytest.approx(1.5)  # the last quarter plus 0.5 s of tail
    assert (tail.f0_hz[:, -50:] == 0).all() and (tail.f0_hz[:, :50] > 0).all()
