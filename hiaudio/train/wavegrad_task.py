"""Training task "wavegrad": the WaveGrad mel vocoder with a data-dependent noise prior, on many
voices, then its noise-schedule search.

    python -m hiaudio.train wavegrad --set max_minutes=60 --ship wavegrad.pt

Data: `VoiceBank("train")` clips -- espeak-ng voices in eleven languages, MBROLA diphone voices,
our voice model speaking and singing (`hiaudio.data.vocoder_voices`), 16 kHz. Each step sees
random crops of `segment_frames` mel frames and the matching samples; the log mel is computed on
the whole clip first, so crops see the same context as inference does.

The noise: `noise` picks the prior (`hiaudio.dsp.noise_shaping`): white (WaveGrad), priorgrad
(the mel's frame level) or specgrad (the level and the spectral envelope). The network sees the
noisy crop whitened by the prior and predicts the white draw z; the loss is L1 on z (WaveGrad's
L1, in SpecGrad's whitened domain), at a continuous noise level (WaveGrad sec. 3).

Validation: crops of `VoiceBank("validation")` -- voices never heard in training -- with fixed
noise and levels, so the loss is comparable across steps; every `monitor_every` steps, PESQ-WB
and log-mel distance of 6-step sampling (the model's current 6-step schedule) on the first
`n_monitor` validation clips, written to metrics.csv beside the loss.

After training, `evaluate` searches the inference noise schedules (`SEARCHED_STEPS`: 6 and 25
reverse steps) the way the WaveGrad authors do: a grid of geometric schedules, scored here by
PESQ-WB of the audio they generate on validation clips. The winners are written into the
model's `betas_<n>` buffers and into best.pt, so the shipped checkpoint carries them.
"""
from __future__ import annotations

import dataclasses
import itertools
import warnings
from pathlib import Path

import numpy as np
import torch

from hiaudio import checkpoints
from hiaudio.data.vocoder_voices import VOICES_VERSION
from hiaudio.dsp import losses, spectral
from hiaudio.models import wavegrad
from hiaudio.train.loop import Task, start_from
from hiaudio.train.vocoder_data import Crops, VocoderConfig, clip_mel, voice_clips

# schedule search grid per step count: geometric betas from a first to a last value
# (wavegrad.geometric_betas); fewer steps need larger betas to reach noise
X0_FFT_SIZES = (1024, 512, 256, 128)  # the x0 spectral loss's resolutions (64 ms .. 8 ms)
SEARCH_GRID = {6: ((1e-6, 1e-5, 1e-4, 1e-3), (0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 0.97)),
               25: ((1e-5, 1e-4, 1e-3), (0.05, 0.1, 0.2, 0.35, 0.5))}


@dataclasses.dataclass
class Config(VocoderConfig):
    steps: int = 20000
    batch_size: int = 16
    lr: float = 1e-3
    warmup_steps: int = 200
    val_every: int = 250
    log_every: int = 25
    channels: str = "128,128,64,32,16"  # widths from the frame rate up to the sample rate
    noise: str = "priorgrad"  # the noise prior: white | priorgrad | specgrad (dsp.noise_shaping)
    x0_weight: float = 0.1  # weight of the spectral loss on the implied clean waveform (make_loss)


def x0_estimate(noisy: torch.Tensor, eps_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """The clean waveform a noise estimate implies: (y - sqrt(1 - level^2) eps_hat) / level, (B, S)."""
    a = level[:, None].to(noisy.dtype)
    return (noisy - (1 - a ** 2).clamp(min=0).sqrt() * eps_hat) / a


def make_loss(x0_weight: float = 0.0):
    """The training loss: L1 between the white draw z and the network's estimate of it at a
    continuous noise level -- y = level x0 + sqrt(1 - level^2) L z (L: the model's prior), the
    network sees L^-1 y -- plus `x0_weight` times the multi-resolution log-spectral L1
    (`losses.log_spectral_l1`, FFT sizes X0_FFT_SIZES, floor -80 dB) of the clean waveform that
    estimate implies.

    Why the second term: at high noise the L1-optimal estimate of z implies the *mean* clean
    waveform, ~0 where the phase is unknown, so a few-step sampler, which leans on those
    estimates, starts from nothing; a magnitude loss on the implied waveform asks for one with
    the right spectrum whatever its phase (InferGrad, Chen et al. ICASSP 2022, trains few-step
    sampling with such a loss on the sampler's output; this is its one-step, cheap form)."""
    def loss_fn(model, batch):
        if len(batch) == 4:  # validation: level and white draw fixed per item
            audio, mel, level, white = batch
        else:
            audio, mel = batch
            level = wavegrad.draw_noise_level(audio.shape[0]).to(audio.device)
            white = torch.randn_like(audio)
        net = model.module if hasattr(model, "module") else model  # DDP wraps the model
        prior = net.prior(mel, audio.shape[-1])
        noisy = wavegrad.add_noise(audio, level, prior.shape(white))
        z_hat = model(prior.unshape(noisy) if prior.kind != "white" else noisy, mel, level)
        l1 = (z_hat - white).abs().mean()
        if not x0_weight:
            return l1, {}
        x0_hat = x0_estimate(noisy, prior.shape(z_hat), level)
        spec = losses.log_spectral_l1(x0_hat, audio, X0_FFT_SIZES).mean()
        return l1 + x0_weight * spec, {"eps_l1": float(l1.detach()), "x0_spectral": float(spec.detach())}
    return loss_fn


loss_fn = make_loss()  # the plain WaveGrad loss (L1 on the noise)


def sample_scores(model, clips, betas: torch.Tensor, seed: int = 0) -> dict:
    """Mean PESQ-WB and log-mel distance (dB) of the audio sampled with `betas` from each clip's mel."""
    from pesq import pesq

    pesq_wb, log_mel_db = [], []
    for i, wave in enumerate(clips):
        wave, mel = clip_mel(wave)
        mel = mel.to(next(model.parameters()).device)
        with torch.no_grad():  # the noise is drawn on the CPU (the same draws on any device)
            out = wavegrad.sample(model, mel[None], betas, torch.Generator().manual_seed(seed + i))[0]
        out = out.clamp(-1, 1).float().cpu()
        log_mel_db.append(float(spectral.log_mel_distance_db(wave, out)))
        try:
            pesq_wb.append(float(pesq(spectral.MEL.sample_rate, wave.double().numpy(), out.double().numpy(), "wb")))
        except Exception:  # no utterance found: the clip does not count
            warnings.warn(f"PESQ failed on clip {i}")
    return {"pesq_wb": float(np.mean(pesq_wb)) if pesq_wb else float("nan"), "log_mel_db": float(np.mean(log_mel_db))}


def search_schedules(model, clips, steps=wavegrad.SEARCHED_STEPS) -> dict:
    """For each step count, the grid schedule with the highest PESQ-WB on `clips` (validation
    voices); the winners are copied into the model's `betas_<n>` buffers. Returns every score."""
    report = {}
    for n in steps:
        scored = []
        for first, last in itertools.product(*SEARCH_GRID[n]):
            s = sample_scores(model, clips, wavegrad.geometric_betas(n, first, last))
            scored.append((s["pesq_wb"], -s["log_mel_db"], first, last))
        best = max(scored)
        model.set_schedule(n, wavegrad.geometric_betas(n, best[2], best[3]))
        report[n] = {"best_first": best[2], "best_last": best[3], "best_pesq_wb": best[0], "best_log_mel_db": -best[1],
                     "candidates": [{"first": f, "last": la, "pesq_wb": p, "log_mel_db": -m} for p, m, f, la in scored]}
    return report


def build(cfg: Config) -> Task:
    torch.set_num_threads(max(cfg.threads, 1))  # a shared 2-core CPU: torch's pool stalls under contention
    channels = [int(c) for c in str(cfg.channels).split(",")]
    kwargs = {"n_mels": spectral.MEL.n_mels, "channels": channels, "factors": [4, 4, 4, 4], "noise": cfg.noise}
    model = wavegrad.WaveGrad(**kwargs)
    if cfg.init_from:  # e.g. assets/wavegrad.pt (its noise may differ: the weights are the same shapes)
        start_from(model, cfg.init_from, "wavegrad")
    train_clips = voice_clips("train", cfg.n_train, cfg.seed, cfg.pack)
    val_clips = voice_clips("validation", cfg.n_val, cfg.seed, cfg.pack)
    n = int(cfg.monitor_s * spectral.MEL.sample_rate)
    monitor_clips = val_clips[: cfg.n_monitor]
    monitor_clips = [c[:n] for c in monitor_clips]
    out_dir = Path(cfg.out_dir.format(model="wavegrad"))

    def monitor(model):
        model.eval()
        return sample_scores(model, monitor_clips, model.inference_betas(6))

    def evaluate(model):
        model.eval()
        report = search_schedules(model, monitor_clips)
        best_path = out_dir / "best.pt"
        if best_path.exists():  # ship the searched schedules with the weights
            data = checkpoints.read_checkpoint(best_path)
            checkpoints.save_checkpoint(best_path, model, "wavegrad", data["kwargs"], data["config"],
                                        {**data["metrics"], "schedule_search": report}, data["data_version"])
        return {f"val_pesq_wb_{n}_steps": r["best_pesq_wb"] for n, r in report.items()} | \
            {f"val_log_mel_db_{n}_steps": r["best_log_mel_db"] for n, r in report.items()} | \
            {f"schedule_{n}_first_beta": r["best_first"] for n, r in report.items()} | \
            {f"schedule_{n}_last_beta": r["best_last"] for n, r in report.items()}

    return Task(model=model, model_name="wavegrad", model_kwargs=kwargs,
                train_set=Crops(train_clips, cfg.segment_frames, fixed=False),
                val_set=Crops(val_clips, cfg.segment_frames, fixed=True),
                loss_fn=make_loss(cfg.x0_weight), evaluate=evaluate, monitor=monitor,
                data_version=VOICES_VERSION)
