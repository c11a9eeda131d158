"""Mel vocoders (hiaudio.dsp.spectral, hiaudio.models.wavegrad, hiaudio.studio.vocode): known
answers, the Griffin-Lim descent property, the diffusion maths on toy data, and the CLI."""
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from hiaudio import cli
from hiaudio.dsp import spectral
from hiaudio.models import wavegrad
from hiaudio.studio import vocode
from tests.helpers import harmonic_voice

SR = spectral.MEL.sample_rate


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small convolutions on a shared 2-core CPU stall in torch's thread pool (see app.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def voice():
    audio, _ = harmonic_voice(160.0, SR, duration_s=1.0, vibrato_cents=40.0)
    return audio  # (16000,) peak 0.5


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return wavegrad.WaveGrad(channels=(8, 8, 8, 8, 8)).eval()


# ---- the mel front end ------------------------------------------------------------------------
def test_mel_of_a_sine_peaks_in_the_band_holding_its_frequency_and_batches_match():
    t = torch.arange(SR) / SR
    x = torch.stack([torch.sin(2 * math.pi * 1000.0 * t), torch.sin(2 * math.pi * 300.0 * t)])  # (2, S)
    mel = spectral.mel_spectrogram(x)
    assert mel.shape == (2, 80, SR // 256 + 1)
    fb = spectral.mel_filterbank()  # (F, M)
    for row, f_hz in zip(mel, (1000.0, 300.0)):
        band = int(row[:, 10:-10].mean(-1).argmax())
        assert fb[round(f_hz * spectral.MEL.n_fft / SR), band] > 0  # the peak band's filter covers f
    assert torch.allclose(mel[1], spectral.mel_spectrogram(x[1]), atol=1e-5)


def test_pseudo_inverse_is_non_negative_and_maps_back_to_the_same_mel(voice):
    mel = spectral.mel_spectrogram(torch.from_numpy(voice))
    mag = spectral.mel_to_magnitude(mel)
    assert mag.shape == (513, mel.shape[-1]) and float(mag.min()) >= 0
    remel = torch.einsum("fm,ft->mt", spectral.mel_filterbank(), mag)
    assert float((remel - mel).norm() / mel.norm()) < 0.15  # the clamp at 0 is the only loss


def test_log_mel_distance_is_zero_for_equal_clips_and_grows_with_noise(voice):
    x = torch.from_numpy(voice)
    g = torch.Generator().manual_seed(0)
    assert float(spectral.log_mel_distance_db(x, x)) == 0.0
    d_small = float(spectral.log_mel_distance_db(x, x + 0.003 * torch.randn(x.shape, generator=g)))
    d_large = float(spectral.log_mel_distance_db(x, x + 0.03 * torch.randn(x.shape, generator=g)))
    assert 0 < d_small < d_large


# ---- Griffin-Lim projections ------------------------------------------------------------------
@pytest.mark.parametrize("target", ["consistent", "mel pseudo-inverse"])
def test_gla_iterations_never_increase_spectral_inconsistency(voice, target):
    x = torch.from_numpy(voice)
    mag = spectral.stft(x, spectral.MEL.n_fft, spectral.MEL.hop_samples).abs() if target == "consistent" else \
        spectral.mel_to_magnitude(spectral.mel_spectrogram(x))
    g = torch.Generator().manual_seed(1)
    for start in (0.1 * torch.randn(x.shape, generator=g), x + 0.2 * torch.randn(x.shape, generator=g)):
        y, dist = start, [float(spectral.spectral_inconsistency(start, mag))]
        for _ in range(12):  # one Griffin-Lim iteration per call (Griffin & Lim 1984: a descent)
            y = spectral.fast_griffin_lim(mag, spectral.stft(y, spectral.MEL.n_fft, spectral.MEL.hop_samples), len(x), n_iter=1)
            dist.append(float(spectral.spectral_inconsistency(y, mag)))
        assert all(b <= a * (1 + 1e-5) for a, b in zip(dist, dist[1:])), dist
        # GLA-Grad's projection (fast GLA with momentum, several iterations) ends closer too
        settings = vocode.GlaGradSettings()
        projected = vocode.gla_projection(mag, len(x), settings)(start, 0)
        assert float(spectral.spectral_inconsistency(projected, mag)) < 0.5 * dist[0]
        assert vocode.gla_projection(mag, len(x), settings)(start, settings.n_projected) is start


def test_fast_griffin_lim_keeps_a_consistent_start_and_refuses_bad_momentum(voice):
    x = torch.from_numpy(voice)
    spec = spectral.stft(x, spectral.MEL.n_fft, spectral.MEL.hop_samples)
    y = spectral.fast_griffin_lim(spec.abs(), spec, len(x), n_iter=4)
    assert float((y - x).abs().max()) < 1e-4  # already a fixed point: nothing moves
    with pytest.raises(ValueError, match="momentum"):
        spectral.fast_griffin_lim(spec.abs(), spec, len(x), momentum=1.0)


# ---- diffusion on toy data --------------------------------------------------------------------
def _oracle_gaussian(mean: float, std: float):
    """The exact noise predictor E[eps | y] when y_0 ~ N(mean, std^2) per sample."""
    def eps(y, log_mel, level):
        a = level[:, None].double()
        var = a ** 2 * std ** 2 + 1 - a ** 2
        return (torch.sqrt(1 - a ** 2) * (y.double() - a * mean) / var).to(y.dtype)
    return eps


@pytest.mark.parametrize("n_steps,first,last", [(6, 1e-4, 0.7), (25, 1e-4, 0.35)])
def test_sampler_inverts_the_forward_noising_of_a_point(n_steps, first, last):
    # data = one waveform x0: the ideal predictor is eps = (y - a x0) / sqrt(1 - a^2) for the
    # `add_noise` convention; the sampler must then land on x0 from any starting noise
    g = torch.Generator().manual_seed(0)
    x0 = 0.5 * torch.randn(2, 4 * 256, generator=g, dtype=torch.float64)
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    level = torch.tensor([0.3, 0.9], dtype=torch.float64)
    y = wavegrad.add_noise(x0, level, noise)
    assert torch.allclose((y - level[:, None] * x0) / torch.sqrt(1 - level[:, None] ** 2), noise)

    def oracle(y, log_mel, lev):
        a = lev[:, None].double()
        return (y - a * x0) / torch.sqrt(1 - a ** 2)

    out = wavegrad.sample(oracle, torch.zeros(2, 80, 4, dtype=torch.float64),
                          wavegrad.geometric_betas(n_steps, first, last), g)
    assert torch.allclose(out, x0, atol=1e-6)


def test_sampler_draws_the_gaussian_it_was_noised_from():
    g = torch.Generator().manual_seed(0)
    mean, std = 0.3, 0.2
    y0 = mean + std * torch.randn(8, 2048, generator=g)
    level = torch.full((8,), 0.6)
    y = wavegrad.add_noise(y0, level, torch.randn(y0.shape, generator=g))
    assert abs(float(y.std()) - math.sqrt(0.36 * std ** 2 + 0.64)) < 0.02  # forward variance
    out = wavegrad.sample(_oracle_gaussian(mean, std), torch.zeros(8, 80, 8),
                          wavegrad.geometric_betas(50, 1e-4, 0.3), g)
    assert abs(float(out.mean()) - mean) < 0.01 and abs(float(out.std()) - std) < 0.01


def test_noise_levels_drawn_for_training_span_the_schedule():
    levels = wavegrad.draw_noise_level(4000, torch.Generator().manual_seed(0))
    root_last = float(wavegrad.alpha_bars(wavegrad.TRAIN_BETAS)[-1].sqrt())
    assert float(levels.min()) >= root_last - 1e-6 and float(levels.max()) <= 1.0
    assert float(levels.min()) < 0.15 and float(levels.max()) > 0.95


# ---- every method -----------------------------------------------------------------------------
@pytest.mark.parametrize("method", vocode.METHODS)
@pytest.mark.parametrize("n_samples", [5000, 8192])
def test_every_method_returns_finite_audio_of_the_input_length_within_full_scale(method, n_samples,
                                                                                 tiny_model):
    audio, _ = harmonic_voice(200.0, SR, duration_s=n_samples / SR)
    audio = audio / np.abs(audio).max()  # full scale: the inversion must not clip past it
    out = vocode.vocode(audio, method, n_steps=3, model=tiny_model, generator=torch.Generator().manual_seed(0))
    assert out.audio.shape == audio.shape and out.audio.dtype == np.float32
    assert np.isfinite(out.audio).all() and np.abs(out.audio).max() <= 1.0
    assert out.rtf > 0


def test_gla_grad_with_an_untrained_model_is_pulled_toward_the_target(voice, tiny_model):
    # the projections alone carry the mel: GLA-Grad must beat WaveGrad's noise on the same model
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    wg = vocode.vocode(voice, "wavegrad", 3, g(), tiny_model)
    gla = vocode.vocode(voice, "gla-grad", 3, g(), tiny_model,
                        vocode.GlaGradSettings(n_projected=3, n_iter=16))
    assert vocode.score(voice, gla.audio)["log_mel_db"] < vocode.score(voice, wg.audio)["log_mel_db"] - 5


def test_griffin_lim_recovers_a_voice_and_scores_are_sane(voice):
    out = vocode.vocode(voice, "griffin-lim")
    scores = vocode.score(voice, out.audio)
    # measured 6.7 dB and PESQ 2.6 (white noise at -20 dBFS: 35 dB, PESQ 1.02); the pseudo-inverse
    # fills the valleys between this synthetic vowel's harmonics, hence no tighter bound
    assert scores["log_mel_db"] < 10.0 and scores["pesq_wb"] > 2.0
    same = vocode.score(voice, voice)
    assert same["log_mel_db"] == 0.0 and same["pesq_wb"] > 4.4 and same["stoi"] > 0.99


def test_bad_arguments_are_refused_with_a_message(voice):
    with pytest.raises(ValueError, match="unknown vocoder"):
        vocode.vocode(voice, "hifigan")
    with pytest.raises(ValueError, match="reverse steps"):
        vocode.vocode(voice, "wavegrad", n_steps=0)
    with pytest.raises(ValueError, match="at least 1024 samples"):
        vocode.vocode(voice[:100], "griffin-lim")


# ---- the shipped checkpoint and the CLI -------------------------------------------------------
def test_shipped_wavegrad_is_small_and_carries_searched_schedules():
    from hiaudio.checkpoints import ASSETS_DIR

    model = vocode.load_wavegrad()
    assert (ASSETS_DIR / vocode.CHECKPOINT).stat().st_size < 5 * 2 ** 20
    for n in wavegrad.SEARCHED_STEPS:
        betas = model.inference_betas(n)
        assert len(betas) == n and bool((betas[1:] > betas[:-1]).all()) and float(betas[-1]) < 1
        assert float(wavegrad.alpha_bars(betas)[-1]) < 0.9  # the schedule reaches real noise
    assert len(model.inference_betas(12)) == 12


def test_cli_vocodes_a_file_to_the_same_length(tmp_path, voice):
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, voice, SR)
    assert cli.main(["vocode", str(src), "--method", "wavegrad", "--steps", "2", "--out", str(out)]) == 0
    wave, sr = sf.read(out, dtype="float32")
    assert sr == SR and len(wave) == len(voice) and np.isfinite(wave).all()


def test_cli_bad_input_exits_2_with_a_message(tmp_path, capsys, voice):
    empty, out = tmp_path / "empty.wav", tmp_path / "out.wav"
    empty.write_bytes(b"")
    assert cli.main(["vocode", str(empty), "--method", "griffin-lim", "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err
    src = tmp_path / "in.wav"
    sf.write(src, voice, SR)
    assert cli.main(["vocode", str(src), "--method", "gla-grad", "--steps", "0", "--out", str(out)]) == 2
    assert "reverse steps" in capsys.readouterr().err
    assert not out.exists()


def test_a_few_training_steps_lower_the_denoising_loss():
    from hiaudio.train.wavegrad_task import loss_fn

    torch.manual_seed(0)
    model = wavegrad.WaveGrad(channels=(16, 16, 8, 8, 8))
    g = torch.Generator().manual_seed(0)
    audio = torch.stack([torch.from_numpy(harmonic_voice(f0, SR, duration_s=4 * 256 / SR)[0])
                         for f0 in (120.0, 220.0)])  # (2, 1024)
    mel = spectral.log_mel(audio)[..., :4]  # (2, 80, 4)
    batch = (audio, mel, wavegrad.draw_noise_level(2, g), torch.randn(audio.shape, generator=g))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, _ = loss_fn(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.65 * losses[0], losses[::10]  # measured 0.80 -> 0.42
