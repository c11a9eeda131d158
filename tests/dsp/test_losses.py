"""Spectral losses: known answers for SOT and MSS, gradients, batching."""
import math

import numpy as np
import pytest
import torch

from hiaudio.dsp import losses, units
from hiaudio.studio import ddsp_lab

SR = ddsp_lab.LAB_RATE


def sine(f0_hz, amp=0.3):
    f0 = torch.as_tensor(f0_hz, dtype=torch.float64).reshape(-1)
    return ddsp_lab.tone(f0, torch.full((len(f0), 1), amp, dtype=torch.float64))


def test_sot_is_zero_for_identical_spectra():
    x = ddsp_lab.tone(torch.tensor([220.0], dtype=torch.float64), torch.tensor([[0.5, 0.2, 0.1]], dtype=torch.float64))
    assert losses.spectral_ot(x, x, sample_rate=SR).item() == pytest.approx(0.0, abs=1e-12)
    # SOT compares where the energy is, not how much: a louder copy is at distance 0 too
    assert losses.spectral_ot(3 * x, x, sample_rate=SR).item() == pytest.approx(0.0, abs=1e-9)


def test_sot_of_two_peaks_grows_with_the_squared_distance():
    target = sine([1000.0])
    shifts = np.array([25.0, 50.0, 100.0, 200.0, 400.0])
    values = losses.spectral_ot(sine(1000.0 + shifts), target.expand(len(shifts), -1), sample_rate=SR).numpy()
    # W2^2 between two identical peaks is the squared shift (in Hz^2 here)
    assert np.allclose(values, shifts ** 2, rtol=0.05)


def test_sot_gradient_moves_a_wrong_guess_toward_the_target():
    target_hz = 440.0
    guesses = torch.tensor([220.0, 300.0, 400.0, 480.0, 600.0, 870.0], dtype=torch.float64, requires_grad=True)
    value = losses.spectral_ot(sine(guesses), sine([target_hz]).expand(len(guesses), -1), sample_rate=SR)
    grad, = torch.autograd.grad(value.sum(), guesses)
    assert torch.all(torch.sign(grad) == torch.sign(guesses.detach() - target_hz))
    # and a descent from an octave away lands on the target
    fit = ddsp_lab.fit_tones(sine([target_hz]), [target_hz * 1.9], 1, "sot", steps=200, lr=0.05)
    assert abs(units.cents_between(fit.f0_hz[0], target_hz)) < 25


def test_mss_gradient_is_blind_far_from_the_target():
    # the motivating example: from far away a vertical loss often points the wrong way
    guesses = torch.linspace(250.0, 900.0, 40, dtype=torch.float64, requires_grad=True)
    target = sine([440.0]).expand(40, -1)
    right = {}
    for name in ("mss", "sot"):
        g = guesses.detach().clone().requires_grad_()
        grad, = torch.autograd.grad(losses.LOSSES[name](sine(g), target, SR).sum(), g)
        right[name] = (torch.sign(grad) == torch.sign(g.detach() - 440.0)).float().mean().item()
    assert right["sot"] > 0.95 and right["sot"] > right["mss"] + 0.2


def test_losses_batched_equal_item_by_item():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4000, generator=gen, dtype=torch.float64)
    b = torch.randn(3, 4000, generator=gen, dtype=torch.float64)
    for name, fn in losses.LOSSES.items():
        batched = fn(a, b, SR)
        single = torch.stack([fn(a[i], b[i], SR) for i in range(3)])
        assert torch.allclose(batched, single, rtol=1e-6, atol=1e-9), name


def test_mss_known_answer():
    x = sine([300.0])
    assert losses.multiscale_spectral(x, x).item() == pytest.approx(0.0, abs=1e-12)
    # doubling the signal: the log term is log 2 per bin wherever the magnitude is well above
    # the log's epsilon, so a little under 6 log 2 over the six scales
    log_terms = sum((torch.log(2 * losses.magnitude(x, n) + losses.LOG_EPS) -
                     torch.log(losses.magnitude(x, n) + losses.LOG_EPS)).abs().mean().item()
                    for n in losses.MSS_FFT_SIZES)
    assert 0.9 * 6 * math.log(2) < log_terms <= 6 * math.log(2)
    expected = sum((losses.magnitude(2 * x, n) - losses.magnitude(x, n)).abs().mean().item()
                   + (torch.log(losses.magnitude(2 * x, n) + losses.LOG_EPS)
                      - torch.log(losses.magnitude(x, n) + losses.LOG_EPS)).abs().mean().item()
                   for n in losses.MSS_FFT_SIZES)
    assert losses.multiscale_spectral(2 * x, x).item() == pytest.approx(expected, rel=1e-9)
    assert set(losses.MSS_FFT_SIZES) == {2048, 1024, 512, 256, 128, 64}
