"""Bach's four-part chorales from music21's corpus, parsed once into a compact, cached form.

A `Chorale` keeps what the renderers and the tokenizer need and nothing else: per part
(soprano, alto, tenor, bass) the notes as (MIDI pitch, onset, duration, under a fermata),
with time in quarter notes so that tempo is chosen later; the bars (number, nominal start,
nominal length -- a pickup bar starts before 0), the time signatures, the key signature and
the analysed key, and the phrase ends (the ends of the soprano's fermata notes).

Only chorales with exactly four parts named Soprano, Alto, Tenor and Bass are kept; the
others (with obbligato instruments, or in fewer parts) are listed with the reason in the
cache. Parsing the whole corpus takes a few minutes; `load_chorales` does it once and writes
``<cache>/data/chorales/<CORPUS_VERSION>/corpus.json`` (a few hundred kB).

    chorales = load_chorales()                    # list[Chorale], parsed on first use
    c = parse_chorale("bwv269")                   # one piece straight from the corpus
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import NamedTuple

from hiaudio.data.cache import data_dir, write_json

CORPUS_VERSION = "corpus-v1"  # bump when the parsed form changes
PARTS = ("soprano", "alto", "tenor", "bass")
SOURCE_SUFFIXES = (".mxl", ".xml", ".krn")  # music21's bach folder also holds .rntxt analyses

log = logging.getLogger(__name__)


class Note(NamedTuple):
    pitch: int  # MIDI note number
    onset_q: float  # quarter notes from the first note of the piece (the pickup starts at 0)
    duration_q: float  # quarter notes (ties merged)
    fermata: bool  # the note carries a fermata (a phrase ends with it)

    @property
    def end_q(self) -> float:
        return self.onset_q + self.duration_q


class Bar(NamedTuple):
    number: int  # as printed; a pickup bar is usually 0
    start_q: float  # nominal start: a pickup bar starts before 0 (offset minus its missing beats)
    length_q: float  # nominal length from the time signature


class TimeSignature(NamedTuple):
    offset_q: float  # where it takes effect
    numerator: int
    denominator: int
    beat_q: float  # length of one beat in quarter notes (3/2: 2.0, 6/8: 1.5)


@dataclasses.dataclass(frozen=True)
class Chorale:
    piece_id: str  # corpus file stem, e.g. "bwv269"; unique
    parts: dict[str, tuple[Note, ...]]  # PARTS -> notes sorted by onset; rests are gaps
    bars: tuple[Bar, ...]
    time_signatures: tuple[TimeSignature, ...]
    key_sharps: int  # key signature: sharps > 0, flats < 0
    key_tonic_pc: int  # analysed key (Krumhansl-Schmuckler): tonic pitch class 0..11, C = 0
    key_mode: str  # "major" or "minor"
    phrase_ends_q: tuple[float, ...]  # ends of the fermata notes, and the end of the piece
    duration_q: float  # end of the last note

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["parts"] = {k: [list(n) for n in v] for k, v in self.parts.items()}
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Chorale":
        return cls(
            piece_id=d["piece_id"],
            parts={k: tuple(Note(int(p), float(o), float(q), bool(f)) for p, o, q, f in d["parts"][k])
                   for k in PARTS},
            bars=tuple(Bar(int(n), float(s), float(q)) for n, s, q in d["bars"]),
            time_signatures=tuple(TimeSignature(float(o), int(n), int(m), float(b))
                                  for o, n, m, b in d["time_signatures"]),
            key_sharps=int(d["key_sharps"]), key_tonic_pc=int(d["key_tonic_pc"]), key_mode=str(d["key_mode"]),
            phrase_ends_q=tuple(float(x) for x in d["phrase_ends_q"]), duration_q=float(d["duration_q"]),
        )

    def time_signature_at(self, q: float) -> TimeSignature:
        current = self.time_signatures[0]
        for ts in self.time_signatures:
            if ts.offset_q <= q + 1e-9:
                current = ts
        return current


# ---------------------------------------------------------------------------------------------
# Parsing (music21)


def corpus_paths() -> dict[str, Path]:
    """piece id -> score file for every chorale file in music21's Bach corpus (MusicXML first)."""
    from music21 import corpus

    paths: dict[str, Path] = {}
    for path in sorted(map(Path, corpus.getComposer("bach")), key=lambda p: SOURCE_SUFFIXES.index(p.suffix)
                       if p.suffix in SOURCE_SUFFIXES else 99):
        if path.suffix in SOURCE_SUFFIXES and path.parent.name == "bach":
            paths.setdefault(path.stem, path)
    return dict(sorted(paths.items()))


def parse_chorale(piece_id: str, path: str | os.PathLike | None = None) -> Chorale:
    """Parse one chorale from the corpus (about 0.3 s). Raises ValueError if it is not SATB."""
    from music21 import converter, corpus

    score = converter.parse(str(path)) if path is not None else corpus.parse(f"bach/{piece_id}")
    return chorale_from_score(piece_id, score)


def _part_role(name: str | None) -> str | None:
    name = (name or "").strip().lower()
    for role in PARTS:
        if name.startswith(role) or name in (role[0], role[0] + "."):
            return role
    return None


def chorale_from_score(piece_id: str, score) -> Chorale:
    """A music21 score -> `Chorale`. Raises ValueError (with the reason) unless exactly SATB."""
    from music21 import chord, expressions, meter, key as m21key

    parts = list(score.parts)
    roles = [_part_role(p.partName or p.id) for p in parts]
    if len(parts) != 4 or sorted(filter(None, roles), key=PARTS.index) != list(PARTS):
        raise ValueError(f"{piece_id}: parts are {[p.partName for p in parts]}, not exactly S, A, T, B")

    notes: dict[str, tuple[Note, ...]] = {}
    fermata_ends: dict[str, list[float]] = {}
    for role, part in zip(roles, parts):
        # fermatas before merging ties: the mark may sit on the second half of a tied note
        marked = [(float(n.getOffsetInHierarchy(part)), float(n.getOffsetInHierarchy(part) + n.quarterLength))
                  for n in part.recurse().notesAndRests
                  if any(isinstance(e, expressions.Fermata) for e in n.expressions)]
        out = []
        for n in part.stripTies().recurse().notes:
            if n.duration.isGrace or n.quarterLength <= 0:
                continue  # ornaments without metric time
            pitches = n.pitches if isinstance(n, chord.Chord) else (n.pitch,)
            midi = max(p.midi for p in pitches) if role != "bass" else min(p.midi for p in pitches)
            onset = float(n.getOffsetInHierarchy(part))
            dur = float(n.quarterLength)
            fermata = any(onset - 1e-6 <= a < onset + dur - 1e-6 for a, _ in marked)
            if out and out[-1].onset_q == onset:  # two voices notated in one part: keep one
                continue
            out.append(Note(int(midi), onset, dur, fermata))
        if not out:
            raise ValueError(f"{piece_id}: the {role} part has no notes")
        notes[role] = tuple(sorted(out, key=lambda x: x.onset_q))
        fermata_ends[role] = sorted({round(e, 6) for _, e in marked})

    ref = parts[roles.index("soprano")]
    bars = []
    for m in ref.getElementsByClass("Measure"):
        nominal = float(m.barDuration.quarterLength)
        start = float(m.offset) - float(m.paddingLeft or 0.0)
        bars.append(Bar(int(m.number), start, nominal))
    sigs = []
    for ts in ref.recurse().getElementsByClass(meter.TimeSignature):
        sig = TimeSignature(float(ts.getOffsetInHierarchy(ref)), int(ts.numerator), int(ts.denominator),
                            float(ts.beatDuration.quarterLength))
        if not sigs or sigs[-1][1:] != sig[1:]:
            sigs.append(sig)
    if not sigs:
        sigs = [TimeSignature(0.0, 4, 4, 1.0)]
    keysigs = list(ref.recurse().getElementsByClass(m21key.KeySignature))
    analysed = score.analyze("key")
    duration_q = max(n.end_q for v in notes.values() for n in v)
    ends = fermata_ends["soprano"] or sorted({e for v in fermata_ends.values() for e in v})
    ends = sorted({e for e in ends if e < duration_q - 1e-6} | {duration_q})
    return Chorale(
        piece_id=piece_id, parts={r: notes[r] for r in PARTS}, bars=tuple(bars), time_signatures=tuple(sigs),
        key_sharps=int(keysigs[0].sharps) if keysigs else 0,
        key_tonic_pc=int(analysed.tonic.pitchClass), key_mode=str(analysed.mode),
        phrase_ends_q=tuple(ends), duration_q=duration_q,
    )


# ---------------------------------------------------------------------------------------------
# The cached corpus


def corpus_file(root: str | os.PathLike | None = None) -> Path:
    """The parsed corpus: ``<root>/data/chorales/<CORPUS_VERSION>/corpus.json`` (root: the cache root)."""
    return data_dir("chorales", CORPUS_VERSION, root) / "corpus.json"


def load_chorales(root: str | os.PathLike | None = None, rebuild: bool = False,
                  progress: bool = False) -> list[Chorale]:
    """Every SATB chorale, sorted by piece id: read from the cache, or parsed once and cached."""
    path = corpus_file(root)
    if path.exists() and not rebuild:
        with open(path) as f:
            blob = json.load(f)
        return [Chorale.from_json(d) for d in blob["chorales"]]
    paths = corpus_paths()
    items = paths.items()
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc="parsing chorales", unit="piece")
    chorales, skipped = [], {}
    for piece_id, p in items:
        try:
            chorales.append(parse_chorale(piece_id, p))
        except Exception as e:  # noqa: BLE001 -- a score music21 cannot read is skipped with its reason
            skipped[piece_id] = str(e)
            log.info("skipping %s: %s", piece_id, e)
    write_json(path, {"version": CORPUS_VERSION, "n_files": len(paths), "skipped": skipped,
                      "chorales": [c.to_json() for c in chorales]})
    return chorales


def get_chorale(piece_id: str, root: str | os.PathLike | None = None) -> Chorale:
    """One chorale: from the cached corpus if it has been built, else parsed directly."""
    path = corpus_file(root)
    if path.exists():
        with open(path) as f:
            for d in json.load(f)["chorales"]:
                if d["piece_id"] == piece_id:
                    return Chorale.from_json(d)
    return parse_chorale(piece_id)


def quarters_to_seconds(q: float, tempo_qpm: float) -> float:
    """Quarter notes -> seconds at `tempo_qpm` quarter notes per minute."""
    return q * 60.0 / tempo_qpm


__all__ = ["Bar", "Chorale", "CORPUS_VERSION", "Note", "PARTS", "TimeSignature", "chorale_from_score",
           "corpus_paths", "get_chorale", "load_chorales", "parse_chorale", "quarters_to_seconds"]
