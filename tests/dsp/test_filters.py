"""hiaudio/dsp/filters.py: the LSF all-pole filter, LPC and its known answers."""
import math

import numpy as np
import pytest
import torch

from hiaudio.dsp import filters


def test_flat_lsf_gives_a_flat_filter():
    omega = torch.linspace(0.01, math.pi - 0.01, 100, dtype=torch.float64)
    mag_db = filters.all_pole_response(torch.tensor(filters.flat_lsf(20)), torch.tensor(0.0), omega)
    assert mag_db.abs().max() < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_filter_is_stable_for_random_parameters(seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(64, 24, generator=gen, dtype=torch.float64)
    lsf = filters.lsf_from_logits(logits)
    assert torch.all(lsf > 0) and torch.all(lsf < math.pi) and torch.all(lsf.diff(dim=-1) > 0)
    a = filters.lsf_to_lpc_torch(lsf).numpy()
    radii = [np.abs(np.roots(row)).max() for row in a]  # poles of 1/A(z)
    assert max(radii) < 1.0


def test_response_is_finite_even_for_extreme_lsf():
    # LSFs crowded together (logits far apart): the response stays finite on a dense grid,
    # since interlaced LSFs keep |A(e^jw)| away from zero; synthesis never runs a recursion.
    lsf = filters.lsf_from_logits(6 * torch.randn(32, 24, generator=torch.Generator().manual_seed(9)))
    omega = torch.linspace(0, math.pi, 8193)
    mag_db = filters.all_pole_response(lsf, torch.zeros(32), omega)
    assert torch.isfinite(mag_db).all()


def test_response_from_lsf_matches_the_polynomial():
    rng = np.random.default_rng(1)
    lsf = filters.enforce_lsf_order(np.sort(rng.uniform(0.05, 3.1, (4, 20)), 1), 0.02)
    a = filters.lsf_to_lpc_torch(torch.tensor(lsf)).numpy()
    omega = np.linspace(0.01, 3.1, 200)
    expected = -20 * np.log10(np.abs(np.array([np.polyval(row[::-1], np.exp(-1j * omega)) for row in a])))
    got = filters.all_pole_response(torch.tensor(lsf), torch.zeros(4, dtype=torch.float64),
                                    torch.tensor(omega)).numpy()
    assert np.abs(got - expected).max() < 1e-6
    grid = filters.grid_response_db(torch.tensor(a), torch.zeros(4, dtype=torch.float64), 512).numpy()
    on_grid = filters.all_pole_response(torch.tensor(lsf), torch.zeros(4, dtype=torch.float64),
                                        torch.linspace(0, math.pi, 257, dtype=torch.float64)).numpy()
    assert np.abs(grid - on_grid)[:, 1:-1].max() < 1e-6
    exact_db, exact_phase = filters.all_pole_response(torch.tensor(lsf), torch.zeros(4, dtype=torch.float64),
                                                      torch.tensor(omega), with_phase=True)
    fast_db, fast_phase = filters.interpolated_response(torch.tensor(a), torch.zeros(4, dtype=torch.float64),
                                                        torch.tensor(omega), with_phase=True)
    assert (fast_db - exact_db).abs().max() < 0.05
    assert torch.remainder(fast_phase - exact_phase + math.pi, 2 * math.pi).sub(math.pi).abs().max() < 0.01


def test_lpc_to_lsf_round_trip():
    rng = np.random.default_rng(2)
    lsf = filters.enforce_lsf_order(np.sort(rng.uniform(0.05, 3.1, (200, 20)), 1), 0.01)
    a = filters.lsf_to_lpc_torch(torch.tensor(lsf)).numpy()
    assert np.abs(filters.lpc_to_lsf(a) - lsf).max() < 1e-3


def test_levinson_recovers_an_ar_process():
    a_true = np.array([1.0, -1.6, 0.9])  # resonance near 0.55 rad
    rng = np.random.default_rng(0)
    e = rng.standard_normal(200_000)
    x = np.zeros_like(e)
    for n in range(2, len(e)):
        x[n] = e[n] - a_true[1] * x[n - 1] - a_true[2] * x[n - 2]
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(3)]) / len(x)
    a, err = filters.levinson(r, 2)
    assert np.allclose(a, a_true, atol=0.02) and abs(err - 1.0) < 0.05


def test_all_pole_response_gradcheck():
    lsf = torch.tensor([[0.3, 0.9, 1.5, 2.4]], dtype=torch.float64, requires_grad=True)
    gain = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    omega = torch.tensor([[0.2, 1.0, 2.0, 3.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda l, g: filters.all_pole_response(l, g, omega, with_phase=True),
                                    (lsf, gain))
