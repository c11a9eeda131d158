"""hiaudio/studio/vocode.py: mel -> audio by Griffin-Lim, WaveGrad and GLA-Grad; the CLI's vocode."""
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


@pytest.fixture(scope="module")
def voice():
    audio, _ = harmonic_voice(160.0, SR, duration_s=1.0, vibrato_cents=40.0)
    return audio  # (16000,) peak 0.5


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return wavegrad.WaveGrad(channels=(8, 8, 8, 8, 8)).eval()


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
