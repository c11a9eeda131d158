"""Many voices for the mel vocoders: espeak-ng voices in many languages, MBROLA diphone voices,
and our own voice model speaking and singing -- split by *voice*, so a vocoder can be tested on
voices and languages it never heard.

A voice is (engine, name, language):

* ``espeak``: an espeak-ng language voice with a variant (``-v de+m3``), at a pitch (-p 25..75)
  and speed (130..180 wpm). Formant synthesis: the same synthesizer for every language.
* ``mbrola``: an MBROLA diphone voice through espeak-ng (``-v mb-de6``): concatenated
  recordings of one real speaker (no English voice: those are reserved for an independent check).
* ``model``: our source-filter voice model (`hiaudio.voice.sing` + `words.sing_words`) speaking
  (one syllable per short note on a falling, accented speech contour, long glides, no vibrato)
  or singing (a melody with vibrato), with a vocal-tract scale and a source slope.

Splits of voices (`VOICE_SPLITS`), all pure functions of the voice, the same on every machine:

* ``train``: the voices a vocoder learns from;
* ``seen``: the training voices reading sentences never used in training (the seed's
  "train and test on LJ Speech");
* ``validation``: voices never heard in training, in the training languages -- every setting
  (checkpoint, noise schedule, GLA-Grad projections) is chosen here;
* ``test``: other unheard voices, and languages never heard (Italian, Portuguese, Finnish,
  Hungarian, Greek, Latin): reported, never tuned on.

    bank = VoiceBank("validation", n_clips=24)
    wave, meta = bank.clip(0)    # float32 (S,) at 16 kHz, peak -12..-1 dBFS; meta["voice"]

A machine without espeak-ng and MBROLA (a lent GPU) trains from a pack: every clip of a bank in
one lossless FLAC file and a JSON of their lengths and plans (`write_pack`, `read_pack`;
`python -m hiaudio.data vocoder-pack`), ~36 MB per 1,000 training clips.
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
from hiaudio.data import speech, words
from hiaudio.data.cache import data_dir, write_json
from hiaudio.voice import render, singing

VOICES_VERSION = "vocoder-voices-v1"  # bump when the clips change
SAMPLE_RATE = 16000
VOICE_SPLITS = ("train", "seen", "validation", "test")
PEAK_DBFS = (-12.0, -1.0)

# espeak-ng variants by split. Families of near-identical variants (steph, steph2, steph3) stay in
# one split; whispering, croaking and effect voices are left out: a vocoder needs voicing.
ESPEAK_VARIANTS = {
    "train": ("m1", "m2", "m3", "m5", "m6", "f1", "f2", "f4", "klatt", "klatt3", "klatt5", "adam", "Alex",
              "Andrea", "antonio", "aunty", "benjamin", "boris", "caleb", "david", "Denis", "Diogo", "ed",
              "Gene", "Gene2", "grandma", "grandpa", "gustave", "Henrique", "Hugo", "iven", "iven2", "iven3",
              "iven4", "Jacky", "john", "kaukovalta", "marcelo", "Marco", "Mario", "Michael", "michel",
              "miguel", "Mike", "norbert", "pablo", "paul", "pedro", "rob", "robert", "sandro", "shelby",
              "steph", "steph2", "steph3", "travis", "victor", "zac"),
    "validation": ("m8", "klatt4", "Alicia", "Lee", "edward", "edward2", "linda", "max", "anika"),
    "test": ("m4", "m7", "f3", "f5", "klatt2", "klatt6", "Andy", "Annie", "belinda", "quincy", "Nguyen",
             "Storm", "Tweaky", "announcer"),
}
# espeak-ng languages: the training languages serve train, seen and validation; the test split
# adds languages never heard in training
TRAIN_LANGUAGES = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "de", "fr-fr", "es", "nl", "pl", "sv", "cs")
TEST_LANGUAGES = ("en-us", "en-gb", "de", "fr-fr", "it", "pt", "fi", "hu", "el")
# MBROLA voices (installed from Debian non-free, hiaudio/data/README.md): train on seven, choose
# settings on one, test on three whose languages (Italian, Latin) no training voice speaks
MBROLA_VOICES = {"train": ("de6", "de7", "fr1", "es1", "es3", "nl2", "pl1"), "validation": ("fr4",),
                 "test": ("it3", "it4", "la1")}
MBROLA_LANGUAGE = words.VOICE_LANGUAGE
# our voice model: the vocal-tract scale (formant ratio) picks the split, with gaps between
MODEL_FORMANT_RATIO = {"train": (0.86, 1.04), "validation": (1.07, 1.12), "test": (1.15, 1.24)}
MODEL_LANGUAGES = {"train": ("de", "fr", "es", "nl", "pl"), "validation": ("de", "fr", "es", "nl", "pl"),
                   "test": ("it", "la")}
# share of the clips per engine
ENGINE_SHARE = (("espeak", 0.5), ("mbrola", 0.3), ("model", 0.2))

# sentences in the espeak-ng test languages (public-domain proverbs and plain statements)
EXTRA_TEXTS = {
    "it": ("Chi va piano va sano e va lontano.", "Il sole splende sopra le colline verdi.",
           "Domani mattina andremo al mercato con la nonna."),
    "pt": ("Devagar se vai ao longe.", "O rio corre tranquilo entre as montanhas.",
           "A menina comprou pao e leite na padaria."),
    "fi": ("Hiljaa hyvaa tulee.", "Jarven ranta oli tyyni ja kaunis.", "Huomenna sataa lunta koko paivan."),
    "hu": ("Lassan jarj, tovabb ersz.", "A folyo csendesen folyik a varos alatt.",
           "Holnap reggel a piacra megyunk."),
    "el": ("Siga siga ginetai i agourida meli.", "O ilios lampei pano apo ti thalassa.",
           "Avrio to proi tha pame sto limani."),
    "sv": ("Den som vantar pa nagot gott vantar aldrig for lange.", "Solen skiner over den stilla sjon."),
    "cs": ("Kdo jinemu jamu kope, sam do ni pada.", "Slunce sviti nad zelenymi kopci."),
}
LANGUAGE_TEXTS = {"de": "de", "fr-fr": "fr", "es": "es", "nl": "nl", "pl": "pl", "it": "it", "la": "la"}


@dataclasses.dataclass(frozen=True)
class Voice:
    engine: str  # "espeak", "mbrola" or "model"
    name: str  # espeak-ng variant, MBROLA voice, or "speaker" / "singer" for the voice model
    language: str  # espeak-ng language voice, or the text language for MBROLA and the model

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.language}+{self.name}"


def split_voices(split: str) -> tuple[str, ...]:
    """The split whose voices `split` uses: "seen" reads with the training voices."""
    if split not in VOICE_SPLITS:
        raise ValueError(f"unknown voice split {split!r}; use one of {', '.join(VOICE_SPLITS)}")
    return "train" if split == "seen" else split


def voice_split(voice: Voice) -> str:
    """"train", "validation" or "test" for a voice (a voice of no split raises)."""
    if voice.engine == "espeak":
        found = [s for s, names in ESPEAK_VARIANTS.items() if voice.name in names]
        if voice.language not in TRAIN_LANGUAGES:
            return "test"
    elif voice.engine == "mbrola":
        found = [s for s, names in MBROLA_VOICES.items() if voice.name in names]
    elif voice.engine == "model":
        ratio = float(voice.name.split("@")[-1])
        found = [s for s, (lo, hi) in MODEL_FORMANT_RATIO.items() if lo <= ratio <= hi]
    else:
        raise ValueError(f"unknown engine {voice.engine!r}")
    if len(found) != 1:
        raise ValueError(f"voice {voice.label} belongs to no split")
    return found[0]


def texts(language: str, split: str) -> list[str]:
    """Sentences for a clip: English ones by the sentence split; other languages from `words.TEXTS`
    and `EXTRA_TEXTS`. The seen split reads only English sentences never used in training (a
    German voice reads them with German rules)."""
    if language.startswith("en") or split == "seen":
        sentence_split = {"train": "train", "seen": "validation", "validation": "validation", "test": "test"}[split]
        return speech.sentences(sentence_split)
    key = LANGUAGE_TEXTS.get(language, language)
    pool = words.TEXTS.get(key, ()) + EXTRA_TEXTS.get(key, ())
    if not pool:
        raise ValueError(f"no sentences for language {language!r}")
    return list(pool)


def speech_notes(sylls, rng: np.random.Generator, base_midi: float, speed: float):
    """(pitch, start s, duration s) per syllable: espeak-ng's durations scaled by `speed`, a falling
    declination over the phrase with accents of up to 3 semitones and short pauses at commas."""
    notes, t = [], 0.1
    for k, syl in enumerate(sylls):
        dur = max(0.08, speed * (sum(p.duration_s for p in syl.onset + syl.coda) + syl.nucleus.duration_s))
        pitch = base_midi - 3.0 * k / max(len(sylls) - 1, 1) + float(rng.choice([0.0, 0.0, 1.5, 3.0])) \
            + float(rng.normal(0, 0.4))
        notes.append((pitch, t, dur))
        t += dur
    return notes


def sung_notes(rng: np.random.Generator, base_midi: float, duration_s: float):
    """A melody of (pitch, start s, duration s): steps and small leaps in a major scale, 0.2-0.7 s notes."""
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    notes, t, degree = [], 0.1, int(rng.integers(0, 5))
    while t < duration_s - 0.3:
        dur = float(rng.uniform(0.2, 0.7))
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2, 3]), 0, len(scale) - 1))
        notes.append((base_midi + scale[degree], t, min(dur, duration_s - 0.2 - t)))
        t += dur + float(rng.choice([0.0, 0.0, 0.0, 0.1]))
    return notes


def speak_model(text: str, language: str, singing_mode: bool, ratio: float, rng: np.random.Generator,
                sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Our voice model speaking or singing `text` (phonemes by espeak-ng for an MBROLA voice of the
    language): float32 (S,)."""
    mb_voice = {"de": "de6", "fr": "fr1", "es": "es1", "nl": "nl2", "pl": "pl1", "it": "it3", "la": "la1"}[language]
    sylls = words.text_syllables(text, mb_voice)
    low = ratio < 1.0
    base_midi = float(rng.uniform(43, 55) if low else rng.uniform(52, 64))  # ~100-175 Hz or ~165-330 Hz
    if singing_mode:
        notes = sung_notes(rng, base_midi + 5, float(rng.uniform(2.0, 3.5)))
    else:
        notes = speech_notes(sylls, rng, base_midi, float(rng.uniform(0.8, 1.2)))
    singer = singing.Singer(vowel="a", formant_ratio=ratio, vibrato_cents=float(rng.uniform(20, 50)) if singing_mode
                            else 0.0, vibrato_hz=float(rng.uniform(4.5, 6.5)), drift_cents=float(rng.uniform(2, 10)),
                            portamento_s=0.04 if singing_mode else float(rng.uniform(0.06, 0.12)),
                            source_slope_db_per_oct=float(rng.uniform(-15, -9)),
                            breathiness_db=float(rng.uniform(-45, -25)), attack_s=0.03, release_s=0.05)
    segments = words.sung_syllables(notes, sylls, rng, melisma_p=0.0 if not singing_mode else 0.1)
    velocity = [(p, a, d, float(np.clip(rng.normal(0.8, 0.08), 0.5, 1.0))) for p, a, d in notes]
    params = words.sing_words(velocity, sample_rate, singer, segments, seed=int(rng.integers(2**31)))
    return render(params, seed=int(rng.integers(2**31)))


def espeak_wave(text: str, voice: str, pitch: int, speed_wpm: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """espeak-ng speaking `text` with voice `voice` ("de+m3", "mb-de6"): float32 (S,) at `sample_rate`."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed; run `apt-get install espeak-ng`")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run([exe, "-v", voice, "-p", str(pitch), "-s", str(speed_wpm), "-w", str(raw), text],
                       check=True, capture_output=True, timeout=60)
        wave, _ = load_audio(raw, target_sr=sample_rate)
    return wave


class VoiceBank(torch.utils.data.Dataset):
    """`n_clips` clips of one voice split, rendered on first access, then read from the cache.

    Clip `index` draws its engine (ENGINE_SHARE), voice, language, sentence, pitch, speed and
    level from a SeedSequence of (seed, split, index): a pure function of the three.
    """

    def __init__(self, split: str = "train", n_clips: int = 100, seed: int = 0, cache: bool = True,
                 cache_dir: str | os.PathLike | None = None):
        split_voices(split)
        if n_clips < 1:
            raise ValueError(f"n_clips is {n_clips}; ask for at least 1")
        self.split, self.n_clips, self.seed, self.cache = split, int(n_clips), int(seed), cache
        self.dir = Path(cache_dir) if cache_dir is not None else \
            data_dir("vocoder_voices", VOICES_VERSION) / f"{split}-seed{self.seed}"

    def __len__(self) -> int:
        return self.n_clips

    def plan(self, index: int) -> dict:
        """What clip `index` is: engine, voice, text, settings (nothing is rendered)."""
        if not 0 <= index < self.n_clips:
            raise IndexError(f"index {index} is outside 0..{self.n_clips - 1}")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, VOICE_SPLITS.index(self.split), index, 18]))
        vsplit = split_voices(self.split)
        engines, shares = zip(*ENGINE_SHARE)
        engine = engines[int(rng.choice(len(engines), p=np.array(shares) / sum(shares)))]
        plan = {"engine": engine, "peak_dbfs": float(rng.uniform(*PEAK_DBFS)), "rng_seed": int(rng.integers(2**31))}
        if engine == "espeak":
            languages = TEST_LANGUAGES if vsplit == "test" else TRAIN_LANGUAGES
            variants = ESPEAK_VARIANTS[vsplit]
            voice = Voice("espeak", variants[int(rng.integers(len(variants)))], languages[int(rng.integers(len(languages)))])
            plan.update(pitch=int(rng.integers(25, 76)), speed_wpm=int(rng.integers(130, 181)))
        elif engine == "mbrola":
            names = MBROLA_VOICES[vsplit]
            name = names[int(rng.integers(len(names)))]
            voice = Voice("mbrola", name, MBROLA_LANGUAGE[name])
            plan.update(pitch=int(rng.integers(35, 66)), speed_wpm=int(rng.integers(130, 171)))
        else:
            lo, hi = MODEL_FORMANT_RATIO[vsplit]
            langs = MODEL_LANGUAGES[vsplit]
            mode = "singer" if rng.random() < 0.4 else "speaker"
            voice = Voice("model", f"{mode}@{rng.uniform(lo, hi):.3f}", langs[int(rng.integers(len(langs)))])
        pool = texts(voice.language, self.split)
        plan.update(voice=dataclasses.asdict(voice), label=voice.label, text=pool[int(rng.integers(len(pool)))])
        return plan

    def path(self, index: int) -> Path:
        return self.dir / f"{index:06d}.wav"

    def render(self, plan: dict) -> np.ndarray:
        voice = Voice(**plan["voice"])
        rng = np.random.default_rng(plan["rng_seed"])
        if voice.engine == "espeak":
            wave = espeak_wave(plan["text"], f"{voice.language}+{voice.name}", plan["pitch"], plan["speed_wpm"])
        elif voice.engine == "mbrola":
            wave = espeak_wave(plan["text"], f"mb-{voice.name}", plan["pitch"], plan["speed_wpm"])
        else:
            mode, ratio = voice.name.split("@")
            wave = speak_model(plan["text"], voice.language, mode == "singer", float(ratio), rng)
        wave = np.asarray(wave, dtype=np.float32)
        peak = float(np.abs(wave).max())
        if not np.isfinite(peak) or peak < 1e-6:
            raise RuntimeError(f"{voice.label} rendered silence for {plan['text']!r}")
        return (wave * (10 ** (plan["peak_dbfs"] / 20) / peak)).astype(np.float32)

    def clip(self, index: int) -> tuple[np.ndarray, dict]:
        """Clip `index`: float32 (S,) at 16 kHz and its plan."""
        import soundfile as sf

        path = self.path(index)
        if self.cache and path.exists():
            wave, _ = sf.read(path, dtype="float32")
            return wave, json.loads(path.with_suffix(".json").read_text())
        plan = self.plan(index)
        wave = self.render(plan)
        meta = {"version": VOICES_VERSION, "split": self.split, "index": index, **plan}
        if self.cache:
            save_wav(path, wave, SAMPLE_RATE, subtype="PCM_16")
            write_json(path.with_suffix(".json"), meta)
            wave, _ = sf.read(path, dtype="float32")  # what a later read returns: 16-bit rounding
        return wave, meta

    def __getitem__(self, index: int) -> dict:
        wave, meta = self.clip(index)
        return {"audio": torch.from_numpy(wave), "sample_rate": SAMPLE_RATE, "meta": json.dumps(meta)}


def duration_s(bank: VoiceBank) -> float:
    """Total audio of a bank, in seconds (renders what is missing)."""
    return sum(len(bank.clip(i)[0]) for i in range(len(bank))) / SAMPLE_RATE



def pack_path(folder: str | os.PathLike, split: str, seed: int = 0) -> Path:
    """Where `write_pack` puts a split's pack in `folder`: {split}-seed{seed}.flac (+ .json)."""
    return Path(folder) / f"{split}-seed{seed}.flac"


def write_pack(bank: VoiceBank, folder: str | os.PathLike) -> Path:
    """Every clip of `bank` (rendered or read from the cache) joined into one 16-bit FLAC file --
    lossless, so `read_pack` returns exactly what `bank.clip` does -- with a JSON beside it of each
    clip's length and plan."""
    import soundfile as sf

    clips = [bank.clip(i) for i in range(len(bank))]
    path = pack_path(folder, bank.split, bank.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    joined = np.concatenate([wave for wave, _ in clips])
    sf.write(path, joined, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    write_json(path.with_suffix(".json"), {"version": VOICES_VERSION, "split": bank.split, "seed": bank.seed,
                                           "lengths": [len(wave) for wave, _ in clips],
                                           "metas": [meta for _, meta in clips]})
    return path


def read_pack(folder: str | os.PathLike, split: str, n_clips: int, seed: int = 0) -> list[np.ndarray]:
    """The first `n_clips` clips of the split's pack in `folder`, float32 (S,) each at 16 kHz."""
    import soundfile as sf

    path = pack_path(folder, split, seed)
    if not path.is_file():
        raise FileNotFoundError(f"no pack at {path}; make it with `python -m hiaudio.data vocoder-pack --split "
                                f"{split} --n {n_clips} --out {folder}` where espeak-ng and MBROLA are installed")
    header = json.loads(path.with_suffix(".json").read_text())
    if header["version"] != VOICES_VERSION or len(header["lengths"]) < n_clips:
        raise ValueError(f"{path} holds {len(header['lengths'])} clips of {header['version']}; "
                         f"{n_clips} of {VOICES_VERSION} were asked for: make the pack again")
    joined, _ = sf.read(path, dtype="float32")
    ends = np.cumsum(header["lengths"])
    return [joined[end - n:end] for n, end in zip(header["lengths"][:n_clips], ends[:n_clips])]
