"""One person's voice-editing session: the analysis, the current edits and the cached renders.

Sessions are values. Every studio session -- this one and the choir's -- is a frozen dataclass:
an operation returns a new session and leaves its argument as it was, so a request that fails
half-way leaves the person's session untouched, and a tab's `gr.State` changes only when a
handler returns the new one. Arrays are shared between a session and the next, never written.

A slider move re-synthesizes only the part it changes (`hiaudio.voice.edit`'s PITCH / TRACT /
MIX): MIX edits (gain, breathiness) are mixing gains; the noise part depends only on the TRACT
edits; the harmonic part on those and the PITCH edits.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hiaudio import audio as audio_mod
from hiaudio.dsp.units import midi_name
from hiaudio.voice import NO_EDITS, PITCH, TRACT, Edits, ParamsError, VoiceParams, analyze, apply_edits
from hiaudio.voice.analysis import HOP_S
from hiaudio.voice.edit import Note, find_notes, pitch_layers, time_map
from hiaudio.voice.params import MAX_HARMONICS
from hiaudio.voice.synthesis import limit_peak, render_harmonic, render_noise

# A parameter file loaded into the studio may describe no more than a clip the studio would
# analyse (60 s, 400 harmonics), which bounds what rendering it costs.
MAX_PARAMS_BYTES = audio_mod.MAX_UPLOAD_BYTES  # read no further (the 5.3 s example writes 1.3 MB)
MAX_SESSION_FRAMES = round(1.01 * audio_mod.MAX_DURATION_S / HOP_S)  # 60 s at the 5 ms hop, which
# hop_for rounds to whole samples (a 60 s clip gives 12 028 frames at 44.1 kHz)


@dataclasses.dataclass(frozen=True)
class VoiceSession:
    sample_rate: int
    original: np.ndarray  # (S,) the analysed audio, float32 mono
    params: VoiceParams  # the analysis
    layers: dict  # pitch layers of `params` (note / drift / vibrato / segment), computed once
    notes: tuple[Note, ...] = ()  # the notes found in `params` (what note edits refer to)
    edits: Edits = dataclasses.field(default_factory=Edits)
    edited: VoiceParams | None = None  # params after `edits`, without the MIX edits
    harmonic: tuple | None = None  # (key, audio) of the last harmonic render
    noise: tuple | None = None  # (key, audio) of the last noise render
    renders: int = 0  # how many part renders this session has done (for tests and stats)

    @property
    def n_samples(self) -> int:
        return len(self.original)


def new_session(params: VoiceParams, original: np.ndarray) -> VoiceSession:
    """A session on an analysis and the audio it came from (or stands for)."""
    layers = pitch_layers(params)
    return VoiceSession(sample_rate=params.sample_rate, original=np.asarray(original, np.float32),
                        params=params, layers=layers, notes=tuple(find_notes(layers, params.voiced)))


def start_session(audio: np.ndarray, sample_rate: int) -> VoiceSession:
    return new_session(analyze(audio, sample_rate), audio)


def load_params(path) -> VoiceParams:
    """A parameter file from a person, read (no more than MAX_PARAMS_BYTES) and checked."""
    return VoiceParams.load(path, max_bytes=MAX_PARAMS_BYTES)


def session_from_params(params: VoiceParams) -> VoiceSession:
    """A session from parameters alone, with no recording: its `original` is their render
    without edits (what A/B's "Original" then plays). ParamsError where the studio cannot hold
    them (the limits of a clip it would analyse: duration, frames, harmonics)."""
    p = params.validate()
    # rounded: hop_for's whole-sample hop makes a 60 s clip's analysis 60.008 s long at 44.1 kHz
    too_long = round(p.duration_s, 1) > audio_mod.MAX_DURATION_S
    if p.duration_s < audio_mod.MIN_DURATION_S or too_long:
        raise ParamsError(f"the parameters describe {p.duration_s:.4g} s of audio; the studio "
                          f"takes {audio_mod.MIN_DURATION_S:g} to {audio_mod.MAX_DURATION_S:.0f} s")
    if p.n_frames > MAX_SESSION_FRAMES:
        raise ParamsError(f"the parameters hold {p.n_frames} frames; the studio takes up to "
                          f"{MAX_SESSION_FRAMES} ({audio_mod.MAX_DURATION_S:.0f} s at a "
                          f"{1000 * HOP_S:g} ms hop)")
    if p.n_harmonics > MAX_HARMONICS:
        raise ParamsError(f"the parameters hold {p.n_harmonics} harmonics; the studio renders up "
                          f"to {MAX_HARMONICS}")
    session, rendered = render_session(new_session(p, np.zeros(p.n_samples, np.float32)), NO_EDITS)
    return dataclasses.replace(session, original=rendered)  # the unedited parts stay cached


def render_session(session: VoiceSession, edits: Edits) -> tuple[VoiceSession, np.ndarray]:
    """(the session under `edits`, its audio): only the parts `edits` change are re-rendered."""
    harmonic_key, noise_key = edits.key(PITCH, TRACT), edits.key(TRACT)
    edited = session.edited
    if edited is None or session.edits.key(PITCH, TRACT) != harmonic_key:
        edited = apply_edits(session.params, edits, layers=session.layers, mix=False)
    harmonic, noise, renders = session.harmonic, session.noise, session.renders
    if harmonic is None or harmonic[0] != harmonic_key:
        harmonic, renders = (harmonic_key, render_harmonic(edited)), renders + 1
    if noise is None or noise[0] != noise_key:
        noise, renders = (noise_key, render_noise(edited)), renders + 1
    mix = harmonic[1] + (10 ** (edits.breathiness_db / 20)) * noise[1]
    mix = mix[:session.n_samples] * (10 ** (edits.gain_db / 20))
    mix, _ = limit_peak(mix)  # never hand a clipped file to the person
    new = dataclasses.replace(session, edits=edits, edited=edited, harmonic=harmonic, noise=noise,
                              renders=renders)
    return new, mix.astype(np.float32)


def edited_params(session: VoiceSession) -> VoiceParams:
    """The full edited parameters (with the MIX edits folded in), for download."""
    return apply_edits(session.params, session.edits, layers=session.layers)



@dataclasses.dataclass(frozen=True)
class NoteBlob:
    """A note as drawn over the pitch plot: where it sounds now (after the edits)."""
    index: int
    start_s: float
    stop_s: float
    f0_hz: float  # its median F0 now
    edited: bool  # it has an edit of its own


def note_blobs(session: VoiceSession) -> list[NoteBlob]:
    """Each note of the session where it sounds under the current edits (pitch and timing)."""
    p, q = session.params, session.edited if session.edited is not None else session.params
    frame_s = p.hop_samples / p.sample_rate
    stretched = [n for n in session.edits.notes if n.length_pct != 100.0]
    where = time_map(p.n_frames, list(session.notes), stretched) if stretched else np.arange(p.n_frames, dtype=float)
    edited = {n.index for n in session.edits.notes}
    blobs = []
    for note in session.notes:
        frames = np.nonzero((where >= note.start) & (where < note.stop))[0]  # output frames showing it
        if len(frames) == 0:
            continue
        f0 = q.f0_hz[frames]
        blobs.append(NoteBlob(note.index, float(frames[0] * frame_s), float((frames[-1] + 1) * frame_s),
                              float(np.median(f0[f0 > 0])) if (f0 > 0).any() else 0.0, note.index in edited))
    return blobs


def note_choices(session: VoiceSession) -> list[tuple[str, int]]:
    """("3 · E4 · 0.70 s", 2) for each note: what a note menu offers."""
    frame_s = session.params.hop_samples / session.sample_rate
    return [(f"{n.index + 1} · {midi_name(round(n.midi))} · {n.start * frame_s:.2f} s", n.index)
            for n in session.notes]
