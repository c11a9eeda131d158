"""hiaudio studio: the browser front end (the only module that imports gradio).

Each tab is built by one `build_*_tab()` function; the handlers are plain functions on the tab's
`gr.State` value and the controls' values, so they can be called (and tested) without a browser.

    python app.py                      # serves http://127.0.0.1:7860
    from app import demo               # build without launching (tests, Spaces)
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import torch

from hiaudio import audio
from hiaudio.dsp import losses
from hiaudio.params import EXPORT_ADVICE, ParamsError
from hiaudio.studio import ddsp_lab, lab_plots, plots
from hiaudio.studio.edit import NOTE_NAMES, PRESETS, SCALES, Edits
from hiaudio.studio.session import (MAX_PARAMS_BYTES, VoiceSession, edited_params, load_params,
                                    render_session, session_from_params, start_session)
from hiaudio.ui.choir import build_choir_tab
from hiaudio.ui.common import QUEUE_SIZE, guard, limits_note, pcm16, safe_stem
from hiaudio.ui.compose import build_compose_tab
from hiaudio.ui.vocoders import build_vocoders_tab


EXAMPLES_DIR = Path(__file__).resolve().parent / "assets" / "examples"
CONCURRENCY_LIMIT = 2  # handlers at once; the studio runs on CPU and a Space has two cores
SESSION_CAPACITY = 100  # live sessions kept; each holds a clip, its analysis and two renders
NO_CLIP = ("Analyze a clip first: upload or record a voice (or pick an example), "
           "then press Analyze.")


@dataclasses.dataclass(frozen=True)
class Control:
    """One slider of the Voice tab, bound to the `Edits` field of the same name."""
    field: str  # Edits field
    elem_id: str  # for tests and CSS
    label: str
    minimum: float  # the same range as Edits.validate
    maximum: float
    step: float
    info: str = ""


PITCH_CONTROLS = (
    Control("transpose_semitones", "voice-transpose", "Transpose (semitones)", -24, 24, 1),
    Control("transpose_cents", "voice-cents", "Fine tune (cents)", -100, 100, 1),
    Control("pitch_correction_pct", "voice-correction", "Pitch correction (%)", 0, 100, 5,
            "pulls each note toward the scale below"),
    Control("vibrato_pct", "voice-vibrato", "Vibrato (%)", 0, 200, 5,
            "100 = as recorded, 0 = flat"),
    Control("drift_pct", "voice-drift", "Drift (%)", 0, 200, 5, "slow pitch wander within notes"),
)
TIMBRE_CONTROLS = (
    Control("formant_shift", "voice-formant", "Formant shift (ratio)", 0.5, 2.0, 0.01,
            "moves the vocal-tract resonances; >1 sounds smaller"),
    Control("brightness_db_per_oct", "voice-brightness", "Brightness (dB/octave)", -12, 12, 0.5),
    Control("breathiness_db", "voice-breathiness", "Breathiness (dB)", -40, 40, 1),
    Control("gain_db", "voice-gain", "Gain (dB)", -40, 20, 0.5),
)
# the order in which handlers receive the edit values: the sliders, then key and mode
EDIT_FIELDS = tuple(c.field for c in PITCH_CONTROLS + TIMBRE_CONTROLS) + ("scale_key", "scale_mode")


@dataclasses.dataclass(frozen=True)
class VoiceTab:
    """What the Voice tab remembers for one browser session (held in a gr.State)."""
    session: VoiceSession | None = None  # the analysed clip, its edits and cached renders
    clip_name: str = "clip"  # file-name-safe stem of the analysed file, for downloads
    export_dir: str | None = None  # this session's folder for downloads, made on first export
    summary: str = ""  # one line about the analysed clip, shown above the edit line


# ---------------------------------------------------------------------------------------------
# Handlers: plain functions of (state, values) -> outputs; gr.Error for anything a person can fix


def edits_from(*values) -> Edits:
    """Edits from the controls' values in EDIT_FIELDS order; gr.Error when one is out of range."""
    if len(values) != len(EDIT_FIELDS):
        raise gr.Error(f"expected {len(EDIT_FIELDS)} edit values, got {len(values)}")
    try:
        return Edits(**dict(zip(EDIT_FIELDS, values))).validate()
    except (TypeError, ValueError) as err:
        raise gr.Error(f"Invalid edit: {err}", print_exception=False)


@guard("Analysis", "try again, or analyze the clip again", shown=())
def analyze_clip(path: str | None, state: VoiceTab, transpose_semitones, transpose_cents,
                 pitch_correction_pct, vibrato_pct, drift_pct, formant_shift,
                 brightness_db_per_oct, breathiness_db, gain_db, scale_key, scale_mode,
                 progress=gr.Progress()):
    """Load, check and analyze a clip, then render it with the current edits.

    Returns (state, audio, f0 plot, filter plot, A/B choice, status, wav file, json file).
    """
    edits = edits_from(transpose_semitones, transpose_cents, pitch_correction_pct, vibrato_pct,
                       drift_pct, formant_shift, brightness_db_per_oct, breathiness_db, gain_db,
                       scale_key, scale_mode)
    if not path:
        raise gr.Error("No clip yet: upload or record a voice, or pick an example, "
                       "then press Analyze.", print_exception=False)
    progress(0.05, desc="Reading the clip")
    notes: list[str] = []
    wave, sr = audio.load_audio(path, warnings=notes)
    for note in notes:
        gr.Warning(note)
    progress(0.2, desc="Analyzing pitch, vocal tract and noise")
    started = time.perf_counter()
    session = start_session(wave, sr)
    analysis_s = time.perf_counter() - started
    progress(0.9, desc="Rendering")
    return _session_started(state, session, edits, safe_stem(path),
                            f"Analyzed **{Path(path).name}** ({len(wave) / sr:.1f} s of audio, in "
                            f"{analysis_s:.1f} s)")


def _session_started(state: VoiceTab, session: VoiceSession, edits: Edits, clip_name: str, opening: str,
                     closing: str = ""):
    """What analyze_clip and load_params_file return once they have a session: its render with
    the current edits, plots and a status line (opening: voiced share, median pitch. closing)."""
    out = render_session(session, edits)
    p = session.params
    voiced = p.voiced >= plots.VOICED_THRESHOLD
    summary = f"{opening}: {100 * voiced.mean():.0f} % voiced"
    if voiced.any():
        median_hz = float(np.median(p.f0_hz[voiced]))
        summary += f", median pitch {median_hz:.0f} Hz ({plots.note_name(median_hz)})"
    new_state = dataclasses.replace(state, session=session, clip_name=clip_name,
                                    summary=summary + "." + (f" {closing}" if closing else ""))
    status = f"{new_state.summary}  \nEdits: {describe(edits)}. Move a slider to change them."
    return (new_state, (p.sample_rate, pcm16(out)), _f0_plot(session), _filter_plot(session), "Edited",
            status, *_NO_DOWNLOADS)


@guard("Loading parameters", "try again, or export the parameters again", shown=())
def load_params_file(path: str | None, state: VoiceTab, transpose_semitones, transpose_cents,
                     pitch_correction_pct, vibrato_pct, drift_pct, formant_shift,
                     brightness_db_per_oct, breathiness_db, gain_db, scale_key, scale_mode):
    """Start a session from a parameters JSON (Export's, or `python -m hiaudio analyze`'s),
    with no recording, then render it with the current edits: the way back in after Export.

    Returns what analyze_clip returns. A file that cannot be used raises gr.Error saying what is
    wrong and what to do; the tab keeps what it had.
    """
    edits = edits_from(transpose_semitones, transpose_cents, pitch_correction_pct, vibrato_pct,
                       drift_pct, formant_shift, brightness_db_per_oct, breathiness_db, gain_db,
                       scale_key, scale_mode)
    if not path:
        raise gr.Error(f"No parameter file yet: {EXPORT_ADVICE}, then load it here.",
                       print_exception=False)
    try:
        session = session_from_params(load_params(path))  # at most MAX_PARAMS_BYTES read
    except ParamsError as err:
        message = str(err) if EXPORT_ADVICE in str(err) else f"{err}; {EXPORT_ADVICE}"
        raise gr.Error(f"{message}.", title="Cannot use this parameter file",
                       print_exception=False) from None
    p = session.params
    clip_name = safe_stem(path).removesuffix("_params") or "clip"  # Export's name, not doubled
    return _session_started(state, session, edits, clip_name,
                            f"Loaded parameters **{Path(path).name}** ({p.duration_s:.1f} s at {p.sample_rate} Hz)",
                            'No recording: A/B "Original" plays these parameters rendered without edits.')


@guard("Rendering", "try again, or analyze the clip again", shown=())
def render_edits(state: VoiceTab, transpose_semitones, transpose_cents, pitch_correction_pct,
                 vibrato_pct, drift_pct, formant_shift, brightness_db_per_oct, breathiness_db,
                 gain_db, scale_key, scale_mode):
    """Re-render the analysed clip with new edits (only the parts they change).

    Returns (state, audio, f0 plot, filter plot, A/B choice, status, wav file, json file);
    a plot whose inputs did not change is skipped, and stale downloads are cleared.
    """
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    edits = edits_from(transpose_semitones, transpose_cents, pitch_correction_pct, vibrato_pct,
                       drift_pct, formant_shift, brightness_db_per_oct, breathiness_db, gain_db,
                       scale_key, scale_mode)
    before = state.session.edits
    session = dataclasses.replace(state.session)  # render on a copy: a failure keeps the old one
    started = time.perf_counter()
    out = render_session(session, edits)
    render_ms = 1000 * (time.perf_counter() - started)
    pitch_same = _pitch_key(before) == _pitch_key(edits)
    filter_same = _filter_key(before) == _filter_key(edits)
    status = f"{state.summary}  \nEdits: {describe(edits)} (rendered in {render_ms:.0f} ms)."
    return (dataclasses.replace(state, session=session), (session.sample_rate, pcm16(out)),
            gr.skip() if pitch_same else _f0_plot(session),
            gr.skip() if filter_same else _filter_plot(session),
            "Edited", status, *_NO_DOWNLOADS)


def render_if_ready(state: VoiceTab, *values):
    """After a preset or reset: render when a clip is analysed, otherwise change nothing."""
    if state.session is None:
        return (gr.skip(),) * 8
    return render_edits(state, *values)


@guard("Switching A/B", "try again, or analyze the clip again", shown=())
def listen(state: VoiceTab, choice: str):
    """The output player's audio: the original recording or the edited render."""
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    session = state.session
    if choice == "Original":
        return session.sample_rate, pcm16(session.original)
    # the parts are cached, so this only re-mixes; render on a copy, as everywhere
    return session.sample_rate, pcm16(render_session(dataclasses.replace(session), session.edits))


@guard("Export", "try again, or analyze the clip again", shown=())
def export(state: VoiceTab):
    """Write the edited WAV and the edited parameters (JSON) into this session's folder.

    Returns (state, wav path, json path). File names come from the analysed clip's name,
    reduced to safe characters; the folder is this session's own, under gradio's cache.
    """
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    session = dataclasses.replace(state.session)
    export_dir = state.export_dir
    if export_dir is None or not Path(export_dir).is_dir():
        export_dir = tempfile.mkdtemp(prefix="hiaudio-export-", dir=_cache_dir())
    wave = render_session(session, session.edits)
    wav_path = audio.save_wav(Path(export_dir) / f"{state.clip_name}_edited.wav", wave,
                              session.sample_rate)
    json_path = Path(export_dir) / f"{state.clip_name}_params.json"
    params = edited_params(session).validate()  # never hand out a file the studio cannot read
    json_path.write_text(params.to_json(), encoding="utf-8")
    return dataclasses.replace(state, export_dir=export_dir), str(wav_path), str(json_path)


def apply_preset(name: str):
    """The control values of a preset, in EDIT_FIELDS order."""
    if name not in PRESETS:
        raise gr.Error(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    edits = PRESETS[name]
    return tuple(getattr(edits, f) for f in EDIT_FIELDS)


def reset_controls():
    """Every control back to its default, and the preset back to "original"."""
    return apply_preset("original") + ("original",)


def describe(edits: Edits) -> str:
    """The edits that differ from the defaults, in a person's words."""
    default, parts = Edits(), []
    if edits.transpose_semitones:
        parts.append(f"transpose {edits.transpose_semitones:+g} st")
    if edits.transpose_cents:
        parts.append(f"fine tune {edits.transpose_cents:+g} cents")
    if edits.pitch_correction_pct:
        parts.append(f"correction {edits.pitch_correction_pct:g} % to {edits.scale_key} "
                     f"{edits.scale_mode}")
    for field, label, unit in (("vibrato_pct", "vibrato", " %"), ("drift_pct", "drift", " %"),
                               ("formant_shift", "formants ×", ""),
                               ("brightness_db_per_oct", "brightness", " dB/oct"),
                               ("breathiness_db", "breathiness", " dB"),
                               ("gain_db", "gain", " dB")):
        if getattr(edits, field) != getattr(default, field):
            parts.append(f"{label} {getattr(edits, field):g}{unit}".replace("× ", "×"))
    return ", ".join(parts) or "none (the resynthesized original)"


def delete_state(state: VoiceTab) -> None:
    """gr.State's delete callback: remove the session's download folder."""
    if state is not None and state.export_dir:
        shutil.rmtree(state.export_dir, ignore_errors=True)


# ---- helpers ---------------------------------------------------------------------------------

_NO_DOWNLOADS = (None, None)  # what analyze and render return for the downloads: stale ones go


def _pitch_key(edits: Edits) -> tuple:
    return (edits.transpose_semitones, edits.transpose_cents, edits.pitch_correction_pct,
            edits.scale_key, edits.scale_mode, edits.vibrato_pct, edits.drift_pct)


def _filter_key(edits: Edits) -> tuple:
    return edits.formant_shift, edits.brightness_db_per_oct


def _f0_plot(session: VoiceSession):
    p, q = session.params, session.edited
    return plots.f0_figure(p.times_s, p.f0_hz, p.voiced, q.f0_hz, q.voiced)


def _filter_plot(session: VoiceSession):
    return plots.filter_figure(session.params, session.edited)


def _cache_dir() -> str:
    """gradio's cache folder (GRADIO_TEMP_DIR, else <tmp>/gradio), where downloads are served."""
    path = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def example_clips() -> list[str]:
    """The single-voice examples (the choir ones belong to the Choir tab)."""
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.wav") if not p.name.startswith("choir_"))


# ---------------------------------------------------------------------------------------------
# Analysis lab: loss landscapes and estimation by synthesis on stationary harmonic tones


LAB_F0_RANGE_HZ = (40.0, 2000.0)  # target F0 slider
LAB_SEARCH_HZ = (20.0, ddsp_lab.LAB_RATE / 4)  # where fit_tones keeps its F0; candidates too
LAB_MAX_HARMONICS = 8
LAB_TONE_S = 0.25  # what the losses see: short, so a landscape answers in a few seconds
LAB_LISTEN_S = 1.0  # what a person hears: the same parameters, rendered longer
LAB_FADE_S = 0.01  # fade in and out, so the players do not click
LANDSCAPE_POINTS = 61
MAX_FIT_WORK = 4800  # steps x starts x losses per Fit (300 x 8 x 2); the slowest pair, mss and
# sot+mss, took 34 s that way (one thread); the default Fit (mss, sot; 8 x 150) 13 s
AMPLITUDE_MODES = ("roll-off", "random")
LOSS_NAMES = tuple(losses.LOSSES)
FIT_TABLE_HEADERS = ["loss", "success %", "octave errors", "median |cents|", "time (s)"]
LAB_ADVICE = "try again, or with fewer starts, steps or losses"


def lab_tone(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed) -> np.ndarray:
    """The lab's target tone as harmonic amplitudes (K,), after checking it can be heard whole.

    gr.Error when a harmonic would reach Nyquist (the synthesizer silences it, so the tone
    would not be the one asked for).
    """
    f0, k = float(target_f0_hz), int(n_harmonics)
    lo, hi = LAB_F0_RANGE_HZ
    if not lo <= f0 <= hi:
        raise gr.Error(f"The target F0 is {f0:g} Hz; choose {lo:.0f} to {hi:.0f} Hz.",
                       print_exception=False)
    if not 1 <= k <= LAB_MAX_HARMONICS:
        raise gr.Error(f"{k} harmonics: choose 1 to {LAB_MAX_HARMONICS}.", print_exception=False)
    nyquist_hz = ddsp_lab.LAB_RATE / 2
    if k * f0 >= nyquist_hz:
        raise gr.Error(f"Harmonic {k} of {f0:.0f} Hz is at {k * f0:.0f} Hz, at or above the "
                       f"Nyquist frequency ({nyquist_hz:.0f} Hz at {ddsp_lab.LAB_RATE} Hz "
                       f"sampling). Lower the F0 below {nyquist_hz / k:.0f} Hz or use at most "
                       f"{math.ceil(nyquist_hz / f0) - 1} harmonics.", print_exception=False)
    if amplitude_mode not in AMPLITUDE_MODES:
        raise gr.Error(f"Amplitudes {amplitude_mode!r}: choose one of "
                       f"{', '.join(AMPLITUDE_MODES)}.", print_exception=False)
    if amplitude_mode == "random":
        return lab_plots.harmonic_amplitudes(k, random_seed=int(seed))
    return lab_plots.harmonic_amplitudes(k, rolloff_db_per_oct=float(rolloff_db_per_oct))


def _lab_losses(loss_names) -> list[str]:
    names = list(loss_names or [])
    if not names:
        raise gr.Error("Choose at least one loss to compare.", print_exception=False)
    unknown = [n for n in names if n not in losses.LOSSES]
    if unknown:
        raise gr.Error(f"Unknown loss {unknown[0]!r}; choose from {', '.join(LOSS_NAMES)}.",
                       print_exception=False)
    return names


@guard("Landscape", LAB_ADVICE, shown=())
def compute_landscape(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed,
                      noise_db, range_oct, loss_names, progress=gr.Progress()):
    """Each chosen loss and its descent direction against the candidate F0 of the target tone.

    Returns (figure, status). Candidates: LANDSCAPE_POINTS log-spaced over target * 2^±range_oct,
    kept inside LAB_SEARCH_HZ (the range a fit searches).
    """
    amps = lab_tone(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed)
    names = _lab_losses(loss_names)
    f0 = float(target_f0_hz)
    f_min_hz = max(LAB_SEARCH_HZ[0], f0 * 2.0 ** -float(range_oct))
    f_max_hz = min(LAB_SEARCH_HZ[1], f0 * 2.0 ** float(range_oct))
    started = time.perf_counter()
    result = {}
    for i, name in enumerate(names):  # one loss at a time, for the progress bar
        progress(i / len(names), desc=f"Landscape of {name}")
        result.update(ddsp_lab.landscape(f0, amps, [name], f_min_hz, f_max_hz,
                                         LANDSCAPE_POINTS, float(noise_db), seed=int(seed)))
    elapsed_s = time.perf_counter() - started
    toward = ", ".join(f"**{n}** {100 * lab_plots.points_toward_target(result, n):.0f} %"
                       for n in names)
    status = (f"{len(names)} loss(es) at {LANDSCAPE_POINTS} candidates from {f_min_hz:.0f} to "
              f"{f_max_hz:.0f} Hz in {elapsed_s:.1f} s. Gradient descent heads toward the "
              f"target from: {toward} of the candidates.")
    top_hz = ddsp_lab.LAB_RATE / 2 / int(n_harmonics)
    if f_max_hz > top_hz:
        status += (f"  \nAbove {top_hz:.0f} Hz the candidate's top harmonics pass Nyquist and "
                   "fall silent.")
    return lab_plots.landscape_figure(result, names), status


@guard("Fit", LAB_ADVICE, shown=())
def fit_lab(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed, noise_db,
            loss_names, n_inits, spread_oct, steps, progress=gr.Progress()):
    """Estimate the target tone's F0 (and harmonic amplitudes) by gradient descent through the
    synthesizer, from n_inits starts spread over ±spread_oct, once per chosen loss.

    Returns (trajectories figure, results table, target audio, one audio per LOSS_NAMES (the
    fit from the first start; hidden for losses not run), status).
    """
    amps = lab_tone(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed)
    names = _lab_losses(loss_names)
    n_inits, steps, f0 = int(n_inits), int(steps), float(target_f0_hz)
    work = steps * n_inits * len(names)
    if work > MAX_FIT_WORK:
        raise gr.Error(f"{steps} steps × {n_inits} starts × {len(names)} losses = {work} is more "
                       f"than one request may run ({MAX_FIT_WORK}): use fewer steps, starts or "
                       "losses.", print_exception=False)
    inits_hz = np.clip(lab_plots.init_f0s(f0, n_inits, float(spread_oct)), *LAB_SEARCH_HZ)
    target = _lab_audio(f0, amps, LAB_TONE_S, noise_db, seed)  # (1, S)
    trajectories, rows, players = {}, [], {}
    for i, name in enumerate(names):
        progress(i / len(names), desc=f"Fitting with {name}: {n_inits} starts × {steps} steps")
        started = time.perf_counter()
        fit = ddsp_lab.fit_tones(target.expand(n_inits, -1), inits_hz, int(n_harmonics),
                                 name, steps=steps)
        elapsed_s = time.perf_counter() - started
        score = lab_plots.score_estimates(fit.f0_hz, f0)
        trajectories[name] = fit.trajectory_hz
        rows.append([name, round(100 * float(score["success"].mean()), 1),
                     int(score["octave_error"].sum()),
                     round(float(np.median(np.abs(score["cents"]))), 1), round(elapsed_s, 1)])
        heard = _lab_audio(float(fit.f0_hz[0]), fit.amplitudes[0], LAB_LISTEN_S, None, seed)
        players[name] = gr.Audio(value=(ddsp_lab.LAB_RATE, pcm16(heard[0].numpy())),
                                 visible=True, label=f"{name}: fit from {inits_hz[0]:.0f} Hz "
                                 f"→ {fit.f0_hz[0]:.1f} Hz ({score['cents'][0]:+.0f} cents)")
    table = pd.DataFrame(rows, columns=FIT_TABLE_HEADERS)
    heard_target = _lab_audio(f0, amps, LAB_LISTEN_S, noise_db, seed)[0].numpy()
    best = max(rows, key=lambda r: (r[1], -r[3]))
    status = (f"Target {f0:.1f} Hz, {int(n_harmonics)} harmonic(s); {n_inits} start(s) from "
              f"{inits_hz.min():.0f} to {inits_hz.max():.0f} Hz, {steps} steps. Most successful: "
              f"**{best[0]}** ({best[1]:.0f} % within {lab_plots.TOLERANCE_CENTS:.0f} cents).")
    return (lab_plots.trajectories_figure(trajectories, f0), table,
            (ddsp_lab.LAB_RATE, pcm16(heard_target)),
            *(players.get(n, gr.Audio(value=None, visible=False)) for n in LOSS_NAMES), status)


def _lab_audio(f0_hz: float, amplitudes, duration_s: float, noise_db: float | None,
               seed: int) -> torch.Tensor:
    """A tone (1, S) as the lab builds its targets: ddsp_lab.tone plus seeded white noise at
    noise_db dBFS (none when None), the same recipe as ddsp_lab.landscape; faded when heard."""
    amps = torch.as_tensor(np.asarray(amplitudes, dtype=np.float64))[None]  # (1, K)
    x = ddsp_lab.tone(torch.tensor([f0_hz], dtype=torch.float64), amps, duration_s)  # (1, S)
    if noise_db is not None:
        gen = torch.Generator().manual_seed(int(seed))
        x = x + 10 ** (float(noise_db) / 20) * torch.randn(x.shape, generator=gen,
                                                            dtype=torch.float64)
    if duration_s > LAB_TONE_S:  # only what is played is faded; the losses see the plain tone
        n = int(LAB_FADE_S * ddsp_lab.LAB_RATE)
        ramp = torch.linspace(0, 1, n, dtype=x.dtype)
        x = x.clone()
        x[..., :n] *= ramp
        x[..., -n:] *= ramp.flip(0)
    return x


# ---------------------------------------------------------------------------------------------
# Layout


def _slider(c: Control) -> gr.Slider:
    return gr.Slider(c.minimum, c.maximum, value=getattr(Edits(), c.field), step=c.step,
                     label=c.label, info=c.info or None, elem_id=c.elem_id)


def build_voice_tab() -> None:
    """The Voice tab: analyze a clip, edit pitch and timbre with sliders, compare, download."""
    state = gr.State(VoiceTab(), delete_callback=delete_state)
    gr.Markdown(limits_note("analysis", audio.MAX_DURATION_S,
                            f"parameter files up to {MAX_PARAMS_BYTES / 2**20:.0f} MB"), elem_id="voice-limits")
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.Audio(sources=["upload", "microphone"], type="filepath",
                              label="Voice clip (up to {:.0f} s)".format(audio.MAX_DURATION_S),
                              elem_id="voice-upload")
            if example_clips():
                gr.Examples(example_clips(), inputs=[upload], label="Examples")
            analyze_btn = gr.Button("Analyze", variant="primary", elem_id="voice-analyze")
            params_upload = gr.File(label="…or load parameters (.json, from Export or "
                                          "python -m hiaudio analyze)", file_types=[".json"],
                                    type="filepath", height=90, elem_id="voice-params-upload")
            status = gr.Markdown("Upload or record a voice, or pick an example, then press "
                                 "**Analyze**.", elem_id="voice-status")
        with gr.Column(scale=1):
            output = gr.Audio(label="Result", type="numpy", format="wav", interactive=False,
                              buttons=["download"], elem_id="voice-output")
            ab = gr.Radio(["Edited", "Original"], value="Edited", label="Listen to (A/B)",
                          elem_id="voice-ab")
            with gr.Row():
                preset = gr.Dropdown(list(PRESETS), value="original", label="Preset",
                                     elem_id="voice-preset", scale=2)
                reset_btn = gr.Button("Reset", elem_id="voice-reset", scale=1)
                render_btn = gr.Button("Render", variant="primary", elem_id="voice-render",
                                       scale=1)
            with gr.Row():
                export_btn = gr.Button("Export", elem_id="voice-export", scale=1)
                # filled by Export, emptied by the next edit: a download is never stale
                wav_file = gr.DownloadButton("WAV ⬇", elem_id="voice-wav-file", scale=1)
                json_file = gr.DownloadButton("Parameters ⬇", elem_id="voice-json-file",
                                              scale=1)
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Pitch")
            pitch_sliders = [_slider(c) for c in PITCH_CONTROLS]
            with gr.Row():
                key = gr.Dropdown(list(NOTE_NAMES), value=Edits().scale_key, label="Scale key",
                                  elem_id="voice-scale-key")
                mode = gr.Dropdown(list(SCALES), value=Edits().scale_mode, label="Scale mode",
                                   elem_id="voice-scale-mode")
        with gr.Column():
            gr.Markdown("### Timbre")
            timbre_sliders = [_slider(c) for c in TIMBRE_CONTROLS]
    with gr.Row():
        f0_plot = gr.Plot(label="Pitch", elem_id="voice-f0-plot")
        filter_plot = gr.Plot(label="Vocal-tract filter", elem_id="voice-filter-plot")

    controls = [*pitch_sliders, *timbre_sliders, key, mode]  # EDIT_FIELDS order
    results = [state, output, f0_plot, filter_plot, ab, status, wav_file, json_file]

    analyze_btn.click(analyze_clip, [upload, state, *controls], results, api_name="analyze",
                      concurrency_id="voice-analyze", concurrency_limit=1)
    params_upload.upload(load_params_file, [params_upload, state, *controls], results,
                         api_name="load_params", concurrency_id="voice-analyze")
    # one listener for every edit control: "always_last" then also covers moves made on other
    # sliders while a render is running (a separate listener per slider would race)
    gr.on([s.release for s in pitch_sliders + timbre_sliders] + [key.input, mode.input,
                                                                  render_btn.click],
          render_edits, [state, *controls], results, api_name="render",
          trigger_mode="always_last", show_progress="minimal")
    preset.input(apply_preset, preset, controls, api_name="preset").then(
        render_if_ready, [state, *controls], results, api_visibility="private",
        show_progress="minimal")
    reset_btn.click(reset_controls, None, [*controls, preset], api_name="reset").then(
        render_if_ready, [state, *controls], results, api_visibility="private",
        show_progress="minimal")
    ab.input(listen, [state, ab], output, api_name="listen", show_progress="hidden")
    export_btn.click(export, state, [state, wav_file, json_file], api_name="export")


def build_lab_tab() -> None:
    """The Analysis lab: why SOT finds a frequency that vertical spectral losses miss.

    One target tone (top), then (a) the loss landscapes around it and (b) fits from many starts.
    The handlers hold no state: every answer is a function of the controls.
    """
    gr.Markdown(
        "Estimating a frequency by gradient descent through a synthesizer needs a loss whose "
        "gradient points toward the target. Losses that compare spectra bin by bin (MSS, L1, "
        "L2) see two non-overlapping peaks as merely different, so far from the target their "
        "gradient is ~0 or points the wrong way. **Spectral optimal transport** (SOT; Torres, "
        "Peeters & Richard, ICASSP 2024) measures how far the energy must move along frequency, "
        "and its gradient points to the target from afar. Start with a pure tone, then add "
        "harmonics: the fit also learns their amplitudes, which makes it harder.")
    gr.Markdown(limits_note("fit", None, f"up to {MAX_FIT_WORK} steps × starts × losses per Fit"),
                elem_id="lab-limits")
    with gr.Row():
        f0 = gr.Slider(*LAB_F0_RANGE_HZ, value=220, step=1, label="Target F0 (Hz)",
                       elem_id="lab-f0")
        n_harmonics = gr.Slider(1, LAB_MAX_HARMONICS, value=1, step=1, label="Harmonics",
                                elem_id="lab-harmonics")
        noise_db = gr.Slider(-100, -20, value=-60, step=1, label="Noise (dBFS)",
                             info="white noise added to the target", elem_id="lab-noise")
    with gr.Row():
        amp_mode = gr.Radio(list(AMPLITUDE_MODES), value="roll-off", label="Amplitudes",
                            elem_id="lab-amp-mode")
        rolloff = gr.Slider(-24, 0, value=-6, step=0.5, label="Roll-off (dB/octave)",
                            info="-6 is a sawtooth's 1/k", elem_id="lab-rolloff")
        seed = gr.Number(0, precision=0, minimum=0, maximum=2 ** 31 - 1,
                         label="Seed (random amplitudes, noise)", elem_id="lab-seed")
    tone_controls = [f0, n_harmonics, amp_mode, rolloff, seed, noise_db]  # lab_tone's order

    gr.Markdown("### Loss landscape")
    with gr.Row():
        with gr.Column(scale=1):
            range_oct = gr.Slider(0.25, 2, value=1, step=0.25,
                                  label="Candidates: ± octaves around the target",
                                  elem_id="lab-range")
            land_losses = gr.CheckboxGroup(list(LOSS_NAMES), value=["mss", "l1", "sot"],
                                           label="Losses", elem_id="lab-land-losses")
            land_btn = gr.Button("Compute", variant="primary", elem_id="lab-compute")
            land_status = gr.Markdown("Press **Compute** to draw each loss against the "
                                      "candidate F0.", elem_id="lab-land-status")
        with gr.Column(scale=3):
            land_plot = gr.Plot(label="Landscape", elem_id="lab-land-plot")

    gr.Markdown("### Estimation by synthesis")
    with gr.Row():
        with gr.Column(scale=1):
            n_inits = gr.Slider(1, 16, value=8, step=1, label="Starts", elem_id="lab-inits")
            spread = gr.Slider(0, 1, value=1, step=0.05, label="Starts spread (± octaves)",
                               elem_id="lab-spread")
            steps = gr.Slider(50, 300, value=150, step=10, label="Steps", elem_id="lab-steps")
            fit_losses = gr.CheckboxGroup(list(LOSS_NAMES), value=["mss", "sot"],
                                          label="Losses", elem_id="lab-fit-losses")
            fit_btn = gr.Button("Fit", variant="primary", elem_id="lab-fit")
            fit_status = gr.Markdown(f"Up to {MAX_FIT_WORK} steps × starts × losses per Fit.",
                                     elem_id="lab-fit-status")
        with gr.Column(scale=3):
            fit_plot = gr.Plot(label="F0 trajectories", elem_id="lab-fit-plot")
            fit_table = gr.Dataframe(headers=FIT_TABLE_HEADERS, interactive=False,
                                     label=f"Results (success: within "
                                           f"{lab_plots.TOLERANCE_CENTS:.0f} cents)",
                                     elem_id="lab-fit-table")
            with gr.Row():
                target_audio = gr.Audio(label="Target", type="numpy", format="wav",
                                        interactive=False, elem_id="lab-target-audio")
                fit_audio = [gr.Audio(label=f"fit with {name}", type="numpy", format="wav",
                                      interactive=False, visible=False,
                                      elem_id=f"lab-audio-{name.replace('+', '-')}")
                             for name in LOSS_NAMES]

    land_btn.click(compute_landscape, [*tone_controls, range_oct, land_losses],
                   [land_plot, land_status], api_name="landscape", concurrency_id="lab")
    fit_btn.click(fit_lab, [*tone_controls, fit_losses, n_inits, spread, steps],
                  [fit_plot, fit_table, target_audio, *fit_audio, fit_status], api_name="fit",
                  concurrency_id="lab-fit", concurrency_limit=1)


# One torch thread per handler: the queue runs CONCURRENCY_LIMIT handlers at once on a small
# CPU, and torch's thread pool stalls when handlers (or anything else) compete for the cores --
# measured here, a transpose move took 29 ms alone at 2 threads but 0.79 s with one competing
# process, against 48 ms at 1 thread (BENCHMARKS.md); a lab landscape 1.3 s at 1 thread, 9-10 s
# at 2 with a second job running. HIAUDIO_TORCH_THREADS overrides it.
TORCH_THREADS = int(os.environ.get("HIAUDIO_TORCH_THREADS", "1"))


def build_demo(queue_size: int = QUEUE_SIZE) -> gr.Blocks:
    """The studio; queue_size: requests that may wait (the tests shrink it to fill it)."""
    torch.set_num_threads(TORCH_THREADS)
    with gr.Blocks(title="hiaudio", analytics_enabled=False) as demo:
        gr.Markdown("# hiaudio\nA sound-transformation studio built on an interpretable "
                    "source-filter voice model: pitch, formants, brightness and breath as sliders.")
        with gr.Tabs():
            with gr.Tab("Voice", id="voice"):
                build_voice_tab()
            with gr.Tab("Choir", id="choir"):
                build_choir_tab()
            with gr.Tab("Analysis lab", id="lab"):
                build_lab_tab()
            with gr.Tab("Vocoders", id="vocoders"):
                build_vocoders_tab()
            with gr.Tab("Compose", id="compose"):
                build_compose_tab()
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=queue_size)
    return demo


def launch_options() -> dict:
    """demo.launch keyword arguments shared by `python app.py` and the tests."""
    return {"ssr_mode": False, "max_file_size": audio.MAX_UPLOAD_BYTES,
            "state_session_capacity": SESSION_CAPACITY, "allowed_paths": [str(EXAMPLES_DIR)]}


demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)  # handler failures are logged with tracebacks
    demo.launch(**launch_options())
