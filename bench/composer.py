"""The composer's six positional encodings compared in one run, on held-out chorales.

    python bench/composer.py [--n-pieces 10] [--pe s-ape,learned]

For each shipped model (assets/composer_<pe>.pt, trained by `python -m hiaudio.train composer`):

* NLL: mean next-token negative log-likelihood (nats per token) on the *test* split's
  chorales (melody families never seen in training or validation), their first 8 bars
  untransposed, in the training window (`composer_task.sequence_nll`).
* Generated vs real: `--n-pieces` chorales of 16 bars per encoding, each planned as 8 phrases of
  2 bars (a fermata over each phrase's last half note) in the key of the i-th test chorale,
  sampled with temperature 1, no top-k, seed i (the same seeds for every encoding). The real set
  is the test chorales in 4/4, each from its first bar line, at most 16 bars. Metrics
  (`hiaudio.studio.compose_metrics`):
    - SSM dist: chroma self-similarity-matrix distance, the mean over (generated, real) pairs;
      the "real" row gives it over pairs of distinct real pieces (the floor to compare with);
    - chroma sim / groove sim: within-piece similarity of bars (Wu & Yang 2020), mean over pieces;
    - density: onsets per bar; "density dist" = |mean density - the real set's|;
    - PCH overlap: overlap of the set's tonic-relative pitch-class histogram with the real set's;
    - key ok: fraction of pieces whose Krumhansl-Schmuckler key is the asked (real: annotated) key;
    - cadence: fraction of phrase ends on I or V; fermata held: fraction of fermatas over which
      the soprano holds one note (real pieces: their own phrase ends and fermatas);
    - faults per 100 steps: voice crossings, parallel fifths, parallel octaves, out of range.
* Time: writing 16 bars (1024 tokens) with torch on 1 thread, median of 3 (and the minimum).

Results go to bench/results/composer.json with the date, machine and load average.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio.data.chorales import load_chorales  # noqa: E402
from hiaudio.data.dataset import split_pieces  # noqa: E402
from hiaudio.data.tokens import tokenize  # noqa: E402
from hiaudio.dsp import units  # noqa: E402
from hiaudio.models.composer import PE_KINDS  # noqa: E402
from hiaudio.studio import compose  # noqa: E402
from hiaudio.studio import compose_metrics as cm  # noqa: E402
from hiaudio.train.composer_task import sequence_nll  # noqa: E402

N_BARS, N_PHRASES = 16, 8
FAULTS = ("crossings", "parallel_fifths", "parallel_octaves", "out_of_range")


def real_pieces(grids) -> list[dict]:
    """Test chorales in 4/4 from their first bar line, at most N_BARS bars, with their structure."""
    out = []
    for g in grids:
        if g.time_signature != (4, 4):
            continue
        s0 = int(np.flatnonzero(g.position == 0)[0])
        e = min(g.n_steps, s0 + N_BARS * 16)
        phrase = g.phrase[s0:e]
        ends = (np.flatnonzero(np.diff(phrase)) + 1).tolist() + ([e - s0] if e == g.n_steps else [])
        out.append({"grid": g.tokens[s0:e].astype(np.int64), "tonic": g.key_tonic_pc, "mode": g.key_mode,
                    "ends": ends, "fermata": g.fermata[s0:e]})
    return out


def set_metrics(pieces: list[dict], real: list[dict]) -> dict:
    """Mean per-piece metrics of a set, and its distances to the real set."""
    per = [cm.piece_metrics(p["grid"], p["tonic"], p["mode"], p["ends"]) for p in pieces]
    out = {k: float(np.nanmean([m[k] for m in per])) for k in per[0]}
    out["fermata_held"] = float(np.nanmean([cm.fermata_hold_rate(p["grid"], p["fermata"]) for p in pieces]))
    pairs = [cm.ssm_distance(p["grid"], r["grid"]) for p in pieces for r in real if p is not r]
    out["ssm_distance"] = float(np.mean(pairs))
    hist = lambda ps: np.mean([cm.pitch_class_histogram(p["grid"], p["tonic"]) for p in ps], 0)  # noqa: E731
    out["pch_overlap"] = cm.histogram_overlap(hist(pieces), hist(real))
    return out


def generate(pe: str, real: list[dict], n_pieces: int) -> tuple[list[dict], list[float]]:
    model = compose.load_composer(pe)
    pieces, times_s = [], []
    for i in range(n_pieces):
        ref = real[i % len(real)]
        plan = compose.Plan.make(N_BARS, N_PHRASES, units.key_name(ref["tonic"], ref["mode"]))
        start = time.perf_counter()
        grid = compose.sample(model, plan, 1.0, 0, torch.Generator().manual_seed(i))
        times_s.append(time.perf_counter() - start)
        pieces.append({"grid": grid, "tonic": plan.tonic_pc, "mode": plan.mode,
                       "ends": (np.cumsum(plan.bars_per_phrase) * 16).tolist(), "fermata": plan.steps().fermata})
    return pieces, times_s


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-pieces", type=int, default=10, help="generated chorales per encoding")
    parser.add_argument("--pe", default=",".join(PE_KINDS), help="encodings to compare (comma-separated)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    encodings = [compose.check_pe(pe) for pe in args.pe.split(",")]
    test_grids = [tokenize(c) for c in split_pieces(load_chorales(), "test")]
    real = real_pieces(test_grids)
    results = {"settings": {"n_pieces": args.n_pieces, "bars": N_BARS, "phrases": N_PHRASES, "temperature": 1.0,
                            "top_k": 0, "n_test_chorales": len(test_grids), "n_real_pieces": len(real)},
               "real": set_metrics(real, real), "encodings": {}}
    for pe in encodings:
        started = time.perf_counter()
        nll = sequence_nll(compose.load_composer(pe), test_grids)
        pieces, times_s = generate(pe, real, args.n_pieces)
        meta = compose.checkpoints.load_asset(compose.asset_name(pe), "composer")[1]
        results["encodings"][pe] = {
            "test_nll_per_token": nll["nll_per_token"], "n_test_tokens": nll["n_tokens"],
            **set_metrics(pieces, real), "generate_16_bars_median_s": float(np.median(times_s[:3])),
            "generate_16_bars_min_s": float(np.min(times_s)), "generate_times_s": times_s,
            "train_steps": meta.get("metrics", {}).get("step"), "val_loss": meta.get("metrics", {}).get("loss"),
            "bench_s": time.perf_counter() - started}
        print(f"{pe}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    real_m = results["real"]
    headers = ["encoding", "test NLL", "SSM dist", "chroma sim", "groove sim", "density", "dens dist", "PCH ovl",
               "key ok", "cadence", "ferm held", "cross", "par5", "par8", "range", "16 bars s"]

    def row(name, m, nll=float("nan"), gen_s=float("nan")):
        return [name, nll, m["ssm_distance"], m["chroma_similarity"], m["grooving_similarity"], m["note_density"],
                abs(m["note_density"] - real_m["note_density"]), m["pch_overlap"], m["key_consistent"],
                m["cadence_rate"], m["fermata_held"], *[m[f] for f in FAULTS], gen_s]

    rows = [row(pe, m, m["test_nll_per_token"], m["generate_16_bars_median_s"])
            for pe, m in results["encodings"].items()]
    rows += [None, row("real (test)", real_m)]
    table = common.format_table(headers, rows, "{:.3f}")
    print(table)
    results["table"] = table
    path = common.write_results("composer", results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
