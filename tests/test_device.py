"""Device selection: CPU without a GPU, CUDA with one, $HIAUDIO_DEVICE, and ZeroGPU's spaces.GPU."""
import sys
import types

import numpy as np
import pytest
import torch

from hiaudio import device


def test_cpu_without_gpu_and_cuda_with_one(monkeypatch):
    monkeypatch.delenv(device.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.pick_device() == torch.device("cuda")


def test_environment_overrides_and_a_missing_gpu_is_explained(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(device.DEVICE_ENV, "cpu")
    assert device.pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(device.DEVICE_ENV, "cuda")
    with pytest.raises(ValueError, match="sees no GPU"):
        device.pick_device()


def test_on_gpu_is_a_no_op_without_spaces(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # import fails, as on a machine without it

    def heavy(x):
        return x * 2

    assert device.on_gpu(heavy) is heavy


def test_on_gpu_uses_spaces_gpu_when_importable(monkeypatch):
    calls = []
    fake = types.ModuleType("spaces")

    def gpu(duration):
        def decorate(fn):
            def run(*args, **kwargs):
                calls.append(duration)
                return fn(*args, **kwargs)
            return run
        return decorate

    fake.GPU = gpu
    monkeypatch.setitem(sys.modules, "spaces", fake)

    @device.on_gpu(duration_s=30)
    def heavy(x: np.ndarray) -> np.ndarray:
        return x + 1

    assert heavy(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]  # CPU numpy in, CPU numpy out
    assert calls == [30] and heavy.__name__ == "heavy"


def test_the_salience_stage_runs_on_the_picked_device(monkeypatch):
    from hiaudio.separation import choir

    monkeypatch.delenv(device.DEVICE_ENV, raising=False)
    sal = choir.part_salience(np.zeros(16000, np.float32))
    assert isinstance(sal, np.ndarray) and sal.ndim == 2  # numpy back, whatever the device
