"""Choir separation on held-out chorales: SI-SDR per voice for the baselines (and, later, the model).

    python bench/choir_separation.py                # baselines only: ~1 min on 2 shared cores
    python bench/choir_separation.py --separator pkg.mod:separate [--give-score]

(The first run on a machine also parses the chorale corpus, ~100 s, and renders the excerpts.)

Material: excerpts of Bach chorales from the test split (melody families never trained on),
rendered with timbres never seen in training (`timbre="held_out"`: fluidsynth's Synth Voice;
voice-model singers on "u" or with formants 8-14 % off the norm), each part rendered on its own
so the stems are exact and sum to the mixture. `ChoraleDataset("test", renderer, timbre=
"held_out", duration_s=8, seed=0)`, examples 0..n-1 per renderer (cached under $HIAUDIO_CACHE).

Scored, per voice (soprano, alto, tenor, bass) and as the mean over voices, all in one run:

* mixture: every voice estimated as the mixture (the floor);
* score-informed NMF (`hiaudio.separation.score_informed_nmf`, Ewert & Mueller 2012): knows
  the notes, its settings were chosen on validation excerpts;
* oracle ratio mask |S_v|^p / sum_j |S_j|^p from the true stems on the mixture STFT (Hann,
  n_fft 1024, hop 256 at 16 kHz), p = 2 (Wiener) and p = 1: the ceiling for masking at that
  resolution;
* the model, when given: its masked stems and its direct synthesis (see MODEL SLOT below).

SI-SDR (dB, `hiaudio.separation.si_sdr_batch`) over the whole excerpt; a voice that rests
throughout an excerpt is left out of the averages (NaN). Means are over (excerpt, voice) pairs.

F0: when the model returns one F0 track per voice, it is scored against the score's F0 (the
data's 5 ms grid) with mir_eval.melody (`pitch_scores`): raw pitch accuracy, raw chroma
accuracy, overall accuracy, voicing recall and false alarm, 50 cents. No F0 -> no pitch table.

Results go to bench/results/choir_separation.json (date, machine, git state, data version,
settings, per-excerpt scores, summary, timings).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio.data import PARTS, VERSION, ChoraleDataset, ChoraleExample  # noqa: E402
from hiaudio.separation import (magnitude_snr_batch, mixture_baseline, oracle_ratio_mask,  # noqa: E402
                                pitch_scores, score_informed_nmf, si_sdr_batch)

SAMPLE_RATE = 16000
DURATION_S = 8.0  # excerpt length
N_PER_RENDERER = 16
RENDERERS = ("fluidsynth", "voice")
SPLIT, TIMBRE, DATA_SEED = "test", "held_out", 0
ORACLE_N_FFT, ORACLE_HOP = 1024, 256  # 64 ms / 16 ms at 16 kHz
NMF_SETTINGS = {}  # score_informed_nmf's defaults (see its docstring)
VOICE_LABELS = ("S", "A", "T", "B")

# ==== MODEL SLOT ================================================================================
# A separator is a plain function
#
#     separate(mix, sample_rate, n_voices, notes=None) -> (stems_masked, stems_synth, f0)
#
#   mix: (S,) float32 mixture. notes: None (blind), or with --give-score the score as in
#   ChoraleExample.meta["notes"]: {part: [[midi_pitch, start_s, duration_s], ...]}.
#   stems_masked: (V, S) stems made by masking the mixture, or None.
#   stems_synth:  (V, S) stems synthesized directly (e.g. a DDSP voice per part), or None.
#   f0: (times_s (T,), f0_hz (V, T)) one F0 track per voice, 0 Hz = unvoiced, or None.
#
# Plug the model in here, or pass `--separator package.module:function`.
SEPARATOR: Callable | None = None
# =================================================================================================

METHODS = {  # key -> row label; model rows print '-' until a separator is given
    "mixture": "mixture (floor)",
    "nmf": "score-informed NMF",
    "oracle_p2": "oracle ratio mask p=2",
    "oracle_p1": "oracle ratio mask p=1",
    "model_masked": "model, masked stems",
    "model_synth": "model, direct synthesis",
}


def load_separator(spec: str | None) -> Callable | None:
    """'package.module:function' -> the function (None -> SEPARATOR)."""
    if spec is None:
        return SEPARATOR
    module, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"--separator {spec!r}: write it as package.module:function")
    return getattr(importlib.import_module(module), name)


def nmf_settings() -> dict:
    """The keyword arguments score_informed_nmf runs with: its defaults, updated by NMF_SETTINGS."""
    params = inspect.signature(score_informed_nmf).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty} | NMF_SETTINGS


def held_out_examples(renderer: str, n: int, duration_s: float = DURATION_S) -> list[ChoraleExample]:
    ds = ChoraleDataset(SPLIT, renderer=renderer, n_examples=n, duration_s=duration_s,
                        sample_rate=SAMPLE_RATE, timbre=TIMBRE, seed=DATA_SEED)
    return [ds.example(i) for i in range(n)]


def evaluate_example(ex: ChoraleExample, separate: Callable | None = None, give_score: bool = False) -> dict:
    """SI-SDR (dB) per voice of every method on one example, the model's F0 scores, and timings.

    Returns {"si_sdr_db": {method: [V floats, NaN for a silent voice]}, "pitch": {part: scores}
    or None, "time_s": {method: seconds}}. Model methods are absent when `separate` is None or
    returns None for them.
    """
    n_voices = ex.stems.shape[0]
    estimates, time_s = {}, {}

    def timed(key, fn):
        start = time.perf_counter()
        out = fn()
        time_s[key] = time.perf_counter() - start
        return out

    estimates["mixture"] = timed("mixture", lambda: mixture_baseline(ex.mixture, n_voices))
    estimates["nmf"] = timed("nmf", lambda: score_informed_nmf(ex.mixture, ex.sample_rate, ex.meta["notes"],
                                                               **NMF_SETTINGS))
    for p in (2, 1):
        estimates[f"oracle_p{p}"] = timed(f"oracle_p{p}", lambda: oracle_ratio_mask(
            ex.mixture, ex.stems, ORACLE_N_FFT, ORACLE_HOP, power=p))

    pitch = None
    if separate is not None:
        notes = ex.meta["notes"] if give_score else None
        masked, synth, f0 = timed("model", lambda: separate(ex.mixture, ex.sample_rate, n_voices, notes=notes))
        for key, stems in (("model_masked", masked), ("model_synth", synth)):
            if stems is not None:
                stems = np.asarray(stems, dtype=np.float32)
                if stems.shape != ex.stems.shape:
                    raise ValueError(f"the separator's {key} stems have shape {stems.shape}; "
                                     f"expected {ex.stems.shape}")
                estimates[key] = stems
        if f0 is not None:
            est_times_s, est_f0_hz = (np.asarray(a) for a in f0)
            ref_times_s = np.arange(ex.f0_hz.shape[1]) * ex.hop_samples / ex.sample_rate
            pitch = {part: pitch_scores(ref_times_s, ex.f0_hz[v], est_times_s, est_f0_hz[v])
                     for v, part in enumerate(PARTS[:n_voices])}

    scores = {key: si_sdr_batch(est, ex.stems).tolist() for key, est in estimates.items()}
    mag_snr = {key: magnitude_snr_batch(est, ex.stems).tolist() for key, est in estimates.items()}
    return {"si_sdr_db": scores, "mag_snr_db": mag_snr, "pitch": pitch, "time_s": time_s}


def summarize(results: list[dict], metric: str = "si_sdr_db") -> dict:
    """Mean of a metric per method: {"per_voice": [V], "mean": float, "n_scored": int}."""
    out = {}
    for key in METHODS:
        rows = [r[metric][key] for r in results if key in r.get(metric, {})]
        if not rows:
            continue
        table = np.array(rows, dtype=np.float64)  # (N, V)
        out[key] = {"per_voice": np.nanmean(table, axis=0).tolist(), "mean": float(np.nanmean(table)),
                    "n_scored": int(np.isfinite(table).sum())}
    return out


def summarize_pitch(results: list[dict]) -> dict | None:
    """Mean F0 scores per part over the examples that have them; None when none has."""
    have = [r["pitch"] for r in results if r["pitch"] is not None]
    if not have:
        return None
    return {part: {m: float(np.mean([p[part][m] for p in have])) for m in have[0][part]} for part in have[0]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=N_PER_RENDERER, help="excerpts per renderer")
    parser.add_argument("--duration", type=float, default=DURATION_S, help="excerpt length in seconds")
    parser.add_argument("--renderers", nargs="+", default=list(RENDERERS), choices=RENDERERS)
    parser.add_argument("--separator", default=None, help="the model: package.module:function")
    parser.add_argument("--give-score", action="store_true", help="pass the notes to the separator")
    parser.add_argument("--name", default="choir_separation", help="results file name (no .json)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # shared CPU: small torch ops stall on a busy pool
    separate = load_separator(args.separator)

    wall_start = time.perf_counter()
    per_renderer, examples_out, render_s = {}, [], {}
    for renderer in args.renderers:
        start = time.perf_counter()
        examples = held_out_examples(renderer, args.n, args.duration)
        render_s[renderer] = time.perf_counter() - start
        results = []
        for i, ex in enumerate(examples):
            r = evaluate_example(ex, separate, args.give_score)
            results.append(r)
            examples_out.append({"renderer": renderer, "index": i, "piece_id": ex.meta["piece_id"],
                                 "render_seed": ex.meta["seed"], "tempo_qpm": ex.meta["tempo_qpm"], **r})
            print(f"  {renderer} {i}: {ex.meta['piece_id']}  NMF "
                  f"{np.nanmean(r['si_sdr_db']['nmf']):.1f} dB", file=sys.stderr, flush=True)
        per_renderer[renderer] = results
    wall_s = time.perf_counter() - wall_start

    summary = {renderer: summarize(res) for renderer, res in per_renderer.items()}
    all_results = [r for res in per_renderer.values() for r in res]
    summary["all"] = summarize(all_results)
    mag_summary = {renderer: summarize(res, "mag_snr_db") for renderer, res in per_renderer.items()}
    mag_summary["all"] = summarize(all_results, "mag_snr_db")
    pitch = {renderer: summarize_pitch(res) for renderer, res in per_renderer.items()}

    n_voices = len(VOICE_LABELS)
    rows = []
    for block, label in [(r, f"{r} ({len(per_renderer[r])})") for r in per_renderer] + \
            [("all", f"all ({len(all_results)})")]:
        for key, name in METHODS.items():
            s = summary[block].get(key)
            rows.append([f"{label}  {name}", *(s["per_voice"] if s else [None] * n_voices),
                         s["mean"] if s else None])
        rows.append(None)
    print(f"\nSI-SDR (dB) on held-out chorales: {SPLIT} split, {TIMBRE} timbres, {args.duration:g} s excerpts, "
          f"{SAMPLE_RATE} Hz; model rows '-' = no separator given")
    print(common.format_table(["renderer (excerpts)  method", *VOICE_LABELS, "mean"], rows[:-1]))

    mag_rows = [[f"all  {name}", *mag_summary["all"][key]["per_voice"], mag_summary["all"][key]["mean"]]
                for key, name in METHODS.items() if key in mag_summary["all"]]
    print("\nMagnitude SNR (dB, STFT 1024/256, blind to phase: scores a resynthesis fairly), all excerpts")
    print(common.format_table(["method", *VOICE_LABELS, "mean"], mag_rows))

    if any(p is not None for p in pitch.values()):
        metrics = ("rpa", "rca", "oa", "vr", "vfa")
        prow = [[f"{renderer}  {part}", *(p[part][m] for m in metrics)]
                for renderer, p in pitch.items() if p is not None for part in p]
        print("\nModel F0 from the mixture vs the score's F0 (mir_eval.melody, 50 cents)")
        print(common.format_table(["renderer  voice", "RPA", "RCA", "OA", "VR", "VFA"], prow, "{:.3f}"))

    times = {key: float(np.sum([r["time_s"][key] for r in all_results])) if key in all_results[0]["time_s"]
             else None for key in ("mixture", "nmf", "oracle_p2", "oracle_p1", "model")}
    print(f"\nTime: render/load {sum(render_s.values()):.1f} s; NMF {times['nmf']:.1f} s, oracle masks "
          f"{times['oracle_p2'] + times['oracle_p1']:.1f} s over {len(all_results)} excerpts; "
          f"whole run {wall_s:.1f} s (torch threads {torch.get_num_threads()})")

    path = common.write_results(args.name, {
        "data_version": VERSION,
        "settings": {"split": SPLIT, "timbre": TIMBRE, "renderers": args.renderers, "n_per_renderer": args.n,
                     "duration_s": args.duration, "sample_rate": SAMPLE_RATE, "data_seed": DATA_SEED,
                     "oracle": {"n_fft": ORACLE_N_FFT, "hop": ORACLE_HOP, "powers": [2, 1]},
                     "nmf": nmf_settings(),
                     "separator": args.separator or (getattr(SEPARATOR, "__qualname__", None)),
                     "separator_given_score": bool(args.give_score), "voices": list(PARTS)},
        "methods": METHODS,
        "summary_si_sdr_db": summary,
        "summary_mag_snr_db": mag_summary,
        "pitch": pitch,
        "timing_s": {"render_or_load": render_s, "methods_total": times, "wall": wall_s},
        "examples": examples_out,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
