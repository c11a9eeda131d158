"""The DDSP analysis lab (gradio-free): loss landscapes over a candidate frequency, and F0 +
harmonic-amplitude estimation by gradient descent through our harmonic synthesizer.

Everything is batched: many candidates, initializations or tones go through the synthesizer
as one batch, so a landscape of 60 candidates or a fit from 8 initializations is one job.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from hiaudio.dsp import losses, synth
from hiaudio.limits import check_deadline

LAB_RATE = 16000
HOP = 128


def tone(f0_hz: torch.Tensor, amplitudes: torch.Tensor, duration_s: float = 0.25,
         sample_rate: int = LAB_RATE) -> torch.Tensor:
    """Stationary harmonic tones: f0 (B,), amplitudes (B, K) -> audio (B, S)."""
    n_frames = max(2, round(duration_s * sample_rate / HOP))
    f0 = f0_hz.unsqueeze(-1).expand(*f0_hz.shape, n_frames)  # (B, T)
    amps = amplitudes.unsqueeze(-2).expand(*f0.shape, amplitudes.shape[-1])  # (B, T, K)
    return synth.harmonic_synth(f0, amps, None, HOP, sample_rate)


def landscape(target_f0_hz: float, amplitudes, loss_names=tuple(losses.LOSSES), f_min_hz: float | None = None,
              f_max_hz: float | None = None, n_points: int = 61, noise_db: float = -60.0,
              sample_rate: int = LAB_RATE, seed: int = 0) -> dict:
    """Each loss and its gradient d loss / d f0 against the candidate F0 of the same harmonic tone.

    Returns {"candidates_hz": (N,), "<loss>": {"loss": (N,), "grad": (N,)}, ...}.
    """
    amps = torch.as_tensor(np.asarray(amplitudes, dtype=np.float64))[None]  # (1, K)
    f_min_hz = f_min_hz or target_f0_hz / 2
    f_max_hz = f_max_hz or target_f0_hz * 2
    gen = torch.Generator().manual_seed(seed)
    target = tone(torch.tensor([float(target_f0_hz)], dtype=torch.float64), amps, sample_rate=sample_rate)
    target = target + 10 ** (noise_db / 20) * torch.randn(target.shape, generator=gen, dtype=torch.float64)
    cands = torch.exp(torch.linspace(math.log(f_min_hz), math.log(f_max_hz), n_points, dtype=torch.float64))
    out = {"candidates_hz": cands.numpy(), "target_f0_hz": float(target_f0_hz)}
    for name in loss_names:
        c = cands.clone().requires_grad_()
        pred = tone(c, amps.expand(n_points, -1), sample_rate=sample_rate)
        value = losses.LOSSES[name](pred, target.expand_as(pred), sample_rate)
        grad, = torch.autograd.grad(value.sum(), c)
        out[name] = {"loss": value.detach().numpy(), "grad": grad.numpy()}
    return out


@dataclasses.dataclass
class FitResult:
    f0_hz: np.ndarray  # (B,) final F0
    amplitudes: np.ndarray  # (B, K) final harmonic amplitudes
    trajectory_hz: np.ndarray  # (steps + 1, B) F0 after each step
    losses: np.ndarray  # (steps + 1, B)
    audio: np.ndarray  # (B, S) the final synthesis


def fit_tones(target: torch.Tensor, init_f0_hz, n_harmonics: int, loss_name: str, steps: int = 300,
              lr: float = 0.03, sample_rate: int = LAB_RATE) -> FitResult:
    """Estimate F0 and harmonic amplitudes of target tones (B, S) by gradient descent from
    initial F0s (B,), through the harmonic synthesizer, with one of `losses.LOSSES`."""
    target = torch.as_tensor(target, dtype=torch.float64)
    init = torch.as_tensor(np.asarray(init_f0_hz, dtype=np.float64))
    log_f0 = torch.log(init).clone().requires_grad_()
    amp_logits = torch.full((len(init), n_harmonics), -2.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([log_f0, amp_logits], lr=lr)
    # exponential decay to lr/100: Adam's steps stay ~lr in size, so without it the estimate
    # keeps circling the optimum at about lr (0.03 in log-Hz is 50 cents)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / max(steps, 1)))
    loss_fn = losses.LOSSES[loss_name]
    duration_s = target.shape[-1] / sample_rate
    traj, values = [init.numpy().copy()], []
    for _ in range(steps):
        check_deadline()
        pred = tone(torch.exp(log_f0), torch.nn.functional.softplus(amp_logits), duration_s, sample_rate)
        value = loss_fn(pred[..., :target.shape[-1]], target, sample_rate)
        opt.zero_grad()
        value.sum().backward()
        opt.step()
        sched.step()
        with torch.no_grad():  # keep the search inside the audible range
            log_f0.clamp_(math.log(20.0), math.log(sample_rate / 4))
        traj.append(torch.exp(log_f0).detach().numpy().copy())
        values.append(value.detach().numpy())
    with torch.no_grad():
        pred = tone(torch.exp(log_f0), torch.nn.functional.softplus(amp_logits), duration_s, sample_rate)
        values.append(loss_fn(pred[..., :target.shape[-1]], target, sample_rate).numpy())
    return FitResult(f0_hz=torch.exp(log_f0).detach().numpy(),
                     amplitudes=torch.nn.functional.softplus(amp_logits).detach().numpy(),
                     trajectory_hz=np.stack(traj), losses=np.stack(values),
                     audio=pred[..., :target.shape[-1]].numpy())

