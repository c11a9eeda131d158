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
    from hiaudio.separation import part_f0

    monkeypatch.delenv(device.DEVICE_ENV, raising=False)
    sal = part_f0.part_salience(np.zeros(16000, np.float32))
    assert isinstance(sal, np.ndarray) and sal.ndim == 2  # numpy back, whatever the device


OFFLINE_STUDIO = r'''
import os, socket, sys
os.environ["CUDA_VISIBLE_DEVICES"] = ""  # no GPU
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
blocked = []
_connect = socket.socket.connect

def local_only(self, address):  # no network: only loopback connections go through
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
        blocked.append(str(address))
        raise OSError(f"network blocked by the test: {address}")
    return _connect(self, address)

socket.socket.connect = local_only
import torch
import app
from gradio_client import Client, handle_file
from tests.helpers import free_port, voice_outputs

assert not torch.cuda.is_available()
from hiaudio.ui import voice as voice_ui
from hiaudio.ui.studio import launch_options
from hiaudio.voice import Edits

app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                **launch_options())
client = Client(app.demo.local_url, verbose=False)
edits = Edits(scale_key="C", scale_mode="major").values(voice_ui.VOICE_EDITS)
out = client.predict(handle_file(voice_ui.example_clips()[0]), *edits, api_name="/analyze")
print("ANSWERED", voice_outputs(out)["status"].splitlines()[0][:80])
print("BLOCKED", len(blocked), blocked[:3])
app.demo.close()
'''


def test_the_studio_starts_and_answers_with_no_network_and_no_gpu(tmp_path):
    """Spaces-like start: no GPU visible, every non-loopback connection refused; the studio
    builds, serves, and analyses an example clip."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**__import__("os").environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", OFFLINE_STUDIO], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ANSWERED" in run.stdout
    assert "BLOCKED 0 " in run.stdout, run.stdout  # it never even tries to reach the network
