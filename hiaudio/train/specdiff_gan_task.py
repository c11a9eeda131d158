"""Training task "specdiff_gan": SpecDiff-GAN in small -- a HiFi-GAN-like generator against
discriminators that see real and generated audio through a forward diffusion with spectrally
shaped noise (`hiaudio.models.specdiff_gan`).

    python -m hiaudio.train specdiff_gan --set max_minutes=60 --ship specdiff_gan.pt

Data: the vocoder voices (`VoiceBank("train")`, as the wavegrad task), crops of
`segment_frames` mel frames. Each training step, one loss covers both players:

* the generator: 45 x L1 of the log mels (HiFi-GAN's weight) + `stft_weight` x a multi-resolution
  log-STFT L1 (linear frequency: the mel's wide upper bands cannot see a voice's harmonics) +
  adversarial (least squares) + 2 x feature matching, the discriminators' parameters detached (`torch.func.functional_call`),
  so these gradients reach only the generator;
* the discriminators: least squares on real and on detached generated audio, both diffused to
  a step t ~ U{0..T} with noise from `noise` ("specgrad": at the speech's level with its
  spectral envelope, SpecDiff-GAN; "white": Diffusion-GAN's own), scaled by `sigma`.

One AdamW step then moves both from the same state (simultaneous rather than alternating updates:
the project's loop has one optimizer). T adapts every `adapt_every` updates (Diffusion-GAN).
For the first `gan_start` updates only the mel loss trains the generator and the discriminators
are not run (a warm start; Parallel WaveGAN and others pretrain so), which costs a third of a GAN step.

Validation: mel L1 of fixed crops of the validation voices (never heard in training) -- what
best.pt is chosen by; every `monitor_every` steps PESQ-WB and log-mel distance of whole
validation clips. best.pt (and so the shipped file) holds only the generator.
"""
from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from hiaudio.data.vocoder_voices import VOICES_VERSION
from hiaudio.dsp import losses, noise_shaping, spectral
from hiaudio.models import specdiff_gan
from hiaudio.train.loop import Task, start_from
from hiaudio.train.vocoder_data import Crops, VocoderConfig, clip_mel, voice_clips

MEL_WEIGHT, FM_WEIGHT = 45.0, 2.0  # HiFi-GAN's loss weights
STFT_SIZES = (2048, 1024, 512, 256, 128)  # the log-STFT loss's resolutions: 2048 resolves 8 Hz, 128 8 ms


@dataclasses.dataclass
class Config(VocoderConfig):
    steps: int = 40000
    batch_size: int = 8
    lr: float = 4e-4
    grad_clip: float = 10.0
    warmup_steps: int = 100
    val_every: int = 250
    log_every: int = 25
    # Generator kwargs (JSON): upsampling x2 to an iSTFT of hop 128 / n_fft 512 with integrated phase
    # (3.2 M parameters, ~125x real time on a thread); an A/B of 1,500 regression steps (BENCHMARKS.md)
    # gave val PESQ 1.27 against 1.13 for x8 / hop 32 / direct phase, and harmonics where that had none
    generator: str = '{"channels": 256, "upsample": [2], "frame_mrf": true, "phase": "integrated"}'

    noise: str = "specgrad"  # the diffusion noise the discriminators see: specgrad | priorgrad | white
    sigma: float = 1.0  # scale of that noise (specgrad/priorgrad noise already sits at the speech's level)
    t_start: int = 10  # Diffusion-GAN's initial T
    adapt_every: int = 4  # updates between adaptations of T
    gan_start: int = 1500  # updates with the mel loss alone before the discriminators join
    stft_weight: float = 10.0  # multi-resolution log-STFT L1 (losses.log_spectral_l1): harmonics the mel cannot see
    segment_frames: int = 32  # mel frames per crop (32 x 256 = 8192 samples, 0.51 s)
    d_segment_frames: int = 16  # frames of it the discriminators see (a random sub-crop: half the cost)


def mel_l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the log mels (natural log) of two batches (B, S)."""
    return (spectral.log_mel(fake) - spectral.log_mel(real)).abs().mean()


def discriminator_loss(real_out, fake_out) -> torch.Tensor:
    """Least squares (LSGAN, as HiFi-GAN): real scores toward 1, generated toward 0, summed over
    sub-discriminators; each out a list of (scores (B, N), features)."""
    return sum(((1 - r) ** 2).mean() + (f ** 2).mean() for (r, _), (f, _) in zip(real_out, fake_out))


def generator_losses(disc, real_out, y_fake: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial, feature matching) of generated audio, through the discriminators with their
    parameters detached, so the gradient of these terms reaches only the generator."""
    frozen = {name: p.detach() for name, p in disc.named_parameters()}
    fake_out = torch.func.functional_call(disc, frozen, (y_fake, t))
    adv = sum(((1 - f) ** 2).mean() for f, _ in fake_out)
    fm = sum(F.l1_loss(ff, fr.detach()) for (_, feats_r), (_, feats_f) in zip(real_out, fake_out)
             for fr, ff in zip(feats_r, feats_f))
    return adv, fm


def make_loss(cfg: Config):
    signs: list[float] = []  # sign(D(real) - 0.5) means since the last adaptation of T

    def loss_fn(pair, batch):
        audio, mel = batch[0], batch[1]
        generator = pair.generator
        fake = generator(mel)  # (B, S)
        l_mel = mel_l1(fake, audio)
        if not pair.training:  # validation: the generator's mel error only
            return l_mel, {}
        pair.updates += 1
        l_rec = MEL_WEIGHT * l_mel
        metrics = {"mel_l1": float(l_mel.detach())}
        if cfg.stft_weight:
            l_stft = losses.log_spectral_l1(fake, audio, STFT_SIZES).mean()
            l_rec = l_rec + cfg.stft_weight * l_stft
            metrics["stft_l1"] = float(l_stft.detach())
        if int(pair.updates) <= cfg.gan_start:
            return l_rec, metrics
        t_max = int(pair.t_max)
        root_abar = specdiff_gan.diffusion_alpha_bars(t_max)
        t = torch.randint(0, t_max + 1, (audio.shape[0],), device=audio.device)
        prior = noise_shaping.noise_prior(mel, cfg.noise, audio.shape[-1])
        y_real = specdiff_gan.diffuse(audio, t, root_abar, prior, cfg.sigma)
        y_fake = specdiff_gan.diffuse(fake, t, root_abar, prior, cfg.sigma)
        d_len = min(cfg.d_segment_frames * spectral.MEL.hop_samples, audio.shape[-1])
        start = int(np.random.randint(0, audio.shape[-1] - d_len + 1))  # the discriminators see a sub-crop
        y_real, y_fake = y_real[:, start:start + d_len], y_fake[:, start:start + d_len]
        disc = pair.discriminators
        real_out = disc(y_real, t)
        l_disc = discriminator_loss(real_out, disc(y_fake.detach(), t))
        l_adv, l_fm = generator_losses(disc, real_out, y_fake, t)
        signs.append(float(torch.cat([torch.sign(r.detach() - 0.5).mean(1) for r, _ in real_out]).mean()))
        if len(signs) >= cfg.adapt_every:
            pair.t_max.fill_(specdiff_gan.adapt_t(t_max, float(np.mean(signs))))
            signs.clear()
        loss = l_rec + l_adv + FM_WEIGHT * l_fm + l_disc
        return loss, metrics | {"adv": float(l_adv.detach()), "fm": float(l_fm.detach()),
                                "disc": float(l_disc.detach()), "t_max": float(t_max)}

    return loss_fn


def generate_scores(generator, clips) -> dict:
    """Mean PESQ-WB and log-mel distance (dB) of the generator's audio from each clip's mel (the
    generator runs where it is: on the GPU in a GPU run)."""
    from pesq import pesq

    device = next(generator.parameters()).device
    pesq_wb, log_mel_db = [], []
    for i, wave in enumerate(clips):
        wave, mel = clip_mel(wave)
        with torch.no_grad():
            out = generator(mel[None].to(device))[0].clamp(-1, 1).float().cpu()
        log_mel_db.append(float(spectral.log_mel_distance_db(wave, out)))
        try:
            pesq_wb.append(float(pesq(spectral.MEL.sample_rate, wave.double().numpy(), out.double().numpy(), "wb")))
        except Exception:  # no utterance found: the clip does not count
            warnings.warn(f"PESQ failed on clip {i}")
    return {"pesq_wb": float(np.mean(pesq_wb)) if pesq_wb else float("nan"), "log_mel_db": float(np.mean(log_mel_db))}


def build(cfg: Config) -> Task:
    torch.set_num_threads(max(cfg.threads, 1))
    gen_kwargs = json.loads(cfg.generator)
    gen_kwargs = {"n_mels": spectral.MEL.n_mels, "hop_samples": spectral.MEL.hop_samples, **gen_kwargs}
    pair_kwargs = {"generator": gen_kwargs, "t_start": cfg.t_start}
    pair = specdiff_gan.SpecDiffGAN(**pair_kwargs)
    if cfg.init_from:  # a shipped generator, e.g. assets/specdiff_gan.pt
        start_from(pair.generator, cfg.init_from, "specdiff_gan")
    train_clips = voice_clips("train", cfg.n_train, cfg.seed, cfg.pack)
    val_clips = voice_clips("validation", cfg.n_val, cfg.seed, cfg.pack)
    n = int(cfg.monitor_s * spectral.MEL.sample_rate)
    monitor_clips = [c[:n] for c in val_clips[: cfg.n_monitor]]

    def monitor(pair):
        pair.eval()
        return generate_scores(pair.generator, monitor_clips)

    def evaluate(pair):
        return {f"val_{k}": v for k, v in generate_scores(pair.generator, monitor_clips).items()}

    return Task(model=pair, model_name="specdiff_gan_pair", model_kwargs=pair_kwargs,
                train_set=Crops(train_clips, cfg.segment_frames, fixed=False),
                val_set=Crops(val_clips, cfg.segment_frames, fixed=True),
                loss_fn=make_loss(cfg), evaluate=evaluate, monitor=monitor, data_version=VOICES_VERSION,
                shipped=("generator", "specdiff_gan", gen_kwargs))
