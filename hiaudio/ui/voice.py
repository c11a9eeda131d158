"""The studio's "Voice" tab: analyze a clip, edit pitch and timbre with sliders -- the whole voice
or one note at a time -- compare, undo and redo, download.

The handlers are plain functions of (state, values) -> outputs, so they can be called and tested
without a browser; the controls are `EDIT_SPEC`'s (`VOICE_EDITS`, in this order), and each
handler that takes them gets one checked `Edits` (`with_edits`). The session is a value
(`hiaudio.studio.session`): a handler returns the new one, a failure leaves the old one.

Output groups, in the order handlers return them:
    RESULTS   state, audio, A/B choice, status, WAV download, JSON download
    CONTROLS  the VOICE_EDITS controls, then the note controls (NOTE_FIELDS), then the preset

Sound first, plots after: every handler that changes the session returns RESULTS, and `redraw`
(chained after it) draws the pitch and filter plots -- skipping one whose inputs are as drawn.
A move's new sound so arrives without waiting for its plots (in the browser, ~0.1 s sooner).
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
from hiaudio.studio.session import (MAX_PARAMS_BYTES, VoiceSession, edited_params, note_blobs, note_choices,
                                    render_session, session_from_params, start_session)
from hiaudio.ui.common import (NOTE_FIELDS, audio_file, check_upload, edit_control, guard,
                               limits_note, note_controls, result_player, safe_stem, with_edits)
from hiaudio.voice import EXPORT_ADVICE, NO_EDITS, PITCH, PRESETS, TRACT, Edits, ParamsError, files
from hiaudio.voice.edit import NoteEdit

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
NO_CLIP = ("Analyze a clip first: upload or record a voice (or pick an example), "
           "then press Analyze.")
PITCH_EDITS = ("transpose_semitones", "transpose_cents", "scale_degrees", "pitch_correction_pct", "vibrato_pct",
               "drift_pct")
SCALE_EDITS = ("scale_key", "scale_mode")
TIMBRE_EDITS = ("formant_shift", "brightness_db_per_oct", "breathiness_db", "gain_db")
VOICE_EDITS = PITCH_EDITS + SCALE_EDITS + TIMBRE_EDITS  # the order in which handlers receive them
HISTORY = 50  # edits kept for undo
N_RESULTS = 6
N_CONTROLS = len(VOICE_EDITS) + 1 + len(NOTE_FIELDS) + 1  # edits, the note, its edit, the preset


@dataclasses.dataclass(frozen=True)
class VoiceTab:
    """What the Voice tab remembers for one browser session (held in a gr.State)."""
    session: VoiceSession | None = None  # the analysed clip, its edits and cached renders
    clip_name: str = "clip"  # file-name-safe stem of the analysed file, for downloads
    export_dir: str | None = None  # this session's folder for downloads, made on first export
    summary: str = ""  # one line about the analysed clip, shown above the edit line
    undo: tuple[Edits, ...] = ()  # earlier edits, the latest last
    redo: tuple[Edits, ...] = ()  # edits undone, the latest undone last
    clip: int = 0  # which analysis this is (a new one for every clip or file): the plots' identity


# ---------------------------------------------------------------------------------------------
# Handlers: plain functions of (state, values) -> outputs; gr.Error for anything a person can fix


def check_clip(path: str | None):
    """On upload: is the file usable? -> (the upload, a status line), at once, before Analyze."""
    return check_upload(path, audio.MAX_DURATION_S)


@guard("Analysis", "try again, or analyze the clip again", shown=(), outputs=N_RESULTS + 2)
@with_edits(VOICE_EDITS)
def analyze_clip(path: str | None, state: VoiceTab, edits: Edits, progress=gr.Progress()):
    """Load, check and analyze a clip, then render it with the current edits (its notes are new,
    so no note edits). Returns RESULTS, then the spectrogram and the note menu."""
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
    results = _session_started(VoiceTab(export_dir=state.export_dir, clip=state.clip + 1), session, edits,
                               safe_stem(path), f"Analyzed **{Path(path).name}** ({len(wave) / sr:.1f} s of "
                               f"audio, in {analysis_s:.1f} s)")
    return (*results, plots.spectrogram_figure(wave, sr), _note_menu(results[0].session, None))


def _session_started(state: VoiceTab, session: VoiceSession, edits: Edits, clip_name: str, opening: str,
                     closing: str = ""):
    """RESULTS once analyze_clip or load_params_file has a session: its render with `edits` and a
    status line (opening: voiced share, median pitch. closing)."""
    session, out = render_session(session, edits)
    p = session.params
    voiced = p.voiced >= plots.VOICED_THRESHOLD
    summary = f"{opening}: {100 * voiced.mean():.0f} % voiced, {len(session.notes)} notes"
    if voiced.any():
        median_hz = float(np.median(p.f0_hz[voiced]))
        summary += f", median pitch {median_hz:.0f} Hz ({note_name(median_hz)})"
    new_state = dataclasses.replace(state, session=session, clip_name=clip_name,
                                    summary=summary + "." + (f" {closing}" if closing else ""))
    status = f"{new_state.summary}  \nEdits: {edits.describe()}. Move a slider to change them."
    return (new_state, _player(new_state, out), "Edited", status, *_no_downloads())


@guard("Loading parameters", "try again, or export the parameters again", shown=(),
       outputs=N_RESULTS + 2 + N_CONTROLS)
def load_params_file(path: str | None, state: VoiceTab):
    """Start a session from a parameters file (Export's, or `python -m hiaudio analyze`'s), with
    no recording: the way back in after Export. The file's edits (Export writes them beside the
    analysis) are rendered once and set on the controls, so the tab is where it was exported.

    Returns RESULTS, the spectrogram, the note menu, then CONTROLS. A file that cannot be used
    raises gr.Error saying what is wrong and what to do; the tab keeps what it had.
    """
    if not path:
        raise gr.Error(f"No parameter file yet: {EXPORT_ADVICE}, then load it here.",
                       print_exception=False)
    try:
        params, edits = files.load(path, max_bytes=MAX_PARAMS_BYTES)
        session = session_from_params(params)
        edits = _known_notes(edits, session)
    except ParamsError as err:
        message = str(err) if EXPORT_ADVICE in str(err) else f"{err}; {EXPORT_ADVICE}"
        raise gr.Error(f"{message}.", title="Cannot use this parameter file",
                       print_exception=False) from None
    clip_name = safe_stem(path).removesuffix("_params") or "clip"  # Export's name, not doubled
    fresh = VoiceTab(export_dir=state.export_dir, clip=state.clip + 1)
    results = _session_started(fresh, session, edits, clip_name,
                               f"Loaded parameters **{Path(path).name}** ({params.duration_s:.1f} s at "
                               f"{params.sample_rate} Hz)",
                               'No recording: A/B "Original" plays these parameters rendered without edits.')
    new = results[0]
    return (*results, plots.spectrogram_figure(new.session.original, new.session.sample_rate),
            _note_menu(new.session, None), *_controls(edits, None))


def _notes(state: VoiceTab, note=None, note_semitones=0.0, note_vibrato_pct=100.0, note_drift_pct=100.0,
           note_length_pct=100.0, **_) -> tuple[NoteEdit, ...]:
    """The note edits a move asks for: the session's, with the chosen note's from its sliders."""
    if state.session is None:
        return ()
    notes = state.session.edits.notes
    index = _note_index(state.session, note)
    if index is None:
        return notes
    edit = _note_edit(index, note_semitones, note_vibrato_pct, note_drift_pct, note_length_pct)
    return tuple(n for n in notes if n.index != index) + (edit,)


@guard("Rendering", "try again, or analyze the clip again", shown=(), outputs=N_RESULTS)
@with_edits(VOICE_EDITS, notes=_notes)
def render_edits(state: VoiceTab, edits: Edits, note=None, note_semitones=0.0, note_vibrato_pct=100.0,
                 note_drift_pct=100.0, note_length_pct=100.0):
    """Re-render the analysed clip with new edits (only the parts they change): the global ones
    from the sliders, and the chosen note's (`note`, its number) from the note sliders on top of
    the other notes' edits.

    Returns RESULTS (stale downloads cleared); `redraw` follows with the plots.
    """
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    return _rendered(state, edits, remember=True)


def _rendered(state: VoiceTab, edits: Edits, remember: bool, undo=None, redo=None):
    """RESULTS of `edits` rendered; remember: the edits before go on the undo stack (a new move
    clears redo); otherwise `undo` and `redo` are the stacks to keep."""
    started = time.perf_counter()
    session, out = render_session(state.session, edits)
    render_ms = 1000 * (time.perf_counter() - started)
    if remember:
        undo, redo = state.undo, state.redo
        if edits != state.session.edits:
            undo, redo = (state.undo + (state.session.edits,))[-HISTORY:], ()
    new = dataclasses.replace(state, session=session, undo=undo, redo=redo)
    status = f"{state.summary}  \nEdits: {edits.describe()} (rendered in {render_ms:.0f} ms)."
    return (new, _player(new, out), "Edited", status, *_no_downloads())


def render_if_ready(state: VoiceTab, *values):
    """After a preset or reset: render when a clip is analysed, otherwise change nothing."""
    if state.session is None:
        return (gr.skip(),) * N_RESULTS
    return render_edits(state, *values)


@guard("Undo", "try again", shown=(), outputs=N_RESULTS + N_CONTROLS)
def undo(state: VoiceTab, note=None):
    """Back to the edits before the last change: RESULTS, then CONTROLS showing them."""
    return _step(state, note, back=True)


@guard("Redo", "try again", shown=(), outputs=N_RESULTS + N_CONTROLS)
def redo(state: VoiceTab, note=None):
    """Forward to the edits last undone: RESULTS, then CONTROLS showing them."""
    return _step(state, note, back=False)


def _step(state: VoiceTab, note, back: bool):
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    stack = state.undo if back else state.redo
    if not stack:
        raise gr.Error("Nothing to undo." if back else "Nothing to redo.", print_exception=False)
    current, edits = state.session.edits, stack[-1]
    if back:
        undo_stack, redo_stack = state.undo[:-1], state.redo + (current,)
    else:
        undo_stack, redo_stack = state.undo + (current,), state.redo[:-1]
    index = _note_index(state.session, note)
    results = _rendered(state, edits, remember=False, undo=undo_stack, redo=redo_stack)
    return (*results, *_controls(edits, index))


@guard("Selecting the note", "try again", shown=(), outputs=len(NOTE_FIELDS))
def select_note(state: VoiceTab, note):
    """The note controls at the chosen note's edit (`redraw` then highlights it)."""
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    index = _note_index(state.session, note)
    edit = state.session.edits.note(index) if index is not None else NoteEdit(0)
    return tuple(getattr(edit, f) for f in NOTE_FIELDS)


@guard("Drawing", "try again", shown=(), outputs=3)
def redraw(state: VoiceTab, drawn: tuple, note=None):
    """The pitch plot (the chosen note highlighted) and the filter plot of the session as it is
    now, each skipped when what it shows is as drawn (`drawn`: what the page shows, per plot).
    Returns (drawn, pitch plot, filter plot). It never writes the session's state, so a redraw
    still running when the next move lands cannot undo that move."""
    if state.session is None:
        return gr.skip(), gr.skip(), gr.skip()
    s = state.session
    pitch = (state.clip, s.edits.key(PITCH), _note_index(s, note))
    tract = (state.clip, s.edits.key(TRACT))
    old_pitch, old_tract = drawn if len(drawn) == 2 else (None, None)
    return ((pitch, tract), gr.skip() if pitch == old_pitch else _f0_plot(s, pitch[2]),
            gr.skip() if tract == old_tract else _filter_plot(s))


@guard("Switching A/B", "try again, or analyze the clip again", shown=(), outputs=1)
def listen(state: VoiceTab, choice: str):
    """The output player's audio: the original recording or the edited render."""
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    session = state.session
    if choice == "Original":
        return audio_file(session.sample_rate, session.original, f"{state.clip_name}_original")
    return _player(state, render_session(session, session.edits)[1])  # cached parts: a re-mix


@guard("Export", "try again, or analyze the clip again", shown=(), outputs=4)
def export(state: VoiceTab):
    """Write the edited WAV and the parameters with their edits (JSON) into this session's folder.

    Returns (state, WAV download, JSON download, status): the download buttons then name their
    files and stand out, and the status says what was written. File names come from the analysed
    clip's name, reduced to safe characters; the folder is this session's own.
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
    edited_params(session).validate()  # never hand out a voice the studio cannot render
    files.save(json_path, session.params, session.edits)
    status = (f"{state.summary}  \nExported **{wav_path.name}** and **{json_path.name}** at "
              f"{time.strftime('%H:%M:%S')}: download them with the buttons. Load the parameters back "
              "to go on editing from these edits.")
    return (dataclasses.replace(state, export_dir=export_dir),
            gr.update(value=str(wav_path), label=f"⬇ {wav_path.name}", variant="primary"),
            gr.update(value=str(json_path), label=f"⬇ {json_path.name}", variant="primary"), status)


def apply_preset(name: str):
    """The control values of a preset, in VOICE_EDITS order."""
    if name not in PRESETS:
        raise gr.Error(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].values(VOICE_EDITS)


@guard("Reset", "try again", shown=(), outputs=N_RESULTS + N_CONTROLS)
def reset(state: VoiceTab):
    """Every edit undone, the notes' too (itself undoable): RESULTS, then CONTROLS at the defaults.
    Before a clip is analysed only the controls go back."""
    if state.session is None:
        return (*(gr.skip(),) * N_RESULTS, *_controls(NO_EDITS, None))
    return (*_rendered(state, NO_EDITS, remember=True), *_controls(NO_EDITS, None))


def delete_state(state: VoiceTab) -> None:
    """gr.State's delete callback: remove the session's download folder."""
    if state is not None and state.export_dir:
        shutil.rmtree(state.export_dir, ignore_errors=True)


# ---- helpers ---------------------------------------------------------------------------------

def _no_downloads() -> tuple:
    """What analyze and render return for the downloads: stale ones go, the buttons as at first."""
    return (gr.update(value=None, label="WAV ⬇", variant="secondary"),
            gr.update(value=None, label="Parameters ⬇", variant="secondary"))


def _player(state: VoiceTab, wave: np.ndarray) -> str:
    return audio_file(state.session.sample_rate, wave, f"{state.clip_name}_edited")


def _note_index(session: VoiceSession, note) -> int | None:
    """The note menu's value as a note number of this session (None: no note chosen)."""
    if note is None or note == "":
        return None
    index = int(note)
    if not 0 <= index < len(session.notes):
        raise gr.Error(f"There is no note {index + 1}: this clip has {len(session.notes)} notes.",
                       print_exception=False)
    return index


def _note_edit(index: int, *values) -> NoteEdit:
    try:
        return NoteEdit(index, *(float(v) for v in values))
    except (TypeError, ValueError) as err:
        raise gr.Error(f"Invalid note edit: {err}", print_exception=False) from None


def _known_notes(edits: Edits, session: VoiceSession) -> Edits:
    """The file's edits, refused if they edit a note its voice lacks."""
    missing = [n.index + 1 for n in edits.notes if n.index >= len(session.notes)]
    if missing:
        raise ParamsError(f"the file's edits change note {missing[0]}, but its voice has {len(session.notes)} notes")
    return edits


def _note_menu(session: VoiceSession, selected: int | None):
    return gr.update(choices=note_choices(session), value=selected)


def _controls(edits: Edits, selected: int | None) -> tuple:
    """CONTROLS showing `edits`: the VOICE_EDITS values, the note menu, the note's edit, the
    preset (the one equal to these edits, if any)."""
    note = edits.note(selected) if selected is not None else NoteEdit(0)
    global_only = dataclasses.replace(edits, notes=())
    preset = next((name for name, e in PRESETS.items() if e == global_only), None)
    return (*edits.values(VOICE_EDITS), selected, *(getattr(note, f) for f in NOTE_FIELDS), preset)


def _f0_plot(session: VoiceSession, selected: int | None):
    p, q = session.params, session.edited
    return plots.f0_figure(p.times_s, p.f0_hz, p.voiced, q.f0_hz, q.voiced, blobs=note_blobs(session),
                           selected=selected)


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
            params_upload = gr.File(label="…or load parameters (.json)", file_types=[".json"],
                                    type="filepath", elem_id="voice-params-upload")
            gr.Markdown("A parameters file comes from **Export** (the edits come back too) or from "
                        "`python -m hiaudio analyze`.", elem_id="voice-params-hint")
            status = gr.Markdown("Upload or record a voice, or pick an example, then press "
                                 "**Analyze**.", elem_id="voice-status")
        with gr.Column(scale=1):
            output = result_player("Result", buttons=["download"], elem_id="voice-output")
            ab = gr.Radio(["Edited", "Original"], value="Edited", label="Listen to (A/B)",
                          elem_id="voice-ab")
            with gr.Row():
                preset = gr.Dropdown(list(PRESETS), value="original", label="Preset",
                                     elem_id="voice-preset", scale=2)
                reset_btn = gr.Button("Reset", elem_id="voice-reset", scale=1)
                render_btn = gr.Button("Render", variant="primary", elem_id="voice-render",
                                       scale=1)
            with gr.Row():
                undo_btn = gr.Button("↶ Undo", elem_id="voice-undo", scale=1)
                redo_btn = gr.Button("↷ Redo", elem_id="voice-redo", scale=1)
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
            gr.Markdown("### One note")
            note, note_sliders = note_controls("voice")
    with gr.Row():
        with gr.Column():
            f0_plot = gr.Plot(label="Pitch (blobs: the notes)", elem_id="voice-f0-plot")
            spectrogram = gr.Plot(label="Input spectrogram", elem_id="voice-spectrogram")
        filter_plot = gr.Plot(label="Vocal-tract filter", elem_id="voice-filter-plot")

    edits_in = [controls[n] for n in VOICE_EDITS]
    moves_in = [state, *edits_in, note, *note_sliders]
    results = [state, output, ab, status, wav_file, json_file]
    all_controls = [*edits_in, note, *note_sliders, preset]
    drawn = gr.State(())  # what the two plots show: redraw's own (it never writes the session's state)
    plots_out = [drawn, f0_plot, filter_plot]

    def then_redraw(event, after: str):
        """The plots after `event`. The API has one: /redraw, the plots after a /render."""
        public = after == "render"
        return event.then(redraw, [state, drawn, note], plots_out, show_progress="hidden",
                          api_name="redraw" if public else f"redraw_after_{after}",
                          api_visibility="public" if public else "private")

    upload.upload(check_clip, upload, [upload, status], api_name="check_clip", show_progress="hidden")
    then_redraw(analyze_btn.click(analyze_clip, [upload, state, *edits_in], [*results, spectrogram, note],
                                  api_name="analyze", concurrency_id="voice-analyze", concurrency_limit=1), "analyze")
    then_redraw(params_upload.upload(load_params_file, [params_upload, state],
                                     [*results, spectrogram, note, *all_controls], api_name="load_params",
                                     concurrency_id="voice-analyze"), "load_params")
    # one listener for every edit control: "always_last" then also covers moves made on other
    # sliders while a render is running (a separate listener per slider would race)
    sliders = [c for c in edits_in + note_sliders if isinstance(c, gr.Slider)]
    then_redraw(gr.on([s.release for s in sliders] + [c.input for c in edits_in if not isinstance(c, gr.Slider)]
                      + [render_btn.click], render_edits, moves_in, results, api_name="render",
                      trigger_mode="always_last", show_progress="minimal"), "render")
    then_redraw(note.input(select_note, [state, note], note_sliders, api_name="select_note",
                           show_progress="hidden"), "select_note")
    then_redraw(undo_btn.click(undo, [state, note], [*results, *all_controls], api_name="undo",
                               show_progress="minimal"), "undo")
    then_redraw(redo_btn.click(redo, [state, note], [*results, *all_controls], api_name="redo",
                               show_progress="minimal"), "redo")
    then_redraw(preset.input(apply_preset, preset, edits_in, api_name="preset").then(
        render_if_ready, moves_in, results, api_visibility="private", show_progress="minimal"), "preset")
    then_redraw(reset_btn.click(reset, state, [*results, *all_controls], api_name="reset",
                                show_progress="minimal"), "reset")
    ab.input(listen, [state, ab], output, api_name="listen", show_progress="hidden")
    export_btn.click(export, state, [state, wav_file, json_file, status], api_name="export")
