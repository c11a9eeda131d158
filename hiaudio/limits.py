"""Per-request time limits: a deadline that the long loops check.

Python cannot stop a thread from outside, so a request's time limit is cooperative: the
studio's handler guard (`hiaudio.ui.common.guard`) opens a deadline for the request, and every
loop that can run long -- the comb fit's updates, each part's analysis, Griffin-Lim and
diffusion steps, the composer's tokens, the lab's fit steps -- calls `check_deadline()` once per
iteration. Past the deadline that call raises `TimeLimitError`, so a request overruns its limit
by at most one iteration. Outside a deadline (the CLI, the benchmarks, training) it costs one
context-variable read and never raises.

    with deadline(120, "Separation"):
        separate_choir(...)            # raises TimeLimitError after 120 s
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import time

REQUEST_TIME_LIMIT_S = 120.0  # the studio stops a request that runs longer (a 30 s choir clip takes ~25 s here)


class TimeLimitError(RuntimeError):
    """A request ran past its time limit; the message says what to try instead."""


@dataclasses.dataclass(frozen=True)
class Deadline:
    ends_at: float  # time.monotonic() seconds
    seconds: float  # the limit, for the message
    action: str  # what was stopped, for the message

    def check(self) -> None:
        if time.monotonic() > self.ends_at:
            raise TimeLimitError(f"{self.action} was stopped after {self.seconds:.0f} s, the time one "
                                 f"request may take")


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("hiaudio_deadline", default=None)


def start(seconds: float, action: str = "The request") -> Deadline:
    """A deadline `seconds` from now (not yet active: see `active`)."""
    return Deadline(time.monotonic() + float(seconds), float(seconds), action)


@contextlib.contextmanager
def active(d: Deadline | None):
    """Make `d` the current deadline inside the block; an enclosing, earlier deadline still wins."""
    outer = _current.get()
    if d is None or (outer is not None and outer.ends_at <= d.ends_at):
        d = outer
    token = _current.set(d)
    try:
        yield d
    finally:
        _current.reset(token)


def deadline(seconds: float, action: str = "The request"):
    """Context manager: a fresh deadline of `seconds` for the block."""
    return active(start(seconds, action))


def check_deadline() -> None:
    """Raise TimeLimitError when the current deadline has passed; nothing outside a deadline."""
    d = _current.get()
    if d is not None:
        d.check()
