"""Writing chorales with the composer model: plan, sample, and turn the result into MIDI,
MusicXML and a sung choir. Gradio-free; the CLI's `generate` and the studio's Compose tab call it.

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
import re
from pathlib import Path

import numpy as np
import torch

from hiaudio import checkpoints
from hiaudio.data import chords
from hiaudio.data.chorales import PARTS
from hiaudio.data.sequence import (LABELS, N_VOICES, SEQ_VOCAB_SIZE, STEPS_PER_BAR, StepLabels, key_token,
                                   plan_steps, token_labels)
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST, STEPS_PER_QUARTER, VOICE_RANGES, detokenize
from hiaudio.limits import check_deadline
from hiaudio.models.composer import PE_KINDS, Composer, KVCache
from hiaudio.studio.compose_metrics import estimate_key, sounding

MAX_BARS = 64  # the longest piece the studio and the CLI write (the bar label's table holds 64)
MAX_PHRASES = 16
DEFAULT_TEMPO_QPM = 72.0  # a calm chorale tempo
PROGRAM_CHOIR_AAHS = 52  # GM program (0-based) of the MIDI parts
VOICE_VOWELS = {"soprano": "a", "alto": "o", "tenor": "e", "bass": "o"}  # the synthetic choir's vowels
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_FLATS = {"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "E#": 5, "Fb": 4, "B#": 0}


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


def parse_key(text: str) -> tuple[int, str]:
    """"G major", "f# minor", "Bb", "c" (lower case: minor) -> (tonic pitch class, mode)."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(major|minor|maj|min|m)?\s*", text or "")
    if not m:
        raise ValueError(f"cannot read the key {text!r}; write it like 'G major', 'F# minor' or 'Bb'")
    letter, accidental, mode = m.groups()
    name = letter.upper() + accidental
    pc = _FLATS.get(name, NOTE_NAMES.index(letter.upper()) + (1 if accidental == "#" else -1 if accidental == "b" else 0))
    if mode is None:
        mode = "minor" if letter.islower() else "major"
    mode = "minor" if mode in ("minor", "min", "m") else "major"
    return pc % 12, mode


def key_name(tonic_pc: int, mode: str) -> str:
    return f"{NOTE_NAMES[tonic_pc % 12]} {mode}"


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
def sample(model: Composer, plan: Plan, temperature: float = 1.0, top_k: int = 0,
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


# ---- output -------------------------------------------------------------------------------------

def notes_of(grid: np.ndarray) -> dict[str, list[tuple[int, float, float]]]:
    """Per part [(MIDI pitch, onset in quarter notes, duration in quarter notes)]."""
    return detokenize(np.asarray(grid))


def to_pretty_midi(grid: np.ndarray, tempo_qpm: float = DEFAULT_TEMPO_QPM):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_qpm)
    sec_per_q = 60.0 / tempo_qpm
    for part, notes in notes_of(grid).items():
        inst = pretty_midi.Instrument(program=PROGRAM_CHOIR_AAHS, name=part.capitalize())
        for pitch, onset_q, dur_q in notes:
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch), start=onset_q * sec_per_q,
                                               end=(onset_q + dur_q) * sec_per_q))
        pm.instruments.append(inst)
    return pm


def write_midi(grid: np.ndarray, path, tempo_qpm: float = DEFAULT_TEMPO_QPM) -> Path:
    """One instrument (track) per voice, S A T B, GM Choir Aahs."""
    to_pretty_midi(grid, tempo_qpm).write(str(path))
    return Path(path)


def write_musicxml(grid: np.ndarray, plan: Plan, path, tempo_qpm: float = DEFAULT_TEMPO_QPM) -> Path:
    """A four-part score (music21): 4/4, the plan's key signature, fermatas at the phrase ends."""
    from music21 import clef, expressions, key, meter, note, stream, tempo

    fermata_q = set()
    ends = np.cumsum(plan.bars_per_phrase) * STEPS_PER_BAR
    for e in ends:  # the soprano note sounding over each phrase's last half note
        fermata_q.add((e - STEPS_PER_BAR // 2) / STEPS_PER_QUARTER)
    score = stream.Score()
    for part_name, notes in notes_of(grid).items():
        part = stream.Part(id=part_name)
        part.partName = part_name.capitalize()
        part.append({"tenor": clef.Treble8vbClef, "bass": clef.BassClef}.get(part_name, clef.TrebleClef)())
        part.append(key.Key(NOTE_NAMES[plan.tonic_pc], plan.mode))
        part.append(meter.TimeSignature("4/4"))
        if part_name == "soprano":
            part.append(tempo.MetronomeMark(number=tempo_qpm))
        t = 0.0
        for pitch, onset_q, dur_q in notes:
            if onset_q > t:
                part.append(note.Rest(quarterLength=onset_q - t))
            n = note.Note(int(pitch), quarterLength=dur_q)
            if part_name == "soprano" and any(onset_q <= q < onset_q + dur_q for q in fermata_q):
                n.expressions.append(expressions.Fermata())
            part.append(n)
            t = onset_q + dur_q
        total_q = len(grid) / STEPS_PER_QUARTER
        if total_q > t:
            part.append(note.Rest(quarterLength=total_q - t))
        score.insert(0, part.makeMeasures())
    score.write("musicxml", fp=str(path))
    return Path(path)


def sing_choir(grid: np.ndarray, sample_rate: int = 22050, tempo_qpm: float = DEFAULT_TEMPO_QPM,
               seed: int = 0) -> np.ndarray:
    """The four voices sung by our voice model (a vowel and vocal-tract length per voice) and
    summed: float32 (S,), peak at most 0.99."""
    from hiaudio.studio.render import limit_peak, render
    from hiaudio.studio.sing import VOICE_FORMANT_RATIO, Singer, sing

    sec_per_q = 60.0 / tempo_qpm
    n_samples = int(math.ceil((len(grid) / STEPS_PER_QUARTER * sec_per_q + 0.5) * sample_rate))
    mix = np.zeros(n_samples, np.float32)
    for v, (part, notes) in enumerate(notes_of(grid).items()):
        if not notes:
            continue
        timed = [(p, a * sec_per_q, d * sec_per_q, 0.8) for p, a, d in notes]
        singer = Singer(vowel=VOICE_VOWELS[part], formant_ratio=VOICE_FORMANT_RATIO[part], level_db=-6.0)
        params = sing(timed, sample_rate, singer, duration_s=n_samples / sample_rate, seed=seed + v)
        wave = render(params, seed=seed + v)[:n_samples]
        mix[:len(wave)] += wave
    return limit_peak(mix)[0].astype(np.float32)


def render_soundfont(grid: np.ndarray, sample_rate: int = 22050, tempo_qpm: float = DEFAULT_TEMPO_QPM) -> np.ndarray:
    """The four voices through the GM soundfont that ships with pretty_midi (fluidsynth)."""
    from hiaudio.studio.render import limit_peak

    wave = to_pretty_midi(grid, tempo_qpm).fluidsynth(fs=sample_rate).astype(np.float32)
    return limit_peak(wave)[0]


# ---- input: continuing a MIDI file --------------------------------------------------------------

MAX_MIDI_BYTES = 1 << 20


def read_midi_prompt(path, max_steps: int) -> np.ndarray:
    """The opening of a MIDI file as (M <= max_steps, 4) grid tokens, S A T B.

    Time is read in beats (the file's own tempo map), quantized to 16ths. With four or more
    pitched tracks the four with most notes are the voices, highest mean pitch first; with
    fewer, the notes sounding at each step are dealt to voices from the top down."""
    import pretty_midi

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no MIDI file at {path}")
    if path.stat().st_size > MAX_MIDI_BYTES:
        raise ValueError(f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; MIDI files up to 1 MB are read")
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # noqa: BLE001 -- mido/pretty_midi raise many kinds on a bad file
        raise ValueError(f"{path.name} is not a readable MIDI file ({type(err).__name__}: {str(err)[:120]})") from None
    tracks = [i for i in pm.instruments if not i.is_drum and i.notes]
    if not tracks:
        raise ValueError(f"{path.name} holds no pitched notes to continue")

    def q(t):  # seconds -> 16th steps
        return int(round(pm.time_to_tick(t) / pm.resolution * STEPS_PER_QUARTER))

    n = min(max_steps, max(q(nt.end) for tr in tracks for nt in tr.notes))
    if n < 1:
        raise ValueError(f"{path.name} is shorter than one 16th note")
    pitch_at = np.full((n, N_VOICES), -1, np.int64)
    onset_at = np.zeros((n, N_VOICES), bool)
    if len(tracks) >= N_VOICES:
        tracks = sorted(tracks, key=lambda tr: -len(tr.notes))[:N_VOICES]
        tracks = sorted(tracks, key=lambda tr: -np.mean([nt.pitch for nt in tr.notes]))
        for v, tr in enumerate(tracks):
            for nt in sorted(tr.notes, key=lambda x: x.start):
                a, b = q(nt.start), min(n, q(nt.end))
                if a < b:
                    pitch_at[a:b, v], onset_at[a, v] = nt.pitch, True
    else:
        events = sorted(((q(nt.start), min(n, q(nt.end)), nt.pitch) for tr in tracks for nt in tr.notes))
        for k in range(n):
            here = sorted({p for a, b, p in events if a <= k < b}, reverse=True)[:N_VOICES]
            starts = {p for a, b, p in events if a == k}
            for v, p in enumerate(here):
                pitch_at[k, v], onset_at[k, v] = p, p in starts
    tokens = np.full((n, N_VOICES), REST, np.int64)
    for k in range(n):
        for v in range(N_VOICES):
            p = pitch_at[k, v]
            if p < 0:
                continue
            same = k > 0 and pitch_at[k - 1, v] == p and not onset_at[k, v]
            tokens[k, v] = HOLD if same else PITCH_OFFSET + p
    return tokens


def compose(pe: str = "s-ape", n_bars: int = 16, n_phrases: int | None = None, key: str | None = "C major",
            temperature: float = 1.0, top_k: int = 0, seed: int = 0, prompt_midi=None,
            keep_order: bool = True) -> tuple[np.ndarray, Plan]:
    """The one-call form: load the shipped model, plan, sample. With `prompt_midi` the piece goes
    on from that file's opening (at most n_bars - 1 bars of it); key=None then reads the key off it."""
    check_pe(pe)
    check_sampling(temperature, top_k)
    prompt = None
    if prompt_midi is not None:
        if n_bars < 2:
            raise ValueError("continuing a MIDI file needs at least 2 bars: one of it and one new")
        prompt = read_midi_prompt(prompt_midi, (n_bars - 1) * STEPS_PER_BAR)
    if key is None:
        key = key_name(*estimate_key(prompt)) if prompt is not None else "C major"
    plan = Plan.make(n_bars, n_phrases, key)
    gen = torch.Generator().manual_seed(int(seed))
    return sample(load_composer(pe), plan, temperature, top_k, gen, prompt, keep_order=keep_order), plan




def generate_files(out_midi, n_bars: int = 16, pe: str = "s-ape", seed: int = 0, n_phrases: int | None = None,
                   key: str | None = "C major", temperature: float = 1.0, top_k: int = 0, wav=None,
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
        from hiaudio import audio

        audio.save_wav(wav, sing_choir(grid, sample_rate, tempo_qpm, seed), sample_rate)
        written.append(str(wav))
    if gm_wav:
        from hiaudio import audio

        audio.save_wav(gm_wav, render_soundfont(grid, sample_rate, tempo_qpm), sample_rate)
        written.append(str(gm_wav))
    return (f"{', '.join(written)}: {plan.n_bars} bars in {len(plan.bars_per_phrase)} phrases "
            f"({'+'.join(map(str, plan.bars_per_phrase))}), {plan.key_name}, pe={pe}, seed={seed}")
