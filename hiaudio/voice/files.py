"""A voice file: the analysis and the edits on it, in one JSON object -- the parameters' schema
(`VoiceParams.to_dict`) with an optional "edits" field.

Export writes both, so loading the file back gives the analysis and sets the controls to the
edits that made the export (the render applies them, once); `python -m hiaudio synth` renders
the two together. A file without "edits" (from `python -m hiaudio analyze`, or an export from
before the field existed) holds a voice with no edits.
"""
from __future__ import annotations

import dataclasses
import json

from hiaudio.voice.edit import NO_EDITS, Edits, NoteEdit
from hiaudio.voice.params import EXPORT_ADVICE, ParamsError, VoiceParams, parse_json, read_file

EDITS_FIELD = "edits"


def edits_to_dict(edits: Edits) -> dict:
    """The edits as JSON-ready values ({field: value, ..., "notes": [{index, ...}, ...]})."""
    return dataclasses.asdict(edits) | {"notes": [dataclasses.asdict(n) for n in edits.notes]}


def edits_from_dict(data) -> Edits:
    """Edits from `edits_to_dict`'s form; ParamsError (saying which value) for anything else."""
    if not isinstance(data, dict):
        raise ParamsError(f"the file's edits are not an object of edit values; {EXPORT_ADVICE}")
    fields = {f.name for f in dataclasses.fields(Edits)}
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        raise ParamsError(f"the file's edits have unknown fields {', '.join(unknown)[:80]}; {EXPORT_ADVICE}")
    try:
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, dict) for n in notes):
            raise ValueError("the note edits must be a list of objects")
        return Edits(**{**data, "notes": tuple(NoteEdit(**n) for n in notes)})
    except (TypeError, ValueError) as err:
        raise ParamsError(f"the file's edits cannot be used ({str(err)[:160]}); {EXPORT_ADVICE}") from None


def to_json(params: VoiceParams, edits: Edits = NO_EDITS) -> str:
    data = params.to_dict()
    if edits != NO_EDITS:
        data[EDITS_FIELD] = edits_to_dict(edits)
    return json.dumps(data, separators=(",", ":"))


def from_json(text: str | bytes) -> tuple[VoiceParams, Edits]:
    """(the voice, the edits on it); ParamsError saying what is wrong with a bad file."""
    data = parse_json(text)
    edits = NO_EDITS
    if isinstance(data, dict) and EDITS_FIELD in data:
        data = dict(data)
        edits = edits_from_dict(data.pop(EDITS_FIELD))
    return VoiceParams.from_dict(data), edits


def save(path, params: VoiceParams, edits: Edits = NO_EDITS) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(to_json(params, edits))


def load(path, max_bytes: int = 200_000_000) -> tuple[VoiceParams, Edits]:
    """Read and check a voice file; never reads more than `max_bytes` + 1 bytes."""
    return from_json(read_file(path, max_bytes))
