"""The studio's "Voice" tab: analyze a clip, edit pitch and timbre with sliders, compare, download.

The handlers are plain functions of (state, values) -> outputs, so they can be called and tested
without a browser; the controls are `EDIT_SPEC`'s (`VOICE_EDITS`, in this order), and each
handler that takes them gets one checked `Edits` (`with_edits`). The session is a value
(`hiaudio.studio.session`): a handler returns the new one, a failure leaves the old one.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np

from hiaudio import audio
from hiaudio.dsp.units import note_name
from hiaudio.studio import plots
from hiaudio.studio.session import (MAX_PARAMS_BYTES, VoiceSession, edited_params, load_params, render_session,
                                    session_from_params, start_session)
from hiaudio.ui.common import edit_control, guard, limits_note, pcm16, safe_stem, with_edits
from hiaudio.voice import EXPORT_ADVICE, PITCH, PRESETS, TRACT, Edits, ParamsError

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
NO_CLIP = ("Analyze a clip first: upload or record a voice (or pick an example), "
           "then press Analyze.")
PITCH_EDITS = ("transpose_semitones", "transpose_cents", "scale_degrees", "pitch_correction_pct", "vibrato_pct",
               "drift_pct")
SCALE_EDITS = ("scale_key", "scale_mode")
TIMBRE_EDITS = ("formant_shift", "brightness_db_per_oct", "breathiness_db", "gain_db")
VOICE_EDITS = PITCH_EDITS + SCALE_EDITS + TIMBRE_EDITS  # the order in which handlers receive them


@dataclasses.dataclass(frozen=True)
class VoiceTab:
    """What the Voice tab remembers for one browser session (held in a gr.State)."""
    session: VoiceSession | None = None  # the analysed clip, its edits and cached renders
    clip_name: str = "clip"  # file-name-safe stem of the analysed file, for downloads
    export_dir: str | None = None  # this session's folder for downloads, made on first export
    summary: str = ""  # one line about the analysed clip, shown above the edit line


# ---------------------------------------------------------------------------------------------
# Handlers: plain functions of (state, values) -> outputs; gr.Error for anything a person can fix


@guard("Analysis", "try again, or analyze the clip again", shown=())
@with_edits(VOICE_EDITS)
def analyze_clip(path: str | None, state: VoiceTab, edits: Edits, progress=gr.Progress()):
    """Load, check and analyze a clip, then render it with the current edits.

    Returns (state, audio, f0 plot, filter plot, A/B choice, status, wav file, json file).
    """
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
    session, out = render_session(session, edits)
    p = session.params
    voiced = p.voiced >= plots.VOICED_THRESHOLD
    summary = f"{opening}: {100 * voiced.mean():.0f} % voiced"
    if voiced.any():
        median_hz = float(np.median(p.f0_hz[voiced]))
        summary += f", median pitch {median_hz:.0f} Hz ({note_name(median_hz)})"
    new_state = dataclasses.replace(state, session=session, clip_name=clip_name,
                                    summary=summary + "." + (f" {closing}" if closing else ""))
    status = f"{new_state.summary}  \nEdits: {edits.describe()}. Move a slider to change them."
    return (new_state, (p.sample_rate, pcm16(out)), _f0_plot(session), _filter_plot(session), "Edited",
            status, *_NO_DOWNLOADS)


@guard("Loading parameters", "try again, or export the parameters again", shown=())
@with_edits(VOICE_EDITS)
def load_params_file(path: str | None, state: VoiceTab, edits: Edits):
    """Start a session from a parameters JSON (Export's, or `python -m hiaudio analyze`'s),
    with no recording, then render it with the current edits: the way back in after Export.

    Returns what analyze_clip returns. A file that cannot be used raises gr.Error saying what is
    wrong and what to do; the tab keeps what it had.
    """
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
@with_edits(VOICE_EDITS)
def render_edits(state: VoiceTab, edits: Edits):
    """Re-render the analysed clip with new edits (only the parts they change).

    Returns (state, audio, f0 plot, filter plot, A/B choice, status, wav file, json file);
    a plot whose inputs did not change is skipped, and stale downloads are cleared.
    """
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    before = state.session.edits
    started = time.perf_counter()
    session, out = render_session(state.session, edits)
    render_ms = 1000 * (time.perf_counter() - started)
    status = f"{state.summary}  \nEdits: {edits.describe()} (rendered in {render_ms:.0f} ms)."
    return (dataclasses.replace(state, session=session), (session.sample_rate, pcm16(out)),
            gr.skip() if before.key(PITCH) == edits.key(PITCH) else _f0_plot(session),
            gr.skip() if before.key(TRACT) == edits.key(TRACT) else _filter_plot(session),
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
    return session.sample_rate, pcm16(render_session(session, session.edits)[1])  # cached parts: a re-mix


@guard("Export", "try again, or analyze the clip again", shown=())
def export(state: VoiceTab):
    """Write the edited WAV and the edited parameters (JSON) into this session's folder.

    Returns (state, wav path, json path). File names come from the analysed clip's name,
    reduced to safe characters; the folder is this session's own, under gradio's cache.
    """
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    session = state.session
    export_dir = state.export_dir
    if export_dir is None or not Path(export_dir).is_dir():
        export_dir = tempfile.mkdtemp(prefix="hiaudio-export-", dir=_cache_dir())
    _, wave = render_session(session, session.edits)
    wav_path = audio.save_wav(Path(export_dir) / f"{state.clip_name}_edited.wav", wave,
                              session.sample_rate)
    json_path = Path(export_dir) / f"{state.clip_name}_params.json"
    params = edited_params(session).validate()  # never hand out a file the studio cannot read
    json_path.write_text(params.to_json(), encoding="utf-8")
    return dataclasses.replace(state, export_dir=export_dir), str(wav_path), str(json_path)


def apply_preset(name: str):
    """The control values of a preset, in VOICE_EDITS order."""
    if name not in PRESETS:
        raise gr.Error(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].values(VOICE_EDITS)


def reset_controls():
    """Every control back to its default, and the preset back to "original"."""
    return apply_preset("original") + ("original",)


def delete_state(state: VoiceTab) -> None:
    """gr.State's delete callback: remove the session's download folder."""
    if state is not None and state.export_dir:
        shutil.rmtree(state.export_dir, ignore_errors=True)


# ---- helpers ---------------------------------------------------------------------------------

_NO_DOWNLOADS = (None, None)  # what analyze and render return for the downloads: stale ones go


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
# Layout


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
    controls = {}
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Pitch")
            controls.update((n, edit_control(n, "voice")) for n in PITCH_EDITS)
            with gr.Row():
                controls.update((n, edit_control(n, "voice")) for n in SCALE_EDITS)
        with gr.Column():
            gr.Markdown("### Timbre")
            controls.update((n, edit_control(n, "voice")) for n in TIMBRE_EDITS)
    with gr.Row():
        f0_plot = gr.Plot(label="Pitch", elem_id="voice-f0-plot")
        filter_plot = gr.Plot(label="Vocal-tract filter", elem_id="voice-filter-plot")

    edits_in = [controls[n] for n in VOICE_EDITS]
    results = [state, output, f0_plot, filter_plot, ab, status, wav_file, json_file]

    analyze_btn.click(analyze_clip, [upload, state, *edits_in], results, api_name="analyze",
                      concurrency_id="voice-analyze", concurrency_limit=1)
    params_upload.upload(load_params_file, [params_upload, state, *edits_in], results,
                         api_name="load_params", concurrency_id="voice-analyze")
    # one listener for every edit control: "always_last" then also covers moves made on other
    # sliders while a render is running (a separate listener per slider would race)
    moves = [c.release if isinstance(c, gr.Slider) else c.input for c in edits_in]
    gr.on(moves + [render_btn.click], render_edits, [state, *edits_in], results, api_name="render",
          trigger_mode="always_last", show_progress="minimal")
    preset.input(apply_preset, preset, edits_in, api_name="preset").then(
        render_if_ready, [state, *edits_in], results, api_visibility="private",
        show_progress="minimal")
    reset_btn.click(reset_controls, None, [*edits_in, preset], api_name="reset").then(
        render_if_ready, [state, *edits_in], results, api_visibility="private",
        show_progress="minimal")
    ab.input(listen, [state, ab], output, api_name="listen", show_progress="hidden")
    export_btn.click(export, state, [state, wav_file, json_file], api_name="export")
