"""Mel vocoders' speed on each device: the real-time factor of every method on one 10 s clip.

    python bench/vocoder_speed.py [--repeats 3] [--devices cpu,cuda]

The studio's speech example (assets/examples/speech_en.wav, resampled to 16 kHz and repeated to
10 s) is vocoded by `hiaudio.studio.vocode.vocode` -- the mel, its inversion and the clamp, as
the Vocoder tab runs it -- with Griffin-Lim, SpecDiff-GAN, WaveGrad and GLA-Grad (6 and 25
reverse steps, the default GLA-Grad settings), on the CPU (torch at one thread, as the studio runs) and on the
GPU when torch sees one (WaveGrad's network and GLA-Grad's projections run there; Griffin-Lim
stays on the CPU). Median and best of `repeats` runs after one untimed run; real-time factor =
compute time / clip duration. Quality is bench/vocoders.py's business: the same code runs here.
A method whose checkpoint does not ship in assets/ is skipped, with a line in the table saying why.
Writes bench/results/vocoder_speed.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from hiaudio.audio import load_audio  # noqa: E402
from hiaudio.studio import vocode  # noqa: E402

CLIP = Path(__file__).resolve().parents[1] / "assets" / "examples" / "speech_en.wav"
DURATION_S = 10.0
METHODS = (("griffin-lim", None), ("specdiff-gan", None), ("wavegrad", 6), ("gla-grad", 6), ("wavegrad", 25),
           ("gla-grad", 25))


def plan() -> tuple[list[tuple[str, int | None]], dict[str, str]]:
    """(the (method, steps) that can run, {label: why not} for those whose checkpoint does not ship)."""
    run, skipped = [], {}
    for method, steps in METHODS:
        why = vocode.unavailable_reason(method)
        if why:
            skipped[method if steps is None else f"{method}-{steps}"] = why
        else:
            run.append((method, steps))
    return run, skipped


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", default=common.default_devices(),
                        help="comma-separated torch devices to time on")
    args = parser.parse_args(argv)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    torch.set_num_threads(1)

    wave, sr = load_audio(CLIP, target_sr=vocode.SAMPLE_RATE)
    n = int(DURATION_S * sr)
    wave = np.tile(wave, int(np.ceil(n / len(wave))))[:n]
    rows, results = [], {}
    methods, skipped = plan()
    for device in devices:
        where = common.use_device(device)
        for method, steps in methods:
            label = method if steps is None else f"{method}-{steps}"
            # vocode hands back a numpy array: the copy off the GPU waits for its kernels
            t = common.time_median(lambda: vocode.vocode(wave, method, steps, generator=torch.Generator().manual_seed(0)),
                                   args.repeats, warmup=1)
            results[f"{label} ({where})"] = t
            rows.append([label, where, t["median_s"], t["min_s"], t["median_s"] / DURATION_S])
        rows.append(None)
    common.use_device(None)

    print(f"\nVocoding a {DURATION_S:.0f} s clip ({CLIP.name}, repeated), torch threads {torch.get_num_threads()}")
    print(common.format_table(["method", "device", "median (s)", "best (s)", "RTF", "x real time (best)"],
                              [None if r is None else r + [DURATION_S / r[3]] for r in rows[:-1]]
                              + common.skipped_rows(skipped, 6), "{:.3f}"))
    path = common.write_results("vocoder_speed", {"clip": CLIP.name, "duration_s": DURATION_S,
                                                  "devices": devices, "timings_s": results, "skipped": skipped})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
