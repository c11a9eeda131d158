"""Hostile and broken audio files through the upload path (`audio.load_audio`, what every tab
calls first) and the command line: no crash, a clear message for each, no temporary files left.

The files are generated from one seed: random bytes under audio names, truncated and corrupted
WAV headers, lying chunk sizes, extreme rates and bit depths, NaN / Inf, all-zero, clipped,
durations far beyond the limit, stereo and multichannel oddities.
"""
import io
import struct
import tempfile

import numpy as np
import pytest
import soundfile as sf

from hiaudio import audio
from hiaudio.cli import main

N_FILES = 210
SR = 16000


def _wav_bytes(x: np.ndarray, sr: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, subtype=subtype, format=fmt)
    return buf.getvalue()


def _raw_wav(sr: int, bits: int, channels: int, data: bytes, fmt_code: int = 1, riff_size=None,
             data_size=None) -> bytes:
    """A WAV written by hand, so the header can say anything."""
    block = channels * max(bits // 8, 1)
    fmt = struct.pack("<HHIIHH", fmt_code, channels, sr, sr * block, block, bits)
    data_size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_size) + data
    riff_size = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff_size & 0xFFFFFFFF) + body


def bad_files(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    tone = (0.5 * np.sin(2 * np.pi * 220 * np.arange(int(0.3 * SR)) / SR)).astype(np.float32)
    good = _wav_bytes(tone, SR)
    makers = [
        lambda: ("random.wav", rng.bytes(int(rng.integers(0, 4000)))),
        lambda: ("random.mp3", rng.bytes(int(rng.integers(1, 4000)))),
        lambda: ("random.flac", b"fLaC" + rng.bytes(int(rng.integers(0, 2000)))),
        lambda: ("random.ogg", b"OggS" + rng.bytes(int(rng.integers(0, 2000)))),
        lambda: ("empty.wav", b""),
        lambda: ("truncated.wav", good[:int(rng.integers(1, len(good) - 1))]),
        lambda: ("header_only.wav", good[:44]),
        lambda: ("flipped.wav", bytes(b ^ 0xFF if i < 44 and rng.random() < 0.2 else b for i, b in enumerate(good))),
        lambda: ("lying_sizes.wav", _raw_wav(SR, 16, 1, good[44:], riff_size=int(rng.integers(0, 2**32)),
                                             data_size=int(rng.integers(0, 2**32)))),
        lambda: ("zero_rate.wav", _raw_wav(0, 16, 1, good[44:])),
        lambda: ("rate_1hz.wav", _raw_wav(1, 16, 1, good[44:2000])),
        lambda: ("rate_huge.wav", _raw_wav(int(rng.choice([768000, 4_000_000, 2**31 - 1])), 16, 1, good[44:])),
        lambda: ("bits_0.wav", _raw_wav(SR, 0, 1, good[44:])),
        lambda: ("bits_odd.wav", _raw_wav(SR, int(rng.choice([3, 12, 20, 48, 64])), 1, good[44:])),
        lambda: ("zero_channels.wav", _raw_wav(SR, 16, 0, good[44:])),
        lambda: ("many_channels.wav", _raw_wav(SR, 16, int(rng.integers(3, 300)), good[44:])),
        lambda: ("unknown_codec.wav", _raw_wav(SR, 16, 1, good[44:], fmt_code=int(rng.integers(4, 0xFFFF)))),
        lambda: ("nan.wav", _wav_bytes(np.where(rng.random(len(tone)) < 0.01, np.nan, tone).astype(np.float32),
                                       SR, "FLOAT")),
        lambda: ("inf.wav", _wav_bytes(np.where(rng.random(len(tone)) < 0.01, np.inf, tone).astype(np.float32),
                                       SR, "FLOAT")),
        lambda: ("all_nan.wav", _wav_bytes(np.full(len(tone), np.nan, np.float32), SR, "FLOAT")),
        lambda: ("zeros.wav", _wav_bytes(np.zeros(int(rng.integers(1, SR)), np.float32), SR)),
        lambda: ("too_short.wav", _wav_bytes(tone[:int(rng.integers(1, 1000))], SR)),
        lambda: ("clipped.wav", _wav_bytes(np.clip(tone * 20, -1, 1), SR)),
        lambda: ("float_overrange.wav", _wav_bytes(tone * float(rng.uniform(2, 1e6)), SR, "FLOAT")),
        lambda: ("double.wav", _wav_bytes(tone.astype(np.float64), SR, "DOUBLE")),
        lambda: ("u8.wav", _wav_bytes(tone, SR, "PCM_U8")),
        lambda: ("pcm24_96k_stereo.wav", _wav_bytes(np.stack([tone, -tone], 1), 96000, "PCM_24")),
        lambda: ("huge_claim.wav", _raw_wav(8000, 16, 1, good[44:], data_size=2**32 - 2)),
        lambda: ("too_long.wav", _wav_bytes(np.zeros(int(8000 * 700), np.int16) + 1000, 8000)),
        lambda: ("text.wav", b"this is not audio at all\n" * int(rng.integers(1, 50))),
        lambda: ("html.wav", b"<html><body>" + rng.bytes(100) + b"</body></html>"),
        lambda: ("zip_bomb_like.wav", b"PK\x03\x04" + rng.bytes(3000)),
    ]
    files = []
    for i in range(N_FILES):
        name, data = makers[i % len(makers)]()
        files.append((f"{i:03d}_{name}", data))
    return files


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(20261125)
    paths = []
    for name, data in bad_files(rng):
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A fresh temporary folder for everything (ours, ffmpeg's): must be empty afterwards."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_upload_path_never_crashes(fuzz_dir, private_tmp):
    assert len(fuzz_dir) >= 200
    refused = 0
    for path in fuzz_dir:
        try:
            wave, sr = audio.load_audio(path)
        except audio.AudioError as err:
            refused += 1
            message = str(err)
            assert 20 < len(message) < 400, (path.name, message)
            assert "Traceback" not in message
            continue
        except Exception as err:  # noqa: BLE001 -- exactly what this test hunts
            pytest.fail(f"{path.name}: {type(err).__name__}: {err}")
        # what gets through is usable: mono, finite, in range, at the studio's rate, within limits
        assert wave.ndim == 1 and np.isfinite(wave).all() and np.abs(wave).max() <= 1.0, path.name
        assert sr == audio.STUDIO_RATE and len(wave) / sr <= audio.MAX_DURATION_S
    assert refused >= 150  # nearly all are unusable; the clipped / odd-but-valid ones pass
    assert list(private_tmp.iterdir()) == []


def test_cli_never_crashes(fuzz_dir, private_tmp, tmp_path, capsys):
    for path in fuzz_dir[:N_FILES:3]:  # every third file: the CLI shares the loader
        out = tmp_path / "out" / (path.stem + ".json")
        try:
            status = main(["analyze", str(path), "--out", str(out)])
        except SystemExit as err:  # argparse only; never for a bad file
            pytest.fail(f"{path.name}: exit {err.code}")
        err_text = capsys.readouterr().err
        assert status in (0, 2), path.name
        if status == 2:
            last = err_text.strip().splitlines()[-1]  # warnings may come first
            assert last.startswith("error: ") and "Traceback" not in err_text, (path.name, err_text)
            assert not out.exists()
        else:
            assert out.exists()
    assert list(private_tmp.iterdir()) == []
