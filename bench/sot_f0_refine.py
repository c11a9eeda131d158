"""Does SOT refinement improve the voice model's F0 estimate on singing?

    python bench/sot_f0_refine.py

Our F0 estimator (YIN difference function + pYIN-style HMM, parabolic lag interpolation) gives
an F0 per 5 ms frame. Refinement: for every 4th voiced frame, a 64 ms excerpt of the clip is
fitted by gradient descent through the harmonic synthesizer (F0 and harmonic amplitudes free,
F0 starting from the estimate) with the spectral optimal-transport loss, as in the DDSP lab.

Ground truth needs singing whose F0 is known exactly, so the clips are sung by our own voice
model (`hiaudio.voice.singing`: vibrato, drift, glides; the exact F0 track is the parameter), four
singers from bass to soprano on different vowels, plus fluidsynth "Choir Aahs" phrases (real
recorded choir samples; truth = the score's pitch, so only the notes' middles count and a
sample's own tuning error counts against both methods alike).

Reported per clip: median and 95th-percentile absolute error in cents, and the share of frames
within 10 cents, for the estimate alone and after SOT refinement. Results go to
bench/results/sot_f0_refine.json.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from hiaudio.dsp import losses, pitch, synth  # noqa: E402
from hiaudio.voice import Singer, render, sing  # noqa: E402

SR = 16000
HOP = 80
EXCERPT = 1024  # 64 ms
STRIDE = 4  # refine every 4th voiced frame
STEPS = 60


def sung_clips():
    phrase = [(0, 0.1, 0.6), (2, 0.75, 0.6), (4, 1.4, 0.6), (7, 2.05, 0.9), (5, 3.0, 0.5), (4, 3.55, 0.8)]
    singers = {"bass_o": (43, "o", 0.92), "tenor_a": (52, "a", 1.0), "alto_e": (60, "e", 1.08),
               "soprano_i": (67, "i", 1.15)}
    out = {}
    for name, (base, vowel, ratio) in singers.items():
        notes = [(base + step, start, dur) for step, start, dur in phrase]
        params = sing(notes, SR, Singer(vowel=vowel, formant_ratio=ratio, vibrato_cents=40), seed=3)
        voiced = params.voiced > 0.5
        out[name] = (render(params), np.where(voiced, params.f0_hz, 0.0))
    return out


def choir_clips():
    import pretty_midi

    out = {}
    for name, base in (("choir_c3", 48), ("choir_c4", 60)):
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(program=52)
        truth_notes = []
        for i, step in enumerate((0, 2, 4, 5, 7)):
            start = 0.1 + 0.7 * i
            inst.notes.append(pretty_midi.Note(velocity=90, pitch=base + step, start=start, end=start + 0.6))
            truth_notes.append((base + step, start, start + 0.6))
        pm.instruments.append(inst)
        audio = pm.fluidsynth(fs=SR).astype(np.float32)
        audio = 0.5 * audio / np.abs(audio).max()
        n_frames = int(np.ceil(len(audio) / HOP))
        t = np.arange(n_frames) * HOP / SR
        truth = np.zeros(n_frames)
        for midi, start, end in truth_notes:  # middles of notes only
            inside = (t > start + 0.15) & (t < end - 0.1)
            truth[inside] = 440 * 2 ** ((midi - 69) / 12)
        out[name] = (audio, truth)
    return out


def refine(audio: np.ndarray, f0_est: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """SOT fit of F0 (and free harmonic amplitudes) on a 64 ms excerpt around each frame."""
    x = torch.as_tensor(np.pad(audio, (EXCERPT, EXCERPT)), dtype=torch.float64)
    starts = frames * HOP + EXCERPT - EXCERPT // 2
    target = torch.stack([x[s:s + EXCERPT] for s in starts])  # (B, S)
    init = torch.as_tensor(f0_est[frames], dtype=torch.float64)
    n_harm = int(min(20, SR / 2 / init.max()))
    log_f0 = torch.log(init).clone().requires_grad_()
    # amplitudes start from the excerpt's own spectrum at the estimated harmonics: with a wrong
    # amplitude balance, SOT would move F0 to shift the spectral mass instead
    window = torch.hann_window(EXCERPT, dtype=torch.float64)
    spec = torch.fft.rfft(target * window, 4 * EXCERPT).abs() * (2 / window.sum())
    bins = torch.round(init[:, None] * torch.arange(1, n_harm + 1) * (4 * EXCERPT / SR)).long()
    amp0 = spec.gather(-1, bins.clamp(max=spec.shape[-1] - 1)).clamp_min(1e-6)
    amp_logits = torch.log(torch.expm1(amp0)).clone().requires_grad_()  # softplus^-1
    opt = torch.optim.Adam([log_f0, amp_logits], lr=0.01)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.01 ** (1 / STEPS))
    n_frames = EXCERPT // 64
    for _ in range(STEPS):
        f0 = torch.exp(log_f0).unsqueeze(-1).expand(-1, n_frames)
        amps = torch.nn.functional.softplus(amp_logits).unsqueeze(1).expand(-1, n_frames, -1)
        pred = synth.harmonic_synth(f0, amps, None, 64, SR)
        loss = losses.spectral_ot(pred, target, n_fft=4096, win_length=EXCERPT, sample_rate=SR / 1000)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        sched.step()
    return torch.exp(log_f0).detach().numpy()


def errors(est: np.ndarray, truth: np.ndarray) -> dict:
    cents = np.abs(1200 * np.log2(est / truth))
    return {"median_cents": float(np.median(cents)), "p95_cents": float(np.percentile(cents, 95)),
            "within_10_cents": float(np.mean(cents < 10))}


def main() -> None:
    torch.set_num_threads(1)
    clips = {**sung_clips(), **choir_clips()}
    rows, results = [], {}
    for name, (audio, truth) in clips.items():
        f0, _ = pitch.estimate_f0(torch.as_tensor(audio), SR, HOP)
        f0 = f0.numpy()
        n = min(len(f0), len(truth))
        frames = np.nonzero((f0[:n] > 0) & (truth[:n] > 0))[0][::STRIDE]
        started = time.perf_counter()
        refined = refine(audio, f0, frames)
        seconds = time.perf_counter() - started
        base, sot = errors(f0[frames], truth[frames]), errors(refined, truth[frames])
        results[name] = {"frames": int(len(frames)), "estimate": base, "sot_refined": sot,
                         "refine_s": round(seconds, 2)}
        rows.append([name, len(frames), f"{base['median_cents']:.1f}", f"{sot['median_cents']:.1f}",
                     f"{base['p95_cents']:.1f}", f"{sot['p95_cents']:.1f}",
                     f"{100 * base['within_10_cents']:.0f}", f"{100 * sot['within_10_cents']:.0f}", f"{seconds:.1f}"])
    print(common.format_table(["clip", "frames", "median est", "median +SOT", "p95 est", "p95 +SOT",
                               "%<10c est", "%<10c +SOT", "refine s"], rows))
    common.write_results("sot_f0_refine", {"settings": {"excerpt_samples": EXCERPT, "steps": STEPS,
                                                        "stride": STRIDE, "sample_rate": SR},
                                           "clips": results})


if __name__ == "__main__":
    main()
