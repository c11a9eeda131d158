"""hiaudio/separation/metrics.py: SI-SDR and pitch scores, known answers."""
import numpy as np
import pytest

from hiaudio.separation import pitch_ordered, pitch_scores, si_sdr, si_sdr_batch

SR = 16000


# ---- SI-SDR --------------------------------------------------------------------------------
def test_si_sdr_identical_is_large():
    x = np.random.default_rng(0).standard_normal(SR)
    assert si_sdr(x, x) > 100.0


def test_si_sdr_ignores_gain_and_offset():
    rng = np.random.default_rng(1)
    ref, noise = rng.standard_normal(SR), rng.standard_normal(SR)
    est = ref + 0.3 * noise
    assert si_sdr(3.0 * est + 0.5, ref) == pytest.approx(si_sdr(est, ref), abs=1e-6)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 30.0])
def test_si_sdr_of_orthogonal_noise_is_the_snr(snr_db):
    rng = np.random.default_rng(2)
    ref = rng.standard_normal(SR)
    ref -= ref.mean()
    noise = rng.standard_normal(SR)
    noise -= noise.mean()
    noise -= (noise @ ref) / (ref @ ref) * ref  # orthogonal to the reference
    noise *= np.sqrt((ref @ ref) / (noise @ noise) * 10 ** (-snr_db / 10))
    assert si_sdr(ref + noise, ref) == pytest.approx(snr_db, abs=0.1)


def test_si_sdr_batch_matches_items_and_marks_silence():
    rng = np.random.default_rng(3)
    refs = rng.standard_normal((2, 3, 800))
    ests = refs + rng.standard_normal((2, 3, 800))
    batch = si_sdr_batch(ests, refs)  # (2, 3)
    assert batch.shape == (2, 3)
    assert np.allclose(batch, [[si_sdr(e, r) for e, r in zip(es, rs)] for es, rs in zip(ests, refs)])
    assert np.isnan(si_sdr(ests[0, 0], np.zeros(800)))  # a resting voice has nothing to score


# ---- pitch ---------------------------------------------------------------------------------
def test_pitch_scores_known_answers():
    t = np.arange(400) * 0.005
    ref = np.where(t < 1.5, 220.0, 0.0)  # voiced for 300 frames, then a rest
    assert pitch_scores(t, ref, t, ref) == {"rpa": 1.0, "rca": 1.0, "oa": 1.0, "vr": 1.0, "vfa": 0.0}
    octave = pitch_scores(t, ref, t, 2 * ref)
    assert octave["rpa"] == 0.0 and octave["rca"] == 1.0
    half = pitch_scores(t, ref, t, np.where(t < 0.75, ref, ref * 2 ** (1 / 12)))  # a semitone off on half
    assert half["rpa"] == pytest.approx(0.5, abs=0.01)


def test_pitch_ordered_swaps_crossed_parts_only_where_they_cross():
    t = np.arange(400) * 0.005
    soprano = np.where(t < 1.0, 440.0, 330.0)  # falls below the alto at 1 s
    alto = np.full_like(t, 392.0)
    bass = np.where(t < 0.5, 0.0, 110.0)  # rests, then sings: it keeps its own line
    ordered = pitch_ordered(np.stack([soprano, alto, bass]))
    np.testing.assert_array_equal(ordered[:, t < 1.0], np.stack([soprano, alto, bass])[:, t < 1.0])
    np.testing.assert_array_equal(ordered[0, t >= 1.0], 392.0)
    np.testing.assert_array_equal(ordered[1, t >= 1.0], 330.0)
    np.testing.assert_array_equal(ordered[2], bass)
    # the ceiling of a pitch-order labelling: the soprano is "found" only before the crossing
    assert pitch_scores(t, soprano, t, ordered[0])["rpa"] == pytest.approx(0.5, abs=0.01)
