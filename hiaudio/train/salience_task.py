"""Training task "salience": multi-pitch salience (all four voices at once) from a chorale mixture.

    python -m hiaudio.train salience --set steps=400 --ship salience.pt

Data (`data`): "chorales", `ChoraleDataset("train")` excerpts, half rendered by fluidsynth and
half by our voice model (seen timbres), validation on the validation split; or "choirs", the
many-family `ChoirDataset("train")` stream (sections of 1-6 singers, rooms, words, 2-5 parts,
16-44.1 kHz; `hiaudio.data.report_set`), validated on the tuning split (never the report set).
Target per 5 ms frame: the union of the parts' F0 -- the score's for chorales, the section's
mean sung F0 for choirs -- as a multi-hot over the 20-cent bins, blurred by a Gaussian of
`blur_bins` so a pitch a bin off is not a full miss (Bittner et al. 2017). Loss: BCE on logits.

    python -m hiaudio.train salience --set data=choirs --set init_from=salience_ctx.pt ...
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from hiaudio import audio
from hiaudio.data import VERSION, ChoraleDataset
from hiaudio.data.dataset import ExampleSets
from hiaudio.data.report_set import VERSION as CHOIR_VERSION
from hiaudio.data.report_set import ChoirDataset
from hiaudio.models.salience import HOP, N_BINS, SAMPLE_RATE, SalienceCNN, hz_to_bin
from hiaudio.train.config import TrainConfig
from hiaudio.train.loop import Task, start_from


@dataclasses.dataclass
class Config(TrainConfig):
    steps: int = 400
    batch_size: int = 4
    lr: float = 3e-3
    val_every: int = 100
    log_every: int = 10
    channels: int = 8  # width of the CNN's hidden layers
    time_context: int = 0  # time-dilated layers (SalienceCNN): each widens the view along time
    duration_s: float = 3.0  # length of each rendered training excerpt
    crop_s: float = 1.0  # random crop of the excerpt the model sees per step (CPU budget)
    n_train: int = 600  # training excerpts in all, split between the renderers
    data: str = "chorales"  # "chorales" (ChoraleDataset per renderer) or "choirs" (the many-family ChoirDataset)
    renderers: str = "fluidsynth,voice"  # chorales: seen-timbre renderers mixed in equal shares
    n_val: int = 8  # validation excerpts per renderer
    n_eval: int = 4  # validation excerpts per renderer for the final multi-pitch metrics
    blur_bins: float = 1.0  # std of the target's Gaussian, in 20-cent bins
    pos_weight: float = 1.0  # BCE weight of positive bins (the target is sparse)
    voice_subsets: float = 0.0  # share of training crops that keep only 1-3 of the 4 parts (mixture and
    # target alike), so the model meets solos, duets and trios, not only four-part textures


def salience_target(f0_hz: torch.Tensor, n_bins: int = N_BINS, blur_bins: float = 1.0) -> torch.Tensor:
    """Union of the voices' F0 as a blurred multi-hot: f0_hz (..., V, T) -> (..., T, n_bins) in [0, 1]."""
    b = hz_to_bin(f0_hz)[..., None]  # (..., V, T, 1)
    k = torch.arange(n_bins, dtype=f0_hz.dtype)
    g = torch.exp(-0.5 * ((k - b) / blur_bins) ** 2) * (f0_hz > 0)[..., None]  # (..., V, T, K)
    return g.amax(dim=-3)  # (..., T, K)


MAX_PARTS = 5  # f0 rows per item (zero rows for absent parts), so items of 2-5 parts batch together


class _Frames(ExampleSets):
    """(mixture crop (S,), f0_hz (MAX_PARTS, T)) pairs at SAMPLE_RATE from one or more datasets,
    T = S // HOP + 1; `sung`: the target is each section's mean sung F0, not the score's."""

    def __init__(self, sets, crop_s: float | None, seed: int, voice_subsets: float = 0.0, sung: bool = False):
        super().__init__(sets)
        self.crop_s, self.seed, self.voice_subsets, self.sung = crop_s, seed, voice_subsets, sung

    def __getitem__(self, i):
        ex = self.example(i)
        stems, f0 = ex.stems, torch.from_numpy(ex.f0_sung_hz if self.sung else ex.f0_hz)
        if self.voice_subsets and np.random.random() < self.voice_subsets:
            keep = np.zeros(len(f0), dtype=bool)
            keep[np.random.choice(len(f0), np.random.randint(1, len(f0)), replace=False)] = True
            mix = stems[keep].sum(0)
            f0 = f0 * torch.from_numpy(keep)[:, None]
        else:
            mix = ex.mixture
        if ex.sample_rate != SAMPLE_RATE:  # F0 frames are 5 ms at any rate: only the audio changes
            mix = audio.resample(mix, ex.sample_rate, SAMPLE_RATE)
        mix, hop = torch.from_numpy(np.asarray(mix, np.float32)), HOP
        n_frames = mix.shape[-1] // hop + 1
        f0 = torch.nn.functional.pad(f0, (0, max(0, n_frames - f0.shape[-1]), 0, MAX_PARTS - len(f0)))[:, :n_frames]
        if self.crop_s:
            crop = int(self.crop_s * SAMPLE_RATE) // hop  # frames
            # numpy's global RNG: seeded by the loop and restored on resume, so crops replay exactly
            start = int(np.random.randint(0, max(1, n_frames - crop)))
            mix = mix[start * hop:(start + crop) * hop]  # (crop * hop,)
            f0 = f0[:, start:start + crop + 1]  # (MAX_PARTS, crop + 1) frames of the centred STFT
        return mix.float(), f0.float()


def _loss(cfg):
    pos_weight = torch.tensor(cfg.pos_weight)

    def loss_fn(model, batch):
        mix, f0 = batch
        logits = model(mix)  # (B, T, K)
        target = salience_target(f0, blur_bins=cfg.blur_bins)[:, :logits.shape[1]]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target,
                                                                    pos_weight=pos_weight.to(logits.device))
        return loss, {}

    return loss_fn


def peaks(sal: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Boolean (T, K): local maxima along bins with salience above threshold."""
    pad = torch.nn.functional.pad(sal, (1, 1), value=0.0)
    return (sal > threshold) & (sal >= pad[:, :-2]) & (sal > pad[:, 2:])


def multipitch_scores(sal: torch.Tensor, f0_hz: torch.Tensor, threshold: float = 0.5,
                      tol_bins: float = 2.5) -> tuple[int, int, int]:
    """(true positives, estimated peaks, reference pitches) of one clip: sal (T, K), f0_hz (V, T).

    A peak is correct when a reference pitch lies within tol_bins (2.5 x 20 = 50 cents); each
    reference pitch is found when some peak lies that close.
    """
    t = min(sal.shape[0], f0_hz.shape[1])
    est = peaks(sal[:t], threshold)  # (T, K)
    ref_bin = hz_to_bin(f0_hz[:, :t].double())  # (V, T)
    voiced = f0_hz[:, :t] > 0
    k = torch.arange(sal.shape[1], dtype=torch.float64)
    near = (k[None, None, :] - ref_bin[..., None]).abs() <= tol_bins  # (V, T, K)
    near &= voiced[..., None]
    est_ok = (est[None] & near).any(0)  # (T, K) peaks near some reference
    ref_found = (est[None] & near).any(-1)  # (V, T)
    return int(est_ok.sum()), int(est.sum()), int(ref_found[voiced].sum())


def build(cfg: Config) -> Task:
    if cfg.data == "choirs":
        train = [ChoirDataset("train", n_examples=cfg.n_train, duration_s=cfg.duration_s, seed=cfg.seed)]
        val = [ChoirDataset("tuning", n_examples=cfg.n_val, duration_s=cfg.duration_s, seed=cfg.seed)]
    elif cfg.data == "chorales":
        renderers = [r.strip() for r in cfg.renderers.split(",") if r.strip()]
        per = max(1, cfg.n_train // len(renderers))
        train = [ChoraleDataset("train", renderer=r, n_examples=per, duration_s=cfg.duration_s, seed=cfg.seed)
                 for r in renderers]
        val = [ChoraleDataset("validation", renderer=r, n_examples=cfg.n_val, duration_s=cfg.duration_s,
                              seed=cfg.seed) for r in renderers]
    else:
        raise ValueError(f"data={cfg.data!r}: choose 'chorales' or 'choirs'")
    sung = cfg.data == "choirs"
    kwargs = {"channels": cfg.channels, "time_context": cfg.time_context}

    def evaluate(model):
        device = next(model.parameters()).device
        tp = n_est = n_ref = found = 0
        for ds in val:
            frames = _Frames([ds], None, cfg.seed, sung=sung)
            for i in range(min(cfg.n_eval, len(ds))):
                mix, f0 = frames[i]
                sal = model.salience(mix.to(device)).cpu()
                a, b, c = multipitch_scores(sal, f0)
                tp, n_est, found = tp + a, n_est + b, found + c
                n_ref += int((f0 > 0).sum())
        precision, recall = tp / max(n_est, 1), found / max(n_ref, 1)
        return {"val_peak_precision": precision, "val_peak_recall": recall,
                "val_peak_f1": 2 * precision * recall / max(precision + recall, 1e-9)}

    model = SalienceCNN(**kwargs)
    if cfg.init_from:  # e.g. assets/salience_ctx.pt, fine-tuned on choirs; a narrower one is widened
        start_from(model, cfg.init_from, "salience", widen=True)
    return Task(model=model, model_name="salience", model_kwargs=kwargs,
                train_set=_Frames(train, cfg.crop_s, cfg.seed, cfg.voice_subsets, sung),
                val_set=_Frames(val, None, cfg.seed, sung=sung), loss_fn=_loss(cfg), evaluate=evaluate,
                data_version=CHOIR_VERSION if sung else VERSION)
