"""The composer: the six positional encodings over several training seeds, and the default
sampler against issue 19's targets, on held-out chorales.

    python bench/composer.py --runs 'runs/composer_{pe}_s{seed}' --seeds 0,1,2 [--n-pieces 20]
    python bench/composer.py                      # the shipped models (assets/composer_<pe>.pt)

Part 1 -- the comparison. For each trained model (`--runs` pattern, best.pt of each run; or the
shipped checkpoints):

* NLL: mean next-token negative log-likelihood (nats per token) on the *test* split's chorales
  (melody families never seen in training or validation), their first 8 bars untransposed, in
  the training window (`composer_task.sequence_nll`).
* Generated vs real: `--n-pieces` chorales of 16 bars, each planned as 8 phrases of 2 bars (a
  fermata over each phrase's last half note) in the key of the i-th test chorale, sampled with
  the default sampler's temperature and top-k (1.0 and 10), seed i (the same seeds for every
  model), with the sampler's constraints OFF (no range mask, no voice-order mask): what the model writes by itself. The
  real set is the test chorales in 4/4, each from its first bar line, at most 16 bars. Metrics
  (`hiaudio.studio.compose_metrics`):
    - SSM dist: chroma self-similarity-matrix distance, the mean over (generated, real) pairs;
      the "real" row gives it over pairs of distinct real pieces (the floor to compare with);
    - chroma sim / groove sim: within-piece similarity of bars (Wu & Yang 2020), mean over pieces;
    - density: onsets per bar; PCH overlap: overlap of the set's tonic-relative pitch-class
      histogram with the real set's;
    - key ok: the Krumhansl-Schmuckler key is the asked (real: annotated) key; key close: it is
      that key, its relative, or its dominant or subdominant key (`close_keys`);
    - cadence: fraction of phrase ends on I or V; fermata held: fraction of fermatas over which
      the soprano holds one note (real pieces: their own phrase ends and fermatas);
    - cross, range: voice crossings and out-of-range notes per 100 steps; par/100ch: parallel
      fifths and octaves per 100 chord changes.
  Per encoding: the mean over seeds and the sample standard deviation over seeds.

Part 2 -- the default sampler (`--target-pe`, default the shipped S-APE, the CLI's and the
tab's default): `--target-pieces` pieces of 16 bars with the default sampler as the CLI calls it
(`compose.DEFAULT_TEMPERATURE`, `compose.DEFAULT_TOP_K`, range mask, voices kept in order), keys
of the test chorales in turn, seeds 1000 + i -- the report set; then the same pieces with the
constraints off (no range mask, no voice-order mask): the harmony the model writes by itself.
Then the same seed in two keys (G major and D minor, seeds 0-9): the estimated keys.

`--tune`: the sampler settings (temperature 0.8/0.9/1.0 x top-k 0/10) on the tuning set -- keys
of the validation chorales, seeds 500 + i -- which chose the defaults. `--speed`: the time to
write 16 bars (torch on 1 thread, median of `--speed-pieces`); run it on a quiet machine.
`--merge a,b`: the comparison table from per-encoding results written by parallel runs
(`scripts/composer_comparison.sh`).

Results go to bench/results/composer.json with the date, machine and load average.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio import checkpoints  # noqa: E402
from hiaudio.data.chorales import load_chorales  # noqa: E402
from hiaudio.data.dataset import split_pieces  # noqa: E402
from hiaudio.data.tokens import tokenize  # noqa: E402
from hiaudio.dsp import units  # noqa: E402
from hiaudio.models.composer import PE_KINDS  # noqa: E402
from hiaudio.studio import compose  # noqa: E402
from hiaudio.studio import compose_metrics as cm  # noqa: E402
from hiaudio.train.composer_task import sequence_nll  # noqa: E402

N_BARS, N_PHRASES = 16, 8
COLUMNS = {  # table header -> metric name
    "test NLL": "test_nll_per_token", "SSM dist": "ssm_distance", "chroma sim": "chroma_similarity",
    "groove sim": "grooving_similarity", "density": "note_density", "PCH ovl": "pch_overlap",
    "key ok": "key_consistent", "key close": "key_close", "cadence": "cadence_rate", "ferm held": "fermata_held",
    "cross": "crossings", "par/100ch": "parallels_per_100_changes", "range": "out_of_range",
}
TWO_KEYS = ("G major", "D minor")


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


def generate(model, keys: list[tuple[int, str]], n_pieces: int, seed0: int = 0, **sampler) -> tuple[list, list]:
    """n_pieces planned chorales in keys[i % len(keys)], seed seed0 + i; -> (pieces, seconds each)."""
    pieces, times_s = [], []
    for i in range(n_pieces):
        tonic, mode = keys[i % len(keys)]
        plan = compose.Plan.make(N_BARS, N_PHRASES, units.key_name(tonic, mode))
        start = time.perf_counter()
        grid = compose.sample(model, plan, generator=torch.Generator().manual_seed(seed0 + i), **sampler)
        times_s.append(time.perf_counter() - start)
        pieces.append({"grid": grid, "tonic": plan.tonic_pc, "mode": plan.mode,
                       "ends": (np.cumsum(plan.bars_per_phrase) * 16).tolist(), "fermata": plan.steps().fermata})
    return pieces, times_s


def load_run(path: Path):
    data = checkpoints.read_checkpoint(path)
    model = checkpoints.model_class(data["model"])(**data["kwargs"])
    model.load_state_dict(data["state"])
    return model.eval(), data


def compare(args, test_grids, real) -> dict:
    """Part 1: every (encoding, seed) model with the constraints off; per encoding mean and spread."""
    keys = [(p["tonic"], p["mode"]) for p in real]
    seeds = [s for s in args.seeds.split(",") if s] if args.runs else ["shipped"]
    out = {}
    for pe in [compose.check_pe(pe) for pe in args.pe.split(",")]:
        per_seed = {}
        for seed in seeds:
            path = (Path(args.runs.format(pe=pe, seed=seed)) / "best.pt" if args.runs
                    else checkpoints.ASSETS_DIR / compose.asset_name(pe))
            if not path.exists():
                print(f"{pe} seed {seed}: no {path}, skipped", file=sys.stderr)
                continue
            started = time.perf_counter()
            model, meta = load_run(path)
            nll = sequence_nll(model, test_grids)
            pieces, _ = generate(model, keys, args.n_pieces, temperature=compose.DEFAULT_TEMPERATURE,
                                 top_k=compose.DEFAULT_TOP_K, ranges=None, keep_order=False)
            per_seed[seed] = {"test_nll_per_token": nll["nll_per_token"], **set_metrics(pieces, real),
                              "train_step": meta.get("metrics", {}).get("step"),
                              "val_loss": meta.get("metrics", {}).get("loss")}
            print(f"{pe} seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        if per_seed:
            names = list(next(iter(per_seed.values())))
            values = {k: [m[k] for m in per_seed.values() if m[k] is not None] for k in names}
            out[pe] = {"seeds": per_seed, "mean": {k: float(np.mean(v)) for k, v in values.items() if v},
                       "std": {k: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
                               for k, v in values.items() if v}}
    return out


def sampler_measures(pieces: list[dict], times_s: list[float] | None = None) -> dict:
    per = [cm.piece_metrics(p["grid"], p["tonic"], p["mode"], p["ends"]) for p in pieces]
    out = {"n_pieces": len(pieces), **{k: float(np.mean([m[k] for m in per])) for k in per[0]}}
    if times_s:
        out.update(generate_16_bars_median_s=float(np.median(times_s)), generate_16_bars_max_s=float(np.max(times_s)))
    return out


def tune(args, tuning_keys: list[tuple[int, str]]) -> dict:
    """Sampler settings (temperature, top-k) on the tuning set: keys of the validation chorales,
    seeds 500 + i -- never the report set's test keys and seeds 1000 + i. Constraints on, as the
    CLI samples."""
    model = compose.load_composer(args.target_pe)
    out = {}
    for temperature in (0.8, 0.9, 1.0):
        for top_k in (0, 10):
            pieces, _ = generate(model, tuning_keys, args.tune_pieces, seed0=500, temperature=temperature,
                                 top_k=top_k, keep_order=True)
            out[f"T{temperature}_k{top_k}"] = m = sampler_measures(pieces)
            print(f"tuning T {temperature} top-k {top_k}: key close {m['key_close']:.3f}, cadence "
                  f"{m['cadence_rate']:.3f}, parallels/100 {m['parallels_per_100_changes']:.2f}", flush=True)
    return out


def targets(args, real) -> dict:
    """Part 2: the default sampler with the default model, constraints on (as the CLI and the tab
    sample) and off (what the model writes by itself); the same seed in two keys."""
    model = compose.load_composer(args.target_pe)
    keys = [(p["tonic"], p["mode"]) for p in real]
    sampler = {"temperature": compose.DEFAULT_TEMPERATURE, "top_k": compose.DEFAULT_TOP_K}
    pieces, times_s = generate(model, keys, args.target_pieces, seed0=1000, keep_order=True, **sampler)
    out = {"pe": args.target_pe, **sampler, **sampler_measures(pieces, times_s)}
    free, _ = generate(model, keys, args.target_pieces, seed0=1000, keep_order=False, ranges=None, **sampler)
    out["constraints_off"] = sampler_measures(free)
    two = []
    for seed in range(10):
        row = {"seed": seed}
        for key in TWO_KEYS:
            plan = compose.Plan.make(N_BARS, N_PHRASES, key)
            grid = compose.sample(model, plan, generator=torch.Generator().manual_seed(seed), keep_order=True,
                                  **sampler)
            row[key] = units.key_name(*cm.estimate_key(grid))
            row[key + " close"] = cm.estimate_key(grid) in cm.close_keys(plan.tonic_pc, plan.mode)
        two.append(row)
    out["two_keys"] = two
    out["two_keys_exact"] = float(np.mean([r[k] == k for r in two for k in TWO_KEYS]))
    out["two_keys_close"] = float(np.mean([r[k + " close"] for r in two for k in TWO_KEYS]))
    return out


def speed(args) -> dict:
    """Seconds to write 16 bars with the default sampler, torch on 1 thread (run on a quiet machine)."""
    model = compose.load_composer(args.target_pe)
    sampler = {"temperature": compose.DEFAULT_TEMPERATURE, "top_k": compose.DEFAULT_TOP_K}
    generate(model, [(0, "major")], 1, seed0=0, keep_order=True, **sampler)  # warm-up
    _, times_s = generate(model, [(7, "major"), (2, "minor")], args.speed_pieces, seed0=2000, keep_order=True,
                          **sampler)
    return {"n_pieces": len(times_s), "median_s": float(np.median(times_s)), "max_s": float(np.max(times_s)),
            "load_avg_1_min_after": round(os.getloadavg()[0], 2)}


CURVE_STEPS = (100, 200, 300, 500, 700, 1000, 1300, 1600, 2000)


def curves(pattern: str, pes, seeds) -> tuple[dict, str]:
    """Training curves from each run's metrics.csv: validation NLL at CURVE_STEPS, and the training
    loss averaged over the 100 steps up to each (nats per token)."""
    import csv

    out, rows = {}, []
    for pe in pes:
        for seed in seeds:
            path = Path(pattern.format(pe=pe, seed=seed)) / "metrics.csv"
            if not path.exists():
                continue
            val, train = {}, {}
            with open(path) as f:
                for r in csv.DictReader(f):
                    if r["name"] == "loss":
                        (val if r["split"] == "val" else train)[int(r["step"])] = float(r["value"])
            train_avg = {s: float(np.mean([v for k, v in train.items() if s - 100 < k <= s])) for s in CURVE_STEPS
                         if any(s - 100 < k <= s for k in train)}
            out[f"{pe}/s{seed}"] = {"val": val, "train": train}
            rows.append([f"{pe} s{seed} val", *[val.get(s, float("nan")) for s in CURVE_STEPS],
                         min(val.values()), min(val, key=val.get), max(val)])
            rows.append([f"{pe} s{seed} train", *[train_avg.get(s, float("nan")) for s in CURVE_STEPS], None, None, None])
    table = common.format_table(["run", *map(str, CURVE_STEPS), "best val", "at", "last"], rows, "{:.3f}")
    return out, table


def encoding_table(encodings: dict, real: dict) -> str:
    """Per encoding: the mean over seeds, and below it the sample standard deviation."""
    rows = []
    for pe, r in encodings.items():
        rows.append([f"{pe} (n={len(r['seeds'])})", *[r["mean"].get(k, float("nan")) for k in COLUMNS.values()]])
        rows.append(["  +- sd", *[r["std"].get(k, float("nan")) for k in COLUMNS.values()]])
    rows += [None, ["real (test)", *[real.get(k, float("nan")) for k in COLUMNS.values()]]]
    return common.format_table(["encoding", *COLUMNS], rows, "{:.3f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="", help="run folder pattern with {pe} and {seed} (default: the shipped models)")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds of --runs (comma-separated)")
    parser.add_argument("--n-pieces", type=int, default=20, help="generated chorales per model")
    parser.add_argument("--pe", default=",".join(PE_KINDS), help="encodings to compare (comma-separated)")
    parser.add_argument("--target-pe", default="s-ape", help="the model of part 2 (shipped)")
    parser.add_argument("--target-pieces", type=int, default=48, help="pieces of part 2")
    parser.add_argument("--tune", action="store_true", help="choose temperature and top-k on the tuning set")
    parser.add_argument("--tune-pieces", type=int, default=24, help="pieces per setting when tuning")
    parser.add_argument("--speed", action="store_true", help="time 16 bars (only on a quiet machine)")
    parser.add_argument("--speed-pieces", type=int, default=10)
    parser.add_argument("--merge", default="", help="build the comparison from these bench/results names instead")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-targets", action="store_true")
    parser.add_argument("--curves", action="store_true", help="also tabulate the runs' training curves")
    parser.add_argument("--name", default="composer", help="bench/results/NAME.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    chorales = load_chorales()
    test_grids = [tokenize(c) for c in split_pieces(chorales, "test")]
    real = real_pieces(test_grids)
    results = {"settings": {**vars(args), "bars": N_BARS, "phrases": N_PHRASES, "n_test_chorales": len(test_grids),
                            "n_real_pieces": len(real)},
               "real": set_metrics(real, real)}
    if args.curves and args.runs:
        results["curves"], results["curves_table"] = curves(args.runs, args.pe.split(","), args.seeds.split(","))
        print(results["curves_table"])
    if args.tune:
        tuning = real_pieces([tokenize(c) for c in split_pieces(chorales, "validation")])
        results["tuning"] = tune(args, [(p["tonic"], p["mode"]) for p in tuning])
    if args.speed:
        results["speed"] = sp = speed(args)
        print(f"16 bars, {sp['n_pieces']} pieces: median {sp['median_s']:.2f} s, max {sp['max_s']:.2f} s")
    if args.merge:  # the per-encoding results of parallel runs (scripts/composer_comparison.sh)
        results["encodings"] = {}
        for name in args.merge.split(","):
            results["encodings"].update(json.loads((common.RESULTS_DIR / f"{name}.json").read_text())["encodings"])
    elif not args.skip_compare:
        results["encodings"] = compare(args, test_grids, real)
    if "encodings" in results:
        results["table"] = encoding_table(results["encodings"], results["real"])
        print(results["table"])
    if not args.skip_targets:
        results["targets"] = t = targets(args, real)
        for label, m in [("constraints on", t), ("constraints off", t["constraints_off"])]:
            print(f"default sampler (T {t['temperature']}, top-k {t['top_k']}), {t['pe']}, {m['n_pieces']} pieces, "
                  f"{label}: key close {m['key_close']:.3f}, key exact {m['key_consistent']:.3f}, cadence "
                  f"{m['cadence_rate']:.3f}, parallels/100 changes {m['parallels_per_100_changes']:.2f}, out of range "
                  f"{m['out_of_range']:.2f}, crossings {m['crossings']:.2f}")
        for row in t["two_keys"]:
            print(f"  seed {row['seed']}: asked {' / '.join(TWO_KEYS)} -> {row[TWO_KEYS[0]]} / {row[TWO_KEYS[1]]}")
        print(f"  same seed in two keys: exact {t['two_keys_exact']:.2f}, close {t['two_keys_close']:.2f}")
    path = common.write_results(args.name, results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
