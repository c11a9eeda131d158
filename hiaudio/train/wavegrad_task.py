"""Training task "wavegrad": the WaveGrad mel vocoder on espeak-ng speech, then its schedule search.

    python -m hiaudio.train wavegrad --set max_minutes=45 --ship wavegrad.pt

Data: `SpeechDataset("train")` clips (the training voices only; the test split's voices are
never read here), 16 kHz. Each step sees random crops of `segment_frames` mel frames and the
matching samples; the log mel is computed on the whole clip first, so crops see the same
context as inference does. Loss: L1 between the drawn and the predicted noise at a continuous
noise level (WaveGrad sec. 3). Validation: the validation split (training voices, unseen
sentences) with fixed noise and levels, so the validation loss is comparable across steps.

After training, `evaluate` searches the inference noise schedules (`SEARCHED_STEPS`: 6 and 25
reverse steps) the way the WaveGrad authors do: a grid of schedules scored by the log-mel
distance of the audio they generate on validation clips. The winners are written into the
model's `betas_<n>` buffers and into best.pt, so the shipped checkpoint carries them.
"""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import torch

from hiaudio import checkpoints
from hiaudio.data import SPEECH_VERSION, SpeechDataset
from hiaudio.dsp import spectral
from hiaudio.models import wavegrad
from hiaudio.train.config import TrainConfig
from hiaudio.train.loop import Task

# schedule search grid per step count: geometric betas from a first to a last value
# (wavegrad.geometric_betas); fewer steps need larger betas to reach noise
SEARCH_GRID = {6: ((1e-6, 1e-5, 1e-4, 1e-3), (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9)),
               25: ((1e-5, 1e-4, 1e-3), (0.02, 0.05, 0.1, 0.2, 0.35))}


@dataclasses.dataclass
class Config(TrainConfig):
    steps: int = 20000
    batch_size: int = 16
    lr: float = 6e-4
    warmup_steps: int = 200
    val_every: int = 250
    log_every: int = 25
    channels: str = "128,128,64,32,16"  # widths from the frame rate up to the sample rate
    n_train: int = 400  # training clips (espeak-ng, training voices)
    n_val: int = 16  # validation clips (training voices, unseen sentences)
    segment_frames: int = 24  # mel frames per training crop (24 x 256 = 6144 samples, 0.38 s)
    n_search: int = 3  # validation clips scored per candidate schedule
    search_s: float = 1.5  # seconds of each search clip (from the start: espeak's silence is short)


def _clip_mel(audio: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio (S',), log mel (M, S' // hop)) with S' = S rounded down to whole hops."""
    hop = spectral.MEL.hop_samples
    wave = torch.from_numpy(audio[: len(audio) // hop * hop]).float()
    return wave, spectral.log_mel(wave)[:, : len(wave) // hop]  # frame t covers samples t*hop ..


class _Crops(torch.utils.data.Dataset):
    """(audio (seg * hop,), log mel (M, seg)) crops; random for training, fixed (with fixed noise
    and noise level) for validation."""

    def __init__(self, speech: SpeechDataset, segment_frames: int, fixed: bool):
        self.speech, self.segment_frames, self.fixed = speech, segment_frames, fixed

    def __len__(self):
        return len(self.speech)

    def __getitem__(self, i):
        wave, mel = _clip_mel(self.speech.clip(i)[0])
        hop, seg = spectral.MEL.hop_samples, self.segment_frames
        if mel.shape[-1] < seg:  # a short clip: pad with silence
            pad = seg - mel.shape[-1]
            wave = torch.nn.functional.pad(wave, (0, pad * hop))
            mel = torch.nn.functional.pad(mel, (0, pad), value=float(np.log(spectral.MEL.log_floor)))
        if self.fixed:
            start = (mel.shape[-1] - seg) // 2
        else:  # numpy's global RNG: seeded by the loop and restored on resume
            start = int(np.random.randint(0, mel.shape[-1] - seg + 1))
        audio = wave[start * hop:(start + seg) * hop]
        mel = mel[:, start:start + seg]
        if not self.fixed:
            return audio, mel
        g = torch.Generator().manual_seed(10_000 + i)
        return audio, mel, wavegrad.draw_noise_level(1, g)[0], torch.randn(audio.shape, generator=g)


def loss_fn(model, batch):
    if len(batch) == 4:  # validation: noise and level fixed per item
        audio, mel, level, noise = batch
    else:
        audio, mel = batch
        level = wavegrad.draw_noise_level(audio.shape[0]).to(audio.device)
        noise = torch.randn_like(audio)
    eps_hat = model(wavegrad.add_noise(audio, level, noise), mel, level)
    return (eps_hat - noise).abs().mean(), {}


def log_mel_score(model, clips, betas: torch.Tensor, seed: int = 0) -> float:
    """Mean log-mel distance (dB) of the audio sampled with `betas` against each clip (S,)."""
    scores = []
    for i, wave in enumerate(clips):
        wave, mel = _clip_mel(wave)
        out = wavegrad.sample(model, mel[None], betas, torch.Generator().manual_seed(seed + i))[0]
        scores.append(float(spectral.log_mel_distance_db(wave, out.clamp(-1, 1))))
    return float(np.mean(scores))


def search_schedules(model, clips, steps=wavegrad.SEARCHED_STEPS) -> dict:
    """For each step count, the grid schedule with the lowest log-mel distance on `clips`; the
    winners are copied into the model's `betas_<n>` buffers. Returns the scores per candidate."""
    report = {}
    for n in steps:
        scored = []
        for first, last in itertools.product(*SEARCH_GRID[n]):
            betas = wavegrad.geometric_betas(n, first, last)
            scored.append((log_mel_score(model, clips, betas), first, last))
        best = min(scored)
        getattr(model, f"betas_{n}").copy_(wavegrad.geometric_betas(n, best[1], best[2]))
        report[n] = {"best_first": best[1], "best_last": best[2], "best_log_mel_db": best[0],
                     "candidates": [{"first": f, "last": la, "log_mel_db": s} for s, f, la in scored]}
    return report


def build(cfg: Config) -> Task:
    torch.set_num_threads(1)  # a shared 2-core CPU: torch's pool stalls under contention
    channels = [int(c) for c in str(cfg.channels).split(",")]
    kwargs = {"n_mels": spectral.MEL.n_mels, "channels": channels, "factors": [4, 4, 4, 4]}
    train = SpeechDataset("train", n_clips=cfg.n_train, sample_rate=spectral.MEL.sample_rate, seed=cfg.seed)
    val = SpeechDataset("validation", n_clips=cfg.n_val, sample_rate=spectral.MEL.sample_rate, seed=cfg.seed)
    for ds in (train, val):  # speak every clip now, not inside the timed training steps
        for i in range(len(ds)):
            ds.clip(i)
    out_dir = Path(cfg.out_dir.format(model="wavegrad"))

    def evaluate(model):
        model.cpu()
        n = int(cfg.search_s * spectral.MEL.sample_rate)
        clips = [val.clip(i)[0][:n] for i in range(min(cfg.n_search, len(val)))]
        report = search_schedules(model, clips)
        best_path = out_dir / "best.pt"
        if best_path.exists():  # ship the searched schedules with the weights
            data = checkpoints.read_checkpoint(best_path)
            checkpoints.save_checkpoint(best_path, model, "wavegrad", data["kwargs"], data["config"],
                                        {**data["metrics"], "schedule_search": report}, data["data_version"])
        return {f"val_log_mel_db_{n}_steps": r["best_log_mel_db"] for n, r in report.items()} | \
            {f"schedule_{n}_first_beta": r["best_first"] for n, r in report.items()} | \
            {f"schedule_{n}_last_beta": r["best_last"] for n, r in report.items()}

    return Task(model=wavegrad.WaveGrad(**kwargs), model_name="wavegrad", model_kwargs=kwargs,
                train_set=_Crops(train, cfg.segment_frames, fixed=False),
                val_set=_Crops(val, cfg.segment_frames, fixed=True),
                loss_fn=loss_fn, evaluate=evaluate, data_version=SPEECH_VERSION)
