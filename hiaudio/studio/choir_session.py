"""One person's choir session: the separated parts, each part's edits, and the live remix.

Each part is a `VoiceSession` (the Voice tab's: the part's voice model, its edits and cached
renders) whose "original" is the part's masked stem. A part nobody edited plays its masked stem
(the closest thing to what was sung); an edited part plays its resynthesis. The remix sums the
parts with their gains, mutes and solos. A value, like every studio session: it lives in a `gr.State`.

    session = start_choir_session(separate_choir(mix, sr, 4))
    session = set_part_edits(session, 2, Edits(scale_degrees=2, scale_key="G", scale_mode="major"))  # tenor up a third
    remix(session)  # (S,) float32
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hiaudio.dsp import units
from hiaudio.separation import comb
from hiaudio.separation.choir import ChoirSeparation
from hiaudio.studio.session import VoiceSession, edited_params, new_session, render_session
from hiaudio.voice import NO_EDITS, Edits, files, limit_peak

MIX_GAIN_DB = (-40.0, 12.0)  # the range of a part's gain in the remix


@dataclasses.dataclass(frozen=True)
class ChoirSession:
    """A value, as every studio session (`hiaudio.studio.session`): operations return a new one."""
    separation: ChoirSeparation
    parts: tuple[VoiceSession, ...]  # one per part, top-down; `original` is the masked stem
    audio: tuple[np.ndarray, ...]  # what each part plays now (stem, or resynthesis when edited)
    gains_db: tuple[float, ...]
    muted: tuple[bool, ...]
    solo: tuple[bool, ...]

    @property
    def sample_rate(self) -> int:
        return self.separation.sample_rate

    @property
    def names(self) -> tuple[str, ...]:
        return self.separation.parts

    def edited(self, v: int) -> bool:
        return self.parts[v].edits != NO_EDITS


def start_choir_session(separation: ChoirSeparation) -> ChoirSession:
    parts = tuple(new_session(separation.params[v], separation.stems[v]) for v in range(len(separation.parts)))
    n = len(parts)
    return ChoirSession(separation=separation, parts=parts, audio=tuple(p.original for p in parts),
                        gains_db=(0.0,) * n, muted=(False,) * n, solo=(False,) * n)


def part_index(session: ChoirSession, name: str) -> int:
    if name not in session.names:
        raise ValueError(f"no part {name!r}; this separation has {', '.join(session.names)}")
    return session.names.index(name)


def _with(items: tuple, v: int, item) -> tuple:
    return items[:v] + (item,) + items[v + 1:]


def set_part_edits(session: ChoirSession, v: int, edits: Edits) -> ChoirSession:
    """The session with `edits` on part v (re-rendering only what they change); a part without
    edits plays its masked stem."""
    part = session.parts[v]
    if edits == NO_EDITS:
        part, audio = dataclasses.replace(part, edits=edits), part.original
    else:
        part, rendered = render_session(part, edits)
        audio = np.asarray(rendered[:part.n_samples], np.float32)
    return dataclasses.replace(session, parts=_with(session.parts, v, part), audio=_with(session.audio, v, audio))


def set_mix(session: ChoirSession, gains_db, muted, solo) -> ChoirSession:
    """The session with these gains (dB), mutes and solos, one each per part."""
    n = len(session.parts)
    if not (len(gains_db) == len(muted) == len(solo) == n):
        raise ValueError(f"the mix needs {n} gains, mutes and solos")
    lo, hi = MIX_GAIN_DB
    for g in gains_db:
        if not (isinstance(g, (int, float)) and np.isfinite(g) and lo <= g <= hi):
            raise ValueError(f"a part's gain is {g!r} dB; it must be in {lo:g}..{hi:g} dB")
    return dataclasses.replace(session, gains_db=tuple(float(g) for g in gains_db), muted=tuple(map(bool, muted)),
                               solo=tuple(map(bool, solo)))


def audible(session: ChoirSession) -> list[bool]:
    """Which parts sound: the soloed ones if any is soloed, else the ones not muted."""
    if any(session.solo):
        return list(session.solo)
    return [not m for m in session.muted]


def remix(session: ChoirSession) -> np.ndarray:
    """The parts summed with their gains (mutes and solos applied), peak-limited: (S,) float32."""
    n_samples = len(session.separation.mixture)
    out = np.zeros(n_samples, np.float64)
    for v, on in enumerate(audible(session)):
        if on:
            a = session.audio[v][:n_samples]
            out[:len(a)] += (10 ** (session.gains_db[v] / 20)) * a
    out, _ = limit_peak(out.astype(np.float32))
    return out.astype(np.float32)


def part_f0(session: ChoirSession, v: int) -> tuple[np.ndarray, np.ndarray]:
    """(times_s, f0_hz) of part v as it sounds now (after its pitch edits), 0 where unvoiced."""
    part = session.parts[v]
    params = edited_params(part) if session.edited(v) else part.params
    f0 = np.where(params.voiced > 0.5, params.f0_hz, 0.0)
    return params.times_s, f0


def estimate_key(f0_hz: np.ndarray) -> tuple[str, str]:
    """The key of the sung pitches: (tonic name, "major" | "minor") from the pitch-class
    histogram of all parts' voiced frames (`units.estimate_key`)."""
    f0 = np.asarray(f0_hz, dtype=np.float64).ravel()
    pcs = np.mod(comb.midi_of(f0[f0 > 0]), 12)
    tonic, mode = units.estimate_key(np.bincount(pcs, minlength=12).astype(np.float64))
    return units.NOTE_NAMES[tonic], mode


def parameters_json(session: ChoirSession) -> dict:
    """The separation's params.json, with each part's parameters as edited now."""
    data = session.separation.params_json()
    for v, name in enumerate(session.names):
        params = edited_params(session.parts[v])
        data["voices"][name]["params"] = params.to_dict()
        data["voices"][name]["edits"] = files.edits_to_dict(session.parts[v].edits)
        data["voices"][name]["mix"] = {"gain_db": session.gains_db[v], "muted": session.muted[v],
                                       "solo": session.solo[v]}
    return data
