"""Where the score-informed choir separation loses against the oracle mask (tuning set).

    python bench/choir_diagnose.py                # first 2 excerpts of each tuning family, ~5 min
    python bench/choir_diagnose.py --limit 6      # the whole tuning set
    python bench/choir_diagnose.py --decoder '{"unison_cost": 2.0}' '{}'   # blind decoder settings, ~2 min each

Each row replaces one more part of the pipeline by the truth, all on the pipeline's one STFT of
1024 / 256 with its mask power (so the crossover of two STFT sizes is left out):

* ours, with the score: `part_f0` near the score, `comb.fit_combs` on the mixture, masks;
* ... with the true sung F0 (`f0_sung_hz`, the section's mean) instead of ours;
* oracle comb: each part's comb fitted to its own true stem alone (true F0), masks as ours --
  the comb model (one envelope per part, a level per frame smooth within notes) at its best;
* free partials: each partial's amplitude free in every frame, fitted to the true stem alone --
  what any amplitude model could do with these lobes on these F0 tracks;
* masks from each true stem's magnitude (p as ours), then the oracle ratio mask (p = 2).

So the steps between rows are what the F0, finding the amplitudes in the mixture, the comb's
amplitude model and the lobes themselves cost. With --decoder, the blind decoder alone: the
salience maps of the tuning excerpts computed once, then `multif0.assign_voices` with each given
`DecodeConfig` change (JSON; '{}' is the shipped one), each part's F0 as `part_f0` makes it
before `refine_f0`, raw pitch accuracy (50 cents) against the sung F0, per family and part. The tuning set only: it is where settings are
chosen; the report set is run once per shipped change (`bench/choir_report.py`).
Results go to bench/results/choir_diagnose.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import common  # noqa: E402
from hiaudio.data import report_set  # noqa: E402
from hiaudio.dsp.f0grid import known_f0  # noqa: E402
from hiaudio.dsp.partials import comb_layout  # noqa: E402
from hiaudio.dsp.spectral import stft  # noqa: E402
from hiaudio.models import salience as salience_model  # noqa: E402
from hiaudio.separation import comb, multif0, oracle_ratio_mask, pitch_scores, si_sdr_batch  # noqa: E402
from hiaudio.separation.baselines import apply_masks  # noqa: E402
from hiaudio.separation.choir import HOP, MASK_POWER, N_FFT, RELEASE_S, SAMPLE_RATE  # noqa: E402
from hiaudio.separation.part_f0 import F0_HOP_S, f0_near_score, fold_octave_jumps, part_f0  # noqa: E402

ROWS = {
    "ours": "ours, with the score (1024 only)",
    "true_f0": "... with the true sung F0",
    "oracle_comb": "... combs fitted to each true stem alone (oracle comb)",
    "free_partials": "... every partial's amplitude free per frame, fitted to each stem",
    "true_mag": f"... masks from each true stem's magnitude (p = {MASK_POWER:g})",
    "oracle_p2": "oracle ratio mask (p = 2)",
}
FREE_ITER = 60  # KL updates of the free-partial fit


def free_partials(mag: np.ndarray, f0_hz: np.ndarray, release_frames: int, n_harmonics: int = 40,
                  n_iter: int = FREE_ITER) -> np.ndarray:
    """One part's comb on its own stem with every partial free in every frame (the release
    tracks too): mag (F, T), f0_hz (1, T) -> modelled magnitude (F, T), by KL multiplicative updates."""
    tracks = np.concatenate([f0_hz, *comb.release_tracks(f0_hz, release_frames)])
    index, weight = comb_layout(tracks, SAMPLE_RATE, N_FFT, n_harmonics, spread_cents=comb.SECTION_SPREAD_CENTS)
    n_bins, n_frames = mag.shape
    x = torch.as_tensor(np.asarray(mag, np.float32).T).contiguous()  # (T, F)
    flat = (index + n_bins * torch.arange(n_frames)[:, None, None, None]).reshape(-1)
    amp = torch.full(weight.shape[:-1], float(x.mean()) + comb.EPS)  # (T, V', K)

    def model():
        return torch.zeros(n_frames * n_bins).index_add_(0, flat, (weight * amp[..., None]).reshape(-1))

    for _ in range(n_iter):
        ratio = x.reshape(-1) / (model() + comb.EPS)
        amp = amp * (weight * ratio[flat].view(weight.shape)).sum(-1) / (weight.sum(-1) + comb.EPS)
    y = model().view(n_frames, n_bins).T.double().numpy()
    return y + comb.UNMODELLED_FLOOR * y.mean(axis=0, keepdims=True)


def diagnose(ex) -> dict:
    """Each row's SI-SDR per part on one excerpt, and each stem's energy outside the lobes."""
    rate = ex.sample_rate
    mix, stems = report_set.at_rate(ex, SAMPLE_RATE)
    n = len(mix)
    notes = report_set.score_notes(ex)
    _, f0_ours, _, _, _ = part_f0(mix, len(notes), notes, salience_model.ASSETS)
    mag = np.abs(stft(mix, N_FFT, HOP))
    frames, hop_s = mag.shape[1], HOP / SAMPLE_RATE
    ours = np.stack([known_f0(f, F0_HOP_S, frames, hop_s) for f in f0_ours])
    true = np.stack([known_f0(f, ex.hop_samples / rate, frames, hop_s) for f in ex.f0_sung_hz])
    release = int(round(RELEASE_S * SAMPLE_RATE / HOP))
    stem_mags = np.stack([np.abs(stft(s, N_FFT, HOP)) for s in stems])
    models = {
        "ours": comb.fit_combs(mag, ours, SAMPLE_RATE, N_FFT, release_frames=release),
        "true_f0": comb.fit_combs(mag, true, SAMPLE_RATE, N_FFT, release_frames=release),
        "oracle_comb": np.stack([comb.fit_combs(m, f[None], SAMPLE_RATE, N_FFT, release_frames=release)[0]
                                 for m, f in zip(stem_mags, true)]),
        "free_partials": np.stack([free_partials(m, f[None], release) for m, f in zip(stem_mags, true)]),
        "true_mag": stem_mags,
    }
    scores = {k: si_sdr_batch(apply_masks(mix, m, N_FFT, HOP, MASK_POWER)[:, :n], stems).tolist()
              for k, m in models.items()}
    scores["oracle_p2"] = si_sdr_batch(oracle_ratio_mask(mix, stems, N_FFT, HOP, power=2), stems).tolist()
    # each stem's energy in bins no partial's main lobe reaches (kernel weight <= 0.05)
    index, weight = comb_layout(true, SAMPLE_RATE, N_FFT, 40)
    covered = np.zeros((frames, mag.shape[0]), dtype=bool)
    reached = weight.numpy() > 0.05
    covered[np.broadcast_to(np.arange(frames)[:, None, None, None], reached.shape)[reached], index.numpy()[reached]] = True
    outside = [float((m ** 2 * ~covered.T).sum() / max((m ** 2).sum(), 1e-12)) for m in stem_mags]
    return {"si_sdr_db": scores, "energy_outside_lobes": outside}


def decoder_rpa(maps: list[tuple], changes: dict) -> dict:
    """RPA per family, per part and overall of the blind decoder with `changes` to DecodeConfig.
    maps: (family, salience (T, K), sung F0 (V, T'), its hop in s) per excerpt."""
    cfg = dataclasses.replace(multif0.DecodeConfig(), **changes)
    per_family, per_part = {}, {}
    started = time.perf_counter()
    for family, sal, sung, hop_s in maps:
        f0 = f0_near_score(sal, fold_octave_jumps(multif0.assign_voices(sal, len(sung), cfg)))
        times = np.arange(f0.shape[1]) * F0_HOP_S
        for v, ref in enumerate(sung):
            if (ref > 0).any():
                rpa = pitch_scores(np.arange(len(ref)) * hop_s, ref, times, f0[v])["rpa"]
                per_family.setdefault(family, []).append(rpa)
                per_part.setdefault(multif0.PARTS[v], []).append(rpa)
    return {"changes": changes, "all": float(np.mean([x for xs in per_family.values() for x in xs])),
            **{f: float(np.mean(xs)) for f, xs in per_family.items()},
            **{p: float(np.mean(xs)) for p, xs in per_part.items()},
            "decode_s_per_excerpt": (time.perf_counter() - started) / len(maps)}


def decoders(settings: list[str], name: str) -> None:
    maps = []
    for ex in report_set.load_set("tuning"):
        mix, _ = report_set.at_rate(ex, SAMPLE_RATE)
        maps.append((ex.meta["family"], salience_model.salience_map(mix, salience_model.ASSETS), ex.f0_sung_hz,
                     ex.hop_samples / ex.sample_rate))
    rows = [decoder_rpa(maps, json.loads(changes)) for changes in settings]
    columns = [c for c in rows[0] if c not in ("changes",)]
    print(f"\nBlind decoder on the tuning set ({len(maps)} excerpts): raw pitch accuracy against the sung F0")
    print(common.format_table(["DecodeConfig changes", *columns], [[json.dumps(r["changes"]), *(r[c] for c in columns)]
                                                                 for r in rows]))
    path = common.write_results(name, {"data_version": report_set.VERSION, "settings": {
        "set": "tuning", "salience": list(salience_model.ASSETS), "decoder": dataclasses.asdict(multif0.DecodeConfig())}, "rows": rows})
    print(f"wrote {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=2, help="the first N excerpts of each family (default 2)")
    parser.add_argument("--decoder", nargs="+", metavar="JSON", default=None,
                        help="score the blind decoder alone with these DecodeConfig changes instead")
    parser.add_argument("--name", default=None, help="results file name (default choir_diagnose[_decoder])")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.decoder:
        decoders(args.decoder, args.name or "choir_diagnose_decoder")
        return

    wall = time.perf_counter()
    per_family: dict[str, list[dict]] = {}
    rows_out = []
    for ex in report_set.load_set("tuning"):
        family = ex.meta["family"]
        if len(per_family.get(family, [])) >= args.limit:
            continue
        r = diagnose(ex)
        per_family.setdefault(family, []).append(r)
        rows_out.append({"family": family, "index": ex.meta["index"], "room": ex.meta["room"], **r})
        print(f"  {family:<10} {ex.meta['index']}  " + "  ".join(
            f"{k} {np.mean(v):6.2f}" for k, v in r["si_sdr_db"].items()) + f"  ({time.perf_counter() - wall:.0f} s)",
            file=sys.stderr, flush=True)
    blocks = {**per_family, "all": [r for rs in per_family.values() for r in rs]}
    summary = {b: {k: float(np.mean([np.mean(r["si_sdr_db"][k]) for r in rs])) for k in ROWS}
               for b, rs in blocks.items()}
    for b, rs in blocks.items():
        summary[b]["energy_outside_lobes_pct"] = 100 * float(np.mean([np.mean(r["energy_outside_lobes"]) for r in rs]))
    headers = ["mean SI-SDR (dB), tuning set", *(f"{b} ({len(rs)})" for b, rs in blocks.items())]
    table = [[label, *(summary[b][k] for b in blocks)] for k, label in ROWS.items()]
    table.append(["stems' energy outside the partials' lobes (%)", *(summary[b]["energy_outside_lobes_pct"]
                                                                     for b in blocks)])
    print(f"\nWhere the gap to the oracle is (tuning set, first {args.limit} excerpts per family)")
    print(common.format_table(headers, table))
    print(f"whole run {time.perf_counter() - wall:.0f} s")
    path = common.write_results(args.name or "choir_diagnose", {
        "data_version": report_set.VERSION,
        "settings": {"set": "tuning", "limit": args.limit, "n_fft": N_FFT, "hop": HOP, "mask_power": MASK_POWER,
                     "free_partial_iterations": FREE_ITER, "salience": list(salience_model.ASSETS)},
        "rows": ROWS, "summary": summary, "examples": rows_out,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
