"""PESQ-WB and log-mel distance of the shipped learned vocoders on the validation voices -- voices
never heard in training, the split every setting is chosen on -- read from a clip pack, so it runs
where espeak-ng and MBROLA are not (the GPU run, scripts/gpu_vocoders.sh, ends with it).

    python scripts/vocoder_validation.py --pack .cache/vocoder_pack [--n 32] [--assets DIR] [--out FILE.json]
    python scripts/vocoder_validation.py --pack .cache/vocoder_pack --all    # + Griffin-Lim, GLA-Grad, STOI

By default: WaveGrad-6 (assets/wavegrad.pt, its searched 6-step schedule) and SpecDiff-GAN
(assets/specdiff_gan.pt), scored as their training tasks score them (`wavegrad_task.sample_scores`,
`specdiff_gan_task.generate_scores`: PESQ-WB, log-mel dB), on whole clips, with the models where
torch puts them (the GPU when there is one). This needs only torch, soundfile and pesq. `--all`
runs the studio's pipeline (`hiaudio.studio.vocode`: it needs the app's packages) for Griffin-Lim,
WaveGrad-6, GLA-Grad-6 (default settings) and SpecDiff-GAN, with STOI. A method whose checkpoint
is not in --assets is skipped, with a row saying so. The unseen-voice test split and one-thread
speed are bench/vocoders.py's business.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from hiaudio import checkpoints  # noqa: E402
from hiaudio.data.vocoder_voices import read_pack  # noqa: E402
from hiaudio.device import pick_device  # noqa: E402
from hiaudio.train import specdiff_gan_task, wavegrad_task  # noqa: E402

# (label, checkpoint, method in hiaudio.studio.vocode, reverse steps)
METHODS = (("Griffin-Lim", None, "griffin-lim", None), ("WaveGrad-6", "wavegrad.pt", "wavegrad", 6),
           ("GLA-Grad-6", "wavegrad.pt", "gla-grad", 6), ("SpecDiff-GAN", "specdiff_gan.pt", "specdiff-gan", None))
LEARNED = ("WaveGrad-6", "SpecDiff-GAN")  # what the default (task scoring) covers


def task_scores(label: str, model, clips: list[np.ndarray]) -> dict:
    """{"pesq_wb", "log_mel_db"}: means over the clips, as the model's training task scores it."""
    model = model.to(pick_device())
    if label == "WaveGrad-6":
        return wavegrad_task.sample_scores(model, clips, model.inference_betas(6))
    return specdiff_gan_task.generate_scores(model, clips)


def pipeline_scores(method: str, n_steps: int | None, model, clips: list[np.ndarray]) -> dict:
    """Means of `vocode.score` (PESQ-WB, STOI, log-mel dB) and the RTF over the clips, as the tab runs them."""
    from hiaudio.studio import vocode  # the app's pipeline (plotly among its packages): only for --all

    rows = []
    for i, wave in enumerate(clips):
        out = vocode.vocode(wave, method, n_steps, torch.Generator().manual_seed(i), model)
        rows.append({"rtf": out.rtf, **vocode.score(wave, out.audio)})
    return {key: float(np.nanmean([r[key] for r in rows])) for key in rows[0]}


def evaluate(clips: list[np.ndarray], assets: Path, full: bool) -> tuple[dict, dict]:
    """({label: scores}, {label: why skipped})."""
    results, skipped = {}, {}
    for label, name, method, n_steps in METHODS:
        if not full and label not in LEARNED:
            continue
        if name is not None and not (assets / name).is_file():
            skipped[label] = f"no {name} in {assets}"
            continue
        model = None if name is None else checkpoints.load_checkpoint(assets / name)[0]
        results[label] = pipeline_scores(method, n_steps, model, clips) if full else task_scores(label, model, clips)
    return results, skipped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", required=True, help="folder holding validation-seed0.flac (hiaudio.data vocoder-pack)")
    parser.add_argument("--n", type=int, default=32, help="validation clips (default 32, the tasks' n_val)")
    parser.add_argument("--assets", type=Path, default=checkpoints.ASSETS_DIR, help="folder of the checkpoints")
    parser.add_argument("--all", action="store_true", help="also Griffin-Lim and GLA-Grad, and STOI, by the studio's pipeline")
    parser.add_argument("--out", type=Path, help="also write the results here (JSON)")
    args = parser.parse_args(argv)
    clips = read_pack(args.pack, "validation", args.n)
    results, skipped = evaluate(clips, args.assets, args.all)
    audio_s = sum(len(c) for c in clips) / wavegrad_task.spectral.MEL.sample_rate
    print(f"validation voices (never heard in training): {len(clips)} whole clips, {audio_s:.1f} s, from {args.pack}")
    keys = ["pesq_wb", "stoi", "log_mel_db", "rtf"] if args.all else ["pesq_wb", "log_mel_db"]
    table = [[label] + [r.get(k) for k in keys] for label, r in results.items()]
    print(common.format_table(["method", *keys], table + common.skipped_rows(skipped, 1 + len(keys)), "{:.3f}"))
    if args.out:
        args.out.write_text(json.dumps({"split": "validation", "n_clips": len(clips), "audio_s": audio_s,
                                        "device": str(pick_device()), "methods": results,
                                        "skipped": skipped}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
