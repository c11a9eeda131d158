"""Experiment (not shipped): a network that refines the comb fit's partial amplitudes, trained
with the true stems of the many-family choir stream, scored on the choir tuning set.

    python scripts/amplitude_refiner.py train --steps 3000 --out runs/refiner.pt   # ~20 min, 1 thread
    python scripts/amplitude_refiner.py eval runs/refiner.pt                       # the 18 tuning excerpts

Why: `bench/choir_diagnose.py` finds the largest step between ours and the oracle in finding
the comb's amplitudes in the mixture (2.4 dB on the tuning set). The per-clip fit
(`comb.fit_combs`) sees one clip; a network trained on many mixtures with their stems could
learn how shared partials divide. The refiner reads, per part, frame and harmonic, the
mixture's log magnitude at the partial, how close another part's partial lies (the Hann
kernel at their distance), the fit's own amplitude, and per frame every part's pitch and mean
level; dilated convolutions along time give a log-gain on each fitted amplitude (the last layer
starts at zero, so the untrained refiner is the fit). Loss: L1 between each part's masked
mixture magnitude (masks as the pipeline's, p = 1.5) and its true stem's magnitude. Training
F0: the section's mean sung F0; evaluation F0: ours, near the score (`part_f0`).
Measured 2026-12-04 (BENCHMARKS.md, choir separation, tuning log): +0.2 dB over the fit.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hiaudio.data import report_set  # noqa: E402
from hiaudio.dsp.f0grid import known_f0  # noqa: E402
from hiaudio.dsp.partials import comb_layout, hann_kernel, voice_magnitudes  # noqa: E402
from hiaudio.dsp.spectral import stft  # noqa: E402
from hiaudio.models import salience as salience_model  # noqa: E402
from hiaudio.separation import comb, si_sdr_batch  # noqa: E402
from hiaudio.separation.baselines import apply_masks  # noqa: E402
from hiaudio.separation.choir import HOP, MASK_POWER, N_FFT, RELEASE_S, SAMPLE_RATE  # noqa: E402
from hiaudio.separation.part_f0 import F0_HOP_S, part_f0  # noqa: E402

K, MAX_PARTS = 40, 5
RELEASE = int(round(RELEASE_S * SAMPLE_RATE / HOP))
N_IN = 3 * K + 2 + 3 * MAX_PARTS  # readout, overlap, fitted amplitude; log f0, voiced; context, which part


def features(mag: np.ndarray, f0: np.ndarray, fitted: np.ndarray) -> torch.Tensor:
    """mag (F, T), f0 (V, T), fitted (T, V, K) -> (V, N_IN, T)."""
    n_bins, n_frames = mag.shape
    n_parts = f0.shape[0]
    f0 = torch.as_tensor(f0, dtype=torch.float32)
    k = torch.arange(1, K + 1, dtype=torch.float32)
    pos = f0[..., None] * k * N_FFT / SAMPLE_RATE  # (V, T, K)
    valid = (f0[..., None] > 0) & (pos < n_bins - 2)
    pos = pos.clamp(0, n_bins - 2)
    lo = pos.floor().long()
    frac = pos - lo
    log_mag = torch.log(torch.as_tensor(mag, dtype=torch.float32) + 1e-5).T[None].expand(n_parts, -1, -1)
    read = torch.gather(log_mag, -1, lo) * (1 - frac) + torch.gather(log_mag, -1, lo + 1) * frac
    level = (read * valid).sum() / valid.sum().clamp(min=1)
    read = torch.where(valid, read - level, torch.zeros_like(read))
    amp = torch.log(torch.as_tensor(fitted, dtype=torch.float32).permute(1, 0, 2) + 1e-5)
    amp = torch.where(valid, amp - level, torch.zeros_like(amp))
    overlap = torch.zeros(n_parts, n_frames, K)
    for v in range(n_parts):
        for j in range(n_parts):
            if j != v:  # the kernel of part j's nearest partial at each of part v's partials
                fj = f0[j][:, None]
                nearest = torch.round(f0[v][:, None] * k / fj.clamp(min=1.0)).clamp(1, K)
                kernel = hann_kernel((f0[v][:, None] * k - nearest * fj) * N_FFT / SAMPLE_RATE).float()
                overlap[v] = torch.maximum(overlap[v], kernel * (fj > 0) * (f0[v][:, None] > 0))
    log_f0 = torch.where(f0 > 0, torch.log2(f0.clamp(min=1.0) / 220.0), torch.zeros_like(f0))
    context = torch.zeros(2 * MAX_PARTS, n_frames)
    context[:n_parts] = log_f0
    context[MAX_PARTS:MAX_PARTS + n_parts] = (read * valid).sum(-1) / valid.sum(-1).clamp(min=1)
    which = torch.zeros(n_parts, MAX_PARTS, n_frames)
    which[torch.arange(n_parts), torch.arange(n_parts)] = 1.0
    return torch.cat([read.transpose(1, 2), overlap.transpose(1, 2), amp.transpose(1, 2), log_f0[:, None],
                      (f0 > 0).float()[:, None], context[None].expand(n_parts, -1, -1), which], 1)


class Refiner(nn.Module):
    def __init__(self, hidden: int = 96):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(N_IN, hidden, 5, padding=2), nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=4, dilation=2), nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=8, dilation=4), nn.GELU(),
            nn.Conv1d(hidden, K, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, mag, f0, fitted):
        """The fitted amplitudes (T, V, K) of the voices' own tracks, refined."""
        gain = self.net(features(mag, f0, fitted)).clamp(-4, 4)  # (V, K, T)
        return torch.as_tensor(fitted) * torch.exp(gain.permute(2, 0, 1))


def fit(mag, f0):
    """The per-clip comb fit: (its models (V, F, T), its amplitudes (T, V', K), track F0, owner)."""
    return comb.fit_combs(mag, f0, SAMPLE_RATE, N_FFT, release_frames=RELEASE, amplitudes=True)


def part_models(amps: torch.Tensor, track_f0: np.ndarray, owner: np.ndarray, n_parts: int, n_bins: int):
    """Every track's amplitudes (T, V', K) -> each part's magnitude (V, F, T), as fit_combs builds it."""
    index, weight = comb_layout(track_f0, SAMPLE_RATE, N_FFT, K, spread_cents=comb.SECTION_SPREAD_CENTS)
    y = voice_magnitudes(amps, index, weight, owner, n_parts, n_bins)
    return y + comb.UNMODELLED_FLOOR * y.mean(1, keepdim=True)


def refined_models(net, mag, f0, fitted_amps, track_f0, owner):
    n_parts = f0.shape[0]
    own = net(mag, f0, fitted_amps[:, :n_parts])
    amps = torch.cat([own, torch.as_tensor(fitted_amps[:, n_parts:])], 1)
    return part_models(amps, track_f0, owner, n_parts, mag.shape[0])


def train(steps: int, out: str, n_examples: int = 1500, batch: int = 4, seed: int = 0) -> None:
    torch.set_num_threads(1)
    stream = report_set.ChoirDataset("train", n_examples=n_examples, duration_s=3.0)
    net = Refiner()
    optimizer = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=0.01)
    rng, cache, losses, started = np.random.default_rng(seed), {}, [], time.time()
    for step in range(1, steps + 1):
        loss = torch.zeros(())
        for i in rng.integers(n_examples, size=batch):
            if i not in cache:
                ex = stream.example(int(i))
                mix, stems = report_set.at_rate(ex, SAMPLE_RATE)
                mag = np.abs(stft(mix, N_FFT, HOP)).astype(np.float32)
                f0 = np.stack([known_f0(f, ex.hop_samples / ex.sample_rate, mag.shape[1], HOP / SAMPLE_RATE)
                               for f in ex.f0_sung_hz]).astype(np.float32)
                target = np.stack([np.abs(stft(s, N_FFT, HOP)) for s in stems]).astype(np.float32)
                cache[i] = (mag, f0, target, *fit(mag, f0)[1:]) if (f0 > 0).any() else None
            if cache[i] is None:
                continue
            mag, f0, target, amps, track_f0, owner = cache[i]
            weights = (refined_models(net, mag, f0, amps, track_f0, owner) + 1e-7) ** MASK_POWER  # no 0 / 0
            masks = weights / weights.sum(0, keepdim=True)
            loss = loss + (masks * torch.as_tensor(mag) - torch.as_tensor(target)).abs().sum() / mag.sum() / len(f0)
        optimizer.zero_grad()
        (loss / batch).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.detach()) / batch)
        if step % 50 == 0 or step == steps:
            print(f"step {step}  loss {np.mean(losses[-50:]):.4f}  ({time.time() - started:.0f} s)", flush=True)
            torch.save(net.state_dict(), out)


def evaluate(path: str) -> None:
    torch.set_num_threads(1)
    net = Refiner()
    net.load_state_dict(torch.load(path, weights_only=True))
    net.eval()
    scores: dict[str, dict[str, list[float]]] = {}
    for ex in report_set.load_set("tuning"):
        mix, stems = report_set.at_rate(ex, SAMPLE_RATE)
        notes = report_set.score_notes(ex)
        _, f0_ours, _, _, _ = part_f0(mix, len(notes), notes, salience_model.ASSETS)
        mag = np.abs(stft(mix, N_FFT, HOP)).astype(np.float32)
        f0 = np.stack([known_f0(f, F0_HOP_S, mag.shape[1], HOP / SAMPLE_RATE) for f in f0_ours]).astype(np.float32)
        models, amps, track_f0, owner = fit(mag, f0)
        with torch.no_grad():
            refined = refined_models(net, mag, f0, amps, track_f0, owner).double().numpy()
        family = scores.setdefault(ex.meta["family"], {"fit": [], "refined": []})
        for key, m in (("fit", models), ("refined", refined)):
            family[key].append(float(np.mean(si_sdr_batch(apply_masks(mix, m, N_FFT, HOP, MASK_POWER), stems))))
        print(ex.meta["family"], ex.meta["index"], {k: round(v[-1], 2) for k, v in family.items()}, flush=True)
    for key in ("fit", "refined"):
        per = {f: np.mean(v[key]) for f, v in scores.items()}
        print(f"{key:8s}", "  ".join(f"{f} {m:.2f}" for f, m in per.items()), f"  mean of families {np.mean(list(per.values())):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--out", default="runs/refiner.pt")
    e = sub.add_parser("eval")
    e.add_argument("checkpoint")
    args = parser.parse_args()
    train(args.steps, args.out) if args.command == "train" else evaluate(args.checkpoint)
