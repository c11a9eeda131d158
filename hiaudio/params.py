"""`VoiceParams`: one monophonic voice as interpretable, editable parameters.

Every array is per analysis frame; frame ``t`` is centred on sample ``t * hop_samples``.
The source-filter picture (Fant 1960; UMSS, Schulze-Forster et al. 2023):

    harmonic k at time t  =  voiced[t] * 10**(harmonic_db[t, k] / 20)   (the source)
                             * |H_t(k * f0_hz[t])|                       (the vocal tract)
    noise at time t       =  white noise shaped by |H_t(f)| * 10**(noise_db[t, band(f)] / 20)

with ``H_t(f) = 10**(gain_db[t] / 20) / A_t(f)``, an all-pole filter whose line spectral
frequencies ``lsf_rad[t]`` are strictly increasing in (0, pi): stable by construction.
A spectral tilt of ``tilt_db_per_oct[t]`` (about 1 kHz) is applied on top of both parts, and
``formant_ratio[t]`` scales the tract's frequency axis: H is heard as H(f / ratio), a
vocal-tract-length warp (1.2 = every formant 20 % higher, whatever the pitch).

The JSON form is what the CLI writes and the studio offers for download; it is untrusted on
the way in, so `from_json` checks types, shapes and ranges before anything is synthesized.
"""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

SCHEMA = "hiaudio.voice_params/1"

# Limits applied to parameter files a person uploads (a 10 min clip at a 5 ms hop is 120k frames).
MAX_FRAMES = 200_000
MAX_HARMONICS = 512
MAX_LPC_ORDER = 64
MAX_NOISE_BANDS = 64
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


class ParamsError(ValueError):
    """A parameter file or object that cannot be synthesized; the message says why and what to do."""


@dataclasses.dataclass
class VoiceParams:
    sample_rate: int  # Hz, of the audio these parameters describe and synthesize
    hop_samples: int  # samples between frames
    f0_hz: np.ndarray  # (T,) fundamental frequency; interpolated (not 0) through unvoiced frames
    voiced: np.ndarray  # (T,) voicing in [0, 1]; 0 silences the harmonic part
    lsf_rad: np.ndarray  # (T, P) line spectral frequencies, strictly increasing in (0, pi), P even
    gain_db: np.ndarray  # (T,) vocal-tract filter gain
    harmonic_db: np.ndarray  # (T, K) source level of harmonic k+1 relative to the filter
    noise_db: np.ndarray  # (T, B) noise level per band relative to the filter
    tilt_db_per_oct: np.ndarray  # (T,) spectral tilt about TILT_PIVOT_HZ (brightness)
    formant_ratio: np.ndarray  # (T,) vocal-tract frequency scaling; 1 = as analysed

    # ---- sizes -----------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.f0_hz.shape[0])

    @property
    def n_harmonics(self) -> int:
        return int(self.harmonic_db.shape[1])

    @property
    def lpc_order(self) -> int:
        return int(self.lsf_rad.shape[1])

    @property
    def n_noise_bands(self) -> int:
        return int(self.noise_db.shape[1])

    @property
    def n_samples(self) -> int:
        return self.n_frames * self.hop_samples

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    @property
    def times_s(self) -> np.ndarray:
        return np.arange(self.n_frames) * (self.hop_samples / self.sample_rate)

    def replace(self, **changes) -> "VoiceParams":
        """A copy with some fields replaced (edits are pure: they never mutate their input)."""
        return dataclasses.replace(self, **changes)

    def copy(self) -> "VoiceParams":
        return self.replace(**{f.name: np.array(getattr(self, f.name), copy=True)
                               for f in dataclasses.fields(self) if _is_array_field(f.name)})

    # ---- JSON ------------------------------------------------------------------------------
    def to_dict(self, decimals: int = 3) -> dict:
        out: dict = {"schema": SCHEMA}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _is_array_field(f.name):
                places = decimals + 2 if f.name == "lsf_rad" else decimals  # keep LSFs apart
                value = np.round(np.asarray(value, dtype=np.float64), places).tolist()
            out[f.name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> "VoiceParams":
        if not isinstance(data, dict):
            raise ParamsError("the parameter file must hold a JSON object; export one with "
                              "`python -m hiaudio analyze VOICE.wav --out params.json`")
        if data.get("schema") != SCHEMA:
            raise ParamsError(f"the parameter file's schema is {data.get('schema')!r}; hiaudio reads "
                              f"{SCHEMA!r} files, as written by `python -m hiaudio analyze`")
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data]
        if missing:
            raise ParamsError(f"the parameter file lacks {', '.join(missing)}; re-export it with "
                              "`python -m hiaudio analyze`")
        kwargs = {}
        for f in dataclasses.fields(cls):
            value = data[f.name]
            if _is_array_field(f.name):
                try:
                    value = np.asarray(value, dtype=np.float32)
                except (TypeError, ValueError):
                    raise ParamsError(f"'{f.name}' must be an array of numbers (a ragged or "
                                      "non-numeric list was found)") from None
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ParamsError(f"'{f.name}' must be an integer, not {type(value).__name__}")
            kwargs[f.name] = value
        params = cls(**kwargs)
        params.validate()
        return params

    @classmethod
    def from_json(cls, text: str | bytes) -> "VoiceParams":
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise ParamsError(f"the parameter file is not valid JSON ({err}); export one with "
                              "`python -m hiaudio analyze`") from None
        return cls.from_dict(data)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())

    @classmethod
    def load(cls, path, max_bytes: int = 200_000_000) -> "VoiceParams":
        with open(path, "rb") as fh:
            text = fh.read(max_bytes + 1)
        if len(text) > max_bytes:
            raise ParamsError(f"the parameter file is over {max_bytes // 1_000_000} MB; "
                              "analyze a shorter clip")
        return cls.from_json(text)

    # ---- checks ----------------------------------------------------------------------------
    def validate(self) -> "VoiceParams":
        """Check types, shapes and ranges; raise `ParamsError` saying what is wrong."""
        if self.sample_rate not in SAMPLE_RATES:
            raise ParamsError(f"sample_rate {self.sample_rate} Hz is not one of {SAMPLE_RATES}")
        if not 1 <= self.hop_samples <= 4096:
            raise ParamsError(f"hop_samples is {self.hop_samples}; it must be in 1..4096")
        T = self.n_frames
        if not 1 <= T <= MAX_FRAMES:
            raise ParamsError(f"{T} frames; a parameter set holds 1..{MAX_FRAMES} frames")
        shapes = {"f0_hz": (T,), "voiced": (T,), "gain_db": (T,), "tilt_db_per_oct": (T,),
                  "formant_ratio": (T,)}
        for name, shape in shapes.items():
            if np.shape(getattr(self, name)) != shape:
                raise ParamsError(f"'{name}' has shape {np.shape(getattr(self, name))}; "
                                  f"expected {shape} (one value per frame)")
        for name, limit in (("lsf_rad", MAX_LPC_ORDER), ("harmonic_db", MAX_HARMONICS),
                            ("noise_db", MAX_NOISE_BANDS)):
            value = getattr(self, name)
            if value.ndim != 2 or value.shape[0] != T or not 1 <= value.shape[1] <= limit:
                raise ParamsError(f"'{name}' has shape {value.shape}; expected ({T}, 1..{limit})")
        for f in dataclasses.fields(self):
            if _is_array_field(f.name) and not np.all(np.isfinite(getattr(self, f.name))):
                raise ParamsError(f"'{f.name}' holds NaN or infinite values")
        nyquist = self.sample_rate / 2
        if np.any(self.f0_hz < 20.0) or np.any(self.f0_hz > nyquist / 2):
            raise ParamsError(f"f0_hz must lie in 20..{nyquist / 2:.0f} Hz; found "
                              f"{self.f0_hz.min():.1f}..{self.f0_hz.max():.1f}")
        if np.any(self.voiced < 0) or np.any(self.voiced > 1):
            raise ParamsError("'voiced' must lie in [0, 1]")
        if self.lpc_order % 2:
            raise ParamsError(f"the filter order is {self.lpc_order}; it must be even")
        lsf = self.lsf_rad
        if np.any(lsf <= 0) or np.any(lsf >= math.pi) or np.any(np.diff(lsf, axis=1) <= 0):
            raise ParamsError("'lsf_rad' must be strictly increasing inside (0, pi) in every frame "
                              "(that is what keeps the filter stable)")
        for name, lo, hi in (("gain_db", -200, 200), ("harmonic_db", -200, 100),
                             ("noise_db", -200, 100), ("tilt_db_per_oct", -24, 24),
                             ("formant_ratio", 0.25, 4.0)):
            value = getattr(self, name)
            if np.any(value < lo) or np.any(value > hi):
                raise ParamsError(f"'{name}' must lie in {lo}..{hi}; found "
                                  f"{value.min():.1f}..{value.max():.1f}")
        return self


def _is_array_field(name: str) -> bool:
    return name not in ("sample_rate", "hop_samples")
