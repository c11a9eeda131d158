"""The fixed excerpt sets of the choir protocol: a tuning set and a report set, and the training stream.

The report set (Palestrina and Josquin, sung by `splits.REPORT_FAMILIES`) and the tuning set
(the tuning pieces of the other composers, sung by `splits.TRAIN_FAMILIES`) share neither a
composer nor a renderer family. Every setting is chosen on the tuning set; the report set is
run once per shipped change (`bench/choir_report.py`). Each set is `N_PER_FAMILY` four-part
excerpts of `DURATION_S` per family, fixed by `SET_SEED`: the pieces alternate between the
split's composers, the sample rates cycle through 16, 22.05 and 44.1 kHz, and each excerpt's
sections, room and levels come from its seed. Built once, cached as npz:
``<cache>/data/choir_sets/<ENSEMBLE_VERSION>/<set>/<family>-<i>.npz`` with a manifest.

    python -m hiaudio.data report-set        # 18 excerpts, ~40 s on one core
    python -m hiaudio.data tuning-set
    exs = load_set("report")                 # list[ChoraleExample], built on first use

`ChoirDataset("train", n_examples, duration_s)` is the training stream: any training family,
any training piece (2-5 parts), any of the three sample rates, from (seed, index) alone.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from hiaudio import audio as audio_io
from hiaudio.data import splits
from hiaudio.data.cache import data_dir, write_json
from hiaudio.data.ensemble import ENSEMBLE_VERSION, SAMPLE_RATES, render_choir
from hiaudio.data.render import ChoraleExample
from hiaudio.data.repertoire import REPERTOIRE_VERSION, Piece, load_repertoire

SETS = ("report", "tuning")
N_PER_FAMILY = 6
DURATION_S = 10.0
N_PARTS = 4
SET_SEED = 17  # the number; change it and every excerpt changes
VERSION = f"{REPERTOIRE_VERSION}+{ENSEMBLE_VERSION}"


def at_rate(ex: ChoraleExample, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """An excerpt's mixture (S,) and stems (V, S) resampled to sample_rate, cut to one length, float32."""
    mix, stems = ex.mixture, ex.stems
    if ex.sample_rate != sample_rate:
        mix = audio_io.resample(mix, ex.sample_rate, sample_rate)
        stems = np.stack([audio_io.resample(s, ex.sample_rate, sample_rate) for s in stems])
    n = min(len(mix), stems.shape[1])
    return mix[:n].astype(np.float32), stems[:, :n].astype(np.float32)


def score_notes(ex: ChoraleExample) -> list[list[tuple]]:
    """The score's notes of an excerpt, per part top-down: [(MIDI pitch, start s, duration s), ...]."""
    return [[tuple(note) for note in ex.meta["notes"][part]] for part in ex.meta["part_names"]]


def split_pieces(split: str, min_parts: int = 2, root: str | os.PathLike | None = None) -> list[Piece]:
    """The pieces of a choir split ("train", "tuning", "report") with at least min_parts parts."""
    pieces = load_repertoire(splits.choir_composers(split), root)
    return [p for p in pieces if splits.composer_split(p) == split and p.n_parts >= min_parts]


def plan_set(name: str, root: str | os.PathLike | None = None) -> list[dict]:
    """The excerpts of set `name`: [{"family", "index", "piece_id", "seed", "sample_rate"}], fixed by SET_SEED."""
    if name not in SETS:
        raise ValueError(f"unknown set {name!r}; use one of {', '.join(SETS)}")
    pieces = split_pieces(name, N_PARTS, root)
    by_composer: dict[str, list[Piece]] = {}
    for p in sorted(pieces, key=lambda p: p.piece_id):
        by_composer.setdefault(p.composer, []).append(p)
    composers = sorted(by_composer)
    plan = []
    for f, family in enumerate(splits.choir_families(name)):
        rng = np.random.default_rng([SET_SEED, SETS.index(name), f])
        for i in range(N_PER_FAMILY):
            group = by_composer[composers[(i + f) % len(composers)]]
            piece = group[int(rng.integers(len(group)))]
            plan.append({"family": family, "index": i, "piece_id": piece.piece_id, "seed": int(rng.integers(2**31)),
                         "sample_rate": SAMPLE_RATES[(i + f) % len(SAMPLE_RATES)]})
    return plan


def set_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    return data_dir("choir_sets", ENSEMBLE_VERSION, root) / name


def load_set(name: str, root: str | os.PathLike | None = None, progress=None) -> list[ChoraleExample]:
    """Every excerpt of set `name`, rendered on first use and read from the cache after."""
    plan = plan_set(name, root)
    folder = set_dir(name, root)
    manifest = {"version": VERSION, "set": name, "seed": SET_SEED, "duration_s": DURATION_S, "n_parts": N_PARTS,
                "excerpts": plan}
    path = folder / "manifest.json"
    if path.exists() and json.loads(path.read_text()) != manifest:
        raise ValueError(f"{folder} holds another plan of the {name} set; delete it to rebuild")
    write_json(path, manifest)
    pieces = {p.piece_id: p for p in split_pieces(name, N_PARTS, root)}
    out = []
    for item in plan:
        file = folder / f"{item['family']}-{item['index']}.npz"
        if file.exists():
            ex = ChoraleExample.from_npz(file)
        else:
            ex = render_choir(pieces[item["piece_id"]], item["family"], seed=item["seed"], duration_s=DURATION_S,
                              sample_rate=item["sample_rate"], n_parts=N_PARTS)
            ex.meta.update(set=name, index=item["index"], data_version=VERSION)
            ex.to_npz(file)
        if progress is not None:
            progress(item, ex)
        out.append(ex)
    return out


class ChoirDataset(torch.utils.data.Dataset):
    """`n_examples` training (or tuning) excerpts from any of the split's families and pieces.

    Example `index` is a function of (split, seed, index): a SeedSequence picks the family, the
    piece, the number of parts (2 .. min(5, the piece's)), the sample rate and the render seed.
    Cached as ``<cache>/data/choir_sets/<ENSEMBLE_VERSION>/stream-<split>-<dur>s-seed<seed>/<index>.npz``
    (cache=False renders every time). Items are dicts as `ChoraleDataset`'s, with a variable
    number of parts and sample rate: batch them with a collate function that crops and resamples.
    """

    def __init__(self, split: str = "train", n_examples: int = 1000, duration_s: float = 4.0, seed: int = 0,
                 cache: bool = True, root: str | os.PathLike | None = None):
        if split == "report":
            raise ValueError("the report set is for the report only: train on 'train', tune on 'tuning'")
        self.split, self.n_examples, self.duration_s, self.seed, self.cache = split, int(n_examples), float(duration_s), \
            int(seed), cache
        self.families = splits.choir_families(split)
        self.pieces = split_pieces(split, 2, root)
        self.dir = set_dir(f"stream-{split}-{self.duration_s:g}s-seed{self.seed}", root)

    def __len__(self) -> int:
        return self.n_examples

    def plan(self, index: int) -> dict:
        if not 0 <= index < self.n_examples:
            raise IndexError(f"index {index} is outside 0..{self.n_examples - 1}")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, splits.CHOIR_SPLITS.index(self.split), index]))
        piece = self.pieces[int(rng.integers(len(self.pieces)))]
        return {"family": self.families[int(rng.integers(len(self.families)))], "piece": piece,
                "n_parts": int(rng.integers(2, min(5, piece.n_parts) + 1)),
                "sample_rate": SAMPLE_RATES[int(rng.integers(len(SAMPLE_RATES)))], "seed": int(rng.integers(2**31))}

    def example(self, index: int) -> ChoraleExample:
        path = self.dir / f"{index:06d}.npz"
        if self.cache and path.exists():
            return ChoraleExample.from_npz(path)
        p = self.plan(index)
        ex = render_choir(p["piece"], p["family"], seed=p["seed"], duration_s=self.duration_s,
                          sample_rate=p["sample_rate"], n_parts=p["n_parts"])
        ex.meta.update(index=index, dataset_seed=self.seed, data_version=VERSION, split=self.split)
        if self.cache:
            ex.to_npz(path)
        return ex

    def __getitem__(self, index: int) -> dict:
        ex = self.example(index)
        return {"mixture": torch.from_numpy(ex.mixture), "stems": torch.from_numpy(ex.stems),
                "f0_hz": torch.from_numpy(ex.f0_hz), "f0_sung_hz": torch.from_numpy(ex.f0_sung_hz),
                "sample_rate": ex.sample_rate, "hop_samples": ex.hop_samples, "meta": json.dumps(ex.meta)}
