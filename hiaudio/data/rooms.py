"""Rooms and effects for rendered choirs: impulse responses, microphone distance, ensemble chorus.

Every effect here is linear and applied to each part's stem on its own, so the stems still sum
to the mixture exactly and each stem is "that part as the microphone heard it" (reverb and all):
what a separator should return.

* `synthetic_ir`: an exponentially decaying noise tail (Moorer 1979; Schroeder's statistical
  model) in three bands, the high band decaying faster (air and wall absorption), after a
  pre-delay and a few sparse early reflections; its level against the direct sound is the
  direct-to-reverberant ratio, which falls as the microphone moves away. Any RT60 from a dry
  studio to a large church (0.1-3 s) costs one FFT convolution.
* `shoebox_ir`: pyroomacoustics' image-source model of a shoebox room (Allen & Berkley 1979),
  a source and a microphone placed in it: physical early reflections and the distance's own
  delay and level. The image order is capped (`SHOEBOX_MAX_ORDER`), so use it for small and
  medium rooms; its late tail is then shorter than the room's RT60.
* `chorus`: a slowly modulated delay mixed with the dry signal (an ensemble effect); it bends
  the pitch by a few cents at most (`chorus_max_cents`).

    room = sample_room(rng, sample_rate)              # a Room: kind, rt60_s, drr_db, ...
    wet = apply_room(stems, room, sample_rate, rng)   # (P, S) -> (P, S), a different IR per part
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

ROOM_KINDS = ("dry", "synthetic", "shoebox")
RT60_RANGE_S = (0.2, 3.0)  # a small room to a large church
DRR_RANGE_DB = (-6.0, 12.0)  # far microphone (reverberant) .. close microphone
SHOEBOX_MAX_ORDER = 12  # image-source order: ~0.1 s at most for a 3 s build of 4 parts (2 shared cores)
IR_MAX_S = 4.0


@dataclasses.dataclass(frozen=True)
class Room:
    kind: str  # "dry", "synthetic" (statistical tail) or "shoebox" (pyroomacoustics image sources)
    rt60_s: float = 0.0  # reverberation time (synthetic); the target for the shoebox's absorption
    drr_db: float = 99.0  # direct-to-reverberant ratio (synthetic): lower = microphone farther away
    dims_m: tuple[float, float, float] = (0.0, 0.0, 0.0)  # shoebox size
    mic_distance_m: float = 0.0  # shoebox: from the choir's centre to the microphone

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def sample_room(rng: np.random.Generator, kinds: tuple[str, ...] = ROOM_KINDS,
                p_dry: float = 0.15) -> Room:
    """A random room: dry with probability p_dry (if allowed), else one of the other kinds."""
    wet = [k for k in kinds if k != "dry"]
    if "dry" in kinds and (not wet or rng.random() < p_dry):
        return Room("dry")
    kind = wet[int(rng.integers(len(wet)))]
    rt60 = float(math.exp(rng.uniform(math.log(RT60_RANGE_S[0]), math.log(RT60_RANGE_S[1]))))
    if kind == "synthetic":
        return Room("synthetic", rt60_s=rt60, drr_db=float(rng.uniform(*DRR_RANGE_DB)))
    dims = (float(rng.uniform(5, 25)), float(rng.uniform(4, 18)), float(rng.uniform(3, 10)))
    return Room("shoebox", rt60_s=min(rt60, 1.2), dims_m=dims,
                mic_distance_m=float(rng.uniform(1.0, min(dims[0], dims[1]) / 2 - 0.6)))


def synthetic_ir(rt60_s: float, drr_db: float, sample_rate: int, rng: np.random.Generator,
                 predelay_s: float | None = None, n_early: int = 6) -> np.ndarray:
    """A room impulse response (S,) float32: a unit direct path, sparse early reflections, then a
    noise tail decaying 60 dB in rt60_s (low band), 0.8 x rt60 (mid), 0.5 x rt60 (high), scaled so
    that direct energy / everything after = drr_db."""
    n = int(min(IR_MAX_S, 1.5 * rt60_s + 0.1) * sample_rate)
    predelay = predelay_s if predelay_s is not None else rng.uniform(0.005, 0.03)
    t = np.arange(n) / sample_rate
    tail = np.zeros(n)
    noise = rng.standard_normal(n)
    spec = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    for lo, hi, factor in ((0, 500, 1.0), (500, 4000, 0.8), (4000, sample_rate / 2 + 1, 0.5)):
        band = np.fft.irfft(np.where((freqs >= lo) & (freqs < hi), spec, 0), n)
        tail += band * np.exp(-6.91 * t / (rt60_s * factor))  # 60 dB = e^-6.91
    start = int(predelay * sample_rate)
    tail[:start] = 0.0
    tail[start:] *= np.minimum(1.0, (t[start:] - predelay) / 0.01)  # 10 ms fade-in of the diffuse field
    for _ in range(n_early):  # early reflections: sparse taps within 80 ms of the direct sound
        k = int((predelay * rng.uniform(0.3, 1.0) + rng.uniform(0.0, 0.08)) * sample_rate)
        if 0 < k < n:
            tail[k] += rng.uniform(0.2, 0.6) * rng.choice((-1.0, 1.0)) * math.exp(-6.91 * k / sample_rate / rt60_s)
    reverb_energy = float(np.sum(tail ** 2))
    tail *= math.sqrt(10 ** (-drr_db / 10) / max(reverb_energy, 1e-12))
    tail[0] += 1.0  # the direct path
    return tail.astype(np.float32)


def shoebox_ir(dims_m, rt60_s: float, source_m, mic_m, sample_rate: int,
               max_order: int = SHOEBOX_MAX_ORDER) -> np.ndarray:
    """pyroomacoustics' image-source IR (S,) float32 from `source_m` to `mic_m` in a shoebox of
    `dims_m` whose wall absorption gives `rt60_s` by Sabine's formula; normalised so that the
    direct path (at distance d) has gain 1/d relative to 1 m (pyroomacoustics' own scale)."""
    import pyroomacoustics as pra

    absorption, order = pra.inverse_sabine(rt60_s, list(dims_m))
    room = pra.ShoeBox(list(dims_m), fs=sample_rate, materials=pra.Material(absorption),
                       max_order=min(order, max_order), use_rand_ism=False)
    room.add_source(list(source_m))
    room.add_microphone(list(mic_m))
    room.compute_rir()
    ir = np.asarray(room.rir[0][0], dtype=np.float64)
    # pyroomacoustics delays every IR by a fractional-delay filter's half-length: trim it off so
    # that the direct sound arrives at its travel time
    lead = pra.constants.get("frac_delay_length") // 2
    ir = ir[lead:]
    return ir[: int(IR_MAX_S * sample_rate)].astype(np.float32)


def part_irs(room: Room, n_parts: int, sample_rate: int, rng: np.random.Generator) -> list[np.ndarray | None]:
    """One IR per part (None for a dry room): parts stand at different places on the stage."""
    if room.kind == "dry":
        return [None] * n_parts
    if room.kind == "synthetic":
        # the parts stand at slightly different distances: DRR within +-2 dB of the room's
        return [synthetic_ir(room.rt60_s, room.drr_db + rng.uniform(-2, 2), sample_rate, rng) for _ in range(n_parts)]
    x, y, z = room.dims_m
    mic = (x / 2, y / 2 - room.mic_distance_m, 1.8)
    irs = []
    for p in range(n_parts):  # a row across the stage, 1.2 m apart, centred on x/2
        src = (x / 2 + (p - (n_parts - 1) / 2) * 1.2 + rng.uniform(-0.2, 0.2), y / 2 + rng.uniform(-0.3, 0.3), 1.6)
        irs.append(shoebox_ir(room.dims_m, room.rt60_s, src, mic, sample_rate))
    return irs


def convolve(x: np.ndarray, ir: np.ndarray | None) -> np.ndarray:
    """x (S,) convolved with ir, cut to len(x) (the tail past the clip's end is lost, as in a recording)."""
    if ir is None:
        return x
    from scipy.signal import fftconvolve

    return fftconvolve(x, ir)[: len(x)].astype(np.float32)


def apply_room(stems: np.ndarray, room: Room, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """(P, S) dry stems -> (P, S) stems in `room`, each part through its own IR."""
    irs = part_irs(room, stems.shape[0], sample_rate, rng)
    return np.stack([convolve(s, ir) for s, ir in zip(stems, irs)]).astype(np.float32)


def chorus(x: np.ndarray, sample_rate: int, rng: np.random.Generator, depth_ms: float = 3.0,
           rate_hz: float = 0.8, mix: float = 0.5, base_ms: float = 15.0) -> np.ndarray:
    """Ensemble chorus: x + mix * x delayed by base_ms + depth_ms * sin(2 pi rate t) (linear interp.)."""
    n = len(x)
    t = np.arange(n) / sample_rate
    delay = (base_ms + depth_ms * np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 2 * np.pi))) * 1e-3 * sample_rate
    pos = np.arange(n) - delay
    i0 = np.floor(pos).astype(np.int64)
    frac = pos - i0
    valid = i0 >= 0
    i0c = np.clip(i0, 0, n - 1)
    i1c = np.clip(i0 + 1, 0, n - 1)
    delayed = np.where(valid, x[i0c] * (1 - frac) + x[i1c] * frac, 0.0)
    return ((x + mix * delayed) / (1 + mix)).astype(np.float32)


def chorus_max_cents(depth_ms: float, rate_hz: float) -> float:
    """The largest pitch bend (cents) `chorus` gives its delayed copy: the delay's slope is at most
    2 pi rate depth, and a delay changing at rate r shifts the pitch by a factor 1 - r."""
    slope = 2 * math.pi * rate_hz * depth_ms * 1e-3
    return abs(1200 * math.log2(1 - slope))
