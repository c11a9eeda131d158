"""Choir separation speed: a 10 s four-part clip end to end, and one-part edits with the remix.

    python bench/choir_speed.py [--repeats 3] [--edits 20]

On the studio's example (assets/examples/choir_bwv153.5.wav, 10 s, four parts, 16 kHz) in one
run, torch at one thread (as the studio runs it):

* separation end to end (`separate_choir`: salience -> F0 per part -> comb fit -> masks ->
  per-part voice models and resyntheses), blind and with the score, beside the score-informed
  NMF baseline on the same clip (which gives masks only, no voice models);
* the studio's per-part edit (`choir_session.set_part_edits` + `remix`): a sequence of slider
  moves on one part (transpose, re-harmonize, formant, vibrato, breath), each re-rendering only
  what it changes, then the sum of the parts -- the server's share of a slider move.

Goals (issue #4): separation <= 10 s per 10 s clip, an edit with its remix <= 100 ms.
Writes bench/results/choir_speed.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from hiaudio.audio import load_audio  # noqa: E402
from hiaudio.separation import choir, score_informed_nmf  # noqa: E402
from hiaudio.studio import choir_session  # noqa: E402
from hiaudio.studio.edit import Edits  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "choir_bwv153.5.wav"
EDIT_SEQUENCE = [Edits(transpose_semitones=1), Edits(transpose_semitones=2),
                 Edits(transpose_semitones=2, scale_degrees=2, scale_key="A", scale_mode="minor"),
                 Edits(scale_degrees=2, scale_key="A", scale_mode="minor", formant_shift=1.1),
                 Edits(scale_degrees=2, scale_key="A", scale_mode="minor", formant_shift=1.2),
                 Edits(scale_degrees=2, scale_key="A", scale_mode="minor", formant_shift=1.2, vibrato_pct=150),
                 Edits(scale_degrees=2, scale_key="A", scale_mode="minor", formant_shift=1.2, breathiness_db=6),
                 Edits(transpose_semitones=-12)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--edits", type=int, default=24, help="slider moves timed (the sequence cycles)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    load_before = os.getloadavg()

    wave, sr = load_audio(EXAMPLE, target_sr=choir.SAMPLE_RATE)
    notes = choir.load_score(EXAMPLE.with_suffix(".mid"), 4)
    choir.separate_choir(wave, sr, 4, notes=notes)  # loads the salience model once, as the app does
    rows, timings = [], {}
    for label, kwargs in (("separate, blind", {}), ("separate, with the score", {"notes": notes})):
        t = common.time_median(lambda: choir.separate_choir(wave, sr, 4, **kwargs), args.repeats)
        timings[label] = t
        rows.append([label, t["median_s"], t["min_s"], len(wave) / sr / t["median_s"]])
    t = common.time_median(lambda: score_informed_nmf(wave, sr, notes), args.repeats)
    timings["score-informed NMF (masks only)"] = t
    rows.append(["score-informed NMF (masks only)", t["median_s"], t["min_s"], len(wave) / sr / t["median_s"]])

    session = choir_session.start_choir_session(choir.separate_choir(wave, sr, 4, notes=notes))
    edit_ms = {"render": [], "remix": [], "total": []}
    for i in range(args.edits):
        edits = EDIT_SEQUENCE[i % len(EDIT_SEQUENCE)]
        start = time.perf_counter()
        choir_session.set_part_edits(session, 2, edits)  # the tenor
        mid = time.perf_counter()
        choir_session.remix(session)
        end = time.perf_counter()
        edit_ms["render"].append(1e3 * (mid - start))
        edit_ms["remix"].append(1e3 * (end - mid))
        edit_ms["total"].append(1e3 * (end - start))

    duration_s = len(wave) / sr
    print(f"\nChoir separation speed on {EXAMPLE.name} ({duration_s:.1f} s, 4 parts, {sr} Hz), torch threads "
          f"{torch.get_num_threads()}, load average before {load_before[0]:.2f}")
    print(common.format_table(["what", "median (s)", "min (s)", "x real time"], rows, "{:.2f}"))
    print(f"\nOne-part edit + remix over {args.edits} slider moves (ms): render median "
          f"{statistics.median(edit_ms['render']):.1f}, remix median {statistics.median(edit_ms['remix']):.1f}, "
          f"total median {statistics.median(edit_ms['total']):.1f}, max {max(edit_ms['total']):.1f}")
    path = common.write_results("choir_speed", {
        "clip": EXAMPLE.name, "duration_s": duration_s, "sample_rate": sr, "torch_threads": torch.get_num_threads(),
        "load_avg_before": load_before, "separation_s": timings,
        "edit_ms": {k: {"median": statistics.median(v), "max": max(v), "runs": v} for k, v in edit_ms.items()},
        "goals": {"separation_s_per_10s": 10.0, "edit_with_remix_ms": 100.0},
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
