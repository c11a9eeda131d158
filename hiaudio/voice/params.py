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
MAX_HARMONICS = 400  # the most a voice is analysed, edited or sung with, and what a file may hold
MAX_LPC_ORDER = 64
MAX_NOISE_BANDS = 64
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
MAX_HOP_S = 0.01  # the noise is overlap-added in 11.6..21 ms windows: a longer hop leaves gaps
MAX_ABS_VALUE = 1e30  # any larger number is far out of every field's range (and of float32's)
EXPORT_ADVICE = ("export parameters from the studio's Voice tab, or with "
                 "`python -m hiaudio analyze VOICE.wav --out params.json`")


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
            raise ParamsError(f"the parameter file holds {_describe(data)}, not an object with "
                              f"the parameters; {EXPORT_ADVICE}")
        if data.get("schema") != SCHEMA:
            raise ParamsError(f"the parameter file's schema is {_short(repr(data.get('schema')))}; "
                              f"hiaudio reads {SCHEMA!r} files; {EXPORT_ADVICE}")
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [name for name in names if name not in data]
        if missing:
            raise ParamsError(f"the parameter file lacks {', '.join(missing)}; {EXPORT_ADVICE}")
        unknown = sorted(str(key) for key in data if key not in names and key != "schema")
        if unknown:  # a typo such as "f0" next to "f0_hz" would otherwise pass unnoticed
            raise ParamsError(f"the parameter file has unknown fields "
                              f"{_short(', '.join(unknown))}; {EXPORT_ADVICE}")
        kwargs = {}
        for name in names:
            value = data[name]
            if _is_array_field(name):
                value = _numbers(name, value, ndim=2 if name in _PER_FRAME_LISTS else 1)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ParamsError(f"'{name}' must be an integer, not {_describe(value)}")
            kwargs[name] = value
        params = cls(**kwargs)
        params.validate()
        return params

    @classmethod
    def from_json(cls, text: str | bytes) -> "VoiceParams":
        return cls.from_dict(parse_json(text))

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())

    @classmethod
    def load(cls, path, max_bytes: int = 200_000_000) -> "VoiceParams":
        """Read and check a parameter file; never reads more than `max_bytes` + 1 bytes."""
        return cls.from_json(read_file(path, max_bytes))

    # ---- checks ----------------------------------------------------------------------------
    def validate(self) -> "VoiceParams":
        """Check types, shapes and ranges; raise `ParamsError` saying what is wrong."""
        if self.sample_rate not in SAMPLE_RATES:
            raise ParamsError(f"sample_rate {self.sample_rate} Hz is not one of {SAMPLE_RATES}")
        max_hop = int(MAX_HOP_S * self.sample_rate)
        if not 1 <= self.hop_samples <= max_hop:
            raise ParamsError(f"hop_samples is {self.hop_samples}; at {self.sample_rate} Hz it "
                              f"must be in 1..{max_hop} ({1000 * MAX_HOP_S:g} ms)")
        if np.ndim(self.f0_hz) != 1:
            raise ParamsError(f"'f0_hz' has shape {np.shape(self.f0_hz)}; expected one value "
                              "per frame")
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


def read_file(path, max_bytes: int = 200_000_000) -> bytes:
    """A parameter file's bytes; never reads more than `max_bytes` + 1 of them."""
    with open(path, "rb") as fh:
        text = fh.read(max_bytes + 1)
    if len(text) > max_bytes:
        raise ParamsError(f"the parameter file is over {max_bytes / 1_000_000:.0f} MB, the "
                          "limit; analyze a shorter clip")
    return text


def parse_json(text: str | bytes):
    """The JSON value a parameter file holds; ParamsError saying what is wrong otherwise."""
    if not text.strip():
        raise ParamsError(f"the parameter file is empty; {EXPORT_ADVICE}")
    try:
        return json.loads(text)
    except RecursionError:
        raise ParamsError(f"the parameter file is nested too deeply to be parameters; "
                          f"{EXPORT_ADVICE}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise ParamsError(f"the parameter file is not valid JSON ({_short(str(err), 120)}); "
                          f"{EXPORT_ADVICE}") from None


def _is_array_field(name: str) -> bool:
    return name not in ("sample_rate", "hop_samples")


_PER_FRAME_LISTS = ("lsf_rad", "harmonic_db", "noise_db")  # a list per frame; the rest a number


def _numbers(name: str, value, ndim: int) -> np.ndarray:
    """A JSON list (ndim 1) or list of lists (ndim 2) of numbers -> float32, or ParamsError.

    Checked item by item: numpy would quietly turn true into 1.0, "7" into 7.0 and null into NaN.
    """
    shape = ("an array of numbers, one per frame" if ndim == 1
             else "an array of numbers with one row (a list) per frame")
    rows = [value] if ndim == 1 else value
    if not isinstance(value, list) or not all(isinstance(row, list) for row in rows):
        raise ParamsError(f"'{name}' must be {shape}; it is nested differently")
    for row in rows:
        kinds = set(map(type, row))
        if not kinds <= {int, float}:
            bad = next(x for x in row if type(x) not in (int, float))
            raise ParamsError(f"'{name}' must be {shape}; it holds {_describe(bad)}")
    try:
        array = np.array(value, dtype=np.float64)
    except OverflowError:  # an integer beyond float64
        raise ParamsError(f"'{name}' holds a number too large to be a parameter") from None
    except ValueError:  # rows of different lengths
        raise ParamsError(f"'{name}' must be {shape}, all rows of the same length") from None
    bad = ~np.isfinite(array)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0])
        raise ParamsError(f"'{name}' holds NaN or infinite values (first at frame {frame})")
    if np.any(np.abs(array) > MAX_ABS_VALUE):
        raise ParamsError(f"'{name}' holds {np.abs(array).max():.3g}, far out of range")
    return array.astype(np.float32)


def _describe(value) -> str:
    """An untrusted JSON value in a few words, for a message: `true`, `the string "7"`, `a list`."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {_short(json.dumps(value))}"
    if isinstance(value, (int, float)):
        return f"the number {_short(repr(value))}"
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _short(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters: a message never repeats a whole untrusted file."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
