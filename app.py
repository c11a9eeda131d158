"""hiaudio studio: the browser front end (the only module that imports gradio).

Each tab is built by one `build_*_tab()` function; the handlers are plain functions on the tab's
`gr.State` value and the controls' values, so they can be called (and tested) without a browser.

    python app.py                      # serves http://127.0.0.1:7860
    from app import demo               # build without launching (tests, Spaces)
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np

from hiaudio import audio
from hiaudio.audio import AudioError
from hiaudio.params import ParamsError
from hiaudio.studio import plots
from hiaudio.studio.edit import NOTE_NAMES, PRESETS, SCALES, Edits
from hiaudio.studio.session import VoiceSession, edited_params, render_session, start_session

log = logging.getLogger("hiaudio.app")

EXAMPLES_DIR = Path(__file__).resolve().parent / "assets" / "examples"
CONCURRENCY_LIMIT = 2  # handlers at once; the studio runs on CPU and a Space has two cores
QUEUE_SIZE = 32  # requests waiting beyond this are turned away with "queue full"
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


def _guard(action: str):
    """Turn failures into a gr.Error a person can read; the outputs (and state) stay as they were.

    AudioError messages already say what to do; anything unexpected is logged with its
    traceback and shown as one short line.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except AudioError as err:
                raise gr.Error(str(err), title="Cannot use this audio", print_exception=False)
            except ParamsError as err:
                raise gr.Error(f"{action}: the edited parameters are out of range ({err}). "
                               "Try smaller edits.", print_exception=False)
            except Exception as err:  # noqa: BLE001 -- the last line of defence for a handler
                log.exception("%s failed", action)
                raise gr.Error(f"{action} failed unexpectedly ({type(err).__name__}). Your "
                               "previous result is kept; try again, or analyze the clip again.",
                               print_exception=False)
        return wrapper
    return decorate


def edits_from(*values) -> Edits:
    """Edits from the controls' values in EDIT_FIELDS order; gr.Error when one is out of range."""
    if len(values) != len(EDIT_FIELDS):
        raise gr.Error(f"expected {len(EDIT_FIELDS)} edit values, got {len(values)}")
    try:
        return Edits(**dict(zip(EDIT_FIELDS, values))).validate()
    except (TypeError, ValueError) as err:
        raise gr.Error(f"Invalid edit: {err}", print_exception=False)


def safe_stem(path: str) -> str:
    """A file-name-safe stem for downloads: letters, digits, - and _ only, at most 40."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(path).stem).strip("_")[:40]
    return stem or "clip"


@_guard("Analysis")
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
    out = render_session(session, edits)
    p = session.params
    voiced = p.voiced >= plots.VOICED_THRESHOLD
    summary = (f"Analyzed **{Path(path).name}** ({len(wave) / sr:.1f} s of audio, in "
               f"{analysis_s:.1f} s): {100 * voiced.mean():.0f} % voiced")
    if voiced.any():
        median_hz = float(np.median(p.f0_hz[voiced]))
        summary += f", median pitch {median_hz:.0f} Hz ({plots.note_name(median_hz)})"
    new_state = dataclasses.replace(state, session=session, clip_name=safe_stem(path),
                                    summary=summary + ".")
    status = f"{new_state.summary}  \nEdits: {describe(edits)}. Move a slider to change them."
    return (new_state, (sr, pcm16(out)), _f0_plot(session), _filter_plot(session), "Edited", status,
            *_NO_DOWNLOADS)


@_guard("Rendering")
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


@_guard("Switching A/B")
def listen(state: VoiceTab, choice: str):
    """The output player's audio: the original recording or the edited render."""
    if state.session is None:
        raise gr.Error(NO_CLIP, print_exception=False)
    session = state.session
    if choice == "Original":
        return session.sample_rate, pcm16(session.original)
    # the parts are cached, so this only re-mixes; render on a copy, as everywhere
    return session.sample_rate, pcm16(render_session(dataclasses.replace(session), session.edits))


@_guard("Export")
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


def pcm16(wave: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16, what the player's WAV holds (gradio would warn, then do it)."""
    return (np.clip(wave, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def _cache_dir() -> str:
    """gradio's cache folder (GRADIO_TEMP_DIR, else <tmp>/gradio), where downloads are served."""
    path = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def example_clips() -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.wav"))


# ---------------------------------------------------------------------------------------------
# Layout


def _slider(c: Control) -> gr.Slider:
    return gr.Slider(c.minimum, c.maximum, value=getattr(Edits(), c.field), step=c.step,
                     label=c.label, info=c.info or None, elem_id=c.elem_id)


def build_voice_tab() -> None:
    """The Voice tab: analyze a clip, edit pitch and timbre with sliders, compare, download."""
    state = gr.State(VoiceTab(), delete_callback=delete_state)
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.Audio(sources=["upload", "microphone"], type="filepath",
                              label="Voice clip (up to {:.0f} s)".format(audio.MAX_DURATION_S),
                              elem_id="voice-upload")
            if example_clips():
                gr.Examples(example_clips(), inputs=[upload], label="Examples")
            analyze_btn = gr.Button("Analyze", variant="primary", elem_id="voice-analyze")
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


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="hiaudio", analytics_enabled=False) as demo:
        gr.Markdown("# hiaudio\nA sound-transformation studio built on an interpretable "
                    "source-filter voice model: pitch, formants, brightness and breath as sliders.")
        with gr.Tabs():
            with gr.Tab("Voice", id="voice"):
                build_voice_tab()
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo


def launch_options() -> dict:
    """demo.launch keyword arguments shared by `python app.py` and the tests."""
    return {"ssr_mode": False, "max_file_size": audio.MAX_UPLOAD_BYTES,
            "state_session_capacity": SESSION_CAPACITY, "allowed_paths": [str(EXAMPLES_DIR)]}


demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)  # handler failures are logged with tracebacks
    demo.launch(**launch_options())
