"""hiaudio/separation/multif0.py: the per-part F0 decoder."""
import numpy as np
import pytest

from hiaudio.models.salience import N_BINS, bin_hz
from hiaudio.separation.multif0 import assign_voices, decode_f0


def test_decoder_assigns_two_ridges_to_their_parts():
    t_len = 200
    sal = np.full((t_len, N_BINS), 0.01)
    hz = bin_hz().numpy()
    ridges = {"high": np.where(np.arange(t_len) < 100, 523.25, 587.33),  # C5 then D5
              "low": np.full(t_len, 130.81)}  # C3
    for f in ridges.values():
        b = np.round(1200 * np.log2(f / 50.0) / 20).astype(int)
        for dk, val in ((-1, 0.5), (0, 0.95), (1, 0.5)):
            sal[np.arange(t_len), b + dk] = val
    sal[150:, :] = 0.01  # both parts rest at the end
    times_s, f0 = decode_f0(sal, 0.005, n_voices=2)
    assert f0.shape == (2, t_len) and times_s[1] == pytest.approx(0.005)
    cents = lambda est, ref: np.abs(1200 * np.log2(est / ref))  # noqa: E731
    assert np.all(cents(f0[0, :150], ridges["high"][:150]) < 25)  # soprano takes the upper line
    assert np.all(f0[:, 150:] == 0)
    # the lower line is far below the alto's range: a 4-part decode gives it to tenor or bass
    f0_4 = assign_voices(sal, 4)
    assert np.all(cents(f0_4[0, :150], ridges["high"][:150]) < 25)
    low_part = f0_4[1:, :150]
    has_low = (np.abs(1200 * np.log2(np.maximum(low_part, 1e-3) / 130.81)) < 25).any(0)
    assert has_low.mean() > 0.95
    assert np.all(f0_4[:, :150][1:] <= f0_4[0, :150] + 1e-6)  # no part above the soprano
    assert hz[0] == pytest.approx(50.0)


def test_a_missing_soprano_ridge_costs_only_the_soprano():
    """Four steady lines, the soprano's ridge gone for the middle half: decoded top-down, one part
    at a time, the soprano took the alto's line there, the alto the tenor's, the tenor the bass's.
    Decoded jointly, only the soprano is lost (there it may double the alto: a unison it cannot rule out)."""
    t_len = 400
    sal = np.full((t_len, N_BINS), 0.01)
    lines = {"soprano": 523.25, "alto": 392.0, "tenor": 261.63, "bass": 130.81}  # C5 G4 C4 C3
    for part, f in lines.items():
        frames = np.arange(t_len)
        if part == "soprano":
            frames = frames[(frames < 100) | (frames >= 300)]
        b = int(round(1200 * np.log2(f / 50.0) / 20))
        for dk, val in ((-1, 0.5), (0, 0.95), (1, 0.5)):
            sal[frames, b + dk] = val
    f0 = assign_voices(sal, 4)
    gap = slice(120, 280)
    for v, (part, f) in enumerate(lines.items()):
        if part == "soprano":
            continue
        cents = np.abs(1200 * np.log2(np.maximum(f0[v, gap], 1e-3) / f))
        assert np.mean(cents < 25) > 0.95, part
