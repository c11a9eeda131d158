"""hiaudio.audio: known answers for good clips, helpful AudioErrors for bad ones."""

import shutil
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from hiaudio import audio
from hiaudio.audio import STUDIO_RATE, AudioError, load_audio, save_wav, validate

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def sine(f0_hz=220.0, duration_s=1.0, sr=STUDIO_RATE, amp=0.5):
    t = np.arange(int(round(duration_s * sr))) / sr
    return (amp * np.sin(2 * np.pi * f0_hz * t)).astype(np.float32)


def write(path, wave, sr=STUDIO_RATE, subtype="PCM_16"):
    sf.write(str(path), wave, sr, subtype=subtype)
    return path


def peak_freq_hz(wave, sr):
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    return np.argmax(spectrum) * sr / wave.size


# --- good input: known answers ---------------------------------------------------------------


def test_wav_at_studio_rate_round_trips(tmp_path):
    x = sine(220.0, 1.0)
    wave, sr = load_audio(write(tmp_path / "a.wav", x))
    assert sr == STUDIO_RATE and wave.dtype == np.float32 and wave.shape == x.shape
    assert np.max(np.abs(wave - x)) < 1e-4  # 16-bit quantisation only


def test_96k_stereo_24bit_is_downmixed_and_resampled(tmp_path):
    sr_in = 96000
    left, right = sine(440.0, 1.5, sr_in, 0.6), sine(440.0, 1.5, sr_in, 0.2)
    path = write(tmp_path / "hi.wav", np.stack([left, right], axis=1), sr_in, "PCM_24")
    assert sf.info(str(path)).channels == 2
    wave, sr = load_audio(path)
    assert sr == 22050 and wave.ndim == 1 and wave.dtype == np.float32
    assert abs(wave.size / sr - 1.5) < 1e-3
    assert abs(np.max(np.abs(wave)) - 0.4) < 0.01  # mean of the two channels
    assert abs(peak_freq_hz(wave, sr) - 440.0) < 2.0


def test_bytes_source_matches_path_source(tmp_path):
    path = write(tmp_path / "a.flac", sine(330.0, 0.5))
    from_path, _ = load_audio(path)
    from_bytes, _ = load_audio(path.read_bytes())
    np.testing.assert_array_equal(from_path, from_bytes)


@needs_ffmpeg
def test_mp3_loads(tmp_path):
    wav = write(tmp_path / "a.wav", sine(440.0, 2.0))
    mp3 = tmp_path / "a.mp3"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    wave, sr = load_audio(mp3)
    assert sr == STUDIO_RATE and abs(wave.size / sr - 2.0) < 0.1  # encoder padding
    assert abs(peak_freq_hz(wave, sr) - 440.0) < 2.0


@needs_ffmpeg
def test_format_only_ffmpeg_reads_loads(tmp_path):
    wav = write(tmp_path / "a.wav", sine(440.0, 1.0))
    m4a = tmp_path / "a.m4a"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), "-c:a", "aac", str(m4a)],
        check=True,
    )
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(m4a))  # so this really goes through the ffmpeg path
    for source in (m4a, m4a.read_bytes()):
        wave, sr = load_audio(source)
        assert abs(wave.size / sr - 1.0) < 0.1
        assert abs(peak_freq_hz(wave, sr) - 440.0) < 2.0


def test_float_wav_over_full_scale_is_scaled_not_clipped(tmp_path):
    x = sine(220.0, 0.5, amp=3.0)
    wave, _ = load_audio(write(tmp_path / "loud.wav", x, subtype="FLOAT"))
    np.testing.assert_allclose(wave, x / np.max(np.abs(x)), atol=1e-6)  # no flat tops


def test_clipping_is_a_warning_not_an_error(tmp_path):
    x = np.clip(sine(220.0, 1.0, amp=2.0), -1.0, 1.0)
    notes = []
    wave, _ = load_audio(write(tmp_path / "clipped.wav", x), warnings=notes)
    assert wave.size == x.size
    assert len(notes) == 1 and "clipped" in notes[0] and "%" in notes[0]
    assert validate(sine(220.0, 1.0), STUDIO_RATE) == []


def test_save_wav_writes_16_bit_and_float(tmp_path):
    x = sine(220.0, 0.5)
    p16 = save_wav(tmp_path / "sub" / "a.wav", x, STUDIO_RATE)
    info = sf.info(str(p16))
    assert (info.samplerate, info.channels, info.subtype) == (STUDIO_RATE, 1, "PCM_16")
    pf = save_wav(tmp_path / "b.wav", x, STUDIO_RATE, subtype="FLOAT")
    assert sf.info(str(pf)).subtype == "FLOAT"
    np.testing.assert_array_equal(sf.read(str(pf), dtype="float32")[0], x)


# --- bad input: each raises AudioError with a message a person can act on -------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(path)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no file"):
        load_audio(tmp_path / "nope.wav")


def test_zero_length_audio(tmp_path):
    path = write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError, match="no samples"):
        load_audio(path)
    with pytest.raises(AudioError, match="no samples"):
        validate(np.zeros(0, dtype=np.float32), STUDIO_RATE)


def test_silence(tmp_path):
    with pytest.raises(AudioError, match="digital silence"):
        load_audio(write(tmp_path / "silent.wav", np.zeros(STUDIO_RATE, dtype=np.float32)))
    with pytest.raises(AudioError, match=r"silent.*-80 dBFS.*-60 dBFS"):
        validate(sine(220.0, 1.0, amp=1e-4), STUDIO_RATE)


def test_nan_samples(tmp_path):
    x = sine(220.0, 1.0)
    x[100:110] = np.nan
    with pytest.raises(AudioError, match="10 of 22050 samples are NaN"):
        load_audio(write(tmp_path / "nan.wav", x, subtype="FLOAT"))
    x[100:110] = np.inf
    with pytest.raises(AudioError, match="NaN or infinite"):
        validate(x, STUDIO_RATE)


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are my lyrics, not a recording\n" * 20)
    with pytest.raises(AudioError, match="could not be read as audio"):
        load_audio(path)


def test_random_bytes():
    noise = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError, match="could not be read as audio"):
        load_audio(noise)


def test_truncated_wav(tmp_path):
    whole = write(tmp_path / "whole.wav", sine(220.0, 1.0)).read_bytes()
    with pytest.raises(AudioError, match=r"truncated.*1\.00 s.*0\.50 s"):
        load_audio(whole[: 44 + STUDIO_RATE])  # header plus half of the 16-bit samples
    with pytest.raises(AudioError, match="could not be read as audio"):
        load_audio(whole[:30])  # cut inside the header


def test_too_long(tmp_path):
    path = write(tmp_path / "long.wav", sine(220.0, 2.0))
    with pytest.raises(AudioError, match=r"2\.0 s long; the limit is 1 s"):
        load_audio(path, max_duration_s=1.0)
    with pytest.raises(AudioError, match="limit is 1 s"):
        validate(sine(220.0, 2.0), STUDIO_RATE, max_duration_s=1.0)


def test_too_short():
    with pytest.raises(AudioError, match=r"0\.050 s long; at least 0\.1 s"):
        validate(sine(220.0, 0.05), STUDIO_RATE)


def test_long_file_is_refused_from_its_header(tmp_path, monkeypatch):
    path = write(tmp_path / "ten_min.wav", np.zeros(8000 * 600, dtype=np.int16), sr=8000)

    def no_decoding(*args, **kwargs):
        raise AssertionError("samples were decoded before the length check")

    monkeypatch.setattr(sf.SoundFile, "read", no_decoding)
    start = time.perf_counter()
    with pytest.raises(AudioError, match=r"600\.0 s long; the limit is 60 s"):
        load_audio(path)
    assert time.perf_counter() - start < 1.0


@needs_ffmpeg
def test_long_file_through_ffmpeg_is_refused(tmp_path):
    wav = write(tmp_path / "a.wav", sine(220.0, 3.0))
    m4a = tmp_path / "a.m4a"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(m4a)], check=True)
    with pytest.raises(AudioError, match="longer than the limit of 1 s"):
        load_audio(m4a, max_duration_s=1.0)


def test_file_over_size_limit(tmp_path, monkeypatch):
    path = write(tmp_path / "a.wav", sine(220.0, 1.0))
    monkeypatch.setattr(audio, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(AudioError, match=r"MB; the limit is"):
        load_audio(path)


def test_missing_ffmpeg_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match="ffmpeg.*not installed"):
        load_audio(b"not audio at all")


def test_bad_sample_rate_and_shape():
    with pytest.raises(AudioError, match="sample rate is 0"):
        validate(sine(), 0)
    with pytest.raises(AudioError, match="mono"):
        validate(np.zeros((100, 2), dtype=np.float32), STUDIO_RATE)
