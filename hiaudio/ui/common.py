"""What every tab shares: the handler guard, the edit controls and the handlers that take them,
the limits line, the player's sample format, safe download names."""
from __future__ import annotations

import functools
import inspect
import logging
import re
from pathlib import Path

import gradio as gr
import numpy as np

from hiaudio import audio, limits
from hiaudio.audio import AudioError
from hiaudio.checkpoints import CheckpointError
from hiaudio.voice import Edits, ParamsError
from hiaudio.voice.edit import SPEC

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


def guard(action: str, advice: str = "try again", shown: tuple = (ValueError,),
          time_limit_s: float | None = None):
    """Turn a handler's failures into a gr.Error a person can read; never a traceback.

    AudioError, ParamsError and CheckpointError get their own wording; the `shown` exception
    types (our ValueErrors are written to be read) are shown as "action: message"; anything
    else is logged with its traceback and shown as one line ending with `advice`. The outputs,
    and so the tab's state, stay as they were. Works for plain and generator handlers.

    time_limit_s: the request's time limit (`hiaudio.limits`; default REQUEST_TIME_LIMIT_S,
    read at call time). It is measured from the call and also holds while a generator handler
    is resumed between its yields (each resumption may run on another worker thread).
    """
    def limit() -> limits.Deadline:
        seconds = limits.REQUEST_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        return limits.start(seconds, action)

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
                except gr.Error:
                    raise
                except Exception as err:  # noqa: BLE001 -- the last line of defence for a handler
                    raise _as_gr_error(err, action, advice, shown) from None
        else:
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                try:
                    with limits.active(limit()):
                        return fn(*args, **kwargs)
                except gr.Error:
                    raise
                except Exception as err:  # noqa: BLE001 -- the last line of defence for a handler
                    raise _as_gr_error(err, action, advice, shown) from None
        return wrapper
    return decorate


def pcm16(wave: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16, what the player's WAV holds (gradio would warn, then do it)."""
    return (np.clip(wave, -1.0, 1.0) * 32767.0).round().astype(np.int16)


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


def with_edits(names: tuple[str, ...]):
    """Decorate a handler `fn(..., edits: Edits, ...)` so that it takes one value per control of
    `names` (in that order) in place of `edits`, and gradio's API names each value after its
    edit. The values become one `Edits`, checked once: a value out of range is a gr.Error that
    says which and what it takes."""
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
            try:
                edits = Edits.from_values(names, [a[n] for n in names])
            except (TypeError, ValueError) as err:
                raise gr.Error(f"Invalid edit: {err}", print_exception=False) from None
            return fn(*(a[p.name] for p in before), edits, **{p.name: a[p.name] for p in after})

        wrapper.__signature__ = public
        return wrapper
    return decorate
