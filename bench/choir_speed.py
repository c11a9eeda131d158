"""Choir separation speed: a 10 s four-part clip end to end, and one-part edits with the remix.

    python bench/choir_speed.py [--repeats 3] [--edits 20] [--devices cpu,cuda]

On the studio's example (assets/examples/choir_bwv153.5.wav, 10 s, four parts, 16 kHz) in one
run, torch at one thread (as the studio runs it):

* separation end to end (`separate_choir`: salience -> F0 per part -> comb fit -> masks ->
  per-part voice models and resyntheses), blind and with the score, beside the score-informed
  NMF baseline on the same clip (which gives masks only, no voice models). On every device
  asked for (by default the CPU, and the GPU when torch sees one: the salience networks and the
  comb fits run there, the voice models on the CPU), with the GPU's stems compared to the CPU's
  (SI-SDR against the CPU's, dB: they differ only by the order of float sums);
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

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from hiaudio.audio import load_audio  # noqa: E402
from hiaudio.separation import choir, metrics, score, score_informed_nmf  # noqa: E402
from hiaudio.studio import choir_session  # noqa: E402
from hiaudio.voice.edit import Edits  # noqa: E402

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
    parser.add_argument("--devices", default=common.default_devices(),
                        help="comma-separated torch devices to time the separation on")
    args = parser.parse_args(argv)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    torch.set_num_threads(1)
    load_before = os.getloadavg()

    wave, sr = load_audio(EXAMPLE, target_sr=choir.SAMPLE_RATE)
    notes = score.load_score(EXAMPLE.with_suffix(".mid"), 4)
    rows, timings, stems, agreement = [], {}, {}, {}
    for device in devices:
        where = common.use_device(device)
        # the first run loads the salience models (and starts CUDA), as the app's first request does
        stems[device] = choir.separate_choir(wave, sr, 4, notes=notes).stems
        for label, kwargs in (("separate, blind", {}), ("separate, with the score", {"notes": notes})):
            label = f"{label} ({where})"
            t = common.time_median(lambda: choir.separate_choir(wave, sr, 4, **kwargs), args.repeats)
            timings[label] = t
            rows.append([label, t["median_s"], t["min_s"], len(wave) / sr / t["median_s"]])
        if device != devices[0]:
            agreement[device] = [metrics.si_sdr(b, a) for a, b in zip(stems[devices[0]], stems[device])]
    common.use_device(None)
    t = common.time_median(lambda: score_informed_nmf(wave, sr, notes), args.repeats)
    timings["score-informed NMF (masks only)"] = t
    rows.append(["score-informed NMF (masks only)", t["median_s"], t["min_s"], len(wave) / sr / t["median_s"]])

    session = choir_session.start_choir_session(choir.separate_choir(wave, sr, 4, notes=notes))
    edit_ms = {"render": [], "remix": [], "total": []}
    for i in range(args.edits):
        edits = EDIT_SEQUENCE[i % len(EDIT_SEQUENCE)]
        start = time.perf_counter()
        session = choir_session.set_part_edits(session, 2, edits)  # the tenor
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
    for device, snrs in agreement.items():
        print(f"stems on {device} vs {devices[0]} (score-informed; SI-SDR dB against them, per part): "
              + ", ".join(f"{v:.1f}" for v in snrs))
    path = common.write_results("choir_speed", {
        "clip": EXAMPLE.name, "duration_s": duration_s, "sample_rate": sr, "torch_threads": torch.get_num_threads(),
        "load_avg_before": load_before, "devices": devices, "separation_s": timings,
        "stems_si_sdr_db_vs_first_device": agreement,
        "edit_ms": {k: {"median": statistics.median(v), "max": max(v), "runs": v} for k, v in edit_ms.items()},
        "goals": {"separation_s_per_10s": 10.0, "edit_with_remix_ms": 100.0},
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
