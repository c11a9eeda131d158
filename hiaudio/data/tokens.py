"""Chorales as a token grid for a composer model: 16th-note steps x 4 voices, with structure labels.

Step k covers quarter notes [k / 4, (k + 1) / 4) from the first note. Each voice's token per
step is one of (the "hold" symbol of DeepBach, Hadjeres et al. 2017):

    REST = 0                  no note sounds
    HOLD = 1                  the note of the previous step goes on
    PITCH_OFFSET + midi       a note of MIDI pitch `midi` starts here (2..129)

so a note is its onset token followed by HOLDs, and `VOCAB_SIZE` = 130. Labels per step:
`bar` (number as printed; a pickup bar is 0), `position` (16ths since the bar's nominal
start, so a pickup on beat 4 of 4/4 sits at 12), `beat` (beats since the bar's start; the
beat follows the time signature: a half note in 3/2), `phrase` (0-based; a phrase ends where
a fermata note ends) and `fermata` (the soprano's note there carries a fermata).

Onsets and ends are rounded to the grid; a note that rounds to no length is dropped (three
pieces of the corpus have 32nd-note ornaments or triplets). Everything else round-trips:
`detokenize(tokenize(c).tokens)` gives back the notes of `c`.

    grid = tokenize(chorale)              # ChoraleGrid, tokens (N, 4)
    up = transpose(grid, 2)               # a whole tone higher, labels unchanged
    shift = random_transposition(grid, rng)  # an interval that keeps every voice in range
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from hiaudio.data.chorales import PARTS, Chorale

STEPS_PER_QUARTER = 4  # 16th notes
REST, HOLD, PITCH_OFFSET = 0, 1, 2
VOCAB_SIZE = PITCH_OFFSET + 128
# Each voice's range in the corpus (MIDI), used to keep transpositions singable.
VOICE_RANGES = {"soprano": (57, 81), "alto": (53, 74), "tenor": (48, 69), "bass": (36, 64)}


@dataclasses.dataclass(frozen=True)
class ChoraleGrid:
    piece_id: str
    tokens: np.ndarray  # (N, 4) int16: REST, HOLD or PITCH_OFFSET + midi; voices in PARTS order
    bar: np.ndarray  # (N,) int16 bar number as printed
    position: np.ndarray  # (N,) int16 steps since the bar's nominal start
    beat: np.ndarray  # (N,) int16 beats since the bar's nominal start
    phrase: np.ndarray  # (N,) int16 phrase index, 0-based
    fermata: np.ndarray  # (N,) bool the soprano's note here carries a fermata
    key_tonic_pc: int  # analysed key: tonic pitch class (C = 0), follows transpositions
    key_mode: str  # "major" or "minor"
    time_signature: tuple[int, int]  # (numerator, denominator) at the first step

    @property
    def n_steps(self) -> int:
        return int(self.tokens.shape[0])

    def pitches(self) -> np.ndarray:
        """(N, 4) MIDI pitch sounding at each step, -1 where the voice rests."""
        out = np.full(self.tokens.shape, -1, np.int16)
        for v in range(self.tokens.shape[1]):
            current = -1
            for k, tok in enumerate(self.tokens[:, v]):
                current = tok - PITCH_OFFSET if tok >= PITCH_OFFSET else (current if tok == HOLD else -1)
                out[k, v] = current
        return out


def _step(q: float) -> int:
    return int(round(q * STEPS_PER_QUARTER))


def tokenize(chorale: Chorale) -> ChoraleGrid:
    """A `Chorale` on the 16th-note grid, with its structure labels."""
    n = max(1, math.ceil(chorale.duration_q * STEPS_PER_QUARTER - 1e-6))
    tokens = np.full((n, len(PARTS)), REST, np.int16)
    fermata = np.zeros(n, bool)
    for v, part in enumerate(PARTS):
        for note in chorale.parts[part]:
            a, b = _step(note.onset_q), min(n, _step(note.end_q))
            if b <= a:
                continue  # shorter than the grid: an ornament
            tokens[a, v] = PITCH_OFFSET + note.pitch
            tokens[a + 1:b, v] = HOLD
            if part == "soprano" and note.fermata:
                fermata[a:b] = True

    q = np.arange(n) / STEPS_PER_QUARTER  # (N,) quarter notes at each step
    starts = np.array([b.start_q for b in chorale.bars])
    idx = np.clip(np.searchsorted(starts, q + 1e-9, side="right") - 1, 0, len(starts) - 1)
    bar = np.array([chorale.bars[i].number for i in idx], np.int16)
    offset_q = q - starts[idx]  # quarter notes since the bar's nominal start
    beat_q = np.array([chorale.time_signature_at(x).beat_q for x in q])
    ends = np.array(chorale.phrase_ends_q)
    phrase = np.searchsorted(ends, q + 1e-9, side="right").astype(np.int16)  # phrase ends passed so far
    ts = chorale.time_signature_at(0.0)
    return ChoraleGrid(
        piece_id=chorale.piece_id, tokens=tokens, bar=bar,
        position=np.round(offset_q * STEPS_PER_QUARTER).astype(np.int16),
        beat=np.floor(offset_q / beat_q + 1e-9).astype(np.int16), phrase=phrase, fermata=fermata,
        key_tonic_pc=chorale.key_tonic_pc, key_mode=chorale.key_mode, time_signature=(ts.numerator, ts.denominator),
    )


def detokenize(tokens: np.ndarray) -> dict[str, list[tuple[int, float, float]]]:
    """(N, 4) tokens -> per part [(MIDI pitch, onset_q, duration_q)]. A HOLD after a rest is a rest."""
    out = {}
    for v, part in enumerate(PARTS):
        notes, current = [], None  # current: [pitch, onset step]
        for k, tok in enumerate(np.asarray(tokens)[:, v].tolist() + [REST]):
            if tok == HOLD and current is not None:
                continue
            if current is not None:
                notes.append((current[0], current[1] / STEPS_PER_QUARTER, (k - current[1]) / STEPS_PER_QUARTER))
            current = [tok - PITCH_OFFSET, k] if tok >= PITCH_OFFSET else None
        out[part] = notes
    return out


def transpose(grid: ChoraleGrid, semitones: int) -> ChoraleGrid:
    """The grid `semitones` higher (lower if negative); structure labels unchanged."""
    tok = grid.tokens.astype(np.int32)
    shifted = np.where(tok >= PITCH_OFFSET, tok + semitones, tok)
    if ((tok >= PITCH_OFFSET) & ((shifted < PITCH_OFFSET) | (shifted >= VOCAB_SIZE))).any():
        raise ValueError(f"transposing {grid.piece_id} by {semitones} semitones leaves the MIDI range")
    return dataclasses.replace(grid, tokens=shifted.astype(np.int16),
                               key_tonic_pc=(grid.key_tonic_pc + semitones) % 12)


def transpositions(grid: ChoraleGrid, max_semitones: int = 6,
                   ranges: dict[str, tuple[int, int]] = VOICE_RANGES) -> list[int]:
    """Shifts in -max..max semitones that keep every voice inside its range (0 always included)."""
    allowed = []
    for s in range(-max_semitones, max_semitones + 1):
        ok = True
        for v, part in enumerate(PARTS):
            tok = grid.tokens[:, v]
            p = tok[tok >= PITCH_OFFSET].astype(int) - PITCH_OFFSET + s
            lo, hi = ranges[part]
            ok &= p.size == 0 or (p.min() >= lo and p.max() <= hi)
        if ok or s == 0:
            allowed.append(s)
    return allowed


def random_transposition(grid: ChoraleGrid, rng: np.random.Generator, max_semitones: int = 6) -> ChoraleGrid:
    """Transposition augmentation: the grid moved by a random allowed shift (`transpositions`)."""
    shifts = transpositions(grid, max_semitones)
    return transpose(grid, int(shifts[rng.integers(len(shifts))]))
