"""Mel vocoders on voices they never heard: the seed's GLA-Grad generalization experiment, in small.

    python bench/vocoders.py [--n-clips 10] [--n-seen 10]

The shipped WaveGrad (assets/wavegrad.pt, `python -m hiaudio.train wavegrad`) was trained on the
espeak-ng training voices only (`hiaudio.data.splits`: m1 m2 m3 m5 m6 f1 f2 f4 klatt klatt3).
Here every method inverts the mel (`hiaudio.dsp.spectral.MEL`, 16 kHz) of

* unseen voices: `SpeechDataset("test")` -- voices m4 m7 f3 f5 klatt2 and sentences never used
  in training (the seed's "train on LJ Speech, test on VCTK");
* seen voices: `SpeechDataset("validation")` -- the training voices reading unseen sentences
  (the seed's "train and test on LJ Speech"),

and is scored against the clip: PESQ-WB (ITU-T P.862.2, `pesq`), STOI (`pystoi`), log-mel
distance (dB, `spectral.log_mel_distance_db`), and the real-time factor (compute time / clip
duration, the mel included, torch on 1 thread, one clip at a time). WaveGrad and GLA-Grad use
the same checkpoint and the same seed per clip, so they start from the same noise.

Before the tables, GLA-Grad's two settings (projected steps, GLA iterations per projection) are
swept with 6 steps on the first 4 seen-voice clips -- never on the unseen voices -- which is how
the defaults in `hiaudio.studio.vocode.GlaGradSettings` were chosen; the tables show GLA-Grad
with those defaults and in the paper's regime (only the first 3 of 6 steps projected). After
them, the real-time factor of each method on one 10 s clip, best and median of 3 runs.
Results: bench/results/vocoders.json. WARP-Q is not reported: it is not installed here and
pulls in packages we do not otherwise need.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio.data import SpeechDataset  # noqa: E402
from hiaudio.studio import vocode  # noqa: E402

DEFAULT_GLA = vocode.GlaGradSettings()
FIRST_HALF = vocode.GlaGradSettings(n_projected=3)  # the paper's regime: only the noisiest steps
# (label, method, reverse steps, GLA-Grad settings)
METHODS = (("griffin-lim", "griffin-lim", None, DEFAULT_GLA),
           ("wavegrad-6", "wavegrad", 6, DEFAULT_GLA),
           ("wavegrad-25", "wavegrad", 25, DEFAULT_GLA),
           (f"gla-grad-6 (first {FIRST_HALF.n_projected} projected)", "gla-grad", 6, FIRST_HALF),
           (f"gla-grad-6 ({DEFAULT_GLA.n_projected} projected, default)", "gla-grad", 6, DEFAULT_GLA),
           (f"gla-grad-25 ({DEFAULT_GLA.n_projected} projected)", "gla-grad", 25, DEFAULT_GLA))
TIMING_S = 10.0  # RTF pass: one clip this long (test clips joined), best and median of 3 runs
SWEEP_PROJECTED = (1, 2, 3, 4, 5, 6)
SWEEP_ITERS = (4, 16, 32)
SWEEP_CLIPS = 4


def run_method(clips, method, n_steps, model, gla: vocode.GlaGradSettings) -> list[dict]:
    rows = []
    for i, (wave, meta) in enumerate(clips):
        out = vocode.vocode(wave, method, n_steps, torch.Generator().manual_seed(i), model, gla)
        rows.append({"clip": i, "voice": meta["espeak_voice"], "duration_s": len(wave) / vocode.SAMPLE_RATE,
                     "rtf": out.rtf, **vocode.score(wave, out.audio)})
    return rows


def summary(rows: list[dict]) -> dict:
    out = {}
    for key in ("pesq_wb", "stoi", "log_mel_db", "rtf"):
        values = np.array([r[key] for r in rows], dtype=float)
        values = values[np.isfinite(values)]
        out[key] = {"mean": float(values.mean()), "std": float(values.std()), "n": int(values.size)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-clips", type=int, default=10, help="unseen-voice clips (test split)")
    parser.add_argument("--n-seen", type=int, default=10, help="seen-voice clips (validation split)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the GLA-Grad settings sweep")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # RTF on one thread: torch's pool stalls on a shared CPU
    load_start = os.getloadavg()
    from hiaudio import checkpoints

    model = vocode.load_wavegrad()
    meta = checkpoints.load_asset(vocode.CHECKPOINT, expected="wavegrad")[1]  # cached: the same load
    sets = {"unseen voices (test)": SpeechDataset("test", n_clips=args.n_clips),
            "seen voices (validation)": SpeechDataset("validation", n_clips=args.n_seen)}
    clips = {name: [ds.clip(i) for i in range(len(ds))] for name, ds in sets.items()}
    results: dict = {"mel": dataclasses.asdict(vocode.spectral.MEL),
                     "gla_grad_defaults": dataclasses.asdict(vocode.GlaGradSettings()),
                     "checkpoint_metrics": {k: v for k, v in meta.get("metrics", {}).items()
                                            if isinstance(v, (int, float))}}

    if not args.no_sweep:
        seen = clips["seen voices (validation)"][:SWEEP_CLIPS]
        sweep, table = [], []
        for n_projected in SWEEP_PROJECTED:
            for n_iter in SWEEP_ITERS:
                gla = vocode.GlaGradSettings(n_projected=n_projected, n_iter=n_iter)
                s = summary(run_method(seen, "gla-grad", 6, model, gla))
                sweep.append({"n_projected": n_projected, "n_iter": n_iter, **s})
                table.append([f"{n_projected} x {n_iter}", s["pesq_wb"]["mean"], s["stoi"]["mean"],
                              s["log_mel_db"]["mean"], s["rtf"]["mean"]])
        results["gla_grad_sweep_seen_voices"] = sweep
        print(f"GLA-Grad-6 settings on {len(seen)} seen-voice clips (projected steps x GLA iterations):")
        print(common.format_table(["setting", "PESQ-WB", "STOI", "log-mel dB", "RTF"], table))
        print()

    results["sets"] = {}
    for name, set_clips in clips.items():
        rows, table = {}, []
        for label, method, n_steps, gla in METHODS:
            per_clip = run_method(set_clips, method, n_steps, model, gla)
            s = summary(per_clip)
            rows[label] = {"summary": s, "clips": per_clip}
            table.append([label, f"{s['pesq_wb']['mean']:.2f} ± {s['pesq_wb']['std']:.2f}",
                          f"{s['stoi']['mean']:.3f} ± {s['stoi']['std']:.3f}",
                          f"{s['log_mel_db']['mean']:.2f} ± {s['log_mel_db']['std']:.2f}",
                          s["rtf"]["mean"]])
        voices = sorted({meta["espeak_voice"].split("+")[1] for _, meta in set_clips})
        duration_s = sum(len(w) for w, _ in set_clips) / vocode.SAMPLE_RATE
        results["sets"][name] = {"voices": voices, "n_clips": len(set_clips), "audio_s": duration_s,
                                 "methods": rows}
        print(f"{name}: {len(set_clips)} clips, {duration_s:.1f} s, voices {' '.join(voices)}")
        print(common.format_table(["method", "PESQ-WB", "STOI", "log-mel dB", "RTF"], table))
        print()

    # RTF on one longer clip, best of 3: on a shared CPU the minimum is the closer estimate
    joined = np.concatenate([w for w, _ in clips["unseen voices (test)"]])[: int(TIMING_S * vocode.SAMPLE_RATE)]
    timing, table = {}, []
    load_timing = os.getloadavg()
    for label, method, n_steps, gla in METHODS:
        t = common.time_median(lambda: vocode.vocode(joined, method, n_steps, torch.Generator().manual_seed(0),
                                                     model, gla), repeats=3)
        duration_s = len(joined) / vocode.SAMPLE_RATE
        timing[label] = {"rtf_min": t["min_s"] / duration_s, "rtf_median": t["median_s"] / duration_s, **t}
        table.append([label, timing[label]["rtf_min"], timing[label]["rtf_median"]])
    results["timing"] = {"clip_s": len(joined) / vocode.SAMPLE_RATE, "torch_threads": torch.get_num_threads(),
                         "load_avg_before": [round(v, 2) for v in load_timing], "methods": timing}
    print(f"real-time factor on a {len(joined) / vocode.SAMPLE_RATE:.1f} s clip, 1 torch thread, load "
          f"{load_timing[0]:.2f} before (best / median of 3):")
    print(common.format_table(["method", "RTF best", "RTF median"], table))
    print()
    results["load_avg_at_start"] = [round(v, 2) for v in load_start]
    path = common.write_results("vocoders", results)
    print(f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f} (1 min); "
          f"results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
