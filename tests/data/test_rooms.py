"""hiaudio/data/rooms.py: rooms the choir data can always build, and their impulse responses."""
import numpy as np
import pytest

from hiaudio.data.rooms import min_rt60_s, sample_room, shoebox_ir, synthetic_ir

SR = 16000


def test_every_sampled_shoebox_can_be_built():
    """A large hall cannot be as dry as a small room: an RT60 under Sabine's floor made
    pyroomacoustics refuse the room (a training render died on it); sampled rooms stay above it."""
    import pyroomacoustics as pra

    big = (25.0, 18.0, 10.0)
    with pytest.raises(ValueError, match="too large"):
        pra.inverse_sabine(0.9 * min_rt60_s(big), list(big))
    rooms = [sample_room(np.random.default_rng(seed)) for seed in range(300)]
    shoeboxes = [r for r in rooms if r.kind == "shoebox"]
    assert len(shoeboxes) > 50
    assert all(r.rt60_s >= min_rt60_s(r.dims_m) for r in shoeboxes)
    driest = min(shoeboxes, key=lambda r: r.rt60_s / min_rt60_s(r.dims_m))
    x, y, z = driest.dims_m
    ir = shoebox_ir(driest.dims_m, driest.rt60_s, (x / 2, y / 2, 1.7), (x / 2, y / 2 - driest.mic_distance_m, 1.5), SR)
    assert len(ir) > 0 and np.isfinite(ir).all() and np.abs(ir).max() > 0


def test_synthetic_ir_decays_at_its_rt60_and_keeps_its_drr():
    ir = synthetic_ir(0.8, 6.0, SR, np.random.default_rng(0))
    assert ir[0] == pytest.approx(1.0, abs=0.05)  # the direct path
    tail = ir[1:].astype(np.float64)
    assert 10 * np.log10(1.0 / np.sum(tail ** 2)) == pytest.approx(6.0, abs=0.5)
    energy = np.cumsum(tail[::-1] ** 2)[::-1]  # Schroeder's backward integral
    db = 10 * np.log10(energy / energy[0])
    t5, t25 = np.argmax(db < -5) / SR, np.argmax(db < -25) / SR
    assert 3 * (t25 - t5) == pytest.approx(0.8, rel=0.35)  # T20 x 3 (the low band rules the decay)
