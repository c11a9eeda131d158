"""`python -m hiaudio.data {corpus,chorales,speech,report-set,tuning-set}`: build and cache a data set.

    python -m hiaudio.data corpus                                  # parse the chorales once
    python -m hiaudio.data chorales --n 200 --split train --renderer voice --out /tmp/ch
    python -m hiaudio.data speech --n 100 --split test
    python -m hiaudio.data report-set                              # the choir report set (18 excerpts)
    python -m hiaudio.data tuning-set                              # the choir tuning set (18 excerpts)

Without --out, files go under the cache root ($HIAUDIO_CACHE or ~/.cache/hiaudio). A setting
a person can fix ends with a one-line message on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time

from hiaudio.data.chorales import corpus_file, load_chorales
from hiaudio.data.dataset import ChoraleDataset
from hiaudio.data.render import RENDERERS
from hiaudio.data.report_set import load_set, set_dir
from hiaudio.data.speech import SpeechDataset
from hiaudio.data.splits import chorale_split, melody_key


def _corpus(args) -> None:

    t0 = time.perf_counter()
    chorales = load_chorales(rebuild=args.rebuild, progress=True)
    counts = collections.Counter(chorale_split(c) for c in chorales)
    families = collections.Counter(chorale_split(c) for c in {melody_key(c): c for c in chorales}.values())
    with open(corpus_file()) as f:
        skipped = len(json.load(f)["skipped"])
    print(f"{len(chorales)} SATB chorales ({skipped} other scores skipped) in {time.perf_counter() - t0:.1f} s:"
          f" {corpus_file()}")
    for split in ("train", "validation", "test"):
        print(f"  {split:<10} {counts[split]:4d} pieces, {families[split]:4d} melody families")


def _chorales(args) -> None:

    ds = ChoraleDataset(args.split, renderer=args.renderer, n_examples=args.n, duration_s=args.duration,
                        sample_rate=args.rate, timbre=args.timbre, seed=args.seed, cache_dir=args.out)
    t0, made = time.perf_counter(), 0
    pieces, presets = collections.Counter(), collections.Counter()
    for i in range(len(ds)):
        path = ds.dir / f"{i:06d}.npz"
        made += not path.exists()
        ex = ds.example(i)
        pieces[ex.meta["piece_id"]] += 1
        for part in ex.meta["parts"].values():
            presets[part.get("preset") or part.get("vowel")] += 1
    dt = time.perf_counter() - t0
    print(f"{len(ds)} {args.renderer} examples of {args.duration:g} s at {args.rate} Hz ({made} rendered,"
          f" {len(ds) - made} cached) in {dt:.1f} s: {ds.dir}")
    print(f"  split {args.split} ({len(ds.pieces)} pieces, {len(pieces)} used), timbres {ds.timbre},"
          f" version {ds.config['version']}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(presets.items())) + " (parts)")


def _speech(args) -> None:

    ds = SpeechDataset(args.split, n_clips=args.n, sample_rate=args.rate, seed=args.seed, cache_dir=args.out)
    t0, made, total_s = time.perf_counter(), 0, 0.0
    voices = collections.Counter()
    for i in range(len(ds)):
        made += not ds.path(i).exists()
        wave, meta = ds.clip(i)
        total_s += len(wave) / ds.sample_rate
        voices[meta["voice"]["variant"]] += 1
    print(f"{len(ds)} clips, {total_s:.1f} s of speech at {args.rate} Hz ({made} spoken, {len(ds) - made} cached)"
          f" in {time.perf_counter() - t0:.1f} s: {ds.dir}")
    print(f"  split {args.split}: {len(ds.sentences)} sentences, voices "
          + ", ".join(f"{k} x{v}" for k, v in voices.items()))


def _choir_set(args) -> None:

    t0 = time.perf_counter()
    counts = collections.Counter()

    def progress(item, ex):
        sections = [p["section"]["n_singers"] for p in ex.meta["parts"]]
        counts[item["family"]] += 1
        print(f"  {item['family']:<13} {item['index']}  {ex.meta['piece_id']:<40} {ex.sample_rate:5d} Hz  singers"
              f" {sections}  room {ex.meta['room']['kind']}  ({time.perf_counter() - t0:.0f} s)", flush=True)

    exs = load_set(args.set_name, progress=progress)
    print(f"{len(exs)} excerpts of the {args.set_name} set in {time.perf_counter() - t0:.1f} s: {set_dir(args.set_name)}")
    print("  composers " + ", ".join(sorted({e.meta["composer"] for e in exs})) + "; families "
          + ", ".join(f"{k} x{v}" for k, v in counts.items()))


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m hiaudio.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("corpus", help="parse the Bach chorales once and cache them")
    p.add_argument("--rebuild", action="store_true", help="parse again even if cached")
    p.set_defaults(run=_corpus)
    for name, run, n in (("chorales", _chorales, 100), ("speech", _speech, 50)):
        p = sub.add_parser(name, help=f"render and cache {name}")
        p.add_argument("--out", help="directory for the files (default: under the cache root)")
        p.add_argument("--n", type=int, default=n, help=f"number of examples (default {n})")
        p.add_argument("--split", default="train", choices=("train", "validation", "test"))
        p.add_argument("--rate", type=int, default=16000, help="sample rate, Hz")
        p.add_argument("--seed", type=int, default=0)
        p.set_defaults(run=run)
        if name == "chorales":
            p.add_argument("--renderer", default="voice", choices=RENDERERS)
            p.add_argument("--timbre", choices=("seen", "held_out"), help="default: seen")
            p.add_argument("--duration", type=float, default=4.0, help="excerpt length, s")
    for name in ("report-set", "tuning-set"):
        p = sub.add_parser(name, help=f"render and cache the choir {name} (issue 17's protocol)")
        p.set_defaults(run=_choir_set, set_name=name.split("-")[0])
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
