"""What the vocoder tasks (wavegrad, specdiff_gan) train on: crops of `VoiceBank` clips and their log mels."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from hiaudio.data.vocoder_voices import VoiceBank, read_pack
from hiaudio.dsp import spectral
from hiaudio.models import wavegrad
from hiaudio.train.config import TrainConfig


@dataclasses.dataclass
class VocoderConfig(TrainConfig):
    """What both vocoder tasks' configs hold: their clips, crops and the PESQ monitor."""
    n_train: int = 1200  # training clips (VoiceBank "train")
    n_val: int = 32  # validation clips (VoiceBank "validation": voices never heard in training)
    pack: str = ""  # a folder of clip packs (python -m hiaudio.data vocoder-pack) to read instead of rendering
    segment_frames: int = 24  # mel frames per training crop (x 256 samples)
    monitor_every: int = 1000  # PESQ on whole validation clips every this many steps
    n_monitor: int = 4  # validation clips the monitor scores
    monitor_s: float = 2.0  # seconds of each of those clips (from the start)


def render(bank) -> list[np.ndarray]:
    """Every clip of a `VoiceBank`, rendered (or read from the cache) now, not inside timed steps."""
    return [bank.clip(i)[0] for i in range(len(bank))]


def voice_clips(split: str, n_clips: int, seed: int, pack: str = "") -> list[np.ndarray]:
    """The first `n_clips` clips of a voice split: from the pack folder `pack` when given (a machine
    without espeak-ng and MBROLA), else rendered or read from the cache -- the same samples."""
    if pack:
        return read_pack(pack, split, n_clips, seed)
    return render(VoiceBank(split, n_clips=n_clips, seed=seed))


def clip_mel(audio: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio (S',), log mel (M, S' // hop)) with S' = S rounded down to whole hops."""
    hop = spectral.MEL.hop_samples
    wave = torch.from_numpy(np.asarray(audio[: len(audio) // hop * hop], dtype=np.float32))
    return wave, spectral.log_mel(wave)[:, : len(wave) // hop]  # frame t covers samples t*hop ..


class Crops(torch.utils.data.Dataset):
    """(audio (seg * hop,), log mel (M, seg)) crops of clips held in memory; random for training,
    fixed (with a fixed noise level and white draw) for validation."""

    def __init__(self, clips: list[np.ndarray], segment_frames: int, fixed: bool):
        self.items = [clip_mel(c) for c in clips]
        self.segment_frames, self.fixed = segment_frames, fixed

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        wave, mel = self.items[i]
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


