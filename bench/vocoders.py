"""Mel vocoders on voices and languages they never heard: the seed's generalization table, in small.

    python bench/vocoders.py [--n-test 40] [--n-seen 20] [--sweep] [--write-quality]

Every vocoder here was trained on `VoiceBank("train")` only (`hiaudio.data.vocoder_voices`:
espeak-ng variants in 11 languages, seven MBROLA voices, our voice model at vocal-tract scales
0.86-1.04). Each method inverts the mel (`hiaudio.dsp.spectral.MEL`, 16 kHz) of

* unseen voices and languages: `VoiceBank("test")` -- espeak-ng variants never heard, also in
  Italian, Portuguese, Finnish, Hungarian and Greek; MBROLA it3, it4 (Italian) and la1 (Latin);
  our voice model at scales 1.15-1.24 singing and speaking Italian and Latin (the seed's "train on
  LJ Speech, test on VCTK");
* seen voices: `VoiceBank("seen")` -- the training voices reading English sentences never trained
  on (the seed's "train and test on LJ Speech"), labelled as such;

and is scored against the clip: PESQ-WB (ITU-T P.862.2, `pesq`), STOI (`pystoi`), log-mel
distance (dB, `spectral.log_mel_distance_db`); the unseen table is also split by engine. Every
setting (checkpoints, noise schedules, GLA-Grad's projections) was chosen on `VoiceBank("validation")`,
other unheard voices; `--sweep` reruns GLA-Grad's sweep there (never on the test voices), which
is how `hiaudio.studio.vocode.GlaGradSettings` was set. Diffusion methods use the same seed per
clip. After the tables, the real-time factor of each method on one 10 s clip (1 torch thread,
best and median of 3). `--write-quality` stores the unseen-voice means in
assets/vocoder_quality.json, which the Vocoders tab shows beside each player. A method whose
checkpoint does not ship in assets/ is skipped, with a line in each table saying why.
Results: bench/results/vocoders.json. WARP-Q is not reported (not installed here).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio import checkpoints  # noqa: E402
from hiaudio.data.vocoder_voices import VoiceBank  # noqa: E402
from hiaudio.studio import vocode  # noqa: E402

SPECGRAD_CHECKPOINT = "wavegrad_specgrad.pt"  # the same network fine-tuned with SpecGrad-shaped noise
TIMING_S = 10.0  # RTF pass: one clip this long (test clips joined), best and median of 3 runs
SWEEP_PROJECTED = (1, 2, 3, 4, 5)
SWEEP_ITERS = (8, 16, 32)
N_SWEEP = 12  # validation clips in the GLA-Grad sweep


NOISE_LABELS = {"white": "white noise", "priorgrad": "PriorGrad prior", "specgrad": "SpecGrad prior"}


def methods(specgrad_model, wavegrad_model=None) -> list[tuple[str, str, int | None, str]]:
    """(label, vocode method, reverse steps, model key) in table order; WaveGrad's label names the
    noise its checkpoint was trained with."""
    noise = NOISE_LABELS[wavegrad_model.noise] if wavegrad_model is not None else "not shipped"
    rows = [("Griffin-Lim (64 fast-GLA iterations)", "griffin-lim", None, ""),
            (f"WaveGrad-6 ({noise})", "wavegrad", 6, "wavegrad"),
            (f"WaveGrad-25 ({noise})", "wavegrad", 25, "wavegrad"),
            (f"GLA-Grad-6 ({vocode.GlaGradSettings().n_projected} of 6 steps projected)", "gla-grad", 6, "wavegrad")]
    if specgrad_model is not None:
        rows.append(("SpecGrad-style noise, 6 steps", "wavegrad", 6, "specgrad"))
    rows.append(("SpecDiff-GAN", "specdiff-gan", None, "gan"))
    return rows


def plan(rows_def) -> tuple[list, dict[str, str]]:
    """(the rows whose method can run, {label: why not} for those whose checkpoint does not ship)."""
    skipped = {label: vocode.unavailable_reason(method) for label, method, *_ in rows_def
               if vocode.unavailable_reason(method)}
    return [r for r in rows_def if r[0] not in skipped], skipped


def run_method(clips, method, n_steps, model, gla=vocode.GlaGradSettings()) -> list[dict]:
    rows = []
    for i, (wave, meta) in enumerate(clips):
        out = vocode.vocode(wave, method, n_steps, torch.Generator().manual_seed(i), model, gla)
        rows.append({"clip": i, "voice": meta["label"], "engine": meta["engine"],
                     "duration_s": len(wave) / vocode.SAMPLE_RATE, "rtf": out.rtf, **vocode.score(wave, out.audio)})
    return rows


def summary(rows: list[dict]) -> dict:
    out = {}
    for key in ("pesq_wb", "stoi", "log_mel_db", "rtf"):
        values = np.array([r[key] for r in rows], dtype=float)
        values = values[np.isfinite(values)]
        out[key] = {"mean": float(values.mean()), "std": float(values.std()), "n": int(values.size)}
    return out


def table_row(label: str, s: dict) -> list:
    return [label, f"{s['pesq_wb']['mean']:.2f} ± {s['pesq_wb']['std']:.2f}",
            f"{s['stoi']['mean']:.3f} ± {s['stoi']['std']:.3f}",
            f"{s['log_mel_db']['mean']:.2f} ± {s['log_mel_db']['std']:.2f}", s["rtf"]["mean"]]


def gla_sweep(clips, model) -> list[dict]:
    """GLA-Grad-6 with each (projected steps, GLA iterations) on validation clips."""
    sweep, table = [], []
    for n_projected in SWEEP_PROJECTED:
        for n_iter in SWEEP_ITERS:
            gla = vocode.GlaGradSettings(n_projected=n_projected, n_iter=n_iter)
            s = summary(run_method(clips, "gla-grad", 6, model, gla))
            sweep.append({"n_projected": n_projected, "n_iter": n_iter, **s})
            table.append([f"{n_projected} x {n_iter}", s["pesq_wb"]["mean"], s["stoi"]["mean"],
                          s["log_mel_db"]["mean"], s["rtf"]["mean"]])
    wg = summary(run_method(clips, "wavegrad", 6, model))
    table.append(["WaveGrad-6 (none)", wg["pesq_wb"]["mean"], wg["stoi"]["mean"], wg["log_mel_db"]["mean"],
                  wg["rtf"]["mean"]])
    print(f"GLA-Grad-6 on {len(clips)} validation clips (projected steps x GLA iterations):")
    print(common.format_table(["setting", "PESQ-WB", "STOI", "log-mel dB", "RTF"], table))
    print()
    return sweep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-test", type=int, default=40, help="unseen voice/language clips (test split)")
    parser.add_argument("--n-seen", type=int, default=20, help="seen-voice clips (training voices, unseen sentences)")
    parser.add_argument("--sweep", action="store_true", help="rerun GLA-Grad's settings sweep on validation voices")
    parser.add_argument("--write-quality", action="store_true", help="store the unseen-voice means for the tab")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # RTF on one thread: torch's pool stalls on a shared CPU
    load_start = os.getloadavg()

    offered = vocode.available_methods()
    models = {"wavegrad": vocode.load_wavegrad() if "wavegrad" in offered else None,
              "gan": vocode.load_specdiff_gan() if "specdiff-gan" in offered else None}
    specgrad_path = checkpoints.ASSETS_DIR / SPECGRAD_CHECKPOINT
    models["specgrad"] = checkpoints.load_asset(SPECGRAD_CHECKPOINT, expected="wavegrad")[0] \
        if specgrad_path.exists() else None
    rows_def, skipped = plan(methods(models["specgrad"], models["wavegrad"]))
    results: dict = {"mel": dataclasses.asdict(vocode.spectral.MEL),
                     "gla_grad_defaults": dataclasses.asdict(vocode.GlaGradSettings()), "methods": [r[0] for r in rows_def],
                     "skipped": skipped}
    for label, why in skipped.items():
        print(f"{label}: skipped, {why}")

    if args.sweep and models["wavegrad"] is None:
        print(f"GLA-Grad sweep: skipped, {vocode.unavailable_reason('gla-grad')}")
    elif args.sweep:
        val = VoiceBank("validation", n_clips=N_SWEEP)
        results["gla_grad_sweep_validation_voices"] = gla_sweep([val.clip(i) for i in range(N_SWEEP)],
                                                                models["wavegrad"])

    sets = {"unseen voices and languages (test)": VoiceBank("test", n_clips=args.n_test),
            "seen voices, unseen sentences (training voices)": VoiceBank("seen", n_clips=args.n_seen)}
    results["sets"] = {}
    for name, bank in sets.items():
        clips = [bank.clip(i) for i in range(len(bank))]
        per_method, table = {}, []
        for label, method, n_steps, key in rows_def:
            per_clip = run_method(clips, method, n_steps, models.get(key))
            s = summary(per_clip)
            per_method[label] = {"summary": s, "clips": per_clip,
                                 "by_engine": {e: summary([r for r in per_clip if r["engine"] == e])
                                               for e in sorted({r["engine"] for r in per_clip})}}
            table.append(table_row(label, s))
        table += common.skipped_rows(skipped, 5)
        duration_s = sum(len(w) for w, _ in clips) / vocode.SAMPLE_RATE
        engines = {e: sum(m["engine"] == e for _, m in clips) for e in ("espeak", "mbrola", "model")}
        results["sets"][name] = {"n_clips": len(clips), "audio_s": duration_s, "engines": engines,
                                 "voices": sorted({m["label"] for _, m in clips}), "methods": per_method}
        print(f"{name}: {len(clips)} clips, {duration_s:.1f} s ({', '.join(f'{k} {v}' for k, v in engines.items())})")
        print(common.format_table(["method", "PESQ-WB", "STOI", "log-mel dB", "RTF"], table))
        print()
        if name.startswith("unseen"):
            rows = []
            for label, *_ in rows_def:
                by = per_method[label]["by_engine"]
                rows.append([label] + [f"{by[e]['pesq_wb']['mean']:.2f}" if e in by else "-"
                                       for e in ("espeak", "mbrola", "model")])
            rows += common.skipped_rows(skipped, 4)
            print("unseen, PESQ-WB by engine:")
            print(common.format_table(["method", "espeak-ng", "MBROLA", "voice model"], rows))
            print()

    # RTF on one longer clip, best of 3: on a shared CPU the minimum is the closer estimate
    test_clips = [VoiceBank("test", n_clips=args.n_test).clip(i)[0] for i in range(args.n_test)]
    joined = np.concatenate(test_clips)[: int(TIMING_S * vocode.SAMPLE_RATE)]
    timing, table = {}, []
    load_timing = os.getloadavg()
    for label, method, n_steps, key in rows_def:
        t = common.time_median(lambda: vocode.vocode(joined, method, n_steps, torch.Generator().manual_seed(0),
                                                     models.get(key)), repeats=3, warmup=1)
        duration_s = len(joined) / vocode.SAMPLE_RATE
        timing[label] = {"rtf_min": t["min_s"] / duration_s, "rtf_median": t["median_s"] / duration_s, **t}
        table.append([label, timing[label]["rtf_min"], timing[label]["rtf_median"], duration_s / t["min_s"]])
    table += common.skipped_rows(skipped, 4)
    results["timing"] = {"clip_s": len(joined) / vocode.SAMPLE_RATE, "torch_threads": torch.get_num_threads(),
                         "load_avg_before": [round(v, 2) for v in load_timing], "methods": timing}
    print(f"real-time factor on a {len(joined) / vocode.SAMPLE_RATE:.1f} s clip, 1 torch thread, load "
          f"{load_timing[0]:.2f} before (best / median of 3):")
    print(common.format_table(["method", "RTF best", "RTF median", "x real time (best)"], table))
    print()
    results["load_avg_at_start"] = [round(v, 2) for v in load_start]
    path = common.write_results("vocoders", results)
    if args.write_quality:
        unseen = results["sets"]["unseen voices and languages (test)"]
        quality = {"about": "PESQ-WB and STOI on voices and languages never heard in training "
                            "(VoiceBank test split), written by `python bench/vocoders.py --write-quality`",
                   "n_clips": unseen["n_clips"], "git": common.git_state()["commit"],
                   "methods": {label: {"method": method, "n_steps": n_steps,
                                       "pesq_wb": unseen["methods"][label]["summary"]["pesq_wb"],
                                       "stoi": unseen["methods"][label]["summary"]["stoi"],
                                       "rtf_1_thread": timing[label]["rtf_min"]}
                               for label, method, n_steps, key in rows_def if key != "specgrad"}}
        (checkpoints.ASSETS_DIR / vocode.QUALITY_FILE).write_text(json.dumps(quality, indent=2) + "\n")
        print(f"wrote assets/{vocode.QUALITY_FILE}")
    print(f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f} (1 min); results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
