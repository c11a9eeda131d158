"""What every tab shares: the handler guard, the player's sample format, safe download names."""
from __future__ import annotations

import functools
import inspect
import logging
import re
from pathlib import Path

import gradio as gr
import numpy as np

from hiaudio.audio import AudioError
from hiaudio.checkpoints import CheckpointError
from hiaudio.params import ParamsError

log = logging.getLogger("hiaudio.ui")


def _as_gr_error(err: Exception, action: str, advice: str, shown: tuple) -> gr.Error:
    if isinstance(err, AudioError):
        return gr.Error(str(err), title="Cannot use this audio", print_exception=False)
    if isinstance(err, ParamsError):
        return gr.Error(f"{action}: the edited parameters are out of range ({err}). Try smaller edits.",
                        print_exception=False)
    if isinstance(err, CheckpointError):
        return gr.Error(f"{action}: the model is missing or damaged ({err}).", print_exception=False)
    if shown and isinstance(err, shown):
        return gr.Error(f"{action}: {err}", print_exception=False)
    log.error("%s failed", action, exc_info=err)
    return gr.Error(f"{action} failed unexpectedly ({type(err).__name__}). What you had is kept; {advice}.",
                    print_exception=False)


def guard(action: str, advice: str = "try again", shown: tuple = (ValueError,)):
    """Turn a handler's failures into a gr.Error a person can read; never a traceback.

    AudioError, ParamsError and CheckpointError get their own wording; the `shown` exception
    types (our ValueErrors are written to be read) are shown as "action: message"; anything
    else is logged with its traceback and shown as one line ending with `advice`. The outputs,
    and so the tab's state, stay as they were. Works for plain and generator handlers.
    """
    def decorate(fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                try:
                    yield from fn(*args, **kwargs)
                except gr.Error:
                    raise
                except Exception as err:  # noqa: BLE001 -- the last line of defence for a handler
                    raise _as_gr_error(err, action, advice, shown) from None
        else:
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                try:
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
