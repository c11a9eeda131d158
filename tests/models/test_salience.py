"""hiaudio/models/salience.py: the harmonic stack and the salience network."""
import torch

from hiaudio.models.salience import HARMONICS, N_BINS, SAMPLE_RATE, SalienceCNN, harmonic_stack, hz_to_bin


def _harmonic_tone(f0_hz: float, duration_s: float = 0.5, n_harmonics: int = 8) -> torch.Tensor:
    t = torch.arange(int(duration_s * SAMPLE_RATE), dtype=torch.float64) / SAMPLE_RATE
    tone = sum(torch.sin(2 * torch.pi * h * f0_hz * t) / h for h in range(1, n_harmonics + 1))
    return (0.3 * tone).float()


def test_harmonic_stack_lines_up_partials():
    f0_hz = 220.0
    k = int(round(float(hz_to_bin(torch.tensor(f0_hz)))))
    stack = harmonic_stack(_harmonic_tone(f0_hz))  # (H, T, K)
    assert stack.shape[0] == len(HARMONICS) and stack.shape[2] == N_BINS
    profile = stack[:, 10:-10].mean(1)  # (H, K) steady frames
    h1 = HARMONICS.index(1.0)
    assert abs(int(profile[h1].argmax()) - k) <= 1  # the fundamental at its own bin
    for c, h in enumerate(HARMONICS):
        if h >= 1.0:  # every partial of the tone reads high at the pitch's bin
            window = profile[c, k - 2:k + 3].max()
            assert window > profile[c].median() + 1.0, (h, float(window))
    # the sub-harmonic channel at bin k reads 110 Hz, where the tone has nothing
    assert profile[HARMONICS.index(0.5), k] < profile[h1, k] - 1.0


def test_model_shape_and_size():
    model = SalienceCNN()
    assert model(torch.zeros(2, 1600)).shape == (2, 1600 // 80 + 1, N_BINS)
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert n_bytes < 1_000_000
