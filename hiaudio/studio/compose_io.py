"""A composed chorale in and out: MIDI and MusicXML files, the sung choir, the GM render, and
the opening of a MIDI file read as grid tokens (what `compose` continues).

A grid is (N, 4) step-major tokens, S A T B per 16th step (`hiaudio.data.tokens`); a plan is
`compose.Plan` (read here by its attributes only).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hiaudio.data.sequence import N_VOICES, STEPS_PER_BAR
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, STEPS_PER_QUARTER, detokenize
from hiaudio.dsp.units import KEY_TONIC_NAMES
from hiaudio.voice import Singer, limit_peak, render, sing
from hiaudio.voice.singing import VOICE_FORMANT_RATIO

DEFAULT_TEMPO_QPM = 72.0  # a calm chorale tempo
PROGRAM_CHOIR_AAHS = 52  # GM program (0-based) of the MIDI parts
VOICE_VOWELS = {"soprano": "a", "alto": "o", "tenor": "e", "bass": "o"}  # the synthetic choir's vowels


# ---- output -------------------------------------------------------------------------------------

def notes_of(grid: np.ndarray) -> dict[str, list[tuple[int, float, float]]]:
    """Per part [(MIDI pitch, onset in quarter notes, duration in quarter notes)]."""
    return detokenize(np.asarray(grid))


def to_pretty_midi(grid: np.ndarray, tempo_qpm: float = DEFAULT_TEMPO_QPM):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_qpm)
    sec_per_q = 60.0 / tempo_qpm
    for part, notes in notes_of(grid).items():
        inst = pretty_midi.Instrument(program=PROGRAM_CHOIR_AAHS, name=part.capitalize())
        for pitch, onset_q, dur_q in notes:
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch), start=onset_q * sec_per_q,
                                               end=(onset_q + dur_q) * sec_per_q))
        pm.instruments.append(inst)
    return pm


def write_midi(grid: np.ndarray, path, tempo_qpm: float = DEFAULT_TEMPO_QPM) -> Path:
    """One instrument (track) per voice, S A T B, GM Choir Aahs."""
    to_pretty_midi(grid, tempo_qpm).write(str(path))
    return Path(path)


def write_musicxml(grid: np.ndarray, plan, path, tempo_qpm: float = DEFAULT_TEMPO_QPM) -> Path:
    """A four-part score (music21): 4/4, the key signature of `plan` (a `compose.Plan`: its
    tonic_pc, mode, bars_per_phrase), fermatas at the phrase ends."""
    from music21 import clef, expressions, key, meter, note, stream, tempo

    fermata_q = set()
    ends = np.cumsum(plan.bars_per_phrase) * STEPS_PER_BAR
    for e in ends:  # the soprano note sounding over each phrase's last half note
        fermata_q.add((e - STEPS_PER_BAR // 2) / STEPS_PER_QUARTER)
    score = stream.Score()
    for part_name, notes in notes_of(grid).items():
        part = stream.Part(id=part_name)
        part.partName = part_name.capitalize()
        part.append({"tenor": clef.Treble8vbClef, "bass": clef.BassClef}.get(part_name, clef.TrebleClef)())
        part.append(key.Key(KEY_TONIC_NAMES[plan.tonic_pc], plan.mode))
        part.append(meter.TimeSignature("4/4"))
        if part_name == "soprano":
            part.append(tempo.MetronomeMark(number=tempo_qpm))
        t = 0.0
        for pitch, onset_q, dur_q in notes:
            if onset_q > t:
                part.append(note.Rest(quarterLength=onset_q - t))
            n = note.Note(int(pitch), quarterLength=dur_q)
            if part_name == "soprano" and any(onset_q <= q < onset_q + dur_q for q in fermata_q):
                n.expressions.append(expressions.Fermata())
            part.append(n)
            t = onset_q + dur_q
        total_q = len(grid) / STEPS_PER_QUARTER
        if total_q > t:
            part.append(note.Rest(quarterLength=total_q - t))
        score.insert(0, part.makeMeasures())
    score.write("musicxml", fp=str(path))
    return Path(path)


def sing_choir(grid: np.ndarray, sample_rate: int = 22050, tempo_qpm: float = DEFAULT_TEMPO_QPM,
               seed: int = 0) -> np.ndarray:
    """The four voices sung by our voice model (a vowel and vocal-tract length per voice) and
    summed: float32 (S,), peak at most 0.99."""
    sec_per_q = 60.0 / tempo_qpm
    n_samples = int(math.ceil((len(grid) / STEPS_PER_QUARTER * sec_per_q + 0.5) * sample_rate))
    mix = np.zeros(n_samples, np.float32)
    for v, (part, notes) in enumerate(notes_of(grid).items()):
        if not notes:
            continue
        timed = [(p, a * sec_per_q, d * sec_per_q, 0.8) for p, a, d in notes]
        singer = Singer(vowel=VOICE_VOWELS[part], formant_ratio=VOICE_FORMANT_RATIO[part], level_db=-6.0)
        params = sing(timed, sample_rate, singer, duration_s=n_samples / sample_rate, seed=seed + v)
        wave = render(params, seed=seed + v)[:n_samples]
        mix[:len(wave)] += wave
    return limit_peak(mix)[0].astype(np.float32)


def render_soundfont(grid: np.ndarray, sample_rate: int = 22050, tempo_qpm: float = DEFAULT_TEMPO_QPM) -> np.ndarray:
    """The four voices through the GM soundfont that ships with pretty_midi (fluidsynth)."""
    wave = to_pretty_midi(grid, tempo_qpm).fluidsynth(fs=sample_rate).astype(np.float32)
    return limit_peak(wave)[0]


# ---- input: continuing a MIDI file --------------------------------------------------------------

MAX_MIDI_BYTES = 1 << 20


def read_midi_prompt(path, max_steps: int) -> np.ndarray:
    """The opening of a MIDI file as (M <= max_steps, 4) grid tokens, S A T B.

    Time is read in beats (the file's own tempo map), quantized to 16ths. With four or more
    pitched tracks the four with most notes are the voices, highest mean pitch first; with
    fewer, the notes sounding at each step are dealt to voices from the top down."""
    import pretty_midi

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no MIDI file at {path}")
    if path.stat().st_size > MAX_MIDI_BYTES:
        raise ValueError(f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; MIDI files up to 1 MB are read")
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # noqa: BLE001 -- mido/pretty_midi raise many kinds on a bad file
        raise ValueError(f"{path.name} is not a readable MIDI file ({type(err).__name__}: {str(err)[:120]})") from None
    tracks = [i for i in pm.instruments if not i.is_drum and i.notes]
    if not tracks:
        raise ValueError(f"{path.name} holds no pitched notes to continue")

    def q(t):  # seconds -> 16th steps
        return int(round(pm.time_to_tick(t) / pm.resolution * STEPS_PER_QUARTER))

    n = min(max_steps, max(q(nt.end) for tr in tracks for nt in tr.notes))
    if n < 1:
        raise ValueError(f"{path.name} is shorter than one 16th note")
    pitch_at = np.full((n, N_VOICES), -1, np.int64)
    onset_at = np.zeros((n, N_VOICES), bool)
    if len(tracks) >= N_VOICES:
        tracks = sorted(tracks, key=lambda tr: -len(tr.notes))[:N_VOICES]
        tracks = sorted(tracks, key=lambda tr: -np.mean([nt.pitch for nt in tr.notes]))
        for v, tr in enumerate(tracks):
            for nt in sorted(tr.notes, key=lambda x: x.start):
                a, b = q(nt.start), min(n, q(nt.end))
                if a < b:
                    pitch_at[a:b, v], onset_at[a, v] = nt.pitch, True
    else:
        events = sorted(((q(nt.start), min(n, q(nt.end)), nt.pitch) for tr in tracks for nt in tr.notes))
        for k in range(n):
            here = sorted({p for a, b, p in events if a <= k < b}, reverse=True)[:N_VOICES]
            starts = {p for a, b, p in events if a == k}
            for v, p in enumerate(here):
                pitch_at[k, v], onset_at[k, v] = p, p in starts
    tokens = np.full((n, N_VOICES), REST, np.int64)
    for k in range(n):
        for v in range(N_VOICES):
            p = pitch_at[k, v]
            if p < 0:
                continue
            same = k > 0 and pitch_at[k - 1, v] == p and not onset_at[k, v]
            tokens[k, v] = HOLD if same else PITCH_OFFSET + p
    return tokens
