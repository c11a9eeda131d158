"""Chorale grids as one token sequence with structure labels: what the composer model reads.

Layout. A `ChoraleGrid` (16th-note steps x 4 voices, `tokens.py`) is read step-major, the four
voices of a step interleaved soprano, alto, tenor, bass, after one key token:

    KEY  S0 A0 T0 B0  S1 A1 T1 B1  ...      length 1 + 4 * n_steps

Why step-major interleaving: every token then sees the complete past of all four voices and
the upper voices of its own step, so the bass is written knowing the chord's other notes, the
way four-part harmony is written note against note (DeepBach and Coconet use the same grid);
a voice-major layout would write the whole soprano before hearing any bass. The grid's
REST/HOLD/pitch vocabulary stays as it is (a 16 bar chorale is 1024 tokens + the key token);
the key token (`key_token`: tonic and mode) lets the sampler ask for a key.

Structure labels. Each token has, as small integers: `bar` (bars since the piece's first
step, the pickup bar being 0), `position` (16ths since the bar's nominal start), `phrase` (phrases since
the piece's start), `fermata` (the soprano holds a fermata at this step), `to_end` (16ths left in
the phrase: 0 on its last step, clipped at 32), `voice` (0..3, and KEY_VOICE for the key token)
and `chord` (template-matched chord of the *previous* step, `chords.py`). The model predicts token i+1 from tokens 0..i, and the labels it is given at
input i are those of token i+1 -- the slot it is about to fill. Bar, position, phrase, fermata,
to_end and voice of every slot are planned before sampling (`plan_steps` from a phrase layout), so a
generated chorale can be told where its cadences fall; the chord of the previous step is known
once that step is written, so it needs no plan. Values beyond each label's table are clipped
(`LABEL_SIZES`).

    seq = to_sequence(grid)                  # ChoraleSequence: tokens (L,), labels {name: (L,)}
    x, y, lab = seq.tokens[:-1], seq.tokens[1:], seq.shifted_labels()
    grid_tokens = from_sequence(seq.tokens)  # back to the (N, 4) grid
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hiaudio.data import chords
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, VOCAB_SIZE, ChoraleGrid

N_VOICES = 4
KEY_OFFSET = VOCAB_SIZE  # key tokens follow the grid's 130 tokens
MODES = ("major", "minor")
SEQ_VOCAB_SIZE = KEY_OFFSET + 12 * len(MODES)  # 154
KEY_VOICE = N_VOICES  # the voice label of the key token
STEPS_PER_BAR = 16  # of the layouts the sampler plans (4/4); the corpus also holds 3/4 and 3/2

# number of values of each label; larger values are clipped to the last one
# to_end: where the cadence falls. With fermata alone S-APE wrote I or V at 58 % of the planned
# phrase ends against 37 % at other beats (Bach 70 / 45 %): it knew the phrase ended, not when.
LABEL_SIZES = {"bar": 64, "position": 48, "phrase": 32, "fermata": 2, "to_end": 33, "voice": N_VOICES + 1,
               "chord": chords.N_CHORDS}
LABELS = tuple(LABEL_SIZES)


def key_token(tonic_pc: int, mode: str) -> int:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use 'major' or 'minor'")
    return KEY_OFFSET + MODES.index(mode) * 12 + int(tonic_pc) % 12


@dataclasses.dataclass(frozen=True)
class StepLabels:
    """The planned structure of a piece, per grid step."""
    bar: np.ndarray  # (N,) bars since the first step
    position: np.ndarray  # (N,) 16ths since the bar's nominal start
    phrase: np.ndarray  # (N,) phrases since the first step
    fermata: np.ndarray  # (N,) 1 where the soprano holds a fermata
    to_end: np.ndarray  # (N,) steps left in the phrase after this one (0 on its last step)

    @property
    def n_steps(self) -> int:
        return int(self.bar.shape[0])

    def slice(self, a: int, b: int) -> "StepLabels":
        return StepLabels(*(x[a:b] for x in dataclasses.astuple(self)))


def steps_to_phrase_end(phrase: np.ndarray) -> np.ndarray:
    """(N,) phrase index per step -> steps left in each step's phrase after it (0 on its last step)."""
    phrase = np.asarray(phrase)
    n = len(phrase)
    last = np.append(np.flatnonzero(np.diff(phrase)), n - 1)  # (phrases,) last step of each phrase run
    run_end = last[np.searchsorted(last, np.arange(n))]  # (N,) last step of the run each step is in
    return (run_end - np.arange(n)).astype(np.int64)


def grid_steps(grid: ChoraleGrid) -> StepLabels:
    """The grid's own structure labels, counted from its first step."""
    return StepLabels(bar=(grid.bar - grid.bar[0]).astype(np.int64), position=grid.position.astype(np.int64),
                      phrase=(grid.phrase - grid.phrase[0]).astype(np.int64),
                      fermata=grid.fermata.astype(np.int64), to_end=steps_to_phrase_end(grid.phrase))


def plan_steps(bars_per_phrase: list[int], fermata_steps: int = 8) -> StepLabels:
    """Structure of a 4/4 piece without pickup: phrases of the given lengths in bars, each ending
    on a fermata over its last `fermata_steps` 16ths (a half note, as most chorale phrases end)."""
    if not bars_per_phrase or min(bars_per_phrase) < 1:
        raise ValueError(f"each phrase needs at least one bar; got {list(bars_per_phrase)}")
    n_bars = int(sum(bars_per_phrase))
    n = n_bars * STEPS_PER_BAR
    step = np.arange(n)
    bar = step // STEPS_PER_BAR
    phrase_of_bar = np.repeat(np.arange(len(bars_per_phrase)), bars_per_phrase)  # (n_bars,)
    ends = np.cumsum(bars_per_phrase) * STEPS_PER_BAR  # step after each phrase
    fermata = np.zeros(n, np.int64)
    for e in ends:
        fermata[e - fermata_steps:e] = 1
    return StepLabels(bar=bar, position=step % STEPS_PER_BAR, phrase=phrase_of_bar[bar], fermata=fermata,
                      to_end=steps_to_phrase_end(phrase_of_bar[bar]))


def token_labels(steps: StepLabels, step_chords: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Labels of the sequence KEY + 4 tokens per step: {name: (1 + 4N,) int64}, clipped to LABEL_SIZES.

    `step_chords` (N,) is the chord of each step; a token is labelled with the previous step's
    chord (NO_CHORD before the first). Without it every chord is NO_CHORD (still to be sampled).
    """
    n = steps.n_steps
    prev = np.full(n, chords.NO_CHORD, np.int64)
    if step_chords is not None and n > 1:
        prev[1:] = np.asarray(step_chords[:n - 1], np.int64)
    per_step = {"bar": steps.bar, "position": steps.position, "phrase": steps.phrase,
                "fermata": steps.fermata, "to_end": steps.to_end, "chord": prev}
    out = {}
    for name, values in per_step.items():
        v = np.repeat(np.asarray(values, np.int64), N_VOICES)  # (4N,) same for the 4 voices of a step
        out[name] = np.concatenate([v[:1], v])  # the key token takes the first step's labels
    out["voice"] = np.concatenate([[KEY_VOICE], np.tile(np.arange(N_VOICES), n)])
    return {k: np.clip(out[k], 0, LABEL_SIZES[k] - 1) for k in LABELS}


@dataclasses.dataclass(frozen=True)
class ChoraleSequence:
    tokens: np.ndarray  # (L,) int64: key token, then 4 tokens per step
    labels: dict  # name -> (L,) int64 label of each token

    def shifted_labels(self) -> dict[str, np.ndarray]:
        """The labels the model is given at inputs 0..L-2: those of the token each one predicts."""
        return {k: v[1:] for k, v in self.labels.items()}


def to_sequence(grid: ChoraleGrid, start_step: int = 0, n_steps: int | None = None) -> ChoraleSequence:
    """Steps [start_step, start_step + n_steps) of `grid` as a sequence (the key token first).

    A window keeps the piece's bar and phrase numbers, so that a model trained on windows knows
    where in the piece it is; held notes at the window's start become onsets."""
    end = grid.n_steps if n_steps is None else min(grid.n_steps, start_step + n_steps)
    tokens = grid.tokens[start_step:end].astype(np.int64)  # (N, 4)
    if start_step > 0:  # a window starting mid-piece: a held note becomes a fresh onset
        tokens = tokens.copy()
        pitches = grid.pitches()[start_step]  # (4,)
        held = tokens[0] == HOLD
        tokens[0, held] = np.where(pitches[held] >= 0, pitches[held] + PITCH_OFFSET, REST)
    steps = grid_steps(grid).slice(start_step, end)  # bars and phrases still counted from the piece's start
    step_chords = chords.chord_labels(grid.pitches()[start_step:end])
    seq = np.concatenate([[key_token(grid.key_tonic_pc, grid.key_mode)], tokens.reshape(-1)])  # (1 + 4N,)
    return ChoraleSequence(tokens=seq, labels=token_labels(steps, step_chords))


def from_sequence(tokens: np.ndarray) -> np.ndarray:
    """Sequence (key token first) -> (N, 4) grid tokens; a trailing partial step is dropped."""
    body = np.asarray(tokens)[1:]
    n = body.shape[0] // N_VOICES
    return body[:n * N_VOICES].reshape(n, N_VOICES)  # (N, 4) step-major
