"""Experiment (not shipped): does a pretrained multi-pitch model from a registry package find the
choir parts' pitches better than our salience? Scored on the choir tuning set (issue 17, item 3).

    pip install onnxruntime && pip download basic-pitch==0.4.0 --no-deps -d /tmp/bp \
        && (cd /tmp/bp && unzip -oq basic_pitch-0.4.0-py2.py3-none-any.whl)
    python scripts/pitch_model_probe.py --onnx /tmp/bp/basic_pitch/saved_models/icassp_2022/nmp.onnx

The model is Spotify's basic-pitch (Bittner et al. 2022, Apache-2.0; its weights ship inside the
wheel as ONNX, run here with onnxruntime, so TensorFlow, which its Linux wheel asks for, is not
needed). Its "contour" output (3 bins per semitone from 27.5 Hz, 256 samples at 22.05 kHz) is
read onto our salience grid (20 cents from 50 Hz, 5 ms) and scored beside `salience_map`:
multi-pitch recall of each frame's strongest peaks, and the RPA of the shipped blind decoder
(`assign_voices`, `fold_octave_jumps`, `f0_near_score`) against each part's sung F0.
Measured 2026-12-05 (BENCHMARKS.md, choir separation): ours is well ahead; nothing adopted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hiaudio import audio as audio_io  # noqa: E402
from hiaudio.data import report_set  # noqa: E402
from hiaudio.dsp.f0grid import known_f0  # noqa: E402
from hiaudio.models import salience  # noqa: E402
from hiaudio.separation import multif0, pitch_scores  # noqa: E402
from hiaudio.separation.part_f0 import f0_near_score, fold_octave_jumps  # noqa: E402
from hiaudio.train.salience_task import peaks  # noqa: E402

BP_RATE, BP_HOP, BP_WINDOW, BP_OVERLAP, BP_BINS = 22050, 256, 43844, 30, 264  # basic_pitch.constants


def basic_pitch_contour(session, x: np.ndarray) -> np.ndarray:
    """Mono audio at 22.05 kHz -> contour salience (T, 264), windowed as basic_pitch.inference does."""
    overlap = BP_OVERLAP * BP_HOP
    x = np.concatenate([np.zeros(overlap // 2, np.float32), x.astype(np.float32)])
    windows = [np.pad(x[i:i + BP_WINDOW], (0, max(0, BP_WINDOW - len(x[i:i + BP_WINDOW]))))
               for i in range(0, len(x), BP_WINDOW - overlap)]
    out = session.run([session.get_outputs()[2].name], {session.get_inputs()[0].name: np.stack(windows)[..., None]})[0]
    out = out[:, BP_OVERLAP // 2:-(BP_OVERLAP // 2)].reshape(-1, BP_BINS)
    return out[:int((len(x) - overlap // 2) * (BP_RATE // BP_HOP) / BP_RATE)]


def on_our_grid(contour: np.ndarray, n_frames: int) -> np.ndarray:
    """(T', 264) at basic-pitch's frames and bins -> (n_frames, salience.N_BINS) on ours."""
    at = np.arange(n_frames) * salience.HOP_S
    in_time = np.stack([np.interp(at, np.arange(len(contour)) * BP_HOP / BP_RATE, c) for c in contour.T], 1)
    bins = 36 * np.log2(salience.bin_hz().numpy() / 27.5)
    return np.stack([np.interp(bins, np.arange(BP_BINS), row) for row in in_time]).astype(np.float32)


def peak_recall(sal: np.ndarray, f0_hz: np.ndarray, top: int = 4, tolerance_bins: float = 2.5) -> tuple[int, int]:
    """(hits, sung frames): a part's sung F0 counts as found where one of its frame's `top`
    strongest peaks lies within `tolerance_bins` (50 cents)."""
    found = peaks(torch.from_numpy(sal), multif0.DecodeConfig.candidate_salience).numpy()
    truth = salience.hz_to_bin(torch.from_numpy(np.maximum(f0_hz, 1e-3))).numpy()
    hits = total = 0
    for t in range(sal.shape[0]):
        k = np.nonzero(found[t])[0]
        k = k[np.argsort(sal[t, k])[::-1][:top]]
        for b in truth[f0_hz[:, t] > 0, t]:
            total += 1
            hits += bool(len(k)) and np.min(np.abs(k - b)) <= tolerance_bins
    return hits, total


def main() -> None:
    import onnxruntime as ort
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--onnx", required=True, help="basic-pitch's nmp.onnx")
    parser.add_argument("--set", default="tuning", choices=["tuning"], help="choices are made on the tuning set only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.onnx, options)
    found = {"ours": [0, 0], "basic-pitch": [0, 0]}
    rpa = {key: {} for key in found}
    for ex in report_set.load_set(args.set):
        mix = audio_io.resample(ex.mixture, ex.sample_rate, salience.SAMPLE_RATE)
        ours = salience.salience_map(mix.astype(np.float32))
        x = audio_io.resample(ex.mixture, ex.sample_rate, BP_RATE)
        theirs = on_our_grid(basic_pitch_contour(session, x / max(1e-6, np.abs(x).max())), len(ours))
        times = np.arange(len(ours)) * salience.HOP_S
        ref_times = np.arange(ex.f0_sung_hz.shape[1]) * ex.hop_samples / ex.sample_rate
        sung = np.stack([known_f0(f, ex.hop_samples / ex.sample_rate, len(ours), salience.HOP_S) for f in ex.f0_sung_hz])
        for key, sal in (("ours", ours), ("basic-pitch", theirs)):
            found[key] = list(np.add(found[key], peak_recall(sal, sung)))
            f0 = f0_near_score(sal, fold_octave_jumps(multif0.assign_voices(sal, len(ex.f0_sung_hz))))
            rpa[key].setdefault(ex.meta["family"], []).append(
                [pitch_scores(ref_times, ex.f0_sung_hz[v], times, f0[v])["rpa"] for v in range(len(f0))])
        print(ex.meta["family"], ex.meta["index"], {k: np.round(v[ex.meta["family"]][-1], 2).tolist() for k, v in rpa.items()},
              flush=True)
    for key in found:
        per_family = {f: float(np.mean(v)) for f, v in rpa[key].items()}
        parts = np.mean([p for v in rpa[key].values() for p in v], 0)
        print(f"{key:12s} top-4 peak recall {found[key][0] / found[key][1]:.3f}  blind RPA {np.mean(parts):.3f} "
              f"(S A T B {np.round(parts, 3).tolist()}; " + ", ".join(f"{f} {m:.3f}" for f, m in per_family.items()) + ")")


if __name__ == "__main__":
    main()
