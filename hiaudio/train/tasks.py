"""The models `python -m hiaudio.train` knows, by name.

Each entry points at a module with a `Config` dataclass (a `TrainConfig` subclass, a comment per
field) and a `build(cfg) -> Task` function. A "package.module" path of such a module can also be
given in place of a name -- tests and experiments use that.
"""
from __future__ import annotations

import importlib

TASKS: dict[str, str] = {
    # "name": "hiaudio.train.task_module"  -- the separation, vocoder and composer tasks go here
    "salience": "hiaudio.train.salience_task",  # multi-pitch salience of a chorale mixture
    "composer": "hiaudio.train.composer_task",  # chorale Transformer, one positional encoding per run
    "wavegrad": "hiaudio.train.wavegrad_task",  # WaveGrad mel vocoder with a noise prior, many voices
    "specdiff_gan": "hiaudio.train.specdiff_gan_task",  # SpecDiff-GAN: HiFi-GAN-like generator, diffused D
    "separator": "hiaudio.train.separator_task",  # choir parts' source-filter parameters, unsupervised
}


def task_module(name: str):
    """The module that defines `Config` and `build` for a model name (or a dotted module path)."""
    target = TASKS.get(name, name)
    if target == name and "." not in name:
        known = ", ".join(sorted(TASKS)) or "none yet"
        raise ValueError(f"unknown model {name!r}; known models: {known} (or give a module path)")
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as err:
        raise ValueError(f"cannot import the task module {target!r}: {err}") from None
    for attr in ("Config", "build"):
        if not hasattr(module, attr):
            raise ValueError(f"{target} defines no {attr}; a task module needs Config and build(cfg)")
    return module
