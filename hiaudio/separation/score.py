"""Scores for score-informed separation: read a MIDI or MusicXML file into notes per part, and
check them against the recording. Files from a person are size-checked before any parsing.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

MAX_SCORE_BYTES = 5 * 2**20  # a score file bigger than this is refused before parsing (a chorale is ~100 kB)
MAX_SCORE_UNZIPPED_BYTES = 50 * 2**20  # what a compressed MusicXML (.mxl) may expand to
Notes = list[tuple[float, float, float]]  # (MIDI pitch, start s, duration s)


class SeparationError(ValueError):
    """The clip or score cannot be separated as asked; the message says what to do."""


def load_score(path: str | Path, n_voices: int | None = None) -> list[Notes]:
    """Notes per part, top-down, from a MIDI (.mid/.midi) or MusicXML (.xml/.musicxml/.mxl) file.

    Parts are the MIDI instruments (or MusicXML parts) with notes, ordered by mean pitch, highest
    first; drums are skipped. MusicXML times follow its tempo marks (120 bpm when it has none).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mid", ".midi", ".xml", ".musicxml", ".mxl"):
        raise SeparationError(f"the score {path.name!r} is not MIDI (.mid) or MusicXML (.musicxml, .xml, .mxl)")
    _check_score_size(path)
    try:
        if suffix in (".mid", ".midi"):
            import pretty_midi

            midi = pretty_midi.PrettyMIDI(str(path))
            parts = [[(float(n.pitch), float(n.start), float(n.end - n.start)) for n in inst.notes]
                     for inst in midi.instruments if not inst.is_drum]
        else:  # MusicXML
            import music21

            score = music21.converter.parse(str(path))
            seconds = {id(el): (el["offsetSeconds"], el["durationSeconds"])
                       for el in score.flatten().secondsMap}  # offsets in seconds (tempo marks)
            parts = []
            for part in score.parts:
                notes = []
                for el in part.flatten().notes:
                    start_s, dur_s = seconds.get(id(el), (None, None))
                    if start_s is None:
                        start_s, dur_s = float(el.offset) * 0.5, float(el.quarterLength) * 0.5
                    for p in getattr(el, "pitches", ()):
                        notes.append((float(p.midi), float(start_s), float(dur_s)))
                parts.append(notes)
    except ImportError as err:  # a broken installation, not a bad file: say so
        raise SeparationError(f"this installation cannot read {suffix} scores ({err}); install the "
                              "project's requirements (pip install -r requirements.txt)") from None
    except Exception as err:  # noqa: BLE001 -- any parser failure means an unreadable file
        raise SeparationError(f"cannot read the score {path.name!r} ({type(err).__name__}); "
                              "export it again as MIDI or MusicXML") from None
    parts = [sorted(p, key=lambda n: n[1]) for p in parts if p]
    if not parts:
        raise SeparationError(f"the score {path.name!r} has no notes")
    parts.sort(key=lambda p: -np.mean([n[0] for n in p]))
    if n_voices is not None and len(parts) < n_voices:
        raise SeparationError(f"the score has {len(parts)} part(s) with notes; {n_voices} voices were asked. "
                              f"Ask for {len(parts)} voices or give a score with one part per voice.")
    return parts[:n_voices] if n_voices else parts


def _check_score_size(path: Path) -> None:
    """Refuse a score file too big to parse safely, and a compressed MusicXML that expands too far."""
    try:
        n_bytes = path.stat().st_size
    except OSError:
        raise SeparationError(f"cannot open the score {path.name!r}; upload it again") from None
    if n_bytes > MAX_SCORE_BYTES:
        raise SeparationError(f"the score {path.name!r} is {n_bytes / 2**20:.1f} MB; scores up to "
                              f"{MAX_SCORE_BYTES / 2**20:.0f} MB are read. Export only this recording's excerpt.")
    if path.suffix.lower() == ".mxl":
        try:
            with zipfile.ZipFile(path) as archive:
                unzipped = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError):
            raise SeparationError(f"cannot read the score {path.name!r} (not a compressed MusicXML); "
                                  "export it again as MIDI or MusicXML") from None
        if unzipped > MAX_SCORE_UNZIPPED_BYTES:
            raise SeparationError(f"the score {path.name!r} expands to {unzipped / 2**20:.0f} MB; refused. "
                                  "Export it again as MIDI or uncompressed MusicXML.")


def check_score(notes: Sequence[Notes], duration_s: float, n_voices: int) -> list[Notes]:
    """The first n_voices parts, checked against the recording's length."""
    notes = [list(p) for p in notes]
    if len(notes) < n_voices:
        raise SeparationError(f"the score has {len(notes)} part(s); {n_voices} voices were asked")
    notes = notes[:n_voices]
    end_s = max((s + d for p in notes for _, s, d in p), default=0.0)
    if end_s <= 0:
        raise SeparationError("the score has no notes")
    if end_s > duration_s + 2.0 or end_s < 0.5 * duration_s:
        raise SeparationError(f"the score lasts {end_s:.1f} s but the recording {duration_s:.1f} s: they do not "
                              "match. Give the score of this recording, aligned with it (same tempo and start).")
    return notes
