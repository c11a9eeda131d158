"""Rendered chorale excerpts as a torch `Dataset`, built deterministically and cached as npz.

Example `index` of a dataset is a function of (split, renderer, timbre, duration, sample
rate, seed, index) only: a `SeedSequence` of (seed, split, index) picks the piece from the
split's pieces and the seed `render_chorale` uses. The first time an index is asked for it
is rendered and written to ``<dir>/<index:06d>.npz``; later it is read back. The directory
holds a ``config.json``; a dataset refuses a directory written with other settings.

    ds = ChoraleDataset("train", renderer="voice", n_examples=2000, duration_s=4.0)
    item = ds[0]  # {"mixture": (S,), "stems": (4, S), "f0_hz": (4, T), ..., "meta": json str}
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from hiaudio.data import splits
from hiaudio.data.cache import data_dir, write_json
from hiaudio.data.chorales import CORPUS_VERSION, Chorale, load_chorales
from hiaudio.data.render import DEFAULT_RATE, RENDER_VERSION, RENDERERS, ChoraleExample, render_chorale

VERSION = f"{CORPUS_VERSION}+{RENDER_VERSION}"  # the chorale data set's version string


def split_pieces(chorales: list[Chorale], split: str) -> list[Chorale]:
    """The chorales of one split, sorted by piece id."""
    splits.check_split(split)
    return sorted((c for c in chorales if splits.chorale_split(c) == split), key=lambda c: c.piece_id)


class ChoraleDataset(torch.utils.data.Dataset):
    """`n_examples` rendered excerpts of `duration_s` from the pieces of `split`.

    renderer: "fluidsynth" or "voice". timbre: "seen" (default) or "held_out" (validation and
    test only; see `splits`). cache_dir: where the npz files go (default under the cache root:
    ``data/chorales/<RENDER_VERSION>/<split>/<renderer>-<timbre>-<rate>hz-<dur>s-seed<seed>``);
    cache=False renders every time and writes nothing. chorales: the corpus (default
    `load_chorales()`, which parses music21's corpus once).
    """

    def __init__(self, split: str = "train", renderer: str = "voice", n_examples: int = 1000,
                 duration_s: float = 4.0, sample_rate: int = DEFAULT_RATE, timbre: str | None = None,
                 seed: int = 0, cache: bool = True, cache_dir: str | os.PathLike | None = None,
                 chorales: list[Chorale] | None = None):
        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}; use one of {', '.join(RENDERERS)}")
        if n_examples < 1:
            raise ValueError(f"n_examples is {n_examples}; ask for at least 1")
        self.split, self.renderer, self.n_examples = split, renderer, int(n_examples)
        self.timbre = splits.timbre_split_for(split, timbre)
        self.duration_s, self.sample_rate, self.seed, self.cache = float(duration_s), int(sample_rate), int(seed), cache
        self.pieces = split_pieces(chorales if chorales is not None else load_chorales(), split)
        if not self.pieces:
            raise ValueError(f"no chorale of the corpus falls in the {split!r} split")
        name = f"{renderer}-{self.timbre}-{self.sample_rate}hz-{self.duration_s:g}s-seed{self.seed}"
        self.dir = Path(cache_dir) if cache_dir is not None else data_dir("chorales", RENDER_VERSION) / split / name
        self.config = {"version": VERSION, "split": split, "renderer": renderer, "timbre": self.timbre,
                       "duration_s": self.duration_s, "sample_rate": self.sample_rate, "seed": self.seed,
                       "pieces": [c.piece_id for c in self.pieces]}
        if cache:
            self._check_dir()

    def _check_dir(self) -> None:
        path = self.dir / "config.json"
        if path.exists():
            with open(path) as f:
                old = json.load(f)
            if old != self.config:
                diff = sorted(k for k in set(old) | set(self.config) if old.get(k) != self.config.get(k))
                raise ValueError(f"{self.dir} holds examples made with other settings ({', '.join(diff)});"
                                 " choose another directory or delete it")
        else:
            write_json(path, self.config)

    def __len__(self) -> int:
        return self.n_examples

    def plan(self, index: int) -> tuple[Chorale, int]:
        """The piece and the render seed of example `index` (no rendering)."""
        if not 0 <= index < self.n_examples:
            raise IndexError(f"index {index} is outside 0..{self.n_examples - 1}")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, splits.SPLITS.index(self.split), index]))
        piece = self.pieces[int(rng.integers(len(self.pieces)))]
        return piece, int(rng.integers(2**31))

    def example(self, index: int) -> ChoraleExample:
        """Example `index` as a `ChoraleExample` (rendered once, then read from the cache)."""
        path = self.dir / f"{index:06d}.npz"
        if self.cache and path.exists():
            return ChoraleExample.from_npz(path)
        piece, seed = self.plan(index)
        ex = render_chorale(piece, self.sample_rate, self.renderer, seed=seed, duration_s=self.duration_s,
                            timbre=self.timbre)
        ex.meta.update(index=index, dataset_seed=self.seed, data_version=VERSION)
        if self.cache:
            ex.to_npz(path)
        return ex

    def __getitem__(self, index: int) -> dict:
        ex = self.example(index)
        item = {"mixture": torch.from_numpy(ex.mixture), "stems": torch.from_numpy(ex.stems),
                "f0_hz": torch.from_numpy(ex.f0_hz), "sample_rate": ex.sample_rate,
                "hop_samples": ex.hop_samples, "meta": json.dumps(ex.meta)}
        if ex.f0_sung_hz is not None:
            item["f0_sung_hz"] = torch.from_numpy(ex.f0_sung_hz)
        return item


class ExampleSets(torch.utils.data.Dataset):
    """Several `ChoraleDataset`s (e.g. one per renderer) indexed as one; `example(i)` gives the
    i-th `ChoraleExample` across them. Training tasks subclass it and turn examples into tensors."""

    def __init__(self, sets):
        self.sets = list(sets)
        self.sizes = np.cumsum([0] + [len(s) for s in self.sets])

    def __len__(self) -> int:
        return int(self.sizes[-1])

    def example(self, i: int) -> ChoraleExample:
        j = int(np.searchsorted(self.sizes, i, side="right") - 1)
        return self.sets[j].example(i - int(self.sizes[j]))
