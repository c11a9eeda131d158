"""Mel -> waveform: Griffin-Lim, WaveGrad and GLA-Grad, and the metrics that compare them.

Every method takes a clip at 16 kHz, computes its mel with the one front end
(`hiaudio.dsp.spectral.MEL`) and inverts that mel; nothing else of the clip is used.

    out = vocode(wave_16k, "gla-grad", n_steps=6, generator=torch.Generator().manual_seed(0))
    out.audio            # (S,) float32 in [-1, 1], the input's length
    out.rtf              # compute time / clip duration (torch threads as the caller set them)
    score(wave_16k, out.audio)   # {"pesq_wb", "stoi", "log_mel_db"}

GLA-Grad (Liu, Baoueb, Fontaine, Le Roux & Richard, ICASSP 2024): the WaveGrad reverse process,
where after each of the first `n_projected` (noisiest) steps the waveform estimate is replaced
by a few fast Griffin-Lim iterations toward the target magnitude (the mel's pseudo-inverse),
started from the estimate's own phase. Same checkpoint as WaveGrad; no retraining.
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings

import numpy as np
import torch

from hiaudio import checkpoints
from hiaudio.device import on_gpu, pick_device
from hiaudio.dsp import spectral
from hiaudio.models import wavegrad  # importing it registers the class
from hiaudio.studio import plots

METHODS = ("griffin-lim", "wavegrad", "gla-grad")
SAMPLE_RATE = spectral.MEL.sample_rate
GRIFFIN_LIM_ITERS = 64  # fast-GLA iterations of the Griffin-Lim baseline
DEFAULT_STEPS = 6  # reverse steps of WaveGrad and GLA-Grad unless asked otherwise
MAX_STEPS = 200
CHECKPOINT = "wavegrad.pt"


@dataclasses.dataclass(frozen=True)
class GlaGradSettings:
    """Where and how hard GLA-Grad projects: the best PESQ of the sweep on seen voices in
    bench/vocoders.py. With the shipped (under-trained) WaveGrad that is 5 of 6 steps: only the
    last, least noisy step is left to the model. The paper projects fewer of the first steps."""
    n_projected: int = 5  # reverse steps, from the noisiest, followed by a projection
    n_iter: int = 16  # fast Griffin-Lim iterations per projection
    momentum: float = 0.99  # fast-GLA momentum (Perraudin et al. 2013); 0 = plain Griffin-Lim


@dataclasses.dataclass
class Vocoded:
    audio: np.ndarray  # (S,) float32 in [-1, 1] at SAMPLE_RATE
    method: str
    n_steps: int | None  # reverse steps (None for Griffin-Lim)
    compute_s: float  # wall time of the inversion (mel included)
    rtf: float  # compute_s / clip duration

    @property
    def label(self) -> str:
        return self.method if self.n_steps is None else f"{self.method}-{self.n_steps}"


def load_wavegrad():
    """The shipped WaveGrad model (assets/wavegrad.pt), loaded once per process."""
    model, _ = checkpoints.load_asset(CHECKPOINT, expected="wavegrad")
    assert isinstance(model, wavegrad.WaveGrad)
    return model


def gla_projection(target_mag: torch.Tensor, length: int, settings: GlaGradSettings):
    """GLA-Grad's hook for `wavegrad.sample`: project y after reverse steps 0..n_projected-1.

    target_mag: (B, F, T) target STFT magnitude; y: (B, length).
    """
    def project(y: torch.Tensor, k: int) -> torch.Tensor:
        if k >= settings.n_projected:
            return y
        start = spectral.stft(y, spectral.MEL.n_fft, spectral.MEL.hop_samples)
        return spectral.fast_griffin_lim(target_mag, start, length, n_iter=settings.n_iter, momentum=settings.momentum)
    return project


def invert_mel(mel: torch.Tensor, length: int, method: str, n_steps: int | None = None,
               model=None, generator: torch.Generator | None = None,
               gla: GlaGradSettings = GlaGradSettings()) -> torch.Tensor:
    """Magnitude mel (B, n_mels, T) of `length` = (T - 1) * hop samples -> waveform (B, length).

    The diffusion methods generate T - 1 frames of hop samples each, conditioned on the log of
    the mel's first T - 1 frames (as in training: frame t covers samples t*hop ..).
    """
    if method == "griffin-lim":
        return spectral.griffin_lim(spectral.mel_to_magnitude(mel), n_iter=GRIFFIN_LIM_ITERS, length=length)

    device = pick_device()  # the network and the projections run there; the noise is drawn on the CPU
    model = (model if model is not None else load_wavegrad()).to(device)
    mel = mel.to(device)
    betas = model.inference_betas(n_steps or DEFAULT_STEPS)
    log_mel = torch.log(mel[..., :-1].clamp(min=spectral.MEL.log_floor))  # (B, M, T - 1)
    project = None
    if method == "gla-grad":
        project = gla_projection(spectral.mel_to_magnitude(mel), length, gla)
    with torch.no_grad():
        return wavegrad.sample(model, log_mel, betas, generator, project).cpu()


@on_gpu  # numpy in, numpy out: on a ZeroGPU Space the GPU is held only while it runs
def vocode(wave: np.ndarray, method: str, n_steps: int | None = None,
           generator: torch.Generator | None = None, model=None,
           gla: GlaGradSettings = GlaGradSettings()) -> Vocoded:
    """Mel of `wave` (S,) at 16 kHz, inverted by `method`: audio of the input's length, in [-1, 1]."""
    if method not in METHODS:
        raise ValueError(f"unknown vocoder {method!r}; choose one of: {', '.join(METHODS)}")
    if method == "griffin-lim":
        n_steps = None
    else:
        n_steps = DEFAULT_STEPS if n_steps is None else int(n_steps)
        if not 1 <= n_steps <= MAX_STEPS:
            raise ValueError(f"{n_steps} reverse steps asked; give 1..{MAX_STEPS} (6 and 25 have searched "
                             "schedules)")
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size < spectral.MEL.n_fft:
        raise ValueError(f"need a mono clip of at least {spectral.MEL.n_fft} samples "
                         f"({spectral.MEL.n_fft / SAMPLE_RATE * 1000:.0f} ms at {SAMPLE_RATE} Hz); "
                         f"got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise ValueError("the clip holds NaN or infinite samples")
    hop = spectral.MEL.hop_samples
    padded = math.ceil(wave.size / hop) * hop  # whole hops: the diffusion model makes hop samples a frame
    start = time.perf_counter()
    x = torch.from_numpy(np.pad(wave, (0, padded - wave.size)))[None]  # (1, S')
    mel = spectral.mel_spectrogram(x)  # (1, M, S' / hop + 1)
    out = invert_mel(mel, padded, method, n_steps, model, generator, gla)[0, :wave.size]
    audio = out.clamp(-1.0, 1.0).float().numpy()
    compute_s = time.perf_counter() - start
    return Vocoded(audio, method, n_steps, compute_s, compute_s / (wave.size / SAMPLE_RATE))


def score(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """PESQ-WB (ITU-T P.862.2, 1..4.64), STOI (Taal et al. 2011, 0..1) and the log-mel distance
    (dB, `spectral.log_mel_distance_db`) of `estimate` against `reference`, both (S,) at 16 kHz.

    A metric that cannot be computed (PESQ finds no speech in the reference) is NaN.
    """
    from pesq import pesq
    from pystoi import stoi

    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    n = min(reference.size, estimate.size)
    reference, estimate = reference[:n], estimate[:n]
    try:
        pesq_wb = float(pesq(SAMPLE_RATE, reference, estimate, "wb"))
    except Exception:  # pesq.NoUtterancesError, or a clip too short for its alignment
        pesq_wb = float("nan")
    with warnings.catch_warnings():  # pystoi warns when the clip is shorter than 30 frames
        warnings.simplefilter("ignore")
        stoi_score = float(stoi(reference, estimate, SAMPLE_RATE, extended=False))
    log_mel_db = float(spectral.log_mel_distance_db(torch.from_numpy(reference).float(),
                                                    torch.from_numpy(estimate).float()))
    return {"pesq_wb": pesq_wb, "stoi": stoi_score, "log_mel_db": log_mel_db}


def mel_db(wave: np.ndarray) -> np.ndarray:
    """The clip's mel in dB: (n_mels, T)."""
    mel = spectral.mel_spectrogram(torch.from_numpy(np.asarray(wave, dtype=np.float32)))  # (M, T)
    return (20 * torch.log10(mel.clamp(min=1e-8))).numpy()


def mel_figure(wave: np.ndarray, title: str, floor_db: float = -80.0, top_db: float | None = None):
    """Plotly heatmap of the clip's mel in dB (time in s, mel band centre in Hz) on the colour
    scale top_db + floor_db .. top_db -- what every method is asked to reproduce. Give every
    method the original's top (`mel_db(original).max()`) and their figures share one scale;
    by default the clip's own loudest value is the top."""
    level_db = mel_db(wave)
    top = float(level_db.max()) if top_db is None else float(top_db)
    level_db = np.clip(level_db, top + floor_db, None)
    cfg = spectral.MEL
    times_s = np.arange(level_db.shape[-1]) * cfg.hop_samples / cfg.sample_rate
    centres_hz = mel_centres_hz(cfg)
    trace = {"type": "heatmap", "x": plots.json_list(times_s, 3), "y": plots.json_list(centres_hz, 0),
             "z": np.round(level_db, 1).tolist(), "colorscale": "Magma", "zmin": top + floor_db,
             "zmax": top, "colorbar": {"title": {"text": "dB"}},
             "hovertemplate": "%{x:.2f} s, %{y:.0f} Hz: %{z:.0f} dB<extra></extra>"}
    layout = plots.base_layout(title, {"title": {"text": "time (s)"}},
                               {"title": {"text": "mel band centre (Hz)"}}, height_px=260)
    return plots.figure([trace], layout)


def mel_centres_hz(cfg: spectral.MelConfig = spectral.MEL) -> np.ndarray:
    """(n_mels,) the frequency (Hz) where each mel filter peaks."""
    fb = spectral.mel_filterbank(cfg).numpy()  # (F, M)
    return fb.argmax(0) * cfg.sample_rate / cfg.n_fft
