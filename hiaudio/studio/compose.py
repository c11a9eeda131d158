"""Writing chorales with the composer model: plan and sample (files and audio: `compose_io`).
Gradio-free; the CLI's `generate` and the studio's Compose tab call it.

Plan. A `Plan` fixes what the structure labels say before a note is written: the phrase
layout (bars per phrase, 4/4, a fermata over each phrase's last half note) and the key (the
first token). The model fills the grid token by token, S A T B per 16th step.

Sampling (`sample`): temperature, top-k, and a `torch.Generator` for the randomness. Voice
ranges are constraints, not hopes: pitch tokens outside a voice's range (`VOICE_RANGES`) and
key tokens are masked out of the logits, and HOLD is masked where that voice has no note to
hold; with `keep_order` (the CLI's and the studio's default) a voice is also kept below the
voice above it, so voices never cross. A prompt (the opening of a MIDI file) is fed instead of sampled. The model was trained on
windows of `block_size` tokens (8 bars); longer pieces are written in windows of that size:
when the window is full, the last half (4 bars from a bar line, behind the key token) is
encoded again as a new window -- the way the model saw windows in training -- and writing goes
on with a fresh key-value cache. With the cache, a token costs one row of attention.

    plan = Plan.make(n_bars=16, n_phrases=4, key="G major")
    grid = sample(load_composer("s-ape"), plan, temperature=0.9, top_k=20,
                  generator=torch.Generator().manual_seed(0))      # (256, 4) grid tokens
    write_midi(grid, "out.mid"); write_musicxml(grid, plan, "out.musicxml")
    wave = sing_choir(grid, sample_rate=22050)
"""
from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np
import torch

from hiaudio import audio, checkpoints
from hiaudio.data import chords
from hiaudio.data.chorales import PARTS
from hiaudio.data.sequence import (LABELS, N_VOICES, SEQ_VOCAB_SIZE, STEPS_PER_BAR, StepLabels, key_token,
                                   plan_steps, token_labels)
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, VOICE_RANGES
from hiaudio.dsp.units import key_name, parse_key
from hiaudio.limits import check_deadline
from hiaudio.models.composer import PE_KINDS, Composer, KVCache
from hiaudio.studio.compose_io import (DEFAULT_TEMPO_QPM, read_midi_prompt, render_soundfont, sing_choir,
                                      write_midi, write_musicxml)
from hiaudio.studio.compose_metrics import estimate_key, sounding

MAX_BARS = 64  # the longest piece the studio and the CLI write (the bar label's table holds 64)
MAX_PHRASES = 16
# the default sampler (CLI, Compose tab, bench targets), chosen on the tuning set (validation keys,
# seeds 500+): all six of T 0.8/0.9/1.0 x top-k 0/10 met the targets; T 1.0 / top-k 10 had the most
# cadences on I or V (0.68) and the fewest parallels (1.52 per 100 changes) (BENCHMARKS.md, composer)
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_K = 10


def asset_name(pe: str) -> str:
    return f"composer_{pe}.pt"


def check_pe(pe: str) -> str:
    if pe not in PE_KINDS:
        raise ValueError(f"unknown positional encoding {pe!r}; use one of {', '.join(PE_KINDS)}")
    return pe


def load_composer(pe: str) -> Composer:
    """The shipped composer with encoding `pe` (assets/composer_<pe>.pt), loaded once per process."""
    model, _ = checkpoints.load_asset(asset_name(check_pe(pe)), expected="composer")
    return model


@dataclasses.dataclass(frozen=True)
class Plan:
    """What is fixed before sampling: the phrase layout and the key."""
    bars_per_phrase: tuple[int, ...]  # 4/4 bars of each phrase; a fermata ends each one
    tonic_pc: int  # key tonic, pitch class (C = 0)
    mode: str  # "major" or "minor"

    @classmethod
    def make(cls, n_bars: int = 16, n_phrases: int | None = None, key: str = "C major") -> "Plan":
        """n_bars split into n_phrases phrases as even as can be (default: 2-bar phrases, as most
        4/4 chorale phrases are), longer ones first."""
        if not isinstance(n_bars, (int, np.integer)) or not 1 <= n_bars <= MAX_BARS:
            raise ValueError(f"bars must be a whole number from 1 to {MAX_BARS}; got {n_bars!r}")
        n_phrases = n_phrases if n_phrases is not None else max(1, n_bars // 2)
        if not isinstance(n_phrases, (int, np.integer)) or not 1 <= n_phrases <= min(n_bars, MAX_PHRASES):
            raise ValueError(f"phrases must be a whole number from 1 to {min(n_bars, MAX_PHRASES)} "
                             f"(at most one per bar); got {n_phrases!r}")
        base, extra = divmod(int(n_bars), int(n_phrases))
        tonic, mode = parse_key(key)
        return cls(tuple(base + (i < extra) for i in range(n_phrases)), tonic, mode)

    @property
    def n_bars(self) -> int:
        return int(sum(self.bars_per_phrase))

    @property
    def n_steps(self) -> int:
        return self.n_bars * STEPS_PER_BAR

    def steps(self) -> StepLabels:
        return plan_steps(list(self.bars_per_phrase))

    @property
    def key_name(self) -> str:
        return key_name(self.tonic_pc, self.mode)


def range_mask(vocab_size: int = SEQ_VOCAB_SIZE, ranges: dict | None = VOICE_RANGES) -> torch.Tensor:
    """(4, V) bool: the tokens each voice may write (REST, HOLD, pitches in its range; no key tokens).
    ranges=None: every MIDI pitch (the range constraint off, to measure the model alone)."""
    allowed = torch.zeros(N_VOICES, vocab_size, dtype=torch.bool)
    allowed[:, [REST, HOLD]] = True
    for v, part in enumerate(PARTS):
        lo, hi = ranges[part] if ranges is not None else (0, 127)
        allowed[v, PITCH_OFFSET + lo:PITCH_OFFSET + hi + 1] = True
    return allowed


def check_sampling(temperature: float, top_k: int) -> None:
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number; got {temperature}")
    if top_k < 0:
        raise ValueError(f"top_k must be 0 (off) or positive; got {top_k}")


def _window_inputs(seq: np.ndarray, first_step: int, end: int) -> np.ndarray:
    """A window's inputs: the key token, then seq[1 + 4 * first_step : end], the notes held into
    the window's first step written as onsets (as `to_sequence` makes training windows)."""
    body = seq[1 + N_VOICES * first_step:end].copy()
    if first_step > 0 and len(body) >= N_VOICES:
        held_pitch = sounding(seq[1:1 + N_VOICES * (first_step + 1)].reshape(-1, N_VOICES))[-1]  # (4,)
        head = body[:N_VOICES]
        body[:N_VOICES] = np.where(head == HOLD, np.where(held_pitch >= 0, held_pitch + PITCH_OFFSET, REST), head)
    return np.concatenate([seq[:1], body])


@functools.lru_cache(maxsize=4096)
def _chord_of(pitches: tuple) -> int:
    """The chord label of one step's sounding pitches (memoized: a chorale repeats its chords)."""
    return int(chords.chord_labels(np.array([pitches]))[0])


@torch.inference_mode()
def sample(model: Composer, plan: Plan, temperature: float = DEFAULT_TEMPERATURE, top_k: int = DEFAULT_TOP_K,
           generator: torch.Generator | None = None, prompt: np.ndarray | None = None,
           ranges: dict = VOICE_RANGES, keep_order: bool = False) -> np.ndarray:
    """Write a chorale following `plan`: (plan.n_steps, 4) grid tokens, voices S A T B.

    prompt: (M, 4) grid tokens that open the piece (fed, not sampled; M <= plan.n_steps).
    temperature > 0 divides the logits; top_k > 0 keeps that many most likely tokens.
    ranges: each voice's MIDI range (pitches outside are masked); None lifts the constraint.
    keep_order: a voice never sounds above the voice above it (no crossings): pitches above it
    are masked, and so is holding a note that would now cross.
    """
    check_sampling(temperature, top_k)
    n_steps = plan.n_steps
    prompt = np.zeros((0, N_VOICES), np.int64) if prompt is None else np.asarray(prompt, np.int64)
    if prompt.ndim != 2 or prompt.shape[1] != N_VOICES or prompt.shape[0] > n_steps:
        raise ValueError(f"the prompt must be (steps <= {n_steps}, 4) grid tokens; got shape {prompt.shape}")
    model.eval()
    steps = plan.steps()
    step_chords = np.full(n_steps, chords.NO_CHORD, np.int64)
    labels = token_labels(steps, step_chords)  # {name: (L,)}; the chord entries fill in as steps finish
    seq = np.zeros(1 + N_VOICES * n_steps, np.int64)  # (L,) key token, then step-major S A T B
    seq[0] = key_token(plan.tonic_pc, plan.mode)
    allowed = range_mask(model.config.vocab_size, ranges)  # (4, V)
    may_hold = allowed.clone()
    allowed[:, HOLD] = False  # `allowed` for a voice with no note to hold; `may_hold` otherwise
    label_t = {k: torch.from_numpy(v) for k, v in labels.items()}  # views: chord updates show through
    block = model.config.block_size
    half_window_steps = max(1, (block - 1) // N_VOICES // STEPS_PER_BAR // 2) * STEPS_PER_BAR
    window_start = 0  # first grid step of the current window
    cache = KVCache.empty(model.config.n_layer)
    sounding = np.full(N_VOICES, -1, np.int64)  # pitch each voice holds now

    for slot in range(1, len(seq)):
        check_deadline()
        # the input predicting seq[slot] is seq[slot - 1], labelled with the slot's labels
        if cache.length == 0 or cache.length >= block:
            if cache.length >= block:  # window full: go on from its second half, on a bar line
                window_start += half_window_steps
            inputs = _window_inputs(seq, window_start, slot)  # (W,) key token, then up to seq[slot - 1]
            lo = 1 + N_VOICES * window_start  # labels of seq[lo:slot + 1], the slots the inputs predict
            cache = KVCache.empty(model.config.n_layer)
            x = torch.from_numpy(inputs)[None]  # (1, W)
        else:
            lo = slot
            x = torch.tensor([[seq[slot - 1]]])  # (1, 1)
        lab = {k: label_t[k][lo:slot + 1][None].clone() for k in LABELS}  # (1, W) each
        logits, _ = model(x, lab, cache=cache)
        step, voice = divmod(slot - 1, N_VOICES)
        if step < prompt.shape[0]:
            token = int(prompt[step, voice])
        else:
            z = logits[0, -1].float() / temperature  # (V,)
            ok = may_hold[voice] if sounding[voice] >= 0 else allowed[voice]
            upper = sounding[voice - 1] if voice > 0 else -1  # already written for this step
            if keep_order and upper >= 0:
                ok = ok.clone()
                ok[PITCH_OFFSET + upper + 1:PITCH_OFFSET + 128] = False
                if sounding[voice] > upper:
                    ok[HOLD] = False
            z = z.masked_fill(~ok, float("-inf"))
            if top_k:
                kth = torch.topk(z, min(top_k, int(ok.sum()))).values[-1]
                z = z.masked_fill(z < kth, float("-inf"))
            token = int(torch.multinomial(torch.softmax(z, -1), 1, generator=generator))
        seq[slot] = token
        sounding[voice] = token - PITCH_OFFSET if token >= PITCH_OFFSET else (sounding[voice] if token == HOLD else -1)
        if voice == N_VOICES - 1:  # a step is complete: its chord labels the next step's tokens
            step_chords[step] = _chord_of(tuple(sounding.tolist()))
            if step + 1 < n_steps:
                labels["chord"][1 + N_VOICES * (step + 1):1 + N_VOICES * (step + 2)] = step_chords[step]
    return seq[1:].reshape(n_steps, N_VOICES)  # (N, 4) step-major


AUTO_KEY = "auto"  # the key of the opening being continued (C major without one)


def plan_piece(n_bars: int, n_phrases: int | None = None, key: str | None = "C major",
               prompt_midi=None) -> tuple[Plan, np.ndarray | None]:
    """(the plan, the opening's grid tokens or None). With `prompt_midi` the piece goes on from
    that file's opening (at most n_bars - 1 bars of it); key None or AUTO_KEY reads the key off it."""
    prompt = None
    if prompt_midi is not None:
        if n_bars < 2:
            raise ValueError("continuing a MIDI file needs at least 2 bars: one of it and one new")
        prompt = read_midi_prompt(prompt_midi, (n_bars - 1) * STEPS_PER_BAR)
    if key is None or key == AUTO_KEY:
        key = key_name(*estimate_key(prompt)) if prompt is not None else "C major"
    return Plan.make(n_bars, n_phrases, key), prompt


def compose(pe: str = "s-ape", n_bars: int = 16, n_phrases: int | None = None, key: str | None = "C major",
            temperature: float = DEFAULT_TEMPERATURE, top_k: int = DEFAULT_TOP_K, seed: int = 0, prompt_midi=None,
            keep_order: bool = True) -> tuple[np.ndarray, Plan]:
    """The one-call form: load the shipped model, plan (`plan_piece`), sample."""
    check_pe(pe)
    check_sampling(temperature, top_k)
    plan, prompt = plan_piece(n_bars, n_phrases, key, prompt_midi)
    gen = torch.Generator().manual_seed(int(seed))
    return sample(load_composer(pe), plan, temperature, top_k, gen, prompt, keep_order=keep_order), plan


def generate_files(out_midi, n_bars: int = 16, pe: str = "s-ape", seed: int = 0, n_phrases: int | None = None,
                   key: str | None = "C major", temperature: float = DEFAULT_TEMPERATURE,
                   top_k: int = DEFAULT_TOP_K, wav=None,
                   musicxml=None, continue_midi=None, sample_rate: int = 22050,
                   tempo_qpm: float = DEFAULT_TEMPO_QPM, keep_order: bool = True, gm_wav=None) -> str:
    """What `python -m hiaudio generate` does: compose, write the files; returns a one-line summary."""
    if Path(out_midi).suffix.lower() not in (".mid", ".midi"):
        raise ValueError(f"--out {out_midi} should end in .mid")
    if not 20 <= tempo_qpm <= 240:
        raise ValueError(f"tempo must be 20..240 quarter notes per minute; got {tempo_qpm}")
    grid, plan = compose(pe, n_bars, n_phrases, key, temperature, top_k, seed, continue_midi, keep_order)
    write_midi(grid, out_midi, tempo_qpm)
    written = [str(out_midi)]
    if musicxml:
        write_musicxml(grid, plan, musicxml, tempo_qpm)
        written.append(str(musicxml))
    if wav:

        audio.save_wav(wav, sing_choir(grid, sample_rate, tempo_qpm, seed), sample_rate)
        written.append(str(wav))
    if gm_wav:

        audio.save_wav(gm_wav, render_soundfont(grid, sample_rate, tempo_qpm), sample_rate)
        written.append(str(gm_wav))
    return (f"{', '.join(written)}: {plan.n_bars} bars in {len(plan.bars_per_phrase)} phrases "
            f"({'+'.join(map(str, plan.bars_per_phrase))}), {plan.key_name}, pe={pe}, seed={seed}")
