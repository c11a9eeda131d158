"""What every tab shares: the handler guard and error toasts, the edit controls and the handlers
that take them, the upload check, result files for the players, the keyboard script, the limits
line, safe download names."""
from __future__ import annotations

import functools
import inspect
import logging
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.context import LocalContext
from gradio.data_classes import FileData
from gradio.helpers import log_message

from hiaudio import audio, limits
from hiaudio.audio import AudioError
from hiaudio.checkpoints import CheckpointError
from hiaudio.voice import Edits, ParamsError
from hiaudio.voice.edit import NOTE_RANGES, SPEC, NoteEdit

log = logging.getLogger("hiaudio.ui")

QUEUE_SIZE = 32  # requests waiting beyond this are turned away: "Queue is full! Please try again."


def limits_note(heavy: str, max_duration_s: float | None = None, extra: str = "") -> str:
    """The tab's limits in one line, from the constants the server enforces.

    heavy: what runs one at a time per server ("separation"); max_duration_s: the longest clip
    the tab takes (None: the tab takes no audio); extra: the tab's own limits, a phrase.
    """
    items = []
    if max_duration_s is not None:
        items.append(f"audio files up to {audio.MAX_UPLOAD_BYTES / 2**20:.0f} MB and {max_duration_s:.0f} s")
    if extra:
        items.append(extra)
    items.append(f"a request stops after {limits.REQUEST_TIME_LIMIT_S:.0f} s")
    items.append(f"one {heavy} runs at a time on this server and up to {QUEUE_SIZE} requests wait in line; "
                 "when the line is full you are asked to try again")
    return "**Limits:** " + "; ".join(items) + "."


def _as_gr_error(err: Exception, action: str, advice: str, shown: tuple) -> gr.Error:
    if isinstance(err, AudioError):
        return gr.Error(str(err), title="Cannot use this audio", print_exception=False)
    if isinstance(err, ParamsError):
        return gr.Error(f"{action}: the edited parameters are out of range ({err}). Try smaller edits.",
                        print_exception=False)
    if isinstance(err, CheckpointError):
        return gr.Error(f"{action}: the model is missing or damaged ({err}).", print_exception=False)
    if isinstance(err, limits.TimeLimitError):
        return gr.Error(f"{err}. What you had is kept; {advice}.", title="Time limit", print_exception=False)
    if shown and isinstance(err, shown):
        return gr.Error(f"{action}: {err}", print_exception=False)
    log.error("%s failed", action, exc_info=err)
    return gr.Error(f"{action} failed unexpectedly ({type(err).__name__}). What you had is kept; {advice}.",
                    print_exception=False)


def _from_browser() -> bool:
    """Whether the running request came from a browser page (not the HTTP API, not a direct call).

    gradio's page sends its events with the header x-gradio-user: app; its clients (Python and
    JavaScript) send "api"."""
    request = LocalContext.request.get(None)
    headers = getattr(request, "headers", None) or {}
    return headers.get("x-gradio-user") == "app"


def toast_error(err: gr.Error) -> None:
    """Show an error toast in the person's page. gradio 6 titles every toast by its kind ("Error")
    and drops a custom title, so the message leads with it: "Cannot use this audio: ..."."""
    title = getattr(err, "title", "Error") or "Error"
    message = err.message if title == "Error" else f"{title}: {err.message}"
    log_message(message, title=title, level="error", duration=err.duration)


def guard(action: str, advice: str = "try again", shown: tuple = (ValueError,),
          time_limit_s: float | None = None, outputs: int | None = None):
    """Turn a handler's failures into a gr.Error a person can read; never a traceback.

    AudioError, ParamsError and CheckpointError get their own wording; the `shown` exception
    types (our ValueErrors are written to be read) are shown as "action: message"; anything
    else is logged with its traceback and shown as one line ending with `advice`. The outputs,
    and so the tab's state, stay as they were. Works for plain and generator handlers.

    outputs: how many outputs the handler's event has. Given, a failure in a browser page is
    shown as an error toast (`toast_error`) and every output is left as it was (gr.skip()), so
    no output panel is marked "Error" over what the person had; the HTTP API still gets the
    error itself.

    time_limit_s: the request's time limit (`hiaudio.limits`; default REQUEST_TIME_LIMIT_S,
    read at call time). It is measured from the call and also holds while a generator handler
    is resumed between its yields (each resumption may run on another worker thread).
    """
    def limit() -> limits.Deadline:
        seconds = limits.REQUEST_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        return limits.start(seconds, action)

    def failed(err: Exception):
        """The error to raise, or (in a browser page, with `outputs`) what to return instead."""
        error = err if isinstance(err, gr.Error) else _as_gr_error(err, action, advice, shown)
        if outputs is None or not _from_browser():
            raise error from None
        toast_error(error)
        return gr.skip() if outputs == 1 else (gr.skip(),) * outputs

    def decorate(fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                deadline = limit()
                try:
                    gen = fn(*args, **kwargs)
                    while True:
                        with limits.active(deadline):
                            try:
                                item = next(gen)
                            except StopIteration:
                                return
                        yield item
                except Exception as err:  # noqa: BLE001 -- the last line of defence for a handler
                    yield failed(err)
        else:
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                try:
                    with limits.active(limit()):
                        return fn(*args, **kwargs)
                except Exception as err:  # noqa: BLE001 -- the last line of defence for a handler
                    return failed(err)
        return wrapper
    return decorate


RESULTS_DIR = Path(tempfile.gettempdir()) / "hiaudio-results"
RESULTS_TTL_S = 600.0  # a result's own copy goes after this long (gradio has copied it by then)
_last_prune = [0.0]


def audio_file(sample_rate: int, wave: np.ndarray, name: str = "result") -> str:
    """A result's audio as a WAV file of its own, for a player: the path to return.

    Each result gets a new folder and is written whole before the handler returns; gradio then
    copies it into its cache under the hash of its bytes, by a rename, so a result is never
    rewritten while it is being sent. (Handing gradio a numpy array instead made it write the
    WAV in place under the hash of the samples: two people's identical results shared one file,
    rewritten as the first was being sent, and it arrived empty or cut off.)
    """
    folder = RESULTS_DIR / uuid.uuid4().hex
    path = audio.save_wav(folder / f"{safe_stem(name)}.wav", np.clip(wave, -1.0, 1.0), sample_rate)
    _prune_results()
    return str(path)


def result_player(label: str, **kwargs) -> gr.Audio:
    """A player for results the studio wrote itself (`audio_file`: PCM-16 WAV, which every browser
    plays). gr.Audio runs ffprobe on every file path it is handed to check that the browser can
    play it (~0.1 s a result, most of a slider move's time on the server): for our own results
    that answer is known, so this player skips it; anything else goes through gr.Audio as is.
    (A function, not a gr.Audio subclass: gradio writes a .pyi stub beside any module that
    defines one.)"""
    player = gr.Audio(label=label, type="filepath", interactive=False, **kwargs)
    checked = player.postprocess

    def postprocess(value):
        if isinstance(value, str) and value.endswith(".wav") and Path(value).parent.parent == RESULTS_DIR:
            return FileData(path=value, orig_name=Path(value).name)
        return checked(value)

    player.postprocess = postprocess
    return player


def _prune_results() -> None:
    """Remove result folders older than RESULTS_TTL_S (at most once a minute)."""
    now = time.time()
    if now - _last_prune[0] < 60.0:
        return
    _last_prune[0] = now
    for folder in RESULTS_DIR.glob("*"):
        try:
            if now - folder.stat().st_mtime > RESULTS_TTL_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def check_upload(path: str | None, max_duration_s: float, target_sr: int | None = None):
    """What an upload handler tells the person at once: (the upload, a status line). A file that
    cannot be used is cleared from the player, with an error toast saying why and what to do."""
    if not path:
        return gr.skip(), gr.skip()
    notes: list[str] = []
    try:
        wave, sr = audio.load_audio(path, target_sr=target_sr, max_duration_s=max_duration_s, warnings=notes)
    except AudioError as err:
        error = gr.Error(str(err), title="Cannot use this audio", print_exception=False)
        if not _from_browser():
            raise error from None
        toast_error(error)
        return None, f"**Cannot use {Path(path).name}:** {err}."
    for note in notes:
        gr.Warning(note)
    return gr.skip(), f"Ready: **{Path(path).name}**, {len(wave) / sr:.1f} s."


# Arrow keys move a slider without a pointer: the range input then fires "input" but never the
# "pointerup" that gradio's .release listens to, so nothing rendered. On the key's release this
# sends that pointerup (a slider's number box sends it to its range input).
KEYBOARD_JS = """() => {
  const keys = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"]);
  document.addEventListener("keyup", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLInputElement) || !keys.has(event.key)) return;
    const range = target.type === "range" ? target
      : target.type === "number" ? target.closest(".block")?.querySelector("input[type=range]") : null;
    if (range) range.dispatchEvent(new PointerEvent("pointerup", {bubbles: true}));
  });
}"""


def safe_stem(path: str) -> str:
    """A file-name-safe stem for downloads: letters, digits, - and _ only, at most 40."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(path).stem).strip("_")[:40]
    return stem or "clip"


# ---- edits: one control per EDIT_SPEC entry, one Edits per move ----------------------------

def edit_control(name: str, id_prefix: str, value=None):
    """The control of one edit as `EDIT_SPEC` describes it, at `value` (default: the edit's
    default): a slider for a number, a dropdown for a choice; elem_id "<id_prefix>-<flag>"."""
    spec = SPEC[name]
    value = spec.default if value is None else value
    if spec.choices:
        return gr.Dropdown(list(spec.choices), value=value, label=spec.label, info=spec.help or None,
                           elem_id=f"{id_prefix}-{spec.flag}")
    return gr.Slider(spec.minimum, spec.maximum, value=value, step=spec.step, label=spec.label,
                     info=spec.help or None, elem_id=f"{id_prefix}-{spec.flag}")


def with_edits(names: tuple[str, ...], notes=None):
    """Decorate a handler `fn(..., edits: Edits, ...)` so that it takes one value per control of
    `names` (in that order) in place of `edits`, and gradio's API names each value after its
    edit. The values become one `Edits`, checked once: a value out of range is a gr.Error that
    says which and what it takes. notes(**the handler's other arguments) gives the note edits
    to include (none by default)."""
    def decorate(fn):
        inner = inspect.signature(fn)
        params = list(inner.parameters.values())
        at = [p.name for p in params].index("edits")
        before, after = params[:at], params[at + 1:]
        named = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
        public = inner.replace(parameters=before + named + after)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = public.bind(*args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            others = {p.name: a[p.name] for p in before + after}
            try:
                edits = Edits.from_values(names, [a[n] for n in names], notes(**others) if notes else ())
            except (TypeError, ValueError) as err:
                raise gr.Error(f"Invalid edit: {err}", print_exception=False) from None
            return fn(*(a[p.name] for p in before), edits, **{p.name: a[p.name] for p in after})

        wrapper.__signature__ = public
        return wrapper
    return decorate


# ---- one note: the note menu and a NoteEdit's sliders (Voice and Choir tabs) -----------------

NOTE_FIELDS = ("semitones", "vibrato_pct", "drift_pct", "length_pct")  # a NoteEdit's, after the note's number
NOTE_LABELS = {"semitones": ("Note pitch (semitones)", 0.1), "vibrato_pct": ("Note vibrato (%)", 5),
               "drift_pct": ("Note drift (%)", 5), "length_pct": ("Note length (%)", 5)}


def note_controls(id_prefix: str) -> tuple:
    """The note menu and the sliders of a NoteEdit (NOTE_FIELDS order), elem ids <prefix>-note..."""
    menu = gr.Dropdown([], value=None, label="Note", info="a note of the pitch plot (blobs); its edit is on top",
                       elem_id=f"{id_prefix}-note")
    sliders = []
    for field in NOTE_FIELDS:
        label, step = NOTE_LABELS[field]
        lo, hi = NOTE_RANGES[field]
        sliders.append(gr.Slider(lo, hi, value=getattr(NoteEdit(0), field), step=step, label=label,
                                 elem_id=f"{id_prefix}-note-{field.split('_')[0]}"))
    return menu, sliders
