"""Where the data module keeps what it builds, and two helpers every builder shares.

The cache root is ``$HIAUDIO_CACHE`` if set, else ``~/.cache/hiaudio``. Everything the data
module writes lives under ``<root>/data/<set>/<version>/`` so that bumping a set's version
string (after any change to how it is made) never reads stale files. Writes are atomic
(temporary file + rename), so an interrupted build leaves no half-written file behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_root() -> Path:
    """``$HIAUDIO_CACHE`` or ``~/.cache/hiaudio``."""
    return Path(os.environ.get("HIAUDIO_CACHE") or Path.home() / ".cache" / "hiaudio")


def data_dir(name: str, version: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/data/<name>/<version>``: one data set at one version (root: `cache_root()`)."""
    return (Path(root) if root is not None else cache_root()) / "data" / name / version


def unit_hash(key: str) -> float:
    """A stable number in [0, 1) from a string (SHA-1; the same on every machine and run)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2.0**64


def hash_split(key: str, fractions: dict[str, float]) -> str:
    """The split a key falls in: cumulative `fractions` (in order) cut [0, 1) by `unit_hash`."""
    u, edge = unit_hash(key), 0.0
    for name, frac in fractions.items():
        edge += frac
        if u < edge:
            return name
    return name  # rounding of the fractions: the last split takes the remainder


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(path: Path, obj) -> Path:
    def w(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, separators=(",", ":"))
    return _atomic(Path(path), w)


def write_npz(path: Path, **arrays) -> Path:
    def w(tmp):
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            np.savez(f, **arrays)
    return _atomic(Path(path), w)
