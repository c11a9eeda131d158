"""hiaudio/voice/synthesis.py: the synthesizer as pure torch functions."""
import torch

from hiaudio.dsp import filters
from hiaudio.voice import synthesis


def test_render_voice_is_differentiable_and_batched():
    torch.manual_seed(0)
    B, T, K, P = 2, 6, 5, 8
    f0 = torch.tensor([[120.0] * T, [200.0] * T], dtype=torch.float64, requires_grad=True)
    voiced = torch.ones(B, T, dtype=torch.float64)
    lsf = filters.lsf_from_logits(torch.randn(B, T, P, dtype=torch.float64)).detach().requires_grad_()
    gain = torch.zeros(B, T, dtype=torch.float64, requires_grad=True)
    harm = torch.zeros(B, T, K, dtype=torch.float64, requires_grad=True)
    noise = torch.full((B, T, 4), -30.0, dtype=torch.float64, requires_grad=True)
    tilt = torch.zeros(B, T, dtype=torch.float64, requires_grad=True)
    out = synthesis.render_voice(f0, voiced, lsf, gain, harm, noise, tilt, 8000, 16,
                             generator=torch.Generator().manual_seed(1))
    out.pow(2).sum().backward()
    ratio = torch.full((B, T), 1.1, dtype=torch.float64, requires_grad=True)
    warped = synthesis.render_voice(f0, voiced, lsf, gain, harm, noise, tilt, 8000, 16,
                                generator=torch.Generator().manual_seed(1), formant_ratio=ratio)
    warped.pow(2).sum().backward()
    assert torch.isfinite(ratio.grad).all() and ratio.grad.abs().sum() > 0
    for tensor in (f0, lsf, gain, harm, noise, tilt):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    h_batch, _ = synthesis.render_voice(f0, voiced, lsf, gain, harm, noise, tilt, 8000, 16, parts=True)
    for i in range(B):
        h_item, _ = synthesis.render_voice(f0[i], voiced[i], lsf[i], gain[i], harm[i], noise[i], tilt[i],
                                       8000, 16, parts=True)
        assert torch.allclose(h_batch[i], h_item, atol=1e-9)
