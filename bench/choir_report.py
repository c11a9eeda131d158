"""Choir separation on the report set (or the tuning set): per renderer family, beside the baselines.

    python bench/choir_report.py                  # the report set: 18 excerpts, ~6 min on 2 shared cores
    python bench/choir_report.py --set tuning     # the tuning set: choose settings here, never on the report

Material (`hiaudio.data.report_set`, built on first use): four-part excerpts of 10 s, six per
renderer family. The report set is Palestrina and Josquin sung by families never trained or
tuned on (csound's sf_GMbank, the OPL-3 FM bank, MBROLA Latin and Italian voices), in sections
of 1-6 singers, rooms from dry to large, parts out of balance by up to +-5 dB each, sources at 16,
22.05 and 44.1 kHz; the tuning set is the other composers' tuning pieces sung by the training
families. Everything is scored at 16 kHz (the pipeline's rate; the references resampled).

Scored per excerpt and part, SI-SDR (dB, `hiaudio.separation.si_sdr_batch`):

* ours, with the score: `separate_choir(mix, 16000, 4, notes=...)`'s masked stems;
* ours, blind: `separate_choir(mix, 16000, 4)`'s masked stems (its warnings are counted);
* score-informed NMF (`score_informed_nmf`, given the score);
* oracle ratio mask (p = 2, STFT 1024 / 256, from the true stems): the ceiling for masking;
* the mixture as every part: the floor.

F0: each part's F0 from ours (blind, and with the score) against the F0 actually sung
(`f0_sung_hz`: the section's mean), mir_eval.melody raw pitch accuracy at 50 cents. Beside them
the ceiling of any blind decoder that labels the parts by pitch order (`pitch_ordered`: the true
F0 sorted in each frame), which loses where the score's parts cross.
Means are over (excerpt, part) pairs; results go to bench/results/choir_<set>.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from bench.choir_separation import ORACLE_HOP, ORACLE_N_FFT  # noqa: E402
from hiaudio.data import report_set  # noqa: E402
from hiaudio.models import salience as salience_model  # noqa: E402
from hiaudio.separation import (mixture_baseline, oracle_ratio_mask, pitch_ordered,  # noqa: E402
                                pitch_scores, score_informed_nmf, si_sdr_batch)
from hiaudio.separation.choir import SAMPLE_RATE, separate_choir  # noqa: E402

METHODS = {  # key -> row label
    "ours_score": "ours, with the score",
    "nmf": "score-informed NMF (baseline)",
    "oracle_p2": "oracle ratio mask (p = 2)",
    "ours_blind": "ours, blind",
    "mixture": "the mixture itself as every part",
}
PITCH = {"rpa_blind": "blind F0 RPA (mir_eval, 50 cents)", "rpa_score": "F0 RPA with the score",
         "rpa_ordered": "ceiling of blind RPA for parts labelled by pitch order (true F0 sorted)"}


def evaluate(ex, assets=salience_model.ASSETS) -> dict:
    """SI-SDR per part of every method, F0 RPA per part, warnings and timings on one excerpt;
    `assets`: the salience models ours uses."""
    mix, stems = report_set.at_rate(ex, SAMPLE_RATE)
    notes = report_set.score_notes(ex)
    n_parts = len(notes)
    est, time_s = {}, {}

    def timed(key, fn):
        start = time.perf_counter()
        out = fn()
        time_s[key] = time.perf_counter() - start
        return out

    est["mixture"] = mixture_baseline(mix, n_parts)
    est["nmf"] = timed("nmf", lambda: score_informed_nmf(mix, SAMPLE_RATE, notes))
    est["oracle_p2"] = oracle_ratio_mask(mix, stems, ORACLE_N_FFT, ORACLE_HOP, power=2)
    score = timed("ours_score", lambda: separate_choir(mix, SAMPLE_RATE, n_parts, notes=notes, assets=assets,
                                                       analyze_voices=False))
    blind = timed("ours_blind", lambda: separate_choir(mix, SAMPLE_RATE, n_parts, assets=assets, analyze_voices=False))
    est["ours_score"], est["ours_blind"] = score.stems[:, :len(mix)], blind.stems[:, :len(mix)]
    ref_t = np.arange(ex.f0_sung_hz.shape[1]) * ex.hop_samples / ex.sample_rate
    pitch = {}
    ordered = pitch_ordered(ex.f0_sung_hz)  # a blind decoder calls the top line the soprano
    for key, times_s, f0_hz in (("rpa_blind", blind.times_s, blind.f0_hz), ("rpa_score", score.times_s, score.f0_hz),
                                ("rpa_ordered", ref_t, ordered)):
        pitch[key] = [pitch_scores(ref_t, ex.f0_sung_hz[v], times_s, f0_hz[v])["rpa"]
                      if (ex.f0_sung_hz[v] > 0).any() else float("nan") for v in range(n_parts)]
    return {"si_sdr_db": {k: si_sdr_batch(e, stems).tolist() for k, e in est.items()}, "pitch": pitch,
            "blind_warnings": list(blind.warnings), "score_warnings": list(score.warnings),
            "warned": {"ours_blind": blind.warned.tolist(), "ours_score": score.warned.tolist()},
            "confidence": {"ours_blind": blind.confidence.tolist(), "ours_score": score.confidence.tolist()},
            "time_s": time_s}


def unwarned_below_mixture(results: list[dict], key: str) -> tuple[int, int]:
    """(parts of `key`'s stems below the mixture that no warning covers, parts below the
    mixture): "never below the mixture without a warning" (issue 17)."""
    silent = below = 0
    for r in results:
        for v, (ours, floor) in enumerate(zip(r["si_sdr_db"][key], r["si_sdr_db"]["mixture"])):
            if ours < floor:
                below += 1
                silent += not r["warned"][key][v]
    return silent, below


def mean_over(results: list[dict], key: str, field: str = "si_sdr_db") -> float:
    vals = np.array([v for r in results for v in r[field][key]], dtype=np.float64)
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="report", choices=report_set.SETS)
    parser.add_argument("--limit", type=int, default=None, help="only the first N excerpts of each family (a dry run)")
    parser.add_argument("--name", default=None, help="results file name (default choir_<set>)")
    parser.add_argument("--salience", default=",".join(salience_model.ASSETS),
                        help="the salience models ours uses, comma-separated files in assets/ (default: the shipped ensemble)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # shared CPU: small torch ops stall on a busy pool

    wall = time.perf_counter()
    examples = report_set.load_set(args.set)
    per_family: dict[str, list[dict]] = {}
    rows_out = []
    for ex in examples:
        family = ex.meta["family"]
        if args.limit is not None and len(per_family.get(family, [])) >= args.limit:
            continue
        r = evaluate(ex, tuple(args.salience.split(",")))
        per_family.setdefault(family, []).append(r)
        rows_out.append({"family": family, "index": ex.meta["index"], "piece_id": ex.meta["piece_id"],
                         "sample_rate": ex.sample_rate, "room": ex.meta["room"],
                         "singers": [p["section"]["n_singers"] for p in ex.meta["parts"]], **r})
        print(f"  {family:<13} {ex.meta['index']}  {ex.meta['piece_id']:<36} score "
              f"{np.nanmean(r['si_sdr_db']['ours_score']):6.2f}  NMF {np.nanmean(r['si_sdr_db']['nmf']):6.2f}  blind "
              f"{np.nanmean(r['si_sdr_db']['ours_blind']):6.2f}  RPA {np.nanmean(r['pitch']['rpa_blind']):.2f}  "
              f"({time.perf_counter() - wall:.0f} s)", file=sys.stderr, flush=True)
    all_results = [r for rs in per_family.values() for r in rs]
    blocks = {**per_family, "all": all_results}

    summary = {b: {**{k: mean_over(rs, k) for k in METHODS}, **{k: mean_over(rs, k, "pitch") for k in PITCH},
                   "n_excerpts": len(rs), "blind_warned": sum(bool(r["blind_warnings"]) for r in rs)}
               for b, rs in blocks.items()}
    n_parts = len(all_results[0]["si_sdr_db"]["mixture"])
    per_part = {k: np.nanmean(np.array([r["si_sdr_db"][k] for r in all_results], float), axis=0).tolist()
                for k in METHODS}
    headers = ["mean SI-SDR over 4 parts (dB)", *(f"{b} ({len(rs)})" for b, rs in blocks.items())]
    table = [[label, *(summary[b][k] for b in blocks)] for k, label in METHODS.items()]
    table += [[label, *(summary[b][k] for b in blocks)] for k, label in PITCH.items()]
    print(f"\nChoir separation on the {args.set} set ({len(all_results)} excerpts of {report_set.DURATION_S:g} s, "
          f"scored at {SAMPLE_RATE} Hz)")
    print(common.format_table(headers, table))
    print("\nPer part (all excerpts, top-down)")
    print(common.format_table(["method", *(f"part {i + 1}" for i in range(n_parts))],
                              [[METHODS[k], *per_part[k]] for k in METHODS]))
    for key in ("ours_score", "ours_blind"):
        silent, below = unwarned_below_mixture(all_results, key)
        summary["all"][f"{key}_below_mixture"], summary["all"][f"{key}_below_mixture_unwarned"] = below, silent
        print(f"{METHODS[key]}: {below} of {n_parts * len(all_results)} part stems below the mixture, "
              f"{silent} of them without a warning")
    warned = summary["all"]["blind_warned"]
    print(f"\nBlind runs that warned: {warned} of {len(all_results)}. Time: ours with the score "
          f"{np.mean([r['time_s']['ours_score'] for r in all_results]):.1f} s, blind "
          f"{np.mean([r['time_s']['ours_blind'] for r in all_results]):.1f} s a clip (masked stems only, no voice"
          f" models); whole run {time.perf_counter() - wall:.0f} s")
    path = common.write_results(args.name or f"choir_{args.set}", {
        "data_version": report_set.VERSION,
        "settings": {"set": args.set, "salience": args.salience.split(","), "seed": report_set.SET_SEED, "duration_s": report_set.DURATION_S,
                     "n_per_family": report_set.N_PER_FAMILY, "limit": args.limit, "scored_at_hz": SAMPLE_RATE,
                     "oracle": {"n_fft": ORACLE_N_FFT, "hop": ORACLE_HOP, "power": 2},
                     "pitch_reference": "f0_sung_hz (the section's mean sung F0)"},
        "methods": {**METHODS, **PITCH},
        "summary": summary,
        "per_part_si_sdr_db": per_part,
        "examples": rows_out,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
