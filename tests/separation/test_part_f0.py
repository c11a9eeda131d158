"""hiaudio/separation/part_f0.py: each part's F0 in a mixture."""
import numpy as np


def test_with_the_score_a_part_does_not_take_its_neighbours_ridge():
    """Alto on E4 a semitone under the soprano's F4, whose ridge is stronger: the alto's F0 is looked
    for less than halfway to F4, so it stays on its own ridge; a unison does not narrow the search."""
    from hiaudio.models.salience import BIN_CENTS, F0_MIN_HZ, N_BINS
    from hiaudio.separation.part_f0 import f0_near_score

    def hz(midi):
        return 440.0 * 2 ** ((midi - 69) / 12)

    def bin_of(f):
        return int(round(1200 * np.log2(f / F0_MIN_HZ) / BIN_CENTS))

    sal = np.zeros((50, N_BINS), np.float32)
    sal[:, bin_of(hz(65))] = 0.9
    sal[:, bin_of(hz(64)) + 1] = 0.5  # the alto sings 20 cents sharp
    f0 = f0_near_score(sal, np.stack([np.full(50, hz(65)), np.full(50, hz(64))]))
    assert np.allclose(1200 * np.log2(f0[0] / hz(65)), 0, atol=10)
    assert np.allclose(1200 * np.log2(f0[1] / hz(64)), 20, atol=10)
    f0 = f0_near_score(sal, np.stack([np.full(50, hz(65)), np.full(50, hz(65))]))
    assert np.allclose(1200 * np.log2(f0 / hz(65)), 0, atol=10)  # a unison: both on the one ridge
