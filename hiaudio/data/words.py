"""Sung words: syllables with vowel changes and consonants, for our voice model and for MBROLA.

Text -> phonemes: espeak-ng with an MBROLA voice (``espeak-ng -v mb-de6 --pho``) writes each
phoneme in that voice's SAMPA with a spoken duration. `syllables` groups them around their
vowels: a consonant run between two vowels gives its last consonant to the next syllable's
onset and the rest to the previous syllable's coda. One syllable is sung per note, in order,
cycling through the text; the onset consonants sound *before* the note's onset (singers put
the consonant ahead of the beat so the vowel lands on it), the vowel holds the note, the coda
consonants close it. A diphthong's second vowel takes the last third of the note.

Two singers of words:

* `sing_words`: our voice model (`hiaudio.voice.sing`) singing the notes, then each frame's
  vocal tract and source edited here: the vowel's formants (`VOWEL_FORMANTS`, 5 resonances, so
  every frame's filter has the same order and the line spectral frequencies interpolate between
  segments over `TRANSITION_S`), and consonants from `consonant_class`: fricatives (noise through
  a fricative's resonances, unvoiced), plosives (a closure, then a burst), nasals and liquids
  (voiced, weaker, their own formants). The F0 it sang is exact (`VoiceParams.f0_hz` where voiced).
* `mbrola_sing`: an MBROLA diphone voice (any installed language but English: those voices are
  reserved for an independent check) given the same plan as a .pho file: every phoneme's
  duration and, every `PITCH_POINT_S`, the pitch the singer should be at (note, detune,
  vibrato, drift). MBROLA interpolates its pitch linearly between those points, so the F0 on
  voiced phonemes is known exactly (to the pitch marks' accuracy): the label is that linear
  interpolation of the points written (a vowel longer than 1.2 s gets MAX_PITCH_POINTS, coarser).

    plan = sung_syllables(notes, syllables("ave maria gratia plena", "mb-la1"), rng)
    params = sing_words(notes, 16000, singer, plan)          # VoiceParams
    audio, f0 = mbrola_sing(plan, pitch_fn, "la1", 16000, hop=80, n_samples=...)
"""
from __future__ import annotations

import dataclasses
import functools
import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import soundfile as sf

from hiaudio import audio as audio_io
from hiaudio.voice import sing, singing

MBROLA_DIR = Path("/usr/share/mbrola")
TRANSITION_S = 0.04  # formants move between segments over this long (Sundberg: 20-50 ms in singing)
PITCH_POINT_S = 0.02  # MBROLA pitch points every 20 ms: vibrato at 7 Hz still has 7 points a cycle
MAX_PITCH_POINTS = 60  # per phoneme: mbrola refuses a .pho line past ~1000 characters
MIN_VOWEL_S = 0.05  # a vowel is never squeezed below this by its consonants
CONSONANT_STRETCH = (0.6, 1.1)  # sung consonants are shorter than espeak-ng's spoken ones

# Texts per language: short sacred and secular lines (public domain), one list per espeak-ng
# language. Training families sing German, French, Spanish, Dutch and Polish; the report set's
# MBROLA family sings Latin and Italian (`families`).
TEXTS = {
    "la": ("Kyrie eleison Christe eleison", "Gloria in excelsis Deo et in terra pax hominibus",
           "Agnus Dei qui tollis peccata mundi miserere nobis", "Sanctus Dominus Deus Sabaoth",
           "Ave Maria gratia plena Dominus tecum", "Credo in unum Deum patrem omnipotentem"),
    "it": ("Lasciatemi morire e chi volete voi che mi conforte", "Ecco mormorar l'onde e tremolar le fronde",
           "Si ch'io vorrei morire ora ch'io bacio amore", "Cruda Amarilli che col nome ancora"),
    "de": ("Nun danket alle Gott mit Herzen Mund und Haenden", "Ein feste Burg ist unser Gott",
           "Wie schoen leuchtet der Morgenstern voll Gnad und Wahrheit", "Lobe den Herren den maechtigen Koenig"),
    "fr": ("Mille regrets de vous abandonner", "Il est bel et bon commere mon mari",
           "Tant que vivray en age florissant", "Douce memoire en plaisir consommee"),
    "es": ("Riu riu chiu la guarda ribera", "Ay linda amiga que no vuelvo a verte",
           "Dadme albricias hijos de Eva", "Con que la lavare la flor de la mi cara"),
    "nl": ("Het daghet in den oosten het lichtet overal", "Ik zeg adieu wij twee wij moeten scheiden",
           "Wilhelmus van Nassouwe ben ik van duitsen bloed"),
    "pl": ("Bogurodzica dziewica Bogiem slawiena Maryja", "Wsrod nocnej ciszy glos sie rozchodzi",
           "Gaude mater Polonia prole foecunda nobili"),
}
VOICE_LANGUAGE = {"de6": "de", "de7": "de", "fr1": "fr", "fr4": "fr", "es1": "es", "es3": "es", "nl2": "nl",
                  "pl1": "pl", "it3": "it", "it4": "it", "la1": "la"}

# Sung-vowel formants (Hz) and bandwidths (Hz), 5 resonances each; a e i o u as in
# `voice.singing.VOWELS`, the others between them after Sundberg (1987) and Peterson & Barney (1952).
VOWEL_FORMANTS = {
    **singing.VOWELS,  # a e i o u
    "E": ((550, 1750, 2500, 3300, 4950), (70, 90, 110, 120, 140)),  # open e
    "y": ((280, 1650, 2300, 3300, 4950), (60, 90, 100, 120, 140)),  # front rounded
    "O": ((600, 950, 2700, 3400, 4950), (70, 80, 110, 130, 140)),  # open o
    "@": ((500, 1450, 2500, 3400, 4950), (70, 90, 110, 130, 140)),  # schwa
    "2": ((420, 1400, 2300, 3300, 4950), (60, 90, 100, 120, 140)),  # close-mid front rounded
}
# Consonant resonances: (formants Hz, bandwidths Hz), a broad approximation of each class's
# spectrum (Stevens 1998): /s/ peaks near 5-7 kHz, /S/ near 2.5-3 kHz, /f/ is flat and weak.
CONSONANT_FORMANTS = {
    "s": ((1500, 3000, 4500, 6000, 7200), (800, 900, 1000, 800, 900)),
    "S": ((1200, 2700, 3300, 4500, 6000), (500, 400, 600, 900, 1200)),
    "f": ((1500, 3000, 4500, 5800, 7000), (2000, 2000, 2000, 2000, 2000)),
    "x": ((900, 1600, 2500, 3500, 4950), (300, 400, 500, 600, 800)),
    "t": ((1500, 3000, 4000, 5000, 6500), (900, 800, 700, 900, 1000)),
    "k": ((800, 1900, 2800, 3800, 4950), (300, 300, 500, 700, 900)),
    "p": ((600, 1300, 2500, 3500, 4950), (700, 900, 1200, 1400, 1500)),
    "nasal": ((280, 1100, 2200, 3300, 4950), (100, 250, 300, 350, 400)),
    "liquid": ((360, 1300, 2600, 3500, 4950), (80, 150, 200, 250, 300)),
}
FRICATIVES = {"f": "f", "v": "f", "s": "s", "z": "s", "S": "S", "Z": "S", "x": "x", "X": "x", "C": "S",
              "T": "f", "D": "f", "h": "x", "H": "x", "B": "f", "G": "x", "s'": "S", "z'": "S", "j\\": "x"}
PLOSIVES = {"p": "p", "b": "p", "t": "t", "d": "t", "k": "k", "g": "k", "?": "p", "c": "k", "J\\": "k",
            "ts": "t", "dz": "t", "tS": "S", "dZ": "S", "ts'": "S", "dz'": "S", "k_h": "k", "p_h": "p", "t_h": "t"}
VOICED = set("bdgvzZDBGmnNJlrRLjw") | {"dz", "dZ", "dz'", "z'", "j\\"}
NASALS = set("mnNJ") | {"n'", "F"}
LIQUIDS = set("lrRLjwW4") | {"r\\", "l'"}


class Phoneme(NamedTuple):
    name: str  # SAMPA as the MBROLA voice spells it
    duration_s: float  # spoken duration from espeak-ng


@dataclasses.dataclass(frozen=True)
class Syllable:
    onset: tuple[Phoneme, ...]  # consonants before the vowel
    nucleus: Phoneme  # the vowel (a diphthong is one phoneme: "aI")
    coda: tuple[Phoneme, ...]  # consonants after it


def is_vowel(name: str) -> bool:
    """A SAMPA vowel (stress digits, length marks, nasalisation and tone marks ignored)."""
    base = name.rstrip("0123456789:~/=")
    return bool(base) and base[0] in "aeiouyAEIOUY@269&{}3QVM" and base not in ("?",)


def consonant_class(name: str) -> str:
    """"fricative", "plosive", "nasal", "liquid" or "silence" for a SAMPA consonant."""
    base = name.rstrip("0123456789:")
    if base in ("_", ""):
        return "silence"
    if base in PLOSIVES:
        return "plosive"
    if base in FRICATIVES or base[0] in "fvszSZxXCThHBG":
        return "fricative"
    if base in NASALS or base[0] in "mnNJ":
        return "nasal"
    return "liquid"


def vowel_key(name: str) -> tuple[str, str | None]:
    """A SAMPA vowel -> (key of VOWEL_FORMANTS, second key for a diphthong or None)."""
    base = name.rstrip("0123456789:~/=")

    def one(c: str) -> str:
        return {"a": "a", "A": "a", "6": "a", "&": "a", "{": "a", "V": "a", "Q": "O", "e": "e", "E": "E",
                "i": "i", "I": "i", "y": "y", "Y": "y", "o": "o", "O": "O", "u": "u", "U": "u", "}": "u",
                "@": "@", "3": "@", "2": "2", "9": "2", "M": "u"}.get(c, "@")

    first = one(base[0])
    second = next((one(c) for c in base[1:] if c in "aeiouyAEIOUY@2"), None)
    return first, (second if second != first else None)


@functools.lru_cache(maxsize=256)
def espeak_phonemes(text: str, voice: str) -> tuple[Phoneme, ...]:
    """espeak-ng's phonemes of `text` for the MBROLA voice `voice` ("mb-de6"), pauses dropped."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run([exe, "-v", voice, "--pho", "-q", text], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    phonemes = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] != "_":
            phonemes.append(Phoneme(fields[0], int(fields[1]) / 1000.0))
    if not phonemes:
        raise RuntimeError(f"espeak-ng gave no phonemes for {text!r} with voice {voice}")
    return tuple(phonemes)


def syllables(phonemes) -> list[Syllable]:
    """Phonemes -> syllables around each vowel (maximal-onset of one consonant; see module docs)."""
    idx = [i for i, p in enumerate(phonemes) if is_vowel(p.name)]
    if not idx:
        raise ValueError("no vowel in the phonemes")
    out = []
    for k, i in enumerate(idx):
        lo = 0 if k == 0 else idx[k - 1] + 1
        run = list(phonemes[lo:i])
        onset = tuple(run) if k == 0 else tuple(run[-1:])
        hi = idx[k + 1] if k + 1 < len(idx) else len(phonemes)
        between = list(phonemes[i + 1:hi])
        coda = tuple(between) if k + 1 == len(idx) else tuple(between[:-1])
        out.append(Syllable(onset=onset, nucleus=phonemes[i], coda=coda))
    return out


def text_syllables(text: str, mbrola_voice: str) -> list[Syllable]:
    return syllables(espeak_phonemes(text, f"mb-{mbrola_voice}"))


# ---------------------------------------------------------------------------------------------
# The plan: which phoneme sounds when


class Segment(NamedTuple):
    phoneme: str  # SAMPA
    start_s: float
    end_s: float
    kind: str  # "vowel", "fricative", "plosive", "nasal", "liquid"
    note: int  # index of the note it belongs to


def sung_syllables(notes, sylls: list[Syllable], rng: np.random.Generator, first: int | None = None,
                   melisma_p: float = 0.1) -> list[Segment]:
    """Lay syllables on notes [(pitch, start s, dur s), ...] -> time-ordered segments.

    One syllable per note, cycling through `sylls` from `first` (None: a random one); with
    probability `melisma_p` a note instead carries on the previous note's vowel (a melisma).
    Onset consonants take time before the note (up to half the gap or the previous vowel,
    keeping MIN_VOWEL_S), coda consonants the end of the note (keeping MIN_VOWEL_S of vowel).
    """
    k = int(rng.integers(len(sylls))) if first is None else int(first)
    segments: list[Segment] = []
    prev_end = -1e9
    for j, (_, start, dur) in enumerate(notes):
        end = start + dur
        melisma = j > 0 and segments and rng.random() < melisma_p and start - prev_end < 0.05
        if melisma:
            last = max(i for i, s in enumerate(segments) if s.kind == "vowel")
            syl = Syllable((), Phoneme(segments[last].phoneme, 0.0), ())
        else:
            syl = sylls[k % len(sylls)]
            k += 1
        stretch = rng.uniform(*CONSONANT_STRETCH)
        onset_s = [p.duration_s * stretch for p in syl.onset]
        coda_s = [p.duration_s * stretch for p in syl.coda]
        # room before the onset: the gap to the previous note, or the previous vowel's tail
        room_before = start - max(prev_end, start - 0.5)
        if segments and room_before < sum(onset_s):
            vowel = segments[-1] if segments[-1].kind == "vowel" else None
            if vowel is not None:
                room_before = max(room_before, min(sum(onset_s), vowel.end_s - vowel.start_s - MIN_VOWEL_S))
        scale = min(1.0, max(room_before, 0.0) / sum(onset_s)) if onset_s else 1.0
        t = start - sum(onset_s) * scale
        if segments and t < segments[-1].end_s:  # shorten the previous note's last segment
            last = segments[-1]
            segments[-1] = last._replace(end_s=max(last.start_s + 1e-3, t))
        for p, d in zip(syl.onset, onset_s):
            segments.append(Segment(p.name, t, t + d * scale, consonant_class(p.name), j))
            t += d * scale
        coda_scale = min(1.0, max(dur - MIN_VOWEL_S, 0.0) / sum(coda_s)) if coda_s else 1.0
        vowel_end = end - sum(coda_s) * coda_scale
        segments.append(Segment(syl.nucleus.name, start, vowel_end, "vowel", j))
        t = vowel_end
        for p, d in zip(syl.coda, coda_s):
            segments.append(Segment(p.name, t, t + d * coda_scale, consonant_class(p.name), j))
            t += d * coda_scale
        prev_end = end
    return segments


# ---------------------------------------------------------------------------------------------
# Our voice model with words


def formant_lsf(freqs_hz, bands_hz, sample_rate: int, ratio: float = 1.0) -> np.ndarray:
    """The singer's formant filter (`voice.singing.formant_lsf`), always of order 10, so that the
    filters of successive segments interpolate."""
    return singing.formant_lsf(freqs_hz, bands_hz, sample_rate, ratio, fixed_order=True)


def segment_filter(seg: Segment, sample_rate: int, ratio: float, next_vowel: str | None) -> tuple:
    """(lsf at the start, lsf at the end, tract gain offset dB, voicing, noise offset dB) of a segment."""
    if seg.kind == "vowel":
        a, b = vowel_key(seg.phoneme)
        lsf_a = formant_lsf(*VOWEL_FORMANTS[a], sample_rate, ratio)
        lsf_b = formant_lsf(*VOWEL_FORMANTS[b], sample_rate, ratio) if b else lsf_a
        return lsf_a, lsf_b, 0.0, 1.0, 0.0
    base = seg.phoneme.rstrip("0123456789:")
    voiced = base in VOICED or base[:1] in VOICED
    if seg.kind == "nasal":
        lsf = formant_lsf(*CONSONANT_FORMANTS["nasal"], sample_rate, ratio)
        return lsf, lsf, -8.0, 1.0, 0.0
    if seg.kind == "liquid":
        key = "i" if base == "j" else "u" if base == "w" else None
        lsf = formant_lsf(*(VOWEL_FORMANTS[key] if key else CONSONANT_FORMANTS["liquid"]), sample_rate, ratio)
        return lsf, lsf, -5.0, 1.0, 0.0
    if seg.kind == "fricative":
        place = FRICATIVES.get(base, "x")
        if base in ("h", "H") and next_vowel:  # /h/ is the next vowel's tract, breathed
            lsf = formant_lsf(*VOWEL_FORMANTS[next_vowel], sample_rate, ratio)
        else:
            lsf = formant_lsf(*CONSONANT_FORMANTS[place], sample_rate, 1.0)  # no vocal-tract scaling: a constriction
        return lsf, lsf, -4.0, 0.35 if voiced else 0.0, 35.0
    place = PLOSIVES.get(base, "t")
    lsf = formant_lsf(*CONSONANT_FORMANTS.get(place, CONSONANT_FORMANTS["t"]), sample_rate, 1.0)
    return lsf, lsf, -2.0, 0.25 if voiced else 0.0, 35.0


def sing_words(notes, sample_rate: int, singer, segments: list[Segment], hop_samples: int | None = None,
               duration_s: float | None = None, seed: int = 0):
    """Our voice model singing `notes` [(pitch, start s, dur s, velocity), ...] on `segments`
    (`sung_syllables`): `sing` gives pitch, loudness and source; the vocal tract, the voicing and
    the noise are then set per frame from the segments. -> `VoiceParams`."""
    params = sing(notes, sample_rate, singer, hop_samples=hop_samples, duration_s=duration_s, seed=seed)
    n_frames = len(params.f0_hz)
    t = np.arange(n_frames) * params.hop_samples / sample_rate
    lsf = np.array(params.lsf_rad, dtype=np.float64)  # (T, order)
    if lsf.shape[1] != 10:
        return params  # a filter order other than ours (a very low rate): leave the single vowel
    gain = np.array(params.gain_db, dtype=np.float64)
    voiced = np.array(params.voiced, dtype=np.float64)
    noise = np.array(params.noise_db, dtype=np.float64)
    # the note's own level under each consonant: the loudest frame of that note
    note_gain = {}
    for j, (_, start, dur, *_rest) in enumerate(sorted(notes, key=lambda n: n[1])):
        inside = (t >= start) & (t < start + dur)
        note_gain[j] = float(gain[inside].max()) if inside.any() else float(gain.max())
    vowels_after = [None] * len(segments)
    nxt = None
    for i in range(len(segments) - 1, -1, -1):
        vowels_after[i] = nxt
        if segments[i].kind == "vowel":
            nxt = vowel_key(segments[i].phoneme)[0]
    target = lsf.copy()
    for seg, next_vowel in zip(segments, vowels_after):
        inside = (t >= seg.start_s) & (t < seg.end_s)
        if not inside.any():
            continue
        lsf_a, lsf_b, gain_off, voicing, noise_off = segment_filter(seg, sample_rate, singer.formant_ratio,
                                                                    next_vowel)
        if seg.kind == "vowel":
            # a diphthong glides to its second vowel over the last third
            frac = np.clip((t[inside] - seg.start_s) / max(seg.end_s - seg.start_s, 1e-3) * 3 - 2, 0, 1)[:, None]
            target[inside] = (1 - frac) * lsf_a + frac * lsf_b
            continue
        target[inside] = lsf_a
        level = note_gain.get(seg.note, float(gain.max())) + gain_off
        if seg.kind == "plosive":  # closure (silence or a voice bar), then a burst of the last 30 %
            burst = t[inside] >= seg.start_s + 0.7 * (seg.end_s - seg.start_s)
            g = np.where(burst, level, level - 40.0)
            gain[inside] = g
            voiced[inside] = np.where(burst, 0.0, voicing)
            noise[inside] = np.where(burst[:, None], noise[inside].max() + noise_off, noise[inside])
        else:
            gain[inside] = level
            voiced[inside] = voicing
            if noise_off:
                noise[inside] = np.maximum(noise[inside], -40.0) + noise_off
    # smooth the tract between segments: a moving average of TRANSITION_S on the LSFs (stays sorted)
    width = max(1, round(TRANSITION_S * sample_rate / params.hop_samples))
    kernel = np.ones(width) / width
    padded = np.pad(target, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(padded[:, c], kernel, "valid") for c in range(target.shape[1])], 1)
    return params.replace(lsf_rad=smooth.astype(np.float32), gain_db=np.clip(gain, -180, 180).astype(np.float32),
                          voiced=np.clip(voiced, 0, 1).astype(np.float32),
                          noise_db=np.clip(noise, -150, 60).astype(np.float32)).validate()


# ---------------------------------------------------------------------------------------------
# MBROLA


def mbrola_voices() -> list[str]:
    """Installed MBROLA voices (databases under MBROLA_DIR), English ones never among them."""
    if shutil.which("mbrola") is None or not MBROLA_DIR.is_dir():
        return []
    return sorted(p.name for p in MBROLA_DIR.iterdir() if (p / p.name).exists())


def mbrola_sing(segments: list[Segment], pitch_hz: Callable[[np.ndarray], np.ndarray], voice: str,
                sample_rate: int, hop_samples: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """MBROLA voice `voice` ("la1") singing `segments`; pitch_hz(times_s) -> Hz gives the sung pitch.

    Returns audio (n_samples,) float32 at `sample_rate` and the F0 it was told to sing on the
    frame grid t * hop_samples (0 where no vowel, nasal or liquid sounds).
    """
    exe = shutil.which("mbrola")
    db = MBROLA_DIR / voice / voice
    if exe is None or not db.exists():
        raise RuntimeError(f"MBROLA voice {voice} is not installed (see hiaudio/data/README.md)")
    lines, point_t, point_hz = mbrola_pho(segments, pitch_hz)
    with tempfile.TemporaryDirectory() as d:
        pho, wav = Path(d) / "in.pho", Path(d) / "out.wav"
        pho.write_text("\n".join(lines) + "\n")
        run = subprocess.run([exe, "-e", str(db), str(pho), str(wav)], capture_output=True, text=True, timeout=120)
        if run.returncode != 0 or not wav.exists():
            raise RuntimeError(f"mbrola {voice} failed: {run.stderr.strip()[:300]}")
        audio, rate = sf.read(wav, dtype="float32")
    if rate != sample_rate:
        audio = audio_io.resample(audio, rate, sample_rate)
    audio = np.pad(audio[:n_samples], (0, max(0, n_samples - len(audio)))).astype(np.float32)
    n_frames = math.ceil(n_samples / hop_samples)
    frame_t = np.arange(n_frames) * hop_samples / sample_rate
    f0 = np.zeros(n_frames, np.float32)
    for seg in segments:
        if seg.kind in ("vowel", "nasal", "liquid"):
            inside = (frame_t >= round(seg.start_s * 1000) / 1000) & (frame_t < round(seg.end_s * 1000) / 1000)
            if inside.any() and point_t:
                f0[inside] = np.interp(frame_t[inside], point_t, point_hz)  # what mbrola interpolates
    return audio, f0


def mbrola_pho(segments: list[Segment], pitch_hz: Callable[[np.ndarray], np.ndarray]):
    """The .pho lines that make MBROLA sing `segments` (phoneme, duration ms, then up to
    MAX_PITCH_POINTS "percent Hz" pairs: MBROLA refuses lines of ~1000 characters), and every
    pitch point written (times s, Hz), which is the F0 label. -> (lines, point_t, point_hz)"""
    lines, t_ms = [], 0  # boundaries in whole ms, rounded from absolute times: no drift
    point_t, point_hz = [], []  # every pitch point written, for the label
    for seg in segments:
        a_ms, b_ms = round(seg.start_s * 1000), round(seg.end_s * 1000)
        if a_ms > t_ms:
            lines.append(f"_ {a_ms - t_ms}")
            t_ms = a_ms
        a_ms = max(a_ms, t_ms)
        if b_ms - a_ms < 1:
            continue
        points = ""
        if seg.kind in ("vowel", "nasal", "liquid") or seg.phoneme.rstrip("0123456789:") in VOICED:
            n = min(MAX_PITCH_POINTS, max(2, int((b_ms - a_ms) / 1000 / PITCH_POINT_S) + 1))
            times = np.linspace(a_ms, b_ms, n) / 1000.0
            hz = np.round(pitch_hz(times), 2)
            point_t.extend(times)
            point_hz.extend(hz)
            points = " ".join(f"{100 * k / (n - 1):.1f} {h:.2f}" for k, h in enumerate(hz))
        lines.append(f"{seg.phoneme} {b_ms - a_ms} {points}".rstrip())
        t_ms = b_ms
    lines.append("_ 50")
    return lines, point_t, point_hz
