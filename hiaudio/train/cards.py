"""Shipping a trained model: copy its best checkpoint into assets/ and write its model card.

Every model the app uses ships this way, so each checkpoint in assets/ has a card in
assets/MODELS.md saying the exact command that made it, the data, the wall time, the machine
and the metrics. Cards are regenerated, never hand-edited: a section per model between markers.
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import shlex
from pathlib import Path

import torch

from hiaudio import checkpoints

CARDS_FILE = "MODELS.md"
HEADER = """# Models shipped in assets/

Each checkpoint here was trained by `python -m hiaudio.train` (command in its card) on data the
project makes itself (`hiaudio.data`), and loads with `torch.load(weights_only=True)` through
`hiaudio.checkpoints`. The cards below are written by `hiaudio.train.cards.ship`; edit the code,
not this file.
"""


def machine_description(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    text = f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}"
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def render_card(asset_name: str, command: str, meta: dict, result: dict, size_bytes: int) -> str:
    n_params = sum(v.numel() for v in meta["state"].values()) if "state" in meta else None
    metrics = {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    lines = [f"<!-- card:{asset_name} -->", f"## `{asset_name}` — {meta['model']}", "",
             f"- command: `{command}`",
             f"- data: `{meta.get('data_version', '')}`",
             f"- trained: {meta.get('created', '')}, {result.get('steps', '?')} steps, "
             f"{result.get('wall_s', '?')} s wall time on {result.get('machine', '?')}",
             f"- size: {size_bytes / 2**20:.2f} MB" + (f", {n_params:,} parameters" if n_params else ""),
             f"- kwargs: `{json.dumps(meta['kwargs'])}`",
             "- metrics: " + ", ".join(f"{k} = {v:.4g}" for k, v in sorted(metrics.items())), "",
             f"<!-- /card:{asset_name} -->"]
    return "\n".join(lines)


def ship(run_dir, asset_name: str, command: str, assets_dir=checkpoints.ASSETS_DIR, which: str = "best") -> Path:
    """Copy run_dir/best.pt (or, with which="last", the final last.pt) to assets_dir/asset_name and
    (re)write its card in MODELS.md."""
    run_dir, assets_dir = Path(run_dir), Path(assets_dir)
    if Path(asset_name).name != asset_name or not asset_name.endswith(".pt"):
        raise ValueError(f"{asset_name!r} must be a plain file name ending in .pt")
    if which not in ("best", "last"):
        raise ValueError(f"which is {which!r}: 'best' or 'last'")
    source = run_dir / f"{which}.pt"
    if not source.exists():
        source = run_dir / "last.pt"
    data = checkpoints.read_checkpoint(source)
    size = source.stat().st_size
    if "optimizer" in data:  # a last.pt: drop the training state before shipping
        data = {k: v for k, v in data.items() if k not in ("optimizer", "step", "best", "bad_validations", "rng")}
    target = assets_dir / asset_name
    assets_dir.mkdir(parents=True, exist_ok=True)
    torch.save(data, target)
    size = target.stat().st_size
    if size > checkpoints.MAX_CHECKPOINT_BYTES:
        target.unlink()
        raise ValueError(f"{asset_name} would be {size / 2**20:.1f} MB; shipped checkpoints stay under "
                         f"{checkpoints.MAX_CHECKPOINT_BYTES / 2**20:.0f} MB")
    result = json.loads((run_dir / "eval.json").read_text()) if (run_dir / "eval.json").exists() else {}
    result.setdefault("machine", machine_description(result.get("device", "cpu")))
    card = render_card(asset_name, command, data, result, size)
    start, end = f"<!-- card:{asset_name} -->", f"<!-- /card:{asset_name} -->"
    with open(assets_dir / CARDS_FILE, "a+") as fh:  # locked: two runs shipping at once each keep their card
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        text = fh.read() or HEADER
        if start in text and end in text:
            text = text[:text.index(start)] + card + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + card + "\n"
        fh.seek(0)
        fh.truncate()
        fh.write(text)
    return target


def command_line(argv: list[str]) -> str:
    return "python -m hiaudio.train " + " ".join(shlex.quote(a) for a in argv)
