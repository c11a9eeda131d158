"""Example clips for the studio and the tests: speech from espeak-ng (a Debian package) and a
sung phrase from hiaudio's own voice model (`hiaudio.voice.singing`).

The clips are committed under assets/examples/; `ensure_examples` only makes the ones that
are missing, so the app starts without espeak-ng once they are there.

    python -m hiaudio.examples            # writes any missing clips under assets/
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hiaudio.audio import STUDIO_RATE, load_audio, save_wav
from hiaudio.data import PARTS, render_chorale
from hiaudio.voice import Singer, render, sing

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"

EXAMPLE_TEXT = "Hello, and welcome to the studio. Listen to how my voice can change."

# file name -> espeak-ng voice: "en" is the default male English voice, "+f3" a female variant
SPEECH_EXAMPLES = {
    "speech_en.wav": "en",
    "speech_en_f.wav": "en+f3",
}

# a sung phrase: (midi pitch, start s, duration s) -- "Ah" rising through a D major arpeggio
SUNG_EXAMPLE = "sung_phrase.wav"
SUNG_NOTES = [(62, 0.2, 0.55), (66, 0.8, 0.55), (69, 1.4, 0.55), (74, 2.0, 1.1), (71, 3.15, 0.5),
              (69, 3.7, 0.5), (66, 4.25, 0.5), (62, 4.8, 1.2)]

# a choir: the opening of a test-split chorale (never trained on), each part rendered on its own
# by the GM soundfont's "Choir Aahs" family, with its score as MIDI for score-informed separation
CHOIR_EXAMPLE, CHOIR_SCORE = "choir_bwv153.5.wav", "choir_bwv153.5.mid"
CHOIR_PIECE, CHOIR_SEED, CHOIR_DURATION_S, CHOIR_TEMPO_QPM = "bwv153.5", 1, 10.0, 72.0

PEAK_DBFS = -1.0  # examples are normalised to this peak, leaving headroom for edits


def make_speech_example(
    path: str | os.PathLike,
    text: str,
    voice: str = "en",
    sr: int = STUDIO_RATE,
    speed_wpm: int = 150,
) -> Path:
    """Speak text with espeak-ng's voice and write it to path: mono 16-bit WAV at sr Hz.

    The clip is resampled to sr (espeak-ng speaks at 22050 Hz) and normalised to PEAK_DBFS.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed; run `apt-get install espeak-ng`")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            [espeak, "-v", voice, "-s", str(speed_wpm), "-w", str(raw), text],
            check=True, capture_output=True, timeout=60,
        )
        wave, sr = load_audio(raw, target_sr=sr)
    wave = wave * np.float32(10.0 ** (PEAK_DBFS / 20.0) / np.max(np.abs(wave)))
    return save_wav(path, wave, sr, subtype="PCM_16")


def make_sung_example(path: str | os.PathLike, sr: int = STUDIO_RATE) -> Path:
    """Sing SUNG_NOTES on "ah" with the voice model (a tenor's vibrato and drift)."""
    params = sing(SUNG_NOTES, sr, Singer(vowel="a", vibrato_cents=40, drift_cents=6), seed=7)
    wave = render(params)
    wave = wave * np.float32(10.0 ** (PEAK_DBFS / 20.0) / np.max(np.abs(wave)))
    return save_wav(path, wave, sr, subtype="PCM_16")


def make_choir_example(wav_path: str | os.PathLike, midi_path: str | os.PathLike) -> tuple[Path, Path]:
    """Render CHOIR_PIECE's opening part by part (fluidsynth) at 16 kHz and write its score as MIDI."""
    import pretty_midi

    ex = render_chorale(CHOIR_PIECE, sample_rate=16000, renderer="fluidsynth", seed=CHOIR_SEED, start_q=0.0,
                        duration_s=CHOIR_DURATION_S, tempo_qpm=CHOIR_TEMPO_QPM)
    wave = ex.mixture * np.float32(10.0 ** (PEAK_DBFS / 20.0) / np.max(np.abs(ex.mixture)))
    midi = pretty_midi.PrettyMIDI(initial_tempo=CHOIR_TEMPO_QPM)
    for part in PARTS:
        inst = pretty_midi.Instrument(program=52, name=part)  # Choir Aahs
        for pitch, start_s, dur_s in ex.meta["notes"][part]:
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch), start=start_s, end=start_s + dur_s))
        midi.instruments.append(inst)
    Path(midi_path).parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(midi_path))
    return save_wav(wav_path, wave, 16000, subtype="PCM_16"), Path(midi_path)


def ensure_examples(assets_dir: str | os.PathLike = ASSETS_DIR) -> dict[str, Path]:
    """Write the spoken examples under assets_dir/examples/ if missing; return name -> path."""
    out_dir = Path(assets_dir) / "examples"
    paths = {}
    for name, voice in SPEECH_EXAMPLES.items():
        path = out_dir / name
        if not path.exists():
            make_speech_example(path, EXAMPLE_TEXT, voice=voice)
        paths[name] = path
    path = out_dir / SUNG_EXAMPLE
    if not path.exists():
        make_sung_example(path)
    paths[SUNG_EXAMPLE] = path
    wav, mid = out_dir / CHOIR_EXAMPLE, out_dir / CHOIR_SCORE
    if not (wav.exists() and mid.exists()):
        make_choir_example(wav, mid)
    paths[CHOIR_EXAMPLE], paths[CHOIR_SCORE] = wav, mid
    return paths


if __name__ == "__main__":
    for name, path in ensure_examples(sys.argv[1] if len(sys.argv) > 1 else ASSETS_DIR).items():
        print(path)
