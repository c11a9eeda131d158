"""Polyphony beyond Bach's chorales: pieces of 2-5 independent vocal lines from music21's corpus.

A `Piece` is what the choir renderer needs: per part, top-down by mean pitch, the notes as
(MIDI pitch, onset, duration, fermata) in quarter notes (the same `Note` as a `Chorale`), and
the composer, whose name decides the piece's split (`splits.composer_split`): Palestrina and
Josquin are the report set's and nothing else may use them.

What music21 10.5's corpus holds, and what is kept (2-5 parts, each within a singer's reach,
MIDI 33..86, and at least 20 notes):

| composer | files | form | kept as |
|---|---|---|---|
| bach | 433 | SATB chorales (MusicXML) | the parsed chorales of `chorales.py` |
| palestrina | 1318 | masses and motets, 4-6 voices (Humdrum) | report set only |
| josquin | 8 | chansons and motets; ABC, one score per voice (merged) | report set only |
| monteverdi | 97 | madrigals, 5 voices (MusicXML; the .rntxt files are analyses: skipped) | train / tuning |
| trecento | 103 | 14th-century Glorias, Credos, ballate, 2-4 voices | train / tuning |
| luca, lusitano | 1 each | a Gloria, 3 voices; a madrigal, 3 voices | train / tuning |

String quartets (beethoven, haydn, mozart) are left out: violin lines reach MIDI 96. Parsing is
slow (0.1-4 s a file), so `load_repertoire` parses at most `max_pieces` files per composer, a
seeded choice, and caches each composer's pieces as JSON under
``<cache>/data/repertoire/<REPERTOIRE_VERSION>/<composer>-<max_pieces>.json``.

    pieces = load_repertoire(["monteverdi", "trecento"])        # list[Piece]
    p = pieces[0]; p.part_names, p.parts[p.part_names[0]][:3]
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import numpy as np

from hiaudio.data.cache import data_dir, write_json
from hiaudio.data.chorales import Note, load_chorales

REPERTOIRE_VERSION = "repertoire-v1"  # bump when the parsed form changes
MIN_PITCH, MAX_PITCH = 33, 86  # A1..D6: a part outside this range is no singer's
MIN_NOTES = 20  # a part with fewer notes is a fragment (trecento's two-note contratenor scraps)
MIN_PARTS, MAX_PARTS = 2, 5
# files parsed per composer by default: every small corpus whole; a seeded sample of the big ones
DEFAULT_MAX_PIECES = {"palestrina": 60, "josquin": 8, "monteverdi": 97, "trecento": 103, "luca": 1,
                      "lusitano": 1}
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc", ".mid")

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Piece:
    piece_id: str  # "<composer>/<file stem>[#<score>]"; unique
    composer: str  # music21's corpus folder name, lower case ("palestrina")
    part_names: tuple[str, ...]  # top-down by mean pitch, as printed (or "part1"...) and unique
    parts: dict[str, tuple[Note, ...]]  # part name -> notes sorted by onset; rests are gaps
    duration_q: float  # end of the last note, quarter notes

    @property
    def n_parts(self) -> int:
        return len(self.part_names)

    def mean_pitch(self, part: str) -> float:
        notes = self.parts[part]
        return float(np.average([n.pitch for n in notes], weights=[n.duration_q for n in notes]))

    def to_json(self) -> dict:
        return {"piece_id": self.piece_id, "composer": self.composer, "part_names": list(self.part_names),
                "parts": {k: [list(n) for n in v] for k, v in self.parts.items()}, "duration_q": self.duration_q}

    @classmethod
    def from_json(cls, d: dict) -> "Piece":
        return cls(piece_id=d["piece_id"], composer=d["composer"], part_names=tuple(d["part_names"]),
                   parts={k: tuple(Note(int(p), float(o), float(q), bool(f)) for p, o, q, f in d["parts"][k])
                          for k in d["part_names"]},
                   duration_q=float(d["duration_q"]))

    @classmethod
    def from_chorale(cls, chorale) -> "Piece":
        """A Bach chorale (`chorales.Chorale`) as a four-part `Piece` (composer "bach")."""
        names = tuple(chorale.parts)
        return cls(piece_id=f"bach/{chorale.piece_id}", composer="bach", part_names=names,
                   parts=dict(chorale.parts), duration_q=float(chorale.duration_q))


# ---------------------------------------------------------------------------------------------
# Parsing (music21)


def part_notes(part) -> list[Note]:
    """A music21 part -> its notes (ties merged, the top note of a chord, grace notes dropped)."""
    from music21 import chord, expressions

    out: list[Note] = []
    for n in part.stripTies().recurse().notes:
        if n.duration.isGrace or n.quarterLength <= 0:
            continue
        pitches = n.pitches if isinstance(n, chord.Chord) else (n.pitch,)
        onset = float(n.getOffsetInHierarchy(part))
        if out and abs(out[-1].onset_q - onset) < 1e-9:  # two voices notated in one part: keep one
            continue
        fermata = any(isinstance(e, expressions.Fermata) for e in n.expressions)
        out.append(Note(int(max(p.midi for p in pitches)), onset, float(n.quarterLength), fermata))
    out.sort(key=lambda x: x.onset_q)
    # overlapping notes (a divisi written as two voices) are cut at the next onset: one line per part
    return [n._replace(duration_q=min(n.duration_q, nxt.onset_q - n.onset_q)) if nxt is not None else n
            for n, nxt in zip(out, out[1:] + [None])]


def pieces_from_file(path: str | os.PathLike, composer: str) -> list[Piece]:
    """Every usable piece in one corpus file (an ABC opus whose scores are single voices of the
    same length is one piece, its scores its parts). Raises ValueError when none is usable."""
    from music21 import converter, stream

    path = Path(path)
    parsed = converter.parse(str(path))
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    if len(scores) > 1 and all(len(s.parts) <= 1 for s in scores):
        groups = [("", [s.parts[0] if s.parts else s for s in scores])]  # one voice per score (Josquin's ABC)
    else:
        groups = [(f"#{i}" if len(scores) > 1 else "", list(s.parts)) for i, s in enumerate(scores)]
    pieces, reasons = [], []
    for suffix, parts in groups:
        try:
            pieces.append(_piece(f"{composer}/{path.stem}{suffix}", composer, parts))
        except ValueError as e:
            reasons.append(str(e))
    if not pieces:
        raise ValueError("; ".join(reasons) or f"{path.name}: no parts")
    return pieces


def _piece(piece_id: str, composer: str, parts) -> Piece:
    lines = []
    for i, part in enumerate(parts):
        notes = part_notes(part)
        if len(notes) < MIN_NOTES:
            continue  # a fragment, or a part without notes
        pitches = [n.pitch for n in notes]
        if min(pitches) < MIN_PITCH or max(pitches) > MAX_PITCH:
            raise ValueError(f"{piece_id}: a part spans MIDI {min(pitches)}..{max(pitches)}, beyond a singer's"
                             f" {MIN_PITCH}..{MAX_PITCH}")
        name = (getattr(part, "partName", None) or f"part{i + 1}").strip() or f"part{i + 1}"
        lines.append((name, tuple(notes)))
    if not MIN_PARTS <= len(lines) <= MAX_PARTS:
        raise ValueError(f"{piece_id}: {len(lines)} usable parts; {MIN_PARTS}..{MAX_PARTS} wanted")
    mean = [np.average([n.pitch for n in notes], weights=[n.duration_q for n in notes]) for _, notes in lines]
    lines = [lines[i] for i in np.argsort(mean)[::-1]]  # top-down
    names, seen = [], {}
    for name, _ in lines:  # unique names: "Tenor", "Tenor 2"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    parts_d = {n: notes for n, (_, notes) in zip(names, lines)}
    duration_q = max(n.end_q for notes in parts_d.values() for n in notes)
    return Piece(piece_id=piece_id, composer=composer, part_names=tuple(names), parts=parts_d, duration_q=duration_q)


def composer_paths(composer: str) -> list[Path]:
    """Score files of one composer in music21's corpus, sorted (analyses such as .rntxt left out)."""
    from music21 import corpus

    return sorted(Path(p) for p in corpus.getComposer(composer) if Path(p).suffix in SCORE_SUFFIXES)


def repertoire_file(composer: str, max_pieces: int, root: str | os.PathLike | None = None) -> Path:
    return data_dir("repertoire", REPERTOIRE_VERSION, root) / f"{composer}-{max_pieces}.json"


def load_composer(composer: str, max_pieces: int | None = None, root: str | os.PathLike | None = None,
                  rebuild: bool = False) -> list[Piece]:
    """One composer's usable pieces: parsed once (at most `max_pieces` files, a fixed seeded
    choice) and cached. "bach" is the parsed chorale corpus (`chorales.load_chorales`)."""
    if composer == "bach":
        return [Piece.from_chorale(c) for c in load_chorales(root)]
    max_pieces = int(max_pieces or DEFAULT_MAX_PIECES.get(composer, 50))
    path = repertoire_file(composer, max_pieces, root)
    if path.exists() and not rebuild:
        with open(path) as f:
            return [Piece.from_json(d) for d in json.load(f)["pieces"]]
    paths = composer_paths(composer)
    if len(paths) > max_pieces:  # a fixed choice: the same on every machine
        rng = np.random.default_rng([len(paths), 0x9E9E])
        paths = [paths[i] for i in sorted(rng.choice(len(paths), max_pieces, replace=False))]
    pieces, skipped = [], {}
    for p in paths:
        try:
            pieces.extend(pieces_from_file(p, composer))
        except Exception as e:  # noqa: BLE001 -- a score music21 cannot read is skipped with its reason
            skipped[p.name] = str(e)[:300]
            log.info("skipping %s: %s", p, e)
    write_json(path, {"version": REPERTOIRE_VERSION, "composer": composer, "n_files": len(paths),
                      "skipped": skipped, "pieces": [x.to_json() for x in pieces]})
    return pieces


def load_repertoire(composers, root: str | os.PathLike | None = None,
                    max_pieces: dict[str, int] | None = None) -> list[Piece]:
    """The usable pieces of several composers, in the order given (each parsed once and cached)."""
    max_pieces = max_pieces or {}
    return [p for c in composers for p in load_composer(c, max_pieces.get(c), root)]


__all__ = ["DEFAULT_MAX_PIECES", "Piece", "REPERTOIRE_VERSION", "composer_paths", "load_composer",
           "load_repertoire", "part_notes", "pieces_from_file"]
