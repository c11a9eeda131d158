"""hiaudio/models/wavegrad.py: the diffusion sampler, its noise levels, the shipped model, training."""
import math

import pytest
import torch

from hiaudio.dsp import spectral
from hiaudio.models import wavegrad
from hiaudio.studio import vocode
from tests.helpers import harmonic_voice

SR = spectral.MEL.sample_rate


# ---- diffusion on toy data --------------------------------------------------------------------
def _oracle_gaussian(mean: float, std: float):
    """The exact noise predictor E[eps | y] when y_0 ~ N(mean, std^2) per sample."""
    def eps(y, log_mel, level):
        a = level[:, None].double()
        var = a ** 2 * std ** 2 + 1 - a ** 2
        return (torch.sqrt(1 - a ** 2) * (y.double() - a * mean) / var).to(y.dtype)
    return eps


@pytest.mark.parametrize("n_steps,first,last", [(6, 1e-4, 0.7), (25, 1e-4, 0.35)])
def test_sampler_inverts_the_forward_noising_of_a_point(n_steps, first, last):
    # data = one waveform x0: the ideal predictor is eps = (y - a x0) / sqrt(1 - a^2) for the
    # `add_noise` convention; the sampler must then land on x0 from any starting noise
    g = torch.Generator().manual_seed(0)
    x0 = 0.5 * torch.randn(2, 4 * 256, generator=g, dtype=torch.float64)
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    level = torch.tensor([0.3, 0.9], dtype=torch.float64)
    y = wavegrad.add_noise(x0, level, noise)
    assert torch.allclose((y - level[:, None] * x0) / torch.sqrt(1 - level[:, None] ** 2), noise)

    def oracle(y, log_mel, lev):
        a = lev[:, None].double()
        return (y - a * x0) / torch.sqrt(1 - a ** 2)

    out = wavegrad.sample(oracle, torch.zeros(2, 80, 4, dtype=torch.float64),
                          wavegrad.geometric_betas(n_steps, first, last), g)
    assert torch.allclose(out, x0, atol=1e-6)


def test_sampler_draws_the_gaussian_it_was_noised_from():
    g = torch.Generator().manual_seed(0)
    mean, std = 0.3, 0.2
    y0 = mean + std * torch.randn(8, 2048, generator=g)
    level = torch.full((8,), 0.6)
    y = wavegrad.add_noise(y0, level, torch.randn(y0.shape, generator=g))
    assert abs(float(y.std()) - math.sqrt(0.36 * std ** 2 + 0.64)) < 0.02  # forward variance
    out = wavegrad.sample(_oracle_gaussian(mean, std), torch.zeros(8, 80, 8),
                          wavegrad.geometric_betas(50, 1e-4, 0.3), g)
    assert abs(float(out.mean()) - mean) < 0.01 and abs(float(out.std()) - std) < 0.01


def test_noise_levels_drawn_for_training_span_the_schedule():
    levels = wavegrad.draw_noise_level(4000, torch.Generator().manual_seed(0))
    root_last = float(wavegrad.alpha_bars(wavegrad.TRAIN_BETAS)[-1].sqrt())
    assert float(levels.min()) >= root_last - 1e-6 and float(levels.max()) <= 1.0
    assert float(levels.min()) < 0.15 and float(levels.max()) > 0.95


# ---- the shipped checkpoint and the CLI -------------------------------------------------------
def test_shipped_wavegrad_is_small_and_carries_searched_schedules():
    from hiaudio.checkpoints import ASSETS_DIR

    model = vocode.load_wavegrad()
    assert (ASSETS_DIR / vocode.CHECKPOINT).stat().st_size < 5 * 2 ** 20
    for n in wavegrad.SEARCHED_STEPS:
        betas = model.inference_betas(n)
        assert len(betas) == n and bool((betas[1:] > betas[:-1]).all()) and float(betas[-1]) < 1
        assert float(wavegrad.alpha_bars(betas)[-1]) < 0.9  # the schedule reaches real noise
    assert len(model.inference_betas(12)) == 12


def test_a_few_training_steps_lower_the_denoising_loss():
    from hiaudio.train.wavegrad_task import loss_fn

    torch.manual_seed(0)
    model = wavegrad.WaveGrad(channels=(16, 16, 8, 8, 8))
    g = torch.Generator().manual_seed(0)
    audio = torch.stack([torch.from_numpy(harmonic_voice(f0, SR, duration_s=4 * 256 / SR)[0])
                         for f0 in (120.0, 220.0)])  # (2, 1024)
    mel = spectral.log_mel(audio)[..., :4]  # (2, 80, 4)
    batch = (audio, mel, wavegrad.draw_noise_level(2, g), torch.randn(audio.shape, generator=g))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, _ = loss_fn(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.65 * losses[0], losses[::10]  # measured 0.80 -> 0.42
