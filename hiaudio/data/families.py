"""Renderer families for choir data: who sings (a family), how many per part (a section), where.

A *family* is one way of making a singing voice: our voice model, one soundfont, or one group
of MBROLA diphone voices. `splits.TRAIN_FAMILIES` are used for training and tuning, and
`splits.REPORT_FAMILIES` only for the report set, so the report measures what a separator does
on voices it was never trained or tuned on:

| family | engine | role | what sings |
|---|---|---|---|
| voice | our voice model | train, tuning | sections with words (de fr es nl pl via espeak-ng; vowel changes, consonants) or one vowel |
| timgm | fluidsynth | train, tuning | TimGM6mb (pretty_midi's): Choir Aahs, Voice Oohs, Synth Vox, Solo Vox; one instance per singer |
| mbrola_eu | MBROLA | train, tuning | de6 de7 fr1 fr4 es1 es3 nl2 pl1 singing German, French, Spanish, Dutch, Polish texts |
| gmbank | fluidsynth | report | csound's sf_GMbank (Debian csound-soundfont): choir, voice and pad presets, the soundfont's own reverb and chorus on |
| opl3 | fluidsynth | report | OPL-3 FM GM bank (Debian opl3-soundfont): FM "choir" presets |
| mbrola_latin | MBROLA | report | la1 (Latin), it3, it4 (Italian) singing Latin and Italian texts |

A *section* is 1-`MAX_SINGERS` singers on one part, each with their own onset timing (within
+-`MAX_ONSET_S`), tuning (the section's spread is 5-30 cents), vibrato rate and depth, breath and
timbre; the part's stem is the sum of its singers, and its sung F0 label the frame-wise mean
(in cents) of the singers' F0 where they sound. Soundfont singers are detuned and given their
vibrato by pitch bends, so their F0 is the note's pitch bent by a known amount (up to the
sample's own tuning); MBROLA and our voice model sing exactly the F0 they are given.

    stem, f0 = render_section(FAMILIES["timgm"], notes, "alto", section, n_samples, 16000, 80, rng)
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from hiaudio.data import rooms, splits, words
from hiaudio.data.render import SING_HEADROOM_DB, soundfont_path
from hiaudio.dsp.units import midi_to_hz
from hiaudio.voice import Singer, render, sing

MAX_SINGERS = 6
MAX_ONSET_S = 0.04  # a singer's onset within +-40 ms of the score
DETUNE_SPREAD_CENTS = (5.0, 30.0)  # standard deviation of the singers' tuning within a section
VIBRATO_HZ = (4.5, 6.8)
VIBRATO_CENTS = (0.0, 60.0)  # peak deviation; 0 = straight tone (Renaissance style)
BEND_STEP_S = 0.01  # soundfont vibrato: a pitch-bend event every 10 ms
BEND_RANGE_CENTS = 200.0  # General MIDI's default pitch-bend range (+-2 semitones)
SOUNDFONT_DIR = Path("/usr/share/sounds/sf2")
# our voice model's vocal-tract scale by the part a singer sings (as voice.singing.VOICE_FORMANT_RATIO)
ROLE_RATIO = {"soprano": 1.15, "alto": 1.08, "tenor": 1.0, "bass": 0.92}


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    engine: str  # "voice", "soundfont" or "mbrola"
    description: str
    soundfont: str | None = None  # file name under SOUNDFONT_DIR (or pretty_midi's for TimGM6mb)
    programs: tuple[int, ...] = ()  # GM programs (0-based) a soundfont section may use
    voices_high: tuple[str, ...] = ()  # MBROLA voices for soprano and alto parts
    voices_low: tuple[str, ...] = ()  # ... for tenor and bass parts
    languages: tuple[str, ...] = ()  # `words.TEXTS` keys sung (voice, mbrola)
    soundfont_effects: bool = False  # fluidsynth's own reverb and chorus on (soundfont)
    room_kinds: tuple[str, ...] = rooms.ROOM_KINDS
    chorus_p: float = 0.3  # probability of our ensemble chorus on a part


FAMILIES = {f.name: f for f in (
    Family("voice", "voice", "our source-filter voice model in sections, with words or one vowel",
           languages=("de", "fr", "es", "nl", "pl")),
    Family("timgm", "soundfont", "TimGM6mb choir and voice presets, one detuned instance per singer",
           soundfont="TimGM6mb.sf2", programs=(52, 53, 54, 85)),
    Family("mbrola_eu", "mbrola", "MBROLA diphone voices singing German, French, Spanish, Dutch, Polish",
           voices_high=("de7", "fr4", "es3", "pl1"), voices_low=("de6", "fr1", "es1", "nl2"),
           languages=("de", "fr", "es", "nl", "pl")),
    Family("gmbank", "soundfont", "csound's sf_GMbank choir, voice and pad presets with their own reverb and chorus",
           soundfont="sf_GMbank.sf2", programs=(52, 53, 54, 85, 91), soundfont_effects=True,
           room_kinds=("dry", "shoebox")),
    Family("opl3", "soundfont", "the OPL-3 FM GM bank's choir and voice presets",
           soundfont="OPL-3_FM_128M.sf2", programs=(52, 53, 54, 85, 91), room_kinds=("synthetic", "shoebox")),
    Family("mbrola_latin", "mbrola", "MBROLA Latin and Italian diphone voices singing Latin and Italian",
           voices_high=("it4",), voices_low=("la1", "it3"), languages=("la", "it")),
)}
assert set(FAMILIES) == set(splits.TRAIN_FAMILIES) | set(splits.REPORT_FAMILIES)
assert not set(splits.TRAIN_FAMILIES) & set(splits.REPORT_FAMILIES)


def soundfont_file(family: Family) -> str:
    if family.soundfont == "TimGM6mb.sf2":

        return soundfont_path()
    return str(SOUNDFONT_DIR / family.soundfont)


def family_available(family: Family) -> str | None:
    """None if the family can render here, else what to install."""
    if family.engine == "soundfont" and not Path(soundfont_file(family)).exists():
        pkg = {"sf_GMbank.sf2": "csound-soundfont", "OPL-3_FM_128M.sf2": "opl3-soundfont"}.get(family.soundfont)
        return f"{soundfont_file(family)} is missing (apt-get install {pkg})"
    if family.engine == "mbrola":
        missing = sorted(set(family.voices_high + family.voices_low) - set(words.mbrola_voices()))
        if missing:
            return f"MBROLA voices {', '.join(missing)} are missing (see hiaudio/data/README.md)"
    return None


def part_role(mean_pitch: float) -> str:
    """The voice type that sings a line of this mean MIDI pitch."""
    return "soprano" if mean_pitch >= 66 else "alto" if mean_pitch >= 59 else "tenor" if mean_pitch >= 52 else "bass"


# ---------------------------------------------------------------------------------------------
# Sections


def sample_section(family: Family, role: str, rng: np.random.Generator, n_singers: int | None = None) -> dict:
    """One part's section: its size, shared settings and one dict per singer (all JSON-able)."""
    n = int(n_singers or rng.integers(1, MAX_SINGERS + 1))
    spread = float(rng.uniform(*DETUNE_SPREAD_CENTS))
    onset_sd = float(rng.uniform(0.0, 0.02))
    section = {"n_singers": n, "detune_spread_cents": spread, "onset_sd_s": onset_sd,
               "level_db": float(rng.uniform(-3, 3))}
    if family.engine == "soundfont":
        section["program"] = int(family.programs[rng.integers(len(family.programs))])
    if family.engine in ("voice", "mbrola"):
        section["words"] = bool(family.engine == "mbrola" or rng.random() < 0.7)
        section["language"] = family.languages[rng.integers(len(family.languages))]
        section["text_seed"] = int(rng.integers(2**31))
        if family.engine == "voice":
            section["vowel"] = str(("a", "e", "i", "o", "u")[rng.integers(5)])
    singers = []
    straight = rng.random() < 0.25  # a section singing without vibrato
    for _ in range(n):
        s = {"onset_s": float(np.clip(rng.normal(0, onset_sd), -MAX_ONSET_S, MAX_ONSET_S)),
             "detune_cents": float(rng.normal(0, spread)) if n > 1 else float(rng.normal(0, spread / 3)),
             "vibrato_hz": float(rng.uniform(*VIBRATO_HZ)),
             "vibrato_cents": 0.0 if straight else float(rng.uniform(*VIBRATO_CENTS)),
             "vibrato_phase": float(rng.uniform(0, 2 * np.pi)),
             "drift_cents": float(rng.uniform(2, 10)),
             "level_db": float(rng.uniform(-4, 2)), "seed": int(rng.integers(2**31))}
        if family.engine == "voice":
            s.update(formant_scale=float(rng.uniform(0.9, 1.1)), breathiness_db=float(rng.uniform(-50, -20)),
                     source_slope_db_per_oct=float(rng.uniform(-16, -8)), attack_s=float(rng.uniform(0.02, 0.1)),
                     release_s=float(rng.uniform(0.03, 0.12)), portamento_s=float(rng.uniform(0.02, 0.08)))
        elif family.engine == "soundfont":
            s.update(velocity=int(rng.integers(60, 115)))
            if family.soundfont_effects:
                s.update(chorus_depth_ms=float(rng.uniform(2, 8)), chorus_level=float(rng.uniform(0.5, 2.0)))
        else:
            pool = family.voices_high if role in ("soprano", "alto") else family.voices_low
            s.update(voice=str(pool[rng.integers(len(pool))]), glide_s=float(rng.uniform(0.02, 0.06)))
        singers.append(s)
    section["singers"] = singers
    return section


def singer_notes(notes, singer: dict, duration_s: float) -> list[tuple[float, float, float]]:
    """The score's notes [(pitch, start s, dur s)] as one singer sings them: shifted by their onset,
    detuned; notes pushed before 0 or past the end are cut."""
    out = []
    for pitch, start, dur in notes:
        a = max(0.0, start + singer["onset_s"])
        b = min(duration_s, start + dur + singer["onset_s"])
        if b - a > 0.02:
            out.append((pitch + singer["detune_cents"] / 100.0, a, b - a))
    return out


def pitch_track_cents(notes, times_s: np.ndarray, singer: dict, glide_s: float = 0.04) -> np.ndarray:
    """A singer's pitch (cents re A4 = 0) at `times_s`: each note held (the previous one held
    through a rest), glides of glide_s into each note, vibrato and a slow drift; notes are
    `singer_notes` (already detuned)."""
    if not notes:
        return np.zeros_like(times_s)
    starts = np.array([n[1] for n in notes])
    cents = np.array([(n[0] - 69) * 100 for n in notes])
    idx = np.clip(np.searchsorted(starts, times_s, side="right") - 1, 0, len(notes) - 1)
    base = cents[idx]
    prev = cents[np.maximum(idx - 1, 0)]
    into = np.clip((times_s - starts[idx]) / max(glide_s, 1e-3), 0, 1)
    base = prev + (base - prev) * (0.5 - 0.5 * np.cos(np.pi * into))
    age = np.clip(times_s - starts[idx], 0, None)
    vib = singer["vibrato_cents"] * np.clip(age / 0.3, 0, 1) * np.sin(
        2 * np.pi * singer["vibrato_hz"] * times_s + singer["vibrato_phase"])
    rng = np.random.default_rng(singer["seed"])
    knots = rng.standard_normal(int(times_s.max() / 0.5) + 3) if len(times_s) else np.zeros(3)
    drift = singer["drift_cents"] * np.interp(times_s / 0.5, np.arange(len(knots)), knots)
    return base + vib + drift


# ---------------------------------------------------------------------------------------------
# One singer -> (audio (S,), sung F0 on the frame grid (T,), 0 where silent)


def sing_voice(family, role, notes, singer, section, n_samples, sample_rate, hop) -> tuple[np.ndarray, np.ndarray]:

    n_frames = math.ceil(n_samples / hop)
    if not notes:
        return np.zeros(n_samples, np.float32), np.zeros(n_frames, np.float32)
    s = Singer(vowel=section["vowel"], formant_ratio=ROLE_RATIO[role] * singer["formant_scale"],
               vibrato_cents=singer["vibrato_cents"], vibrato_hz=singer["vibrato_hz"], vibrato_onset_s=0.3,
               drift_cents=singer["drift_cents"], portamento_s=singer["portamento_s"],
               source_slope_db_per_oct=singer["source_slope_db_per_oct"], breathiness_db=singer["breathiness_db"],
               attack_s=singer["attack_s"], release_s=singer["release_s"],
               level_db=singer["level_db"] + SING_HEADROOM_DB)
    rng = np.random.default_rng(singer["seed"])
    timed = [(p, a, d, float(np.clip(0.75 + 0.08 * rng.standard_normal(), 0.4, 1.0))) for p, a, d in notes]
    dur = n_frames * hop / sample_rate
    if section["words"]:
        segs = section_segments(section, notes, singer)
        params = words.sing_words(timed, sample_rate, s, segs, hop_samples=hop, duration_s=dur, seed=singer["seed"])
    else:
        params = sing(timed, sample_rate, s, hop_samples=hop, duration_s=dur, seed=singer["seed"])
    audio = render(params, seed=singer["seed"])[:n_samples] * np.float32(10 ** (-SING_HEADROOM_DB / 20))
    f0 = np.where(params.voiced > 0.5, params.f0_hz, 0.0)[:n_frames].astype(np.float32)
    return np.pad(audio, (0, n_samples - len(audio))).astype(np.float32), np.pad(f0, (0, n_frames - len(f0)))


def section_segments(section: dict, notes, singer: dict | None = None) -> list[words.Segment]:
    """The words a section sings on these (one singer's) notes: the same text, syllables and
    consonant lengths for every singer of the section (one text_seed)."""
    rng = np.random.default_rng(section["text_seed"])
    texts = words.TEXTS[section["language"]]
    text = texts[rng.integers(len(texts))]
    voice = (singer or {}).get("voice") or {"de": "de6", "fr": "fr1", "es": "es1", "nl": "nl2", "pl": "pl1",
                                            "la": "la1", "it": "it3"}[section["language"]]
    sylls = words.text_syllables(text, voice)
    return words.sung_syllables(notes, sylls, rng)


def sing_soundfont(family, role, notes, singer, section, n_samples, sample_rate, hop) -> tuple[np.ndarray, np.ndarray]:
    import fluidsynth
    import pretty_midi

    n_frames = math.ceil(n_samples / hop)
    out = np.zeros(n_samples, np.float32)
    if not notes:
        return out, np.zeros(n_frames, np.float32)
    rng = np.random.default_rng(singer["seed"])
    inst = pretty_midi.Instrument(program=section["program"])
    for pitch, start, dur in notes:
        whole = int(round(pitch))  # the detune's whole semitones go into the note, the rest into the bend
        vel = int(np.clip(singer["velocity"] + rng.integers(-8, 9), 1, 127))
        inst.notes.append(pretty_midi.Note(velocity=vel, pitch=whole, start=start, end=start + dur))
    frame_t = np.arange(n_frames) * hop / sample_rate
    bend_t = np.arange(0.0, n_samples / sample_rate, BEND_STEP_S)
    # the bend is the singer's pitch track minus the note played: detune, vibrato, drift (no glide:
    # a soundfont note starts on its pitch)
    track = pitch_track_cents(notes, bend_t, singer, glide_s=1e-3)
    played = pitch_track_cents([(round(p), a, d) for p, a, d in notes], bend_t,
                               dict(singer, vibrato_cents=0.0, drift_cents=0.0), glide_s=1e-3)
    bend_cents = np.clip(track - played, -BEND_RANGE_CENTS, BEND_RANGE_CENTS)
    for t, c in zip(bend_t, bend_cents):
        inst.pitch_bends.append(pretty_midi.PitchBend(int(np.clip(round(c / BEND_RANGE_CENTS * 8192), -8192, 8191)),
                                                      float(t)))
    settings = {"synth.chorus.active": int(family.soundfont_effects), "synth.reverb.active": int(family.soundfont_effects)}
    synth = fluidsynth.Synth(gain=0.5, samplerate=sample_rate, **settings)
    try:
        sfid = synth.sfload(soundfont_file(family))
        if family.soundfont_effects:
            synth.set_reverb(roomsize=0.6, damping=0.4, width=1.0, level=0.5)
            synth.set_chorus(nr=3, level=singer["chorus_level"], speed=0.4, depth=singer["chorus_depth_ms"], type=0)
        audio = inst.fluidsynth(fs=sample_rate, synthesizer=synth, sfid=sfid)
    finally:
        synth.delete()
    n = min(n_samples, len(audio))
    out[:n] = audio[:n] / 32768.0
    cents = np.interp(frame_t, bend_t, played + bend_cents)
    sounding = np.zeros(n_frames, bool)
    for _, a, d in notes:
        sounding |= (frame_t >= a) & (frame_t < a + d)
    f0 = np.where(sounding, 440.0 * 2 ** (cents / 1200), 0.0).astype(np.float32)
    return out, f0


def sing_mbrola(family, role, notes, singer, section, n_samples, sample_rate, hop) -> tuple[np.ndarray, np.ndarray]:
    n_frames = math.ceil(n_samples / hop)
    if not notes:
        return np.zeros(n_samples, np.float32), np.zeros(n_frames, np.float32)
    segs = section_segments(section, notes, singer)

    def pitch_hz(times_s):
        return 440.0 * 2 ** (pitch_track_cents(notes, np.asarray(times_s, float), singer, singer["glide_s"]) / 1200)

    audio, f0 = words.mbrola_sing(segs, pitch_hz, singer["voice"], sample_rate, hop, n_samples)
    return audio * np.float32(10 ** (singer["level_db"] / 20)), f0


ENGINES = {"voice": sing_voice, "soundfont": sing_soundfont, "mbrola": sing_mbrola}


def render_section(family: Family, notes, role: str, section: dict, n_samples: int, sample_rate: int,
                   hop: int) -> tuple[np.ndarray, np.ndarray]:
    """A part sung by its section: stem (S,) = the sum of its singers (each normalised to the same
    RMS, then its level_db), sung F0 (T,) = the mean in cents over the singers sounding (0: none)."""
    duration_s = n_samples / sample_rate
    n_frames = math.ceil(n_samples / hop)
    stem = np.zeros(n_samples, np.float64)
    cents_sum, count = np.zeros(n_frames), np.zeros(n_frames)
    for singer in section["singers"]:
        sung = singer_notes(notes, singer, duration_s)
        audio, f0 = ENGINES[family.engine](family, role, sung, singer, section, n_samples, sample_rate, hop)
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        if rms > 0:
            stem += audio / rms * 10 ** (singer["level_db"] / 20)
        on = f0 > 0
        cents_sum[on] += 1200 * np.log2(f0[on] / 440.0)
        count[on] += 1
    stem /= math.sqrt(max(1, len(section["singers"])))  # a bigger section is not louder per se
    f0 = np.where(count > 0, 440.0 * 2 ** (cents_sum / np.maximum(count, 1) / 1200), 0.0).astype(np.float32)
    return stem.astype(np.float32), f0


__all__ = ["ENGINES", "FAMILIES", "Family", "MAX_SINGERS", "family_available", "part_role", "pitch_track_cents",
           "render_section", "sample_section", "section_segments", "singer_notes", "midi_to_hz"]
