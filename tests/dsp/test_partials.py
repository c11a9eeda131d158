"""hiaudio/dsp/partials.py: where partials fall on an STFT's bins."""
import pytest
import torch

from hiaudio.dsp import partials


def test_hann_kernel_known_values():
    k = partials.hann_kernel(torch.tensor([0.0, 1.0, -1.0, 2.0, 0.5]))
    assert k[0] == pytest.approx(1.0)
    assert k[1] == pytest.approx(0.5) and k[2] == pytest.approx(0.5)  # the removable poles
    assert k[3] == pytest.approx(0.0, abs=1e-9)  # the main lobe ends at +-2 bins
    # against the window's own spectrum, zero-padded 16x: bin offset 0.5 -> index 8
    w = torch.hann_window(64, periodic=True, dtype=torch.float64)
    spec = torch.fft.rfft(w, 64 * 16).abs()
    assert float(k[4]) == pytest.approx(float(spec[8] / spec[0]), rel=1e-3)
