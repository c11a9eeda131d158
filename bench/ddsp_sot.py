"""F0 estimation by synthesis: which spectral loss lets gradient descent find the frequency?

    python bench/ddsp_sot.py            # ~6 min (one torch thread); --tones 16 for a quick look

Tones: N_TONES stationary harmonic tones (0.25 s at 16 kHz, hiaudio.studio.ddsp_lab.tone),
seeded. F0 log-uniform in [50, 1000] Hz; 1..8 harmonics (uniform, then capped so the top
harmonic stays below Nyquist); amplitudes uniform in [0.1, 1], scaled to sum 0.8
(lab_plots.harmonic_amplitudes); white noise NOISE_DB below the tone's RMS (SNR 40 dB).

Fits: for every loss in hiaudio.dsp.losses.LOSSES, ddsp_lab.fit_tones (Adam on log F0 and the
harmonic amplitudes, lr 0.03 decaying to 0.0003, STEPS steps) from one start per tone at
F0 * 2^u, u log-uniform offset in [-1, 1] octave (the same starts for every loss). The fit
knows the number of harmonics (tones are batched by it), not the amplitudes.

Metrics, per loss over the tones (the final F0 is the estimate):
  success       |F0 error| <= 50 cents, in % of tones (also split 1 harmonic / 2..8)
  octave err    within 50 cents of twice or half the target F0, in % of tones
  RPA / RCA     mir_eval.melody.raw_pitch_accuracy / raw_chroma_accuracy (50 cents) on the
                per-frame F0 arrays (constant for a stationary tone, so RPA equals success;
                RCA also counts octave errors as right)
  median |c|    median absolute F0 error in cents
  LSD           log-spectral distance (dB) between the clean target tone and the final
                synthesis, the definition of bench/voice_roundtrip.py (512-point Hann, hop
                128, floor 80 dB below the target's largest bin), mean over tones
  time          wall time of all of that loss's fits

Results go to bench/results/ddsp_sot.json (with date, machine and git state).
"""
from __future__ import annotations

import argparse
import os
import math
import sys
import time
from pathlib import Path

import mir_eval
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio.dsp import spectral  # noqa: E402
from hiaudio.dsp.losses import LOSSES  # noqa: E402
from hiaudio.studio import ddsp_lab, lab_plots  # noqa: E402

SEED = 0
N_TONES = 48
STEPS = 300
F0_RANGE_HZ = (50.0, 1000.0)
MAX_HARMONICS = 8
INIT_SPREAD_OCT = 1.0
NOISE_DB = -40.0  # relative to the tone's RMS
DURATION_S = 0.25
SAMPLE_RATE = ddsp_lab.LAB_RATE
N_FFT, HOP = 512, 128  # LSD analysis, as bench/voice_roundtrip.py
FLOOR_DB = -80.0


# ---- the test set -----------------------------------------------------------------------------
def make_tones(n_tones: int, seed: int = SEED) -> dict:
    """Targets and starts: f0_hz (N,), n_harmonics (N,), amplitudes [N x (K_i,)], clean and
    noisy audio (N, S), init_hz (N,)."""
    rng = np.random.default_rng(seed)
    lo, hi = np.log(F0_RANGE_HZ)
    f0_hz = np.exp(rng.uniform(lo, hi, n_tones))
    n_harm = rng.integers(1, MAX_HARMONICS + 1, n_tones)
    n_harm = np.minimum(n_harm, np.ceil(SAMPLE_RATE / 2 / f0_hz).astype(int) - 1)  # below Nyquist
    amps = [lab_plots.harmonic_amplitudes(int(k), random_seed=int(rng.integers(2 ** 31)))
            for k in n_harm]
    init_hz = f0_hz * 2.0 ** rng.uniform(-INIT_SPREAD_OCT, INIT_SPREAD_OCT, n_tones)
    clean = torch.cat([ddsp_lab.tone(torch.tensor([f], dtype=torch.float64),
                                     torch.as_tensor(a)[None], DURATION_S)
                       for f, a in zip(f0_hz, amps)])  # (N, S)
    rms = clean.pow(2).mean(-1, keepdim=True).sqrt()  # (N, 1)
    gen = torch.Generator().manual_seed(seed)
    noisy = clean + rms * 10 ** (NOISE_DB / 20) * torch.randn(clean.shape, generator=gen,
                                                               dtype=torch.float64)
    return {"f0_hz": f0_hz, "n_harmonics": n_harm, "amplitudes": amps, "clean": clean,
            "noisy": noisy, "init_hz": init_hz}


# ---- metrics ----------------------------------------------------------------------------------
def log_spectral_distance_db(ref: np.ndarray, deg: np.ndarray) -> float:
    """LSD (dB) of bench/voice_roundtrip.py: per-frame RMS over bins of the dB difference of the
    power spectra (floored FLOOR_DB below the reference's largest bin), mean over frames."""
    def power(x):
        return (np.abs(spectral.stft(np.asarray(x), N_FFT, HOP)) ** 2).T  # (T, F)

    p_ref, p_deg = power(ref), power(deg)
    floor = p_ref.max() * 10 ** (FLOOR_DB / 10)
    diff_db = 10 * np.log10(np.maximum(p_ref, floor)) - 10 * np.log10(np.maximum(p_deg, floor))
    return float(np.sqrt(np.mean(diff_db ** 2, axis=1)).mean())


def frame_accuracies(target_hz: np.ndarray, estimate_hz: np.ndarray, n_frames: int) -> dict:
    """mir_eval RPA and RCA over all tones' frames (each tone: n_frames equal values)."""
    ref_hz = np.repeat(target_hz, n_frames)
    est_hz = np.repeat(estimate_hz, n_frames)
    voiced = np.ones_like(ref_hz)
    ref_c, est_c = mir_eval.melody.hz2cents(ref_hz), mir_eval.melody.hz2cents(est_hz)
    return {"rpa": float(mir_eval.melody.raw_pitch_accuracy(voiced, ref_c, voiced, est_c, 50)),
            "rca": float(mir_eval.melody.raw_chroma_accuracy(voiced, ref_c, voiced, est_c, 50))}


# ---- the benchmark ----------------------------------------------------------------------------
def run_loss(name: str, tones: dict, steps: int) -> dict:
    """Fit every tone with one loss (batched by number of harmonics) and score the fits."""
    n = len(tones["f0_hz"])
    final_hz = np.zeros(n)
    audio = torch.zeros_like(tones["clean"])
    started = time.perf_counter()
    for k in np.unique(tones["n_harmonics"]):
        idx = np.nonzero(tones["n_harmonics"] == k)[0]
        fit = ddsp_lab.fit_tones(tones["noisy"][idx], tones["init_hz"][idx], int(k), name,
                                 steps=steps)
        final_hz[idx] = fit.f0_hz
        audio[idx] = torch.as_tensor(fit.audio)
    elapsed_s = time.perf_counter() - started
    score = lab_plots.score_estimates(final_hz, tones["f0_hz"])
    one = tones["n_harmonics"] == 1

    def pct(mask):  # % of successes among the tones in mask; NaN when there are none
        return 100 * float(score["success"][mask].mean()) if mask.any() else math.nan

    lsd = [log_spectral_distance_db(c, a) for c, a in zip(tones["clean"].numpy(), audio.numpy())]
    n_frames = max(2, round(DURATION_S * SAMPLE_RATE / ddsp_lab.HOP))
    return {
        "success_pct": 100 * float(score["success"].mean()),
        "success_1_harmonic_pct": pct(one),
        "success_2_to_8_pct": pct(~one),
        "octave_error_pct": 100 * float(score["octave_error"].mean()),
        **{k: 100 * v for k, v in frame_accuracies(tones["f0_hz"], final_hz, n_frames).items()},
        "median_abs_cents": float(np.median(np.abs(score["cents"]))),
        "lsd_db_mean": float(np.mean(lsd)),
        "time_s": elapsed_s,
        "final_hz": final_hz,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tones", type=int, default=N_TONES)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    # one thread: the batches are small, and on two shared cores a 2-thread pool stalls
    # whenever other work holds a core (10-50x slower fits were measured that way)
    torch.set_num_threads(1)
    tones = make_tones(args.tones)
    load_before = round(os.getloadavg()[0], 2)
    print(f"{args.tones} tones x 1 start, {args.steps} steps, losses: {', '.join(LOSSES)}",
          file=sys.stderr, flush=True)
    results = {}
    for name in LOSSES:
        results[name] = run_loss(name, tones, args.steps)
        print(f"  {name}: {results[name]['time_s']:.0f} s", file=sys.stderr, flush=True)

    headers = ["loss", "success %", "1 harm %", "2-8 harm %", "octave err %", "RPA %", "RCA %",
               "median |cents|", "LSD dB", "time s"]
    rows = [[name, r["success_pct"], r["success_1_harmonic_pct"], r["success_2_to_8_pct"],
             r["octave_error_pct"], r["rpa"], r["rca"], r["median_abs_cents"], r["lsd_db_mean"],
             r["time_s"]] for name, r in results.items()]
    n_one = int((tones["n_harmonics"] == 1).sum())
    print(f"\nF0 by synthesis: {args.tones} tones ({n_one} with 1 harmonic), F0 50-1000 Hz, "
          f"starts up to ±{INIT_SPREAD_OCT:g} octave away, {args.steps} Adam steps; success = "
          f"within 50 cents; {torch.get_num_threads()} torch threads, load average "
          f"{load_before:.1f} before")
    print(common.format_table(headers, rows, "{:.1f}"))

    path = common.write_results("ddsp_sot", {
        "config": {"seed": SEED, "n_tones": args.tones, "steps": args.steps, "lr": 0.03,
                   "f0_range_hz": list(F0_RANGE_HZ), "max_harmonics": MAX_HARMONICS,
                   "init_spread_oct": INIT_SPREAD_OCT, "noise_db_re_rms": NOISE_DB,
                   "duration_s": DURATION_S, "sample_rate": SAMPLE_RATE,
                   "tolerance_cents": lab_plots.TOLERANCE_CENTS,
                   "lsd": f"STFT {N_FFT}/hop {HOP} Hann, centred; floor {FLOOR_DB:.0f} dB"},
        "load_avg_1min_before": load_before,
        "tones": {"f0_hz": tones["f0_hz"], "n_harmonics": tones["n_harmonics"],
                  "init_hz": tones["init_hz"]},
        "losses": results,
    })
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
