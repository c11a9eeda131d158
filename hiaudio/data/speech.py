"""Speech from espeak-ng voices, for the vocoder: many voices, no recordings, no downloads.

A clip is one sentence of `SENTENCES` spoken by an espeak-ng voice: an English accent
(`ACCENTS`), a voice variant (male m1..m7, female f1..f5, the Klatt formant voices), a
pitch (`-p`, 25..75) and a speed (`-s`, 130..180 words per minute), resampled from
espeak-ng's 22050 Hz and peak-normalised to a level drawn from -12..-1 dBFS.

Splits (see `splits`): train and validation use `SPEECH_TRAIN_VARIANTS`, test only
`SPEECH_HELD_OUT_VARIANTS` -- voices never heard in training, at any pitch or accent.
Sentences are split 80 / 10 / 10 by hash, so validation and test text is unseen too.

Clip `index` of a `SpeechDataset` is spoken by variant ``variants[index % len(variants)]``
(every voice gets a clip before any gets a second); its sentence, accent, pitch and speed
come from a `SeedSequence` of (seed, split, index). WAVs are cached as 16-bit files under
``<cache>/data/speech/<SPEECH_VERSION>/<split>-<rate>hz-seed<seed>/<variant>/<index:06d>.wav``
with a JSON sidecar of their settings.

    ds = SpeechDataset("train", n_clips=200)
    item = ds[0]  # {"audio": (S,), "sample_rate": 16000, "meta": json str}
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from hiaudio.audio import load_audio, save_wav
from hiaudio.data import splits
from hiaudio.data.cache import data_dir, write_json

SPEECH_VERSION = "speech-v1"  # bump when the clips change
DEFAULT_RATE = 16000  # Hz
ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland")
PITCH_RANGE = (25, 75)  # espeak-ng -p, 0..99 (50 is the voice's default)
SPEED_RANGE_WPM = (130, 180)  # espeak-ng -s
PEAK_DBFS = (-12.0, -1.0)

# Phonetically varied English: Harvard sentences (IEEE 1969 Recommended Practice for Speech
# Quality Measurements) and a few questions and exclamations for intonation.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living!",
    "Would you like another cup of coffee?",
    "Where did you put the keys to the old car?",
    "Oh no, the train has already left the station!",
    "Is it going to rain again this afternoon?",
    "Please call me back when you get this message.",
    "My grandmother still sings in the village choir.",
    "Seven silver spoons lay on the wooden table.",
    "We measured the valley with a long rope and a compass.",
)


@dataclasses.dataclass(frozen=True)
class EspeakVoice:
    variant: str  # espeak-ng variant: m1..m7, f1..f5, klatt, klatt2, klatt3
    accent: str = "en-us"  # espeak-ng language voice
    pitch: int = 50  # -p, 0..99
    speed_wpm: int = 160  # -s

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}"


def sentences(split: str) -> list[str]:
    """The sentences of one split (`splits.speech_sentence_split`)."""
    splits.check_split(split)
    return [s for s in SENTENCES if splits.speech_sentence_split(s) == split]


def speak(text: str, voice: EspeakVoice, sample_rate: int = DEFAULT_RATE) -> np.ndarray:
    """espeak-ng speaking `text`: float32 (S,) at `sample_rate`, as espeak-ng made it (not normalised)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed; run `apt-get install espeak-ng`")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run([espeak, "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed_wpm),
                        "-w", str(raw), text], check=True, capture_output=True, timeout=60)
        wave, _ = load_audio(raw, target_sr=sample_rate)
    return wave


class SpeechDataset(torch.utils.data.Dataset):
    """`n_clips` espeak-ng clips of one split; rendered on first access, then read from the cache."""

    def __init__(self, split: str = "train", n_clips: int = 100, sample_rate: int = DEFAULT_RATE, seed: int = 0,
                 cache: bool = True, cache_dir: str | os.PathLike | None = None):
        if n_clips < 1:
            raise ValueError(f"n_clips is {n_clips}; ask for at least 1")
        self.split, self.n_clips, self.sample_rate, self.seed, self.cache = split, int(n_clips), int(sample_rate), \
            int(seed), cache
        self.variants = splits.speech_variants(split)
        self.sentences = sentences(split)
        name = f"{split}-{self.sample_rate}hz-seed{self.seed}"
        self.dir = Path(cache_dir) if cache_dir is not None else data_dir("speech", SPEECH_VERSION) / name

    def __len__(self) -> int:
        return self.n_clips

    def plan(self, index: int) -> tuple[str, EspeakVoice, float]:
        """Sentence, voice and peak level (dBFS) of clip `index` (nothing is spoken)."""
        if not 0 <= index < self.n_clips:
            raise IndexError(f"index {index} is outside 0..{self.n_clips - 1}")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, splits.SPLITS.index(self.split), index, 7]))
        text = self.sentences[int(rng.integers(len(self.sentences)))]
        voice = EspeakVoice(variant=self.variants[index % len(self.variants)],
                            accent=ACCENTS[int(rng.integers(len(ACCENTS)))],
                            pitch=int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                            speed_wpm=int(rng.integers(SPEED_RANGE_WPM[0], SPEED_RANGE_WPM[1] + 1)))
        return text, voice, float(rng.uniform(*PEAK_DBFS))

    def path(self, index: int) -> Path:
        return self.dir / self.variants[index % len(self.variants)] / f"{index:06d}.wav"

    def clip(self, index: int) -> tuple[np.ndarray, dict]:
        """Clip `index`: float32 (S,) and its settings."""
        import soundfile as sf

        path = self.path(index)
        if self.cache and path.exists():
            wave, _ = sf.read(path, dtype="float32")
            with open(path.with_suffix(".json")) as f:
                return wave, json.load(f)
        text, voice, peak_dbfs = self.plan(index)
        wave = speak(text, voice, self.sample_rate)
        wave = (wave * (10 ** (peak_dbfs / 20) / max(float(np.abs(wave).max()), 1e-9))).astype(np.float32)
        meta = {"version": SPEECH_VERSION, "split": self.split, "index": index, "text": text,
                "voice": dataclasses.asdict(voice), "espeak_voice": voice.name, "peak_dbfs": peak_dbfs,
                "sample_rate": self.sample_rate, "seed": self.seed}
        if self.cache:
            save_wav(path, wave, self.sample_rate, subtype="PCM_16")
            write_json(path.with_suffix(".json"), meta)
            wave, _ = sf.read(path, dtype="float32")  # what a later read returns: 16-bit rounding
        return wave, meta

    def __getitem__(self, index: int) -> dict:
        wave, meta = self.clip(index)
        return {"audio": torch.from_numpy(wave), "sample_rate": self.sample_rate, "meta": json.dumps(meta)}
