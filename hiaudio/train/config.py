"""Training configuration: one dataclass per model, a comment per field, resolved from
defaults < a JSON config file < `--set key=value` overrides, and written with every run."""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path


@dataclasses.dataclass
class TrainConfig:
    """Settings every training run has; a model's config subclasses this and adds its own."""
    seed: int = 0  # seeds torch, numpy, python and the data order
    steps: int = 1000  # optimizer steps in all
    batch_size: int = 8  # per process
    lr: float = 1e-3  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm (0 = off)
    warmup_steps: int = 0  # linear learning-rate warm-up
    val_every: int = 100  # validate every this many steps
    patience: int = 0  # stop after this many validations without improvement (0 = never)
    log_every: int = 10  # write training metrics every this many steps
    out_dir: str = "runs/{model}"  # where the run writes config, metrics and checkpoints
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bfloat16 autocast when on CUDA
    num_workers: int = 0  # data-loader workers (0 keeps data order exactly reproducible)
    stop_after: int = 0  # stop this run after this many steps (0 = never); resume continues
    resume: bool = True  # continue from out_dir/last.pt when it exists
    init_from: str = ""  # a new run starts from these weights (a shipped checkpoint, e.g. assets/salience.pt,
    # of the same model: the task's build loads it with loop.start_from); resuming from last.pt overrides it
    max_minutes: float = 0.0  # wall-clock budget for this run (0 = none)
    monitor_every: int = 0  # run the task's monitor (e.g. PESQ of generated audio) every this many steps (0 = never)
    threads: int = 1  # torch CPU threads on CPU (0 = torch's default); measured here: 1 thread
    # ran 0.18 s/step where 2 threads on 2 shared cores stalled at 3.5 s/step


def _convert(text: str, kind):
    origin = typing.get_origin(kind)
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a boolean")
    if kind in (int, float, str):
        return kind(text)
    if origin in (list, tuple):
        return json.loads(text)
    return json.loads(text)


def resolve(config_cls, config_file: str | Path | None = None, sets: list[str] | tuple = ()):
    """Build `config_cls` from its defaults, then a JSON file, then key=value overrides."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    values: dict = {}
    if config_file:
        data = json.loads(Path(config_file).read_text())
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown config keys in {config_file}: {', '.join(sorted(unknown))}")
        values.update(data)
    for item in sets:
        key, sep, text = item.partition("=")
        if not sep or key not in fields:
            raise ValueError(f"--set {item!r}: expected key=value with key one of {', '.join(sorted(fields))}")
        try:
            values[key] = _convert(text, hints[key])
        except (ValueError, json.JSONDecodeError) as err:
            raise ValueError(f"--set {item!r}: {err}") from None
    return config_cls(**values)


def to_dict(config) -> dict:
    return dataclasses.asdict(config)
