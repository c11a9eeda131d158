"""Render a chorale (or an excerpt) one part at a time, so the stems are exact and sum to the mix.

Two renderers, chosen by name:

* ``"fluidsynth"``: the GM soundfont pretty_midi ships (TimGM6mb.sf2) through pyfluidsynth,
  one fresh synthesizer per part, a vocal preset per part (`splits.SOUNDFONT_PROGRAMS`),
  random note velocities and reverb; chorus is off so the pitch stays on the score.
* ``"voice"``: hiaudio's own source-filter voice (`hiaudio.voice.singing`): per part a random
  vowel, formant ratio around `VOICE_FORMANT_RATIO[part]`, vibrato depth and rate, intonation
  drift, portamento, breathiness, source slope, attack, release and loudness -- timbre varies
  far more than a soundfont's. The F0 the voice actually sang comes with the example.

Everything random is drawn from one `seed`: tempo (quarter = 60..100 bpm), the excerpt's
start (a note onset), the timbre of each part, note velocities, drift and noise. The same
seed gives the same samples.

    ex = render_chorale("bwv269", renderer="voice", seed=3, duration_s=4.0)
    ex.mixture  # (S,)   ex.stems  # (4, S) soprano, alto, tenor, bass   ex.f0_hz  # (4, T)

Levels: every stem is scaled by one gain so that the mix peaks at a random -12..-1 dBFS;
`mixture` is computed as `stems.sum(0)` after that, so it equals the sum of its stems.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np

from hiaudio.data import splits
from hiaudio.data.cache import write_npz
from hiaudio.data.chorales import PARTS, Chorale, get_chorale
from hiaudio.dsp.f0grid import score_f0
from hiaudio.voice import Singer, render, sing
from hiaudio.voice.singing import VOICE_FORMANT_RATIO

RENDER_VERSION = "render-v1"  # bump when the rendered audio or its labels change
DEFAULT_RATE = 16000  # Hz
HOP_S = 0.005  # score F0 frame hop (80 samples at 16 kHz)
TEMPO_RANGE_QPM = (60.0, 100.0)  # quarter notes per minute
TAIL_S = 0.5  # silence after the last note when a whole piece is rendered
MIX_PEAK_DBFS = (-12.0, -1.0)  # the mix's peak is drawn from this range
RENDERERS = ("fluidsynth", "voice")
# `sing` floors silent frames at -120 dB and then shifts every frame by its normalisation (as low
# as -90 dB for a low voice on a narrow formant), which can leave VoiceParams' -200 dB limit.
# Singing SING_HEADROOM_DB louder and scaling the stem back keeps it inside; the mix is
# normalised afterwards anyway.
SING_HEADROOM_DB = 30.0


@dataclasses.dataclass
class ChoraleExample:
    mixture: np.ndarray  # (S,) float32: stems.sum(0)
    stems: np.ndarray  # (4, S) float32, PARTS order
    f0_hz: np.ndarray  # (4, T) float32 score pitch at frame t (sample t * hop_samples); 0 = rest
    sample_rate: int  # Hz
    hop_samples: int  # samples between F0 frames
    meta: dict  # piece id, split, renderer, tempo, window, per-part timbre, notes in seconds, version
    f0_sung_hz: np.ndarray | None = None  # (4, T) F0 the voice model sang (vibrato, drift, glides); voice only

    def to_npz(self, path: str | os.PathLike) -> Path:

        arrays = dict(mixture=self.mixture, stems=self.stems, f0_hz=self.f0_hz,
                      sample_rate=np.int64(self.sample_rate), hop_samples=np.int64(self.hop_samples),
                      meta=np.array(json.dumps(self.meta)))
        if self.f0_sung_hz is not None:
            arrays["f0_sung_hz"] = self.f0_sung_hz
        return write_npz(Path(path), **arrays)

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> "ChoraleExample":
        with np.load(path) as z:
            return cls(mixture=z["mixture"], stems=z["stems"], f0_hz=z["f0_hz"],
                       sample_rate=int(z["sample_rate"]), hop_samples=int(z["hop_samples"]),
                       meta=json.loads(str(z["meta"])),
                       f0_sung_hz=z["f0_sung_hz"] if "f0_sung_hz" in z.files else None)


# ---------------------------------------------------------------------------------------------
# Score -> timed notes and frame-wise F0


def choose_start_q(chorale: Chorale, window_q: float, rng: np.random.Generator) -> float:
    """A random note onset (in quarter notes) from which `window_q` quarters still fit in the piece."""
    last = max(0.0, chorale.duration_q - window_q)
    onsets = sorted({n.onset_q for part in chorale.parts.values() for n in part if n.onset_q <= last + 1e-9})
    return float(onsets[rng.integers(len(onsets))]) if onsets else 0.0


def timed_notes(chorale: Chorale, part: str, start_q: float, tempo_qpm: float,
                duration_s: float) -> list[tuple[int, float, float]]:
    """(MIDI pitch, start s, duration s) of a part's notes inside [start_q, start_q + duration_s).

    Notes that straddle the window's edges are cut at them.
    """
    sec_per_q = 60.0 / tempo_qpm
    out = []
    for n in chorale.parts[part]:
        a = max(0.0, (n.onset_q - start_q) * sec_per_q)
        b = min(duration_s, (n.end_q - start_q) * sec_per_q)
        if b - a > 1e-6:
            out.append((n.pitch, a, b - a))
    return out


# ---------------------------------------------------------------------------------------------
# Timbres


def sample_soundfont_part(part: str, timbre: str, rng: np.random.Generator) -> dict:
    programs = splits.HELD_OUT_PROGRAMS if timbre == "held_out" else splits.SEEN_PROGRAMS
    program = int(programs[rng.integers(len(programs))])
    return {"program": program, "preset": splits.SOUNDFONT_PROGRAMS[program],
            "velocity": int(rng.integers(70, 111)), "velocity_jitter": 8}


def sample_singer(part: str, timbre: str, rng: np.random.Generator):
    """A random `Singer` for `part` from the seen or the held-out region (see `splits`)."""
    if timbre == "held_out":
        # each held-out singer differs by its vowel, its vocal-tract length, or both
        mode = ("vowel", "formants", "both")[rng.integers(3)]
        vowel = splits.HELD_OUT_VOWELS[rng.integers(len(splits.HELD_OUT_VOWELS))] if mode != "formants" \
            else splits.SEEN_VOWELS[rng.integers(len(splits.SEEN_VOWELS))]
        if mode == "vowel":
            scale = rng.uniform(*splits.SEEN_FORMANT_SCALE)
        else:
            scale = rng.uniform(*splits.HELD_OUT_FORMANT_SCALES[rng.integers(len(splits.HELD_OUT_FORMANT_SCALES))])
    else:
        vowel = splits.SEEN_VOWELS[rng.integers(len(splits.SEEN_VOWELS))]
        scale = rng.uniform(*splits.SEEN_FORMANT_SCALE)
    return Singer(
        vowel=str(vowel),
        formant_ratio=float(VOICE_FORMANT_RATIO[part] * scale),
        vibrato_cents=float(rng.uniform(15.0, 45.0)),  # peak deviation: within 50 cents of the note
        vibrato_hz=float(rng.uniform(4.5, 6.5)),
        vibrato_onset_s=float(rng.uniform(0.15, 0.4)),
        drift_cents=float(rng.uniform(2.0, 10.0)),
        portamento_s=float(rng.uniform(0.02, 0.08)),
        source_slope_db_per_oct=float(rng.uniform(-15.0, -9.0)),
        breathiness_db=float(rng.uniform(-45.0, -25.0)),
        attack_s=float(rng.uniform(0.02, 0.08)),
        release_s=float(rng.uniform(0.03, 0.1)),
        level_db=float(rng.uniform(-6.0, 0.0)),
    )


# ---------------------------------------------------------------------------------------------
# Renderers: timed notes of one part -> (S,) float32


def soundfont_path() -> str:
    """TimGM6mb.sf2, the General MIDI soundfont bundled with pretty_midi."""
    import pretty_midi

    return str(Path(pretty_midi.__file__).parent / "TimGM6mb.sf2")


def render_part_fluidsynth(notes, n_samples: int, sample_rate: int, program: int, velocities,
                           reverb_level: float = 0.0, reverb_room: float = 0.2) -> np.ndarray:
    """One part through fluidsynth (a fresh synthesizer: no state shared between parts)."""
    import fluidsynth
    import pretty_midi

    out = np.zeros(n_samples, np.float32)
    if not notes:
        return out
    inst = pretty_midi.Instrument(program=program)
    for (pitch, start_s, dur_s), vel in zip(notes, velocities):
        inst.notes.append(pretty_midi.Note(velocity=int(vel), pitch=int(pitch), start=start_s, end=start_s + dur_s))
    synth = fluidsynth.Synth(gain=0.5, samplerate=sample_rate, **{"synth.chorus.active": 0})
    try:
        sfid = synth.sfload(soundfont_path())
        synth.set_reverb(roomsize=reverb_room, damping=0.5, width=1.0, level=reverb_level)
        audio = inst.fluidsynth(fs=sample_rate, synthesizer=synth, sfid=sfid)  # int16 scale, left channel
    finally:
        synth.delete()
    n = min(n_samples, len(audio))
    out[:n] = audio[:n] / 32768.0
    return out


def render_part_voice(notes, n_samples: int, sample_rate: int, hop_samples: int, singer, velocities,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One part sung by the voice model: audio (S,) and the sung F0 on the frame grid (0 unvoiced)."""
    n_frames = math.ceil(n_samples / hop_samples)
    if not notes:
        return np.zeros(n_samples, np.float32), np.zeros(n_frames, np.float32)
    timed = [(p, a, d, v) for (p, a, d), v in zip(notes, velocities)]
    louder = dataclasses.replace(singer, level_db=singer.level_db + SING_HEADROOM_DB)
    params = sing(timed, sample_rate, louder, hop_samples=hop_samples, duration_s=n_frames * hop_samples / sample_rate,
                  seed=seed)
    audio = render(params, seed=seed)[:n_samples] * np.float32(10 ** (-SING_HEADROOM_DB / 20))
    audio = np.pad(audio, (0, n_samples - len(audio)))
    f0 = np.where(params.voiced > 0, params.f0_hz, 0.0)[:n_frames].astype(np.float32)
    return audio.astype(np.float32), np.pad(f0, (0, n_frames - len(f0)))


# ---------------------------------------------------------------------------------------------
# The whole chorale


def render_chorale(piece: Chorale | str, sample_rate: int = DEFAULT_RATE, renderer: str = "fluidsynth",
                   seed: int = 0, start_q: float | None = None, duration_s: float | None = None,
                   tempo_qpm: float | None = None, timbre: str = "seen",
                   hop_samples: int | None = None) -> ChoraleExample:
    """Render a chorale, or a window of it, part by part.

    piece: a `Chorale` or a piece id ("bwv269"). start_q: where the window starts, in quarter
    notes from the first note (None: a random note onset, or 0 when duration_s is None).
    duration_s: the window's length (None: to the end of the piece plus TAIL_S). tempo_qpm:
    quarter notes per minute (None: uniform in TEMPO_RANGE_QPM). timbre: "seen" or "held_out"
    (`splits.TIMBRE_SPLITS`). Everything random comes from `seed`.
    """
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; use one of {', '.join(RENDERERS)}")
    if timbre not in splits.TIMBRE_SPLITS:
        raise ValueError(f"unknown timbre split {timbre!r}; use 'seen' or 'held_out'")
    if duration_s is not None and not 0 < duration_s <= 600:
        raise ValueError(f"duration_s is {duration_s}; use 0 < duration_s <= 600 s")
    chorale = get_chorale(piece) if isinstance(piece, str) else piece
    rng = np.random.default_rng([seed, 0x0C40])  # salt: these streams differ from other users of the seed
    hop = hop_samples or round(HOP_S * sample_rate)

    # draws in a fixed order, each always made, so one setting's choice never shifts another's
    drawn_tempo = float(rng.uniform(*TEMPO_RANGE_QPM))
    tempo = float(tempo_qpm) if tempo_qpm is not None else drawn_tempo
    start_rng = np.random.default_rng(rng.integers(2**63))
    if start_q is None:
        start_q = 0.0 if duration_s is None else choose_start_q(chorale, duration_s * tempo / 60.0, start_rng)
    start_q = float(start_q)
    if duration_s is None:
        duration_s = (chorale.duration_q - start_q) * 60.0 / tempo + TAIL_S
    n_samples = max(1, round(duration_s * sample_rate))
    n_frames = math.ceil(n_samples / hop)
    peak_dbfs = float(rng.uniform(*MIX_PEAK_DBFS))
    reverb = (float(rng.uniform(0.0, 0.4)), float(rng.uniform(0.1, 0.8)))  # fluidsynth level, room size

    stems = np.zeros((4, n_samples), np.float32)
    f0 = np.zeros((4, n_frames), np.float32)
    f0_sung = np.zeros((4, n_frames), np.float32) if renderer == "voice" else None
    part_meta, part_notes = {}, {}
    for i, part in enumerate(PARTS):
        part_rng = np.random.default_rng(rng.integers(2**63))
        notes = timed_notes(chorale, part, start_q, tempo, duration_s)
        f0[i] = score_f0(notes, n_frames, hop, sample_rate)
        part_notes[part] = [[p, round(a, 6), round(d, 6)] for p, a, d in notes]
        if renderer == "fluidsynth":
            settings = sample_soundfont_part(part, timbre, part_rng)
            jitter = part_rng.integers(-settings["velocity_jitter"], settings["velocity_jitter"] + 1, len(notes))
            velocities = np.clip(settings["velocity"] + jitter, 1, 127)
            stems[i] = render_part_fluidsynth(notes, n_samples, sample_rate, settings["program"], velocities,
                                              reverb_level=reverb[0], reverb_room=reverb[1])
            settings.update(reverb_level=reverb[0], reverb_room=reverb[1])
        else:
            singer = sample_singer(part, timbre, part_rng)
            base = part_rng.uniform(0.6, 0.9)
            velocities = np.clip(base + 0.05 * part_rng.standard_normal(len(notes)), 0.3, 1.0)
            voice_seed = int(part_rng.integers(2**31))
            stems[i], f0_sung[i] = render_part_voice(notes, n_samples, sample_rate, hop, singer, velocities, voice_seed)
            settings = dataclasses.asdict(singer) | {"velocity": float(base), "voice_seed": voice_seed,
                                                     "held_out": splits.is_held_out_singer(part, singer.vowel,
                                                                                          singer.formant_ratio)}
        part_meta[part] = settings

    peak = float(np.abs(stems.sum(0)).max())
    gain = 10 ** (peak_dbfs / 20) / peak if peak > 0 else 1.0
    stems *= np.float32(gain)
    mixture = stems.sum(0)  # after scaling: the mix is exactly the sum of the stems
    meta = {
        "version": RENDER_VERSION, "piece_id": chorale.piece_id, "split": splits.chorale_split(chorale),
        "timbre_split": timbre, "renderer": renderer, "seed": int(seed), "tempo_qpm": tempo,
        "start_q": start_q, "duration_s": float(duration_s), "sample_rate": int(sample_rate), "hop_samples": hop,
        "mix_peak_dbfs": peak_dbfs if peak > 0 else None, "key_tonic_pc": chorale.key_tonic_pc,
        "key_mode": chorale.key_mode, "time_signature": list(chorale.time_signature_at(start_q)[1:3]),
        "parts": part_meta, "notes": part_notes,
    }
    return ChoraleExample(mixture=mixture, stems=stems, f0_hz=f0, sample_rate=int(sample_rate), hop_samples=hop,
                          meta=meta, f0_sung_hz=f0_sung)
