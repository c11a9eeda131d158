"""hiaudio/models/specdiff_gan.py and its training task: generator shapes, the diffusion the
discriminators see, the adaptive T, and a few GAN steps."""
import pytest
import torch

from hiaudio.dsp import noise_shaping, spectral
from hiaudio.models import specdiff_gan
from hiaudio.train import specdiff_gan_task
from tests.helpers import harmonic_voice

SR = spectral.MEL.sample_rate
HOP = spectral.MEL.hop_samples


@pytest.mark.parametrize("kwargs", [{"channels": 16, "upsample": (8,)}, {"channels": 16, "upsample": (4, 4)},
                                    {"channels": 16, "upsample": (2,), "frame_mrf": True, "phase": "integrated"}])
@pytest.mark.parametrize("n_frames", [1, 7, 32])
def test_generator_makes_hop_samples_per_frame(kwargs, n_frames):
    g = specdiff_gan.Generator(**kwargs)
    out = g(torch.randn(3, 80, n_frames) - 5)
    assert out.shape == (3, n_frames * HOP) and torch.isfinite(out).all()
    assert g.istft_hop * g.istft_fft // 4 == g.istft_hop ** 2 and HOP % g.istft_hop == 0


def test_generator_is_small_and_refuses_an_upsampling_that_does_not_divide_the_hop():
    g = specdiff_gan.Generator(**specdiff_gan_task.json.loads(specdiff_gan_task.Config.generator))
    assert sum(p.numel() for p in g.parameters()) < 4_000_000  # "a few million parameters" at most
    with pytest.raises(ValueError, match="does not divide"):
        specdiff_gan.Generator(upsample=(3,))


def test_generator_batches_like_items():
    torch.manual_seed(0)
    g = specdiff_gan.Generator(channels=16).eval()
    mel = torch.randn(2, 80, 6) - 5
    with torch.no_grad():
        together = g(mel)
        apart = torch.cat([g(mel[:1]), g(mel[1:])])
    assert torch.allclose(together, apart, atol=1e-6)


def test_diffusion_at_step_zero_is_the_clip_and_later_steps_add_the_prior_noise():
    x = torch.from_numpy(harmonic_voice(150.0, SR, duration_s=16 * HOP / SR)[0]).double()[None].repeat(400, 1)
    log_mel = spectral.log_mel(x[:1])[..., :16].expand(400, -1, -1)
    prior = noise_shaping.noise_prior(log_mel, "specgrad", x.shape[-1])
    root = specdiff_gan.diffusion_alpha_bars(100)
    assert float(root[0]) == 1.0 and bool((root[1:] < root[:-1]).all())
    g = torch.Generator().manual_seed(0)
    assert torch.equal(specdiff_gan.diffuse(x, torch.zeros(400, dtype=torch.long), root, prior, 1.0, g), x)
    t = torch.full((400,), 100)
    y = specdiff_gan.diffuse(x, t, root, prior, 1.0, g)
    a = float(root[100])
    noise_std = (y - a * x).std(0)  # (S,) over the 400 draws
    expected = (1 - a ** 2) ** 0.5 * prior.std[0]
    assert abs(float((noise_std / expected).median()) - 1) < 0.05


def test_adaptive_t_grows_when_the_discriminator_is_too_sure_and_stays_in_bounds():
    assert specdiff_gan.adapt_t(50, 0.9) == 60 and specdiff_gan.adapt_t(50, 0.1) == 40
    assert specdiff_gan.adapt_t(5, -1.0) == 5 and specdiff_gan.adapt_t(500, 1.0) == 500


def test_generator_losses_leave_the_discriminators_gradients_alone():
    torch.manual_seed(0)
    disc = specdiff_gan.Discriminators()
    real = torch.randn(2, 4 * HOP)
    fake = torch.randn(2, 4 * HOP, requires_grad=True)
    t = torch.tensor([0, 3])
    adv, fm = specdiff_gan_task.generator_losses(disc, disc(real, t), fake, t)
    (adv + fm).backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in disc.parameters())


def test_a_few_gan_steps_run_and_both_players_learn():
    torch.manual_seed(0)
    cfg = specdiff_gan_task.Config(gan_start=0, adapt_every=2, segment_frames=8, d_segment_frames=8)
    pair = specdiff_gan.SpecDiffGAN(generator={"channels": 32, "upsample": [8]}, t_start=10).train()
    loss_fn = specdiff_gan_task.make_loss(cfg)
    audio = torch.stack([torch.from_numpy(harmonic_voice(f0, SR, duration_s=8 * HOP / SR)[0])
                         for f0 in (120.0, 200.0)])  # (2, 2048)
    mel = spectral.log_mel(audio)[..., :8]
    opt = torch.optim.AdamW(pair.parameters(), lr=2e-3)
    history = []
    for _ in range(12):
        loss, metrics = loss_fn(pair, (audio, mel))
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(metrics)
    assert all(torch.isfinite(torch.tensor(list(m.values()))).all() for m in history)
    assert history[-1]["mel_l1"] < 0.8 * history[0]["mel_l1"], [round(m["mel_l1"], 3) for m in history]
    assert history[-1]["disc"] < history[0]["disc"], [round(m["disc"], 3) for m in history]
    assert int(pair.updates) == 12 and int(pair.t_max) != 10  # T was adapted (6 times)
    pair.eval()
    with torch.no_grad():
        val, _ = loss_fn(pair, (audio, mel))  # validation: the mel error alone
        assert float(val) == pytest.approx(float(specdiff_gan_task.mel_l1(pair.generator(mel), audio)), rel=1e-5)


def test_integrated_phase_makes_a_steady_partial_from_a_constant_output():
    # a bin's phase advance as the running sum: zero deviation everywhere gives each bin's centre
    # frequency with a continuous phase, so the output is a sum of steady sinusoids, not noise
    g = specdiff_gan.Generator(channels=16, upsample=(2,), frame_mrf=False, phase="integrated")
    with torch.no_grad():
        g.conv_post.weight.zero_()
        g.conv_post.bias.zero_()
        bins = g.istft_fft // 2 + 1
        g.conv_post.bias[:bins] = -20.0  # every bin silent ...
        g.conv_post.bias[8] = 0.0  # ... but bin 8: 8 * 16000 / 512 = 250 Hz
        out = g(torch.zeros(1, 80, 40))[0]
    spec = spectral.stft(out[2000:-2000], 2048, 512).abs().mean(-1)  # (1025,)
    assert int(spec.argmax()) == 32  # 250 Hz at 7.8125 Hz per bin
    assert float(spec[32] / spec[100:].max()) > 100  # one clean partial
