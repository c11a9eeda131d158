"""A piece sung by a choir: sections per part, a renderer family, a room, parts out of balance.

`render_choir` is `render.render_chorale` for any `repertoire.Piece` and any family
(`families.FAMILIES`): each part is rendered by its section on its own, then leveled (balance
within +-`BALANCE_DB`), optionally given an ensemble chorus, and put through its own impulse
response of the room (`rooms`); the mix is scaled to peak at a level drawn over a wide range,
and `mixture == stems.sum(0)` exactly. Labels: the score's F0 per part (`f0_hz`) and the F0
actually sung (`f0_sung_hz`, the section's mean; see `families.render_section`).

    ex = render_choir(piece, "timgm", seed=3, duration_s=10.0, sample_rate=22050, n_parts=4)
    ex.stems  # (P, S) top-down   ex.f0_sung_hz  # (P, T)   ex.meta["parts"]  # names, roles, sections

Everything random comes from `seed`; the same seed gives the same samples.
"""
from __future__ import annotations

import math

import numpy as np

from hiaudio.data import families as fam
from hiaudio.data import rooms
from hiaudio.data.render import HOP_S, ChoraleExample, timed_notes
from hiaudio.data.repertoire import Piece
from hiaudio.dsp.f0grid import score_f0

ENSEMBLE_VERSION = "ensemble-v1"  # bump when the rendered audio or its labels change
SAMPLE_RATES = (16000, 22050, 44100)
BALANCE_DB = 10.0  # each part's level within +-10 dB of the others'
MIX_PEAK_DBFS = (-35.0, -1.0)  # the mix's peak: quiet recordings too
NOTE_S = (0.3, 0.8)  # the tempo makes the piece's median note last this long
MIN_SOUNDING = 0.4  # an excerpt is chosen where each part sounds at least this share of the time
START_TRIES = 24


def choose_parts(piece: Piece, n_parts: int | None, rng: np.random.Generator) -> list[str]:
    """The parts sung, top-down: all (n_parts None), or n_parts of them keeping the top and the
    bottom and dropping inner parts at random."""
    names = list(piece.part_names)
    if n_parts is None or n_parts >= len(names):
        return names
    if n_parts < 2:
        raise ValueError(f"n_parts is {n_parts}; choose at least 2")
    inner = names[1:-1]
    keep = set(rng.choice(len(inner), n_parts - 2, replace=False).tolist())
    return [names[0]] + [p for i, p in enumerate(inner) if i in keep] + [names[-1]]


def choose_tempo(piece: Piece, rng: np.random.Generator) -> float:
    """Quarter notes per minute such that the median note lasts NOTE_S (a Palestrina semibreve and a
    chorale's quarter both come out singable)."""
    median_q = float(np.median([n.duration_q for p in piece.part_names for n in piece.parts[p]]))
    return float(np.clip(60.0 * median_q / rng.uniform(*NOTE_S), 30.0, 300.0))


def choose_window(piece: Piece, parts: list[str], window_q: float, rng: np.random.Generator) -> float:
    """A note onset to start from where every part sounds at least MIN_SOUNDING of the window
    (the best of START_TRIES random onsets when none does)."""
    last = max(0.0, piece.duration_q - window_q)
    onsets = sorted({n.onset_q for p in parts for n in piece.parts[p] if n.onset_q <= last + 1e-9}) or [0.0]
    best, best_score = onsets[0], -1.0
    for start in rng.choice(onsets, min(START_TRIES, len(onsets)), replace=False):
        share = min(sum(max(0.0, min(n.end_q, start + window_q) - max(n.onset_q, start)) for n in piece.parts[p])
                    / window_q for p in parts)
        if share >= MIN_SOUNDING:
            return float(start)
        if share > best_score:
            best, best_score = float(start), share
    return best


def render_choir(piece: Piece, family: str | fam.Family, seed: int = 0, duration_s: float = 10.0,
                 sample_rate: int = 16000, n_parts: int | None = None, n_singers: int | None = None,
                 room: rooms.Room | str | None = None, hop_samples: int | None = None) -> ChoraleExample:
    """Render `duration_s` of `piece` by `family`; see the module docstring.

    n_parts: how many parts (None: all of the piece's). n_singers: every section's size (None:
    1..MAX_SINGERS at random per part). room: a `rooms.Room`, a kind ("dry"), or None (drawn from
    the family's room kinds).
    """
    family = fam.FAMILIES[family] if isinstance(family, str) else family
    missing = fam.family_available(family)
    if missing:
        raise RuntimeError(f"family {family.name} cannot render here: {missing}")
    if not 0 < duration_s <= 120:
        raise ValueError(f"duration_s is {duration_s}; use 0 < duration_s <= 120 s")
    rng = np.random.default_rng([seed, 0xC401])
    # draws in a fixed order, each from its own stream, so one setting's choice never shifts another's
    streams = [np.random.default_rng(rng.integers(2**63)) for _ in range(6)]
    parts = choose_parts(piece, n_parts, streams[0])
    tempo = choose_tempo(piece, streams[1])
    start_q = choose_window(piece, parts, duration_s * tempo / 60.0, streams[1])
    hop = hop_samples or round(HOP_S * sample_rate)
    n_samples = round(duration_s * sample_rate)
    n_frames = math.ceil(n_samples / hop)
    if room is None:
        room = rooms.sample_room(streams[2], family.room_kinds)
    elif isinstance(room, str):
        room = rooms.sample_room(streams[2], (room,), p_dry=1.0 if room == "dry" else 0.0)
    peak_dbfs = float(streams[3].uniform(*MIX_PEAK_DBFS))
    balance = streams[3].uniform(-BALANCE_DB / 2, BALANCE_DB / 2, len(parts))

    stems = np.zeros((len(parts), n_samples), np.float32)
    f0 = np.zeros((len(parts), n_frames), np.float32)
    f0_sung = np.zeros((len(parts), n_frames), np.float32)
    part_meta, notes_meta = [], {}
    for i, name in enumerate(parts):
        prng = np.random.default_rng(streams[4].integers(2**63))
        notes = timed_notes(piece, name, start_q, tempo, duration_s)
        role = fam.part_role(piece.mean_pitch(name))
        section = fam.sample_section(family, role, prng, n_singers)
        f0[i] = score_f0(notes, n_frames, hop, sample_rate)
        notes_meta[name] = [[p, round(a, 6), round(d, 6)] for p, a, d in notes]
        stem, f0_sung[i] = fam.render_section(family, notes, role, section, n_samples, sample_rate, hop)
        rms = float(np.sqrt(np.mean(stem.astype(np.float64) ** 2)))
        stem = stem / rms * 10 ** (balance[i] / 20) if rms > 0 else stem
        chorus = None
        if prng.random() < family.chorus_p:
            chorus = {"depth_ms": float(prng.uniform(0.5, 1.5)), "rate_hz": float(prng.uniform(0.2, 0.6)),
                      "mix": float(prng.uniform(0.3, 0.7))}
            stem = rooms.chorus(stem, sample_rate, prng, **chorus)
        stems[i] = stem
        part_meta.append({"name": name, "role": role, "balance_db": float(balance[i]), "chorus": chorus,
                          "section": section})
    stems = rooms.apply_room(stems, room, sample_rate, streams[5])
    peak = float(np.abs(stems.sum(0)).max())
    stems *= np.float32(10 ** (peak_dbfs / 20) / peak) if peak > 0 else np.float32(1.0)
    mixture = stems.sum(0)  # after scaling: exactly the sum of the stems
    meta = {"version": ENSEMBLE_VERSION, "piece_id": piece.piece_id, "composer": piece.composer,
            "family": family.name, "engine": family.engine, "seed": int(seed), "tempo_qpm": tempo,
            "start_q": start_q, "duration_s": float(duration_s), "sample_rate": int(sample_rate), "hop_samples": hop,
            "mix_peak_dbfs": peak_dbfs, "room": room.to_json(), "part_names": parts, "parts": part_meta,
            "notes": notes_meta}
    return ChoraleExample(mixture=mixture, stems=stems, f0_hz=f0, sample_rate=int(sample_rate), hop_samples=hop,
                          meta=meta, f0_sung_hz=f0_sung)
