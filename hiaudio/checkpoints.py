"""Self-describing checkpoints and the one registry of model classes that may be built from them.

A checkpoint is a plain dict of tensors and JSON-like values, read with
``torch.load(weights_only=True)`` -- no pickled code ever runs:

    {"format": FORMAT, "model": registry name, "kwargs": constructor kwargs,
     "state": state_dict, "config": resolved training config, "metrics": {...},
     "data_version": str, "created": ISO date, "torch": version}

The class to build comes from `MODELS` (name -> "module:Class"), never from the file, so a
checkpoint can only instantiate classes this project registered. The app and the CLI load
shipped checkpoints through `load_asset`, which only reads files inside ``assets/``.
"""
from __future__ import annotations

import datetime
import importlib
import pickle
from pathlib import Path

import torch

FORMAT = "hiaudio.checkpoint/1"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024  # shipped checkpoints stay small (and so do uploads)

# registry name -> "module:Class"; the separation, vocoder and composer models register here
MODELS: dict[str, str] = {}

_cache: dict[tuple[str, str], tuple[torch.nn.Module, dict]] = {}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why and what to do."""


def register(name: str, target: str) -> None:
    """Register a model class as `name` ("package.module:Class")."""
    MODELS[name] = target


def model_class(name: str):
    if name not in MODELS:
        known = ", ".join(sorted(MODELS)) or "none"
        raise CheckpointError(f"unknown model {name!r}; registered models: {known}")
    module, _, cls = MODELS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def save_checkpoint(path, model: torch.nn.Module, name: str, kwargs: dict, config: dict | None = None,
                    metrics: dict | None = None, data_version: str = "", extra: dict | None = None) -> Path:
    """Write a self-describing checkpoint; `extra` holds training state (optimizer, step, RNG)."""
    module = getattr(model, "module", model)  # unwrap DistributedDataParallel
    payload = {
        "format": FORMAT, "model": name, "kwargs": dict(kwargs),
        "state": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "config": dict(config or {}), "metrics": dict(metrics or {}), "data_version": data_version,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": str(torch.__version__),
    }
    if extra:
        payload.update(extra)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # atomic: an interrupted save never leaves half a checkpoint
    return path


def read_checkpoint(path, max_bytes: int | None = None) -> dict:
    """The checkpoint's dict, read safely (weights_only) and checked for the expected keys."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `python -m hiaudio.train`")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise CheckpointError(f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; the limit is "
                              f"{max_bytes / 2**20:.0f} MB")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path.name} was refused: it is not a plain hiaudio checkpoint of "
                              f"tensors and numbers ({first[:160]}); retrain it with "
                              "`python -m hiaudio.train`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not a {FORMAT} checkpoint; retrain it with "
                              "`python -m hiaudio.train`")
    for key, kind in (("model", str), ("kwargs", dict), ("state", dict)):
        if not isinstance(data.get(key), kind):
            raise CheckpointError(f"{path.name} has no valid '{key}'; retrain it")
    return data


def build_model(data: dict, expected: str | None = None) -> torch.nn.Module:
    """Instantiate the registered class with the checkpoint's kwargs and load its weights."""
    name = data["model"]
    if expected is not None and name != expected:
        raise CheckpointError(f"the checkpoint holds a {name!r} model, not {expected!r}")
    model = model_class(name)(**data["kwargs"])
    try:
        model.load_state_dict(data["state"], strict=True)
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        detail = "; ".join(lines[1:3])[:300]
        raise CheckpointError(f"the checkpoint's weights do not fit a {name!r} model with its "
                              f"settings ({detail}); retrain it") from None
    return model.eval()


def load_checkpoint(path, expected: str | None = None, max_bytes: int | None = None):
    """(model in eval mode, checkpoint dict without the weights)."""
    data = read_checkpoint(path, max_bytes)
    model = build_model(data, expected)
    meta = {k: v for k, v in data.items() if k != "state"}
    return model, meta


def load_asset(filename: str, expected: str | None = None):
    """Load a shipped checkpoint from assets/ by file name, once per process (cached).

    Only plain file names inside assets/ are accepted, so no request can steer this to another
    path; the model is shared read-only between sessions (no per-user state in it).
    """
    if Path(filename).name != filename or filename.startswith("."):
        raise CheckpointError(f"{filename!r} is not a file name in assets/")
    key = (filename, expected or "")
    if key not in _cache:
        _cache[key] = load_checkpoint(ASSETS_DIR / filename, expected, MAX_CHECKPOINT_BYTES)
    return _cache[key]
