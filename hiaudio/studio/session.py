"""One person's voice-editing session: the analysis, the current edits and the cached renders.

A slider move re-synthesizes only the part it changes: gain and breathiness are mixing gains;
the noise part depends only on the formant shift and brightness; the harmonic part on those and
the pitch edits. The session is plain data (numpy + dataclasses) that lives in a `gr.State`.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hiaudio import audio as audio_mod
from hiaudio.params import ParamsError, VoiceParams
from hiaudio.studio import render as render_mod
from hiaudio.studio.analyze import HOP_S, MAX_HARMONICS, analyze
from hiaudio.studio.edit import Edits, apply_edits, pitch_layers

# A parameter file loaded into the studio may describe no more than a clip the studio would
# analyse (60 s, 400 harmonics), which bounds what rendering it costs.
MAX_PARAMS_BYTES = audio_mod.MAX_UPLOAD_BYTES  # read no further (the 5.3 s example writes 1.3 MB)
MAX_SESSION_FRAMES = round(1.01 * audio_mod.MAX_DURATION_S / HOP_S)  # 60 s at the 5 ms hop, which
# hop_for rounds to whole samples (a 60 s clip gives 12 028 frames at 44.1 kHz)


@dataclasses.dataclass
class VoiceSession:
    sample_rate: int
    original: np.ndarray  # (S,) the analysed audio, float32 mono
    params: VoiceParams  # the analysis; never modified
    layers: dict  # pitch layers of `params` (note / drift / vibrato), computed once
    edits: Edits = dataclasses.field(default_factory=Edits)
    edited: VoiceParams | None = None  # params after `edits` (minus the mixing gains)
    harmonic: tuple | None = None  # (key, audio) of the last harmonic render
    noise: tuple | None = None  # (key, audio) of the last noise render
    renders: int = 0  # how many part renders this session has done (for tests and stats)

    @property
    def n_samples(self) -> int:
        return len(self.original)


def start_session(audio: np.ndarray, sample_rate: int) -> VoiceSession:
    params = analyze(audio, sample_rate)
    return VoiceSession(sample_rate=sample_rate, original=np.asarray(audio, np.float32),
                        params=params, layers=pitch_layers(params))


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
    session = VoiceSession(sample_rate=p.sample_rate, original=np.zeros(p.n_samples, np.float32),
                           params=p, layers=pitch_layers(p))
    session.original = render_session(session, Edits())  # also caches the unedited parts
    return session


def _structural(edits: Edits) -> Edits:
    """The edits that change the synthesized parts (the rest are mixing gains)."""
    return dataclasses.replace(edits, gain_db=0.0, breathiness_db=0.0)


def render_session(session: VoiceSession, edits: Edits) -> np.ndarray:
    """Audio of the session's voice under `edits`; updates the session's caches in place."""
    edits.validate()
    structural = _structural(edits)
    noise_key = (edits.formant_shift, edits.brightness_db_per_oct)
    if session.edited is None or _structural(session.edits) != structural:
        session.edited = apply_edits(session.params, structural, layers=session.layers)
    if session.harmonic is None or session.harmonic[0] != structural:
        session.harmonic = (structural, render_mod.render_harmonic(session.edited))
        session.renders += 1
    if session.noise is None or session.noise[0] != noise_key:
        session.noise = (noise_key, render_mod.render_noise(session.edited))
        session.renders += 1
    session.edits = edits
    mix = session.harmonic[1] + (10 ** (edits.breathiness_db / 20)) * session.noise[1]
    mix = mix[:session.n_samples] * (10 ** (edits.gain_db / 20))
    mix, _ = render_mod.limit_peak(mix)  # never hand a clipped file to the person
    return mix.astype(np.float32)


def edited_params(session: VoiceSession) -> VoiceParams:
    """The full edited parameters (with the mixing gains folded in), for download."""
    return apply_edits(session.params, session.edits, layers=session.layers)
