"""Audio at the edge: load, convert, check and save clips.

Everything the studio takes in passes through here first, so the code below it can assume
a mono float32 wave in [-1, 1] at a known rate. Bad input raises `AudioError`, whose message
says what is wrong, with numbers, and what to do about it. Gradio-free: the tabs (hiaudio/ui)
turn `AudioError` into `gr.Error`.

    wave, sr = load_audio("take.mp3")                  # (n,) float32 at 22050 Hz
    notes = validate(wave, sr)                          # raises, or returns warnings
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

STUDIO_RATE = 22050  # Hz; every studio pipeline runs at this rate
MAX_DURATION_S = 60.0  # longest clip the studio accepts
MIN_DURATION_S = 0.1  # shorter than this leaves no room for a pitch period or an STFT frame
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # refuse bigger files before reading them
SILENCE_DBFS = -60.0  # a clip whose loudest sample is below this is treated as silent
CLIP_LEVEL = 0.999  # |sample| at or above this counts as full scale
CLIP_FRACTION = 0.001  # warn when more than 0.1 % of the samples sit at full scale
FFMPEG_TIMEOUT_S = 60.0  # decoding one clip should never take this long

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]


class AudioError(ValueError):
    """Audio we cannot use. The message says what is wrong, with numbers, and what to do."""


# ---------------------------------------------------------------------------------------------
# Public API


def load_audio(
    source: Source,
    target_sr: int = STUDIO_RATE,
    max_duration_s: float = MAX_DURATION_S,
    warnings: list[str] | None = None,
) -> tuple[np.ndarray, int]:
    """Read a clip from a path or from the file's bytes; return (wave, target_sr).

    WAV, FLAC, OGG and MP3 are read with soundfile; anything else (M4A, WebM, ...) is decoded
    by an `ffmpeg` subprocess. The result is mono (channels averaged), resampled to target_sr
    Hz with torchaudio, float32, shape (n,), in [-1, 1]. The file's size and its header's
    length are checked before the samples are decoded, so a huge file is refused quickly.
    The clip is then checked by `validate`; its warnings are appended to `warnings` if given.
    """
    data, path, n_bytes = _open_source(source)
    if n_bytes == 0:
        raise AudioError("the file is empty (0 bytes); upload a recording that has sound in it")
    if n_bytes > MAX_UPLOAD_BYTES:
        raise AudioError(
            f"the file is {n_bytes / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 2**20:.0f} MB."
            f" Trim it to under {max_duration_s:.0f} s or export it compressed (MP3, OGG)"
        )
    decoded = _read_soundfile(data, path, max_duration_s)
    if decoded is None:  # not a format libsndfile knows
        decoded = _read_ffmpeg(data, path, max_duration_s)
    frames, sr = decoded  # (n, channels)
    wave = _scale_float(frames.mean(axis=1, dtype=np.float32))  # (n,) channels averaged
    notes = validate(wave, sr, max_duration_s)
    if warnings is not None:
        warnings.extend(notes)
    return resample(wave, sr, target_sr), target_sr


def validate(wave: np.ndarray, sr: int, max_duration_s: float = MAX_DURATION_S) -> list[str]:
    """Check a mono clip before it enters the studio.

    Raises AudioError for an empty clip, NaN or infinite samples, a clip longer than
    max_duration_s or shorter than MIN_DURATION_S, and silence (peak below SILENCE_DBFS).
    Returns warnings (strings for a person) for problems the studio can live with:
    clipping, when more than CLIP_FRACTION of the samples sit at full scale.
    """
    sr = _check_rate(sr)
    wave = np.asarray(wave)
    if wave.ndim != 1:
        raise AudioError(f"expected a mono clip, shape (samples,); got shape {wave.shape}")
    if wave.size == 0:
        raise AudioError("the clip has no samples (0 s); upload a recording that has sound in it")
    bad = int(np.count_nonzero(~np.isfinite(wave)))
    if bad:
        raise AudioError(
            f"{bad} of {wave.size} samples are NaN or infinite; the file is damaged."
            " Re-export it from your editor as 16-bit WAV"
        )
    duration_s = wave.size / sr
    if duration_s > max_duration_s:
        raise AudioError(_too_long(duration_s, max_duration_s))
    if duration_s < MIN_DURATION_S:
        raise AudioError(
            f"the clip is {duration_s:.3f} s long; at least {MIN_DURATION_S} s is needed."
            " Upload a longer recording"
        )
    peak = float(np.max(np.abs(wave)))
    if peak == 0.0:
        raise AudioError(
            "the clip is digital silence (every sample is 0); check that the right input"
            " was recorded or upload another file"
        )
    peak_dbfs = 20.0 * np.log10(peak)
    if peak_dbfs < SILENCE_DBFS:
        raise AudioError(
            f"the clip is silent: its loudest sample is {peak_dbfs:.0f} dBFS, below the"
            f" {SILENCE_DBFS:.0f} dBFS floor. Record closer to the microphone or raise its gain"
        )
    warnings = []
    n_clipped = int(np.count_nonzero(np.abs(wave) >= CLIP_LEVEL))
    if n_clipped > CLIP_FRACTION * wave.size:
        warnings.append(
            f"{n_clipped} samples ({100.0 * n_clipped / wave.size:.1f} %) sit at full scale:"
            " the recording is probably clipped, and analysis may hear the distortion."
            " Record again with lower input gain if you can"
        )
    return warnings


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono wave (n,) from orig_sr to target_sr Hz; float32, clipped to [-1, 1]."""
    orig_sr, target_sr = _check_rate(orig_sr), _check_rate(target_sr)
    wave = np.asarray(wave, dtype=np.float32)
    if orig_sr != target_sr and wave.size:
        # windowed-sinc resampling (torchaudio's default Hann window, 6 zero crossings)
        y = AF.resample(torch.from_numpy(wave), orig_freq=orig_sr, new_freq=target_sr)
        wave = y.numpy()
    # the sinc filter can overshoot full scale by a few percent next to clipped samples
    return np.clip(wave, -1.0, 1.0).astype(np.float32, copy=False)


def save_wav(
    path: str | os.PathLike, wave: np.ndarray, sr: int, subtype: str = "PCM_16"
) -> Path:
    """Write wave, shape (n,) or (n, channels), in [-1, 1], as a WAV file; return its path.

    subtype: "PCM_16" (16-bit integers, samples clipped to [-1, 1]) or "FLOAT" (32-bit).
    """
    if subtype not in ("PCM_16", "FLOAT"):
        raise ValueError(f"subtype is {subtype!r}; use 'PCM_16' or 'FLOAT'")
    wave = np.asarray(wave, dtype=np.float32)
    if not np.isfinite(wave).all():
        raise AudioError("refusing to save a wave with NaN or infinite samples")
    if subtype == "PCM_16":
        wave = np.clip(wave, -1.0, 1.0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, _check_rate(sr), subtype=subtype, format="WAV")
    return path


# ---------------------------------------------------------------------------------------------
# Decoding


def _open_source(source: Source) -> tuple[bytes | None, Path | None, int]:
    """Return (bytes or None, path or None, size in bytes) without reading a path's samples."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data, None, len(data)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or bytes, not {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise AudioError(f"no file at {path}; check the path or upload the file again")
    if not path.is_file():
        raise AudioError(f"{path} is not a file; choose an audio file (WAV, FLAC, OGG, MP3)")
    return None, path, path.stat().st_size


def _read_soundfile(
    data: bytes | None, path: Path | None, max_duration_s: float
) -> tuple[np.ndarray, int] | None:
    """Decode with libsndfile: (frames (n, channels) float32, rate), or None if not its format."""
    try:
        f = sf.SoundFile(io.BytesIO(data) if data is not None else str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    with f:
        sr, n_frames = f.samplerate, f.frames
        if sr <= 0:
            raise AudioError(f"the file's header gives a sample rate of {sr} Hz; it is damaged")
        # length from the header, before any sample is decoded: a huge file is refused here
        if n_frames / sr > max_duration_s:
            raise AudioError(_too_long(n_frames / sr, max_duration_s))
        if f.format == "WAV":
            promised = _wav_promised_frames(data, path)
            if promised is not None and promised > n_frames:
                raise AudioError(
                    f"the WAV file is truncated: its header promises {promised / sr:.2f} s of"
                    f" audio but only {n_frames / sr:.2f} s is there. Upload the whole file"
                )
        try:
            frames = f.read(dtype="float32", always_2d=True)  # (n, channels)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise AudioError(f"the file could not be decoded ({e}); re-export it as WAV") from e
    return frames, sr


def _wav_promised_frames(data: bytes | None, path: Path | None) -> int | None:
    """Frames that a RIFF/WAVE header's data chunk promises, or None when it does not say.

    libsndfile quietly reads what is there when a download was cut short; the header still
    holds the full length, which is how a truncated upload is told apart from a short clip.
    """
    if data is not None:
        head = data[:65536]
    else:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None  # RF64, RIFX, W64: leave to libsndfile
    block_align, pos = None, 12
    while pos + 8 <= len(head):
        chunk_id, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk_id == b"fmt " and pos + 8 + 14 <= len(head):
            block_align = struct.unpack("<H", head[pos + 20 : pos + 22])[0]
        if chunk_id == b"data":
            if not block_align or size in (0, 0xFFFFFFFF):  # streamed WAVs leave size unset
                return None
            return size // block_align
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def _read_ffmpeg(
    data: bytes | None, path: Path | None, max_duration_s: float
) -> tuple[np.ndarray, int]:
    """Decode any format ffmpeg knows to (frames (n, channels) float32, rate).

    ffmpeg writes a float32 WAV to stdout; `-t` stops it just past the limit, so a long
    file costs no more than the limit's worth of decoding.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(
            "this file is not WAV, FLAC, OGG or MP3, and ffmpeg, which decodes other formats,"
            " is not installed. Convert the file to WAV, or install ffmpeg (apt-get install ffmpeg)"
        )
    # "file:" keeps a path that starts with "-" or names a protocol from being misread
    src = "pipe:0" if data is not None else f"file:{path}"
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", src,
           "-vn", "-t", f"{max_duration_s + 1.0:.3f}", "-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
    try:
        out = subprocess.run(cmd, input=data, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise AudioError(
            f"decoding took longer than {FFMPEG_TIMEOUT_S:.0f} s; convert the file to WAV and"
            " upload that"
        ) from e
    if out.returncode != 0 or len(out.stdout) <= 44:
        lines = out.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1].replace(f"{src}: ", "") if lines else "no audio stream"
        raise AudioError(
            f"this file could not be read as audio (ffmpeg: {reason}). Upload a WAV, FLAC,"
            " OGG or MP3 file"
        )
    with sf.SoundFile(io.BytesIO(out.stdout)) as f:
        sr = f.samplerate
        frames = f.read(dtype="float32", always_2d=True)  # (n, channels)
    if frames.shape[0] / sr > max_duration_s:
        raise AudioError(_too_long(None, max_duration_s))
    return frames, sr


# ---------------------------------------------------------------------------------------------
# Small helpers


def _scale_float(wave: np.ndarray) -> np.ndarray:
    """Scale a wave down to peak 1 if float samples exceed full scale (rather than clip)."""
    if wave.size and np.isfinite(wave).all():
        peak = float(np.max(np.abs(wave)))
        if peak > 1.0:
            wave = wave / np.float32(peak)
    return wave


def _check_rate(sr) -> int:
    if int(sr) != sr or sr <= 0:
        raise AudioError(f"sample rate is {sr}; it must be a positive whole number of Hz")
    return int(sr)


def _too_long(duration_s: float | None, limit_s: float) -> str:
    said = (
        f"is {duration_s:.1f} s long; the limit is" if duration_s is not None
        else "is longer than the limit of"
    )
    return f"the clip {said} {limit_s:.0f} s. Trim it and upload it again"
