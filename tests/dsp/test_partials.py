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


def test_a_section_spread_widens_high_partials_more_and_keeps_the_peak():
    f0 = torch.full((1, 1), 200.0).numpy()  # one frame, one voice at 200 Hz; n_fft 1024 at 16 kHz
    solo_index, solo = partials.comb_layout(f0, 16000, 1024, 20)
    index, section = partials.comb_layout(f0, 16000, 1024, 20, spread_cents=25.0)
    assert torch.equal(index, solo_index)

    def width(weight, k):  # bins of partial k above half its peak
        return int((weight[0, 0, k - 1] >= 0.5 * weight[0, 0, k - 1].max()).sum())
    assert width(section, 1) == width(solo, 1)  # 25 cents of 200 Hz is 0.04 bins: no wider
    assert width(section, 20) > width(solo, 20)  # of 4 kHz, 0.9 bins: wider
    assert float(section[0, 0, 19].max()) == pytest.approx(float(solo[0, 0, 19].max()), abs=0.05)
