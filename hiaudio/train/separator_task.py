"""Training task "separator": the choir separation network, unsupervised (UMSS-style).

    python -m hiaudio.train separator --set steps=600 --ship separator.pt

Data: `ChoraleDataset("train")` excerpts (fluidsynth and voice renders, seen timbres); each
part's F0 is the one it sang (`f0_sung_hz`, voice renders) or the score's (fluidsynth plays on
the score). The stems are never used for training: the loss is the KL divergence between the
mixture's STFT magnitude and the sum of the parts synthesized from the network's source-filter
parameters (`hiaudio.models.separator`). Validation on held-out timbres reports that loss;
the final evaluation also scores the network's masks (SI-SDR) against the true stems.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from hiaudio.data import VERSION, ChoraleDataset
from hiaudio.data.dataset import ExampleSets
from hiaudio.models.separator import HOP, N_FFT, SAMPLE_RATE, ChoirSeparatorNet, comb_magnitudes, kl_loss
from hiaudio.dsp.f0grid import known_f0
from hiaudio.dsp.spectral import stft
from hiaudio.separation.baselines import apply_masks
from hiaudio.separation.metrics import si_sdr_batch
from hiaudio.train.config import TrainConfig
from hiaudio.train.loop import Task


@dataclasses.dataclass
class Config(TrainConfig):
    steps: int = 600
    batch_size: int = 4
    lr: float = 2e-3
    val_every: int = 100
    log_every: int = 10
    hidden: int = 64  # conv channels
    n_harmonics: int = 40  # harmonics per part
    lsf_order: int = 12  # all-pole order of each part's vocal tract
    duration_s: float = 3.0  # rendered excerpt length
    n_train: int = 600  # training excerpts, split between the renderers
    n_val: int = 6  # validation excerpts per renderer (held-out timbres)


class _Mixtures(ExampleSets):
    """(mixture magnitude (F, T), F0 at the STFT frames (V, T), mixture (S,), stems (V, S))."""

    def __getitem__(self, i):
        ex = self.example(i)
        f0 = ex.f0_sung_hz if ex.f0_sung_hz is not None else ex.f0_hz
        mag = np.abs(stft(ex.mixture, N_FFT, HOP)).astype(np.float32)  # (F, T)
        hop_s = ex.hop_samples / ex.sample_rate
        f0_frames = np.stack([known_f0(f, hop_s, mag.shape[1], HOP / SAMPLE_RATE) for f in f0]).astype(np.float32)
        return torch.from_numpy(mag), torch.from_numpy(f0_frames), torch.from_numpy(ex.mixture), \
            torch.from_numpy(ex.stems)


def loss_fn(model, batch):
    mag, f0, _, _ = batch
    amps = model(mag, f0)  # (B, V, T, K)
    loss = sum(kl_loss(mag[i], comb_magnitudes(amps[i], f0[i].numpy())) for i in range(mag.shape[0]))
    return loss / mag.shape[0], {}


def build(cfg: Config) -> Task:
    per = max(1, cfg.n_train // 2)
    train = [ChoraleDataset("train", renderer=r, n_examples=per, duration_s=cfg.duration_s, seed=cfg.seed)
             for r in ("fluidsynth", "voice")]
    val = [ChoraleDataset("validation", renderer=r, n_examples=cfg.n_val, duration_s=cfg.duration_s,
                          timbre="held_out", seed=cfg.seed) for r in ("fluidsynth", "voice")]
    kwargs = {"hidden": cfg.hidden, "n_harmonics": cfg.n_harmonics, "lsf_order": cfg.lsf_order}
    val_set = _Mixtures(val)

    def evaluate(model):
        scores = []
        with torch.no_grad():
            for i in range(len(val_set)):
                mag, f0, mix, stems = val_set[i]
                parts = comb_magnitudes(model(mag[None], f0[None])[0], f0.numpy())  # (V, F, T)
                est = apply_masks(mix.numpy(), parts.double().numpy() + 1e-9, N_FFT, HOP, 1.0)
                scores.append(np.nanmean(si_sdr_batch(est, stems.numpy())))
        return {"val_masked_si_sdr_db": float(np.mean(scores))}

    return Task(model=ChoirSeparatorNet(**kwargs), model_name="separator", model_kwargs=kwargs,
                train_set=_Mixtures(train), val_set=val_set, loss_fn=loss_fn, evaluate=evaluate,
                data_version=VERSION)
