"""Deterministic test clips for the benchmarks, built from tools and cached under bench/.cache/.

- Speech: espeak-ng (formant synthesis, several voices and languages), resampled to 16 kHz.
- Singing: monophonic melodies rendered by fluidsynth with the General MIDI "Choir Aahs"
  (program 52, 0-based) and "Voice Oohs" (53) presets of pretty_midi's bundled TimGM6mb.sf2,
  reverb and chorus off so that each clip stays one voice. No modulation wheel: no vibrato
  beyond what the sampled preset carries.

Every clip is float32 mono, peak-normalized to `PEAK`. The cache key is a hash of the clip's
spec, the sample rate and `BUILD_VERSION`; bump the version when a builder changes.

    from bench import clips
    named = clips.speech_clips()            # {name: (n_samples,) float32 at 16 kHz}
    long = clips.timing_clip(duration_s=10)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
SAMPLE_RATE = 16000  # Hz, of every clip these builders return by default
PEAK = 0.7  # linear peak every clip is normalized to
BUILD_VERSION = 1


@dataclasses.dataclass(frozen=True)
class SpeechSpec:
    name: str
    voice: str  # espeak-ng voice, e.g. "en+f3" (language + variant)
    text: str
    words_per_min: int = 175  # espeak-ng default rate


@dataclasses.dataclass(frozen=True)
class SungSpec:
    name: str
    program: int  # General MIDI program, 0-based: 52 Choir Aahs, 53 Voice Oohs
    notes: tuple[tuple[int, float, float], ...]  # (MIDI pitch, start_s, end_s), not overlapping
    velocity: int = 100
    tail_s: float = 0.4  # kept after the last note-off (the release)


SPEECH = (
    SpeechSpec("speech_en_m", "en", "The quick brown fox jumps over the lazy dog. "
               "She sells sea shells by the sea shore."),
    SpeechSpec("speech_en_f", "en-us+f3", "Please call Stella. Ask her to bring these things "
               "with her from the store."),
    SpeechSpec("speech_de_m", "de", "Der Nordwind und die Sonne stritten sich, "
               "wer von ihnen beiden wohl der Stärkere wäre."),
    SpeechSpec("speech_fr_m", "fr+m3", "La bise et le soleil se disputaient, "
               "chacun assurant qu'il était le plus fort."),
    SpeechSpec("speech_es_f", "es+f2", "El viento norte y el sol porfiaban sobre "
               "cuál de ellos era el más fuerte."),
)


def _held(pitches, note_s: float = 1.0, gap_s: float = 0.2, start_s: float = 0.1):
    """Sustained notes separated by short rests."""
    return tuple((p, start_s + i * (note_s + gap_s), start_s + i * (note_s + gap_s) + note_s)
                 for i, p in enumerate(pitches))


def _legato(pitches, note_s: float = 0.25, start_s: float = 0.1):
    """A legato line: each note ends where the next begins."""
    return tuple((p, start_s + i * note_s, start_s + (i + 1) * note_s)
                 for i, p in enumerate(pitches))


_C_MAJOR_UP = (0, 2, 4, 5, 7, 9, 11, 12)  # semitones above the tonic
_PHRASE = _C_MAJOR_UP + (11, 9, 7, 9, 7, 5, 4, 2, 0)  # up the octave, back down with a turn
_LOW, _HIGH = 48, 60  # C3 (male range), C4 (female range)

SINGING = (
    SungSpec("choir_held", 52, _held((48, 55, 64, 72))),  # C3 G3 E4 C5
    SungSpec("choir_phrase_c3c4", 52, _legato(tuple(_LOW + s for s in _PHRASE))),
    SungSpec("choir_phrase_c4c5", 52, _legato(tuple(_HIGH + s for s in _PHRASE))),
    SungSpec("oohs_held", 53, _held((50, 57, 62, 69))),  # D3 A3 D4 A4
    SungSpec("oohs_phrase_c3c4", 53, _legato(tuple(_LOW + s for s in _PHRASE))),
    SungSpec("oohs_phrase_c4c5", 53, _legato(tuple(_HIGH + s for s in _PHRASE))),
)


# ---- builders ------------------------------------------------------------------------------
def speech(spec: SpeechSpec, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """espeak-ng's rendering of spec.text, resampled to sample_rate (cached)."""
    def build() -> np.ndarray:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise RuntimeError("espeak-ng is not on PATH; install it (apt-get install espeak-ng) "
                               "to build the speech clips")
        with tempfile.TemporaryDirectory() as tmp:
            wav_path = os.path.join(tmp, "speech.wav")
            subprocess.run([exe, "-v", spec.voice, "-s", str(spec.words_per_min), "-w", wav_path,
                            spec.text], check=True, capture_output=True)
            audio, native_rate = sf.read(wav_path, dtype="float32")
        return _resample(audio, native_rate, sample_rate)

    return _cached("speech", spec, sample_rate, build)


def sung(spec: SungSpec, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """fluidsynth's rendering of a monophonic melody on a GM voice preset (cached)."""
    def build() -> np.ndarray:
        import fluidsynth
        import pretty_midi

        sf2_path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
        # reverb and chorus would smear one voice into several; a fresh synth per clip keeps
        # the rendering independent of what was rendered before
        synth = fluidsynth.Synth(samplerate=float(sample_rate),
                                 **{"synth.reverb.active": 0, "synth.chorus.active": 0})
        try:
            sfid = synth.sfload(sf2_path)
            inst = pretty_midi.Instrument(program=spec.program)
            inst.notes = [pretty_midi.Note(spec.velocity, p, s, e) for p, s, e in spec.notes]
            audio = inst.fluidsynth(fs=sample_rate, synthesizer=synth, sfid=sfid)
        finally:
            synth.delete()
        end_s = max(e for _, _, e in spec.notes) + spec.tail_s
        return np.asarray(audio[:round(end_s * sample_rate)], dtype=np.float32)

    return _cached("sung", spec, sample_rate, build)


def speech_clips(sample_rate: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
    return {s.name: speech(s, sample_rate) for s in SPEECH}


def singing_clips(sample_rate: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
    return {s.name: sung(s, sample_rate) for s in SINGING}


def timing_clip(duration_s: float = 10.0, sample_rate: int = SAMPLE_RATE,
                gap_s: float = 0.2) -> np.ndarray:
    """The speech clips end to end (short rests between), repeated as needed, cut to duration_s."""
    gap = np.zeros(round(gap_s * sample_rate), np.float32)
    pieces = [p for clip in speech_clips(sample_rate).values() for p in (clip, gap)]
    n_samples = round(duration_s * sample_rate)
    reps = -(-n_samples // sum(len(p) for p in pieces))  # ceil
    return np.concatenate(pieces * reps)[:n_samples]


# ---- helpers -------------------------------------------------------------------------------
def _resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return np.asarray(audio, np.float32)
    return AF.resample(torch.from_numpy(np.asarray(audio, np.float32)), from_rate, to_rate).numpy()


def _cached(kind: str, spec, sample_rate: int, build) -> np.ndarray:
    """Load the clip for (spec, sample_rate) from CACHE_DIR or build, normalize and store it."""
    key = json.dumps({"kind": kind, "spec": dataclasses.asdict(spec), "sample_rate": sample_rate,
                      "peak": PEAK, "version": BUILD_VERSION}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    path = CACHE_DIR / f"{spec.name}-{sample_rate}-{digest}.wav"
    if path.exists():
        audio, rate = sf.read(path, dtype="float32")
        if rate == sample_rate:
            return audio
    audio = build()
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak == 0.0:
        raise RuntimeError(f"clip {spec.name!r} came out silent; check the {kind} builder")
    audio = (audio * (PEAK / peak)).astype(np.float32)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.wav")
    sf.write(tmp, audio, sample_rate, subtype="FLOAT")
    tmp.replace(path)  # atomic: a killed run never leaves half a clip behind
    return audio
