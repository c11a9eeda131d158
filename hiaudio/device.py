"""Where the models run: CUDA when there is a GPU, the CPU otherwise, and Hugging Face ZeroGPU.

    device = pick_device()            # torch.device("cuda") or ("cpu"); HIAUDIO_DEVICE overrides
    @on_gpu                           # spaces.GPU(fn) when the `spaces` package is importable
    def heavy(x: np.ndarray) -> np.ndarray: ...

On a ZeroGPU Space a GPU is attached only while a function decorated with `spaces.GPU` runs,
so the heavy pipelines are decorated with `on_gpu` and take and return CPU numpy arrays; the
models are moved to the device inside them. Elsewhere `on_gpu` returns the function unchanged.
"""
from __future__ import annotations

import functools
import importlib
import os

import torch

DEVICE_ENV = "HIAUDIO_DEVICE"  # "cpu", "cuda" or "cuda:N"; unset = CUDA when available
GPU_DURATION_S = 120  # what a ZeroGPU call may take at most


def pick_device(requested: str | None = None) -> torch.device:
    """The device to run models on: `requested`, else $HIAUDIO_DEVICE, else CUDA when available."""
    name = requested or os.environ.get(DEVICE_ENV, "").strip()
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{DEVICE_ENV}={name!r} asks for CUDA, but torch sees no GPU here; "
                             f"unset it or use 'cpu'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def on_gpu(fn=None, *, duration_s: int = GPU_DURATION_S):
    """Decorate a heavy function with `spaces.GPU` when running on a ZeroGPU Space (the
    `spaces` package importable); otherwise return it unchanged."""
    def wrap(f):
        try:
            spaces = importlib.import_module("spaces")
        except ImportError:
            return f
        gpu = getattr(spaces, "GPU", None)
        return functools.wraps(f)(gpu(duration=duration_s)(f)) if gpu is not None else f
    return wrap(fn) if fn is not None else wrap
