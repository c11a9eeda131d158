"""Shared pieces of the benchmarks: machine description, timing, a plain-text table, JSON out.

Every benchmark writes `bench/results/<name>.json` through `write_results`, which stamps the
date and the machine so that numbers from different runs are never compared blindly.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info() -> dict:
    """What the numbers were measured on."""
    return {
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_avg_1_5_15_min": [round(v, 2) for v in os.getloadavg()],  # other work skews timings
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def default_devices() -> str:
    """The --devices default of the speed benchmarks: the CPU, and the GPU when torch sees one."""
    return "cpu,cuda" if torch.cuda.is_available() else "cpu"


def use_device(device: str | None) -> str | None:
    """Make `hiaudio.device.pick_device` (which reads $HIAUDIO_DEVICE on every call) choose
    `device`, or its own default for None; -> the device's label for a table ("cpu", or
    "cuda: <GPU name>")."""
    from hiaudio.device import DEVICE_ENV

    if device is None:
        os.environ.pop(DEVICE_ENV, None)
        return None
    os.environ[DEVICE_ENV] = device
    return device if device == "cpu" else f"{device}: {torch.cuda.get_device_name(torch.device(device))}"


def git_state(paths: Sequence[str] = ("hiaudio",)) -> dict:
    """The commit measured, and which of `paths` had uncommitted changes (numbers then describe
    the working tree, not the commit)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""

    dirty = git("status", "--porcelain", "--", *paths)
    return {"commit": git("rev-parse", "HEAD").strip() or None,
            "uncommitted": [line[3:] for line in dirty.splitlines()]}


def time_median(fn: Callable[[], object], repeats: int, warmup: int = 0) -> dict:
    """Median wall time (time.perf_counter) of `repeats` calls of fn, after `warmup` untimed calls.

    Returns {"median_s", "min_s", "runs_s"}: the spread is kept next to the headline number,
    and on a shared machine the minimum is the closer estimate of the code's own cost.
    """
    for _ in range(warmup):
        fn()
    runs_s = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs_s.append(time.perf_counter() - start)
    return {"median_s": statistics.median(runs_s), "min_s": min(runs_s), "runs_s": runs_s}


def format_table(headers: Sequence[str], rows: Sequence[Sequence | None],
                 float_format: str = "{:.2f}") -> str:
    """Fixed-width text table; the first column is left-aligned, the rest right-aligned.

    A row of None is drawn as a rule; NaN and None cells as '-'.
    """
    def cell(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return float_format.format(v) if isinstance(v, float) else str(v)

    body = [None if row is None else [cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        if row is not None:
            widths = [max(w, len(c)) for w, c in zip(widths, row)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(headers), rule]
    out += [rule if row is None else line(row) for row in body]
    return "\n".join(out)


def skipped_rows(skipped: dict[str, str], n_columns: int) -> list[list]:
    """Table rows for what a bench did not run: the label, "skipped: why", then '-' cells."""
    return [[label, f"skipped: {why}"] + [None] * (n_columns - 2) for label, why in skipped.items()]


def write_results(name: str, results: dict, results_dir: Path = RESULTS_DIR) -> Path:
    """Write results_dir/<name>.json with the date (UTC), machine and git state; return the path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "git": git_state(),
        **results,
    }
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=_to_builtin) + "\n", encoding="utf-8")
    return path


def _to_builtin(value):
    """json.dumps fallback for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
