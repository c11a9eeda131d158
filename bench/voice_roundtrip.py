"""Round trip of the voice model (analyze -> render) against WORLD, on speech and singing.

    python bench/voice_roundtrip.py

Clips come from `bench/clips.py` (espeak-ng speech in five voices, fluidsynth Choir Aahs /
Voice Oohs melodies; 16 kHz). For each clip, ours (`hiaudio.voice.analysis` then
`hiaudio.voice.synthesis`) and WORLD (pyworld: Harvest F0, CheapTrick envelope, D4C
aperiodicity, 5 ms frame period; Morise et al. 2016) resynthesize the clip from their own
parameters, and both are scored against the clip:

Log-spectral distance (LSD, dB; lower is better). Power spectra P = |STFT|^2 with a 512-point
periodic Hann window, hop 128, frames centred (zero padding), at 16 kHz. Both spectrograms are
floored at F = max(P_ref) * 10^(-80/10), the reference's largest bin minus 80 dB, and
    LSD_t = sqrt( mean_f ( 10 log10 max(P_ref[t,f], F) - 10 log10 max(P_deg[t,f], F) )^2 )
is averaged over the frames t whose reference energy sum_f P_ref[t,f] is within 60 dB of the
loudest frame's. No gain or time alignment: a round trip should keep level and timing.

PESQ-WB: ITU-T P.862.2 via `pesq(16000, ref, deg, "wb")` (MOS-LQO, 1.0..4.64; higher is
better). STOI (Taal et al. 2011, `pystoi`) is reported too; it is made for speech, so read it
with care on singing.

Timing, on a 10 s speech clip, with torch on 2 threads: our analysis (median of 3), full render
(median of 5), one slider move re-synthesized the way the studio does it (`render_session`,
which re-renders only the part the slider changes; a transpose and a formant move, median of
20 each), and WORLD's analysis (Harvest + CheapTrick + D4C, median of 3) and synthesis
(median of 5). Results go to bench/results/voice_roundtrip.json.
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import clips, common  # noqa: E402
from hiaudio.dsp import spectral  # noqa: E402
from hiaudio.voice.analysis import analyze  # noqa: E402
from hiaudio.voice.synthesis import render  # noqa: E402

from hiaudio.voice.edit import Edits  # noqa: E402
from hiaudio.studio.session import render_session, start_session  # noqa: E402

with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    import pyworld

from pesq import pesq  # noqa: E402
from pystoi import stoi  # noqa: E402

SAMPLE_RATE = 16000
N_FFT, HOP = 512, 128  # LSD analysis, 32 ms / 8 ms at 16 kHz
FLOOR_DB = -80.0  # LSD spectral floor relative to the reference's largest bin
ACTIVE_DB = 60.0  # LSD frames scored: reference energy within this of the loudest frame
WORLD_FRAME_MS = 5.0
F0_RANGE_HZ = (50.0, 1100.0)  # the search range of hiaudio's PitchConfig, given to Harvest too


# ---- metrics -------------------------------------------------------------------------------
def power_spectrogram(x: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """|STFT|^2 with a periodic Hann window, centred frames, zero padding: (T, n_fft // 2 + 1)."""
    return (np.abs(spectral.stft(np.asarray(x), n_fft, hop)) ** 2).T


def log_spectral_distance_db(ref: np.ndarray, deg: np.ndarray, floor_db: float = FLOOR_DB,
                             active_db: float = ACTIVE_DB) -> float:
    """LSD in dB as defined in the module docstring; ref and deg have the same length."""
    p_ref, p_deg = power_spectrogram(ref), power_spectrogram(deg)  # (T, F)
    floor = p_ref.max() * 10 ** (floor_db / 10)
    diff_db = 10 * np.log10(np.maximum(p_ref, floor)) - 10 * np.log10(np.maximum(p_deg, floor))
    per_frame = np.sqrt(np.mean(diff_db ** 2, axis=1))  # (T,)
    energy = p_ref.sum(axis=1)
    active = energy >= energy.max() * 10 ** (-active_db / 10)
    return float(per_frame[active].mean())


def score(ref: np.ndarray, deg: np.ndarray) -> dict:
    return {"lsd_db": log_spectral_distance_db(ref, deg),
            "pesq_wb": float(pesq(SAMPLE_RATE, ref, deg, "wb")),
            "stoi": float(stoi(ref, deg, SAMPLE_RATE, extended=False))}


def fit_length(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Trim or zero-pad a resynthesis to the clip's length."""
    y = np.asarray(y, dtype=np.float32)[:n_samples]
    return np.pad(y, (0, n_samples - len(y)))


# ---- the two systems -----------------------------------------------------------------------
def ours_roundtrip(x: np.ndarray) -> np.ndarray:
    return fit_length(render(analyze(x, SAMPLE_RATE)), len(x))


def slider_moves(session, field: str, values):
    """What one slider move costs on the server: the studio's own path (`render_session`,
    which re-synthesizes only the part the slider changes), each call a new slider value."""
    values = iter(values * 100)
    latest = [session]  # each move starts from the session the last one returned, as in the studio

    def move():
        latest[0], _ = render_session(latest[0], Edits(**{field: next(values)}))
    return move


def world_analyze(x: np.ndarray):
    x64 = x.astype(np.float64)
    f0_hz, times_s = pyworld.harvest(x64, SAMPLE_RATE, f0_floor=F0_RANGE_HZ[0],
                                     f0_ceil=F0_RANGE_HZ[1], frame_period=WORLD_FRAME_MS)
    envelope = pyworld.cheaptrick(x64, f0_hz, times_s, SAMPLE_RATE, f0_floor=F0_RANGE_HZ[0])
    aperiodicity = pyworld.d4c(x64, f0_hz, times_s, SAMPLE_RATE)
    return f0_hz, envelope, aperiodicity


def world_synthesize(f0_hz, envelope, aperiodicity) -> np.ndarray:
    return pyworld.synthesize(f0_hz, envelope, aperiodicity, SAMPLE_RATE, WORLD_FRAME_MS)


def world_roundtrip(x: np.ndarray) -> np.ndarray:
    return fit_length(world_synthesize(*world_analyze(x)), len(x))


# ---- the benchmark -------------------------------------------------------------------------
def quality(named_clips: dict[str, np.ndarray]) -> dict:
    out = {}
    for name, x in named_clips.items():
        out[name] = {"duration_s": len(x) / SAMPLE_RATE,
                     "ours": score(x, ours_roundtrip(x)),
                     "world": score(x, world_roundtrip(x))}
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return out


def means(per_clip: dict) -> dict:
    return {system: {metric: float(np.mean([c[system][metric] for c in per_clip.values()]))
                     for metric in ("lsd_db", "pesq_wb", "stoi")}
            for system in ("ours", "world")}


def timing(x: np.ndarray) -> dict:
    params = analyze(x, SAMPLE_RATE)
    session = start_session(x, SAMPLE_RATE)
    world_params = world_analyze(x)
    return {
        "clip_duration_s": len(x) / SAMPLE_RATE,
        # the machine may be shared: a busy CPU slows torch's thread pool far more than 2x
        "load_avg_1min_before": round(os.getloadavg()[0], 2),
        "ours_analysis": common.time_median(lambda: analyze(x, SAMPLE_RATE), 3),
        "ours_render": common.time_median(lambda: render(params), 5, warmup=1),
        "ours_slider_transpose": {**common.time_median(
            slider_moves(session, "transpose_semitones", [1.0, 2.0, 3.0, -1.0]), 20, warmup=1),
            "what": "render_session after a transpose slider move (harmonic part re-synthesized)"},
        "ours_slider_formant": {**common.time_median(
            slider_moves(session, "formant_shift", [1.1, 1.2, 0.9, 0.8]), 20, warmup=1),
            "what": "render_session after a formant slider move (both parts re-synthesized)"},
        "world_analysis": common.time_median(lambda: world_analyze(x), 3),
        "world_synthesis": common.time_median(lambda: world_synthesize(*world_params), 5,
                                              warmup=1),
    }


def main() -> None:
    torch.set_num_threads(2)
    speech = clips.speech_clips(SAMPLE_RATE)
    singing = clips.singing_clips(SAMPLE_RATE)
    timing_clip = clips.timing_clip(10.0, SAMPLE_RATE)
    # timing first, so that the load average it records is other work's, not our own
    print("timing on the 10 s speech clip", file=sys.stderr, flush=True)
    times = timing(timing_clip)
    print("quality (each clip: ours and WORLD round trips)", file=sys.stderr)
    speech_scores, singing_scores = quality(speech), quality(singing)

    headers = ["clip", "ours LSD", "WORLD LSD", "ours PESQ", "WORLD PESQ", "ours STOI",
               "WORLD STOI"]

    def row(name, r):
        return [name, *(r[s][m] for m in ("lsd_db", "pesq_wb", "stoi") for s in ("ours", "world"))]

    mean_speech, mean_singing = means(speech_scores), means(singing_scores)
    rows = [row(n, r) for n, r in speech_scores.items()] + [None]
    rows += [row(n, r) for n, r in singing_scores.items()] + [None]
    rows += [row("mean speech", mean_speech), row("mean singing", mean_singing)]
    print("\nRound trip at 16 kHz (LSD in dB, lower is better; PESQ-WB and STOI higher is better)")
    print(common.format_table(headers, rows))

    clip_s = times["clip_duration_s"]
    timing_rows = [[label, times[key]["median_s"], times[key]["min_s"],
                    times[key]["median_s"] / clip_s]
                   for label, key in (("ours analysis (median of 3)", "ours_analysis"),
                                      ("ours render (median of 5)", "ours_render"),
                                      ("ours transpose slider (median of 20)", "ours_slider_transpose"),
                                      ("ours formant slider (median of 20)", "ours_slider_formant"),
                                      ("WORLD analysis (median of 3)", "world_analysis"),
                                      ("WORLD synthesis (median of 5)", "world_synthesis"))]
    print(f"\nTiming on a {clip_s:.0f} s speech clip, {torch.get_num_threads()} torch threads; "
          f"load average {times['load_avg_1min_before']:.1f} before; a slider move is the "
          "studio's render_session")
    print(common.format_table(["step", "median s", "min s", "median x real time"],
                             timing_rows, "{:.3f}"))

    path = common.write_results("voice_roundtrip", {
        "sample_rate": SAMPLE_RATE,
        "metrics": {"lsd_db": f"STFT {N_FFT}/hop {HOP} periodic Hann, centred, at {SAMPLE_RATE} "
                              "Hz; "
                              f"power floor {FLOOR_DB:.0f} dB below the reference's largest bin; "
                              "per-frame RMS over bins of the dB difference, averaged over frames "
                              f"within {ACTIVE_DB:.0f} dB of the loudest reference frame",
                    "pesq_wb": "pesq(16000, ref, deg, 'wb')",
                    "stoi": "pystoi.stoi(ref, deg, 16000, extended=False)"},
        "world": {"frame_period_ms": WORLD_FRAME_MS, "f0_range_hz": list(F0_RANGE_HZ),
                  "pyworld": getattr(pyworld, "__version__", "unknown")},
        "clips": {"speech": [vars(s) for s in clips.SPEECH],
                  "singing": [vars(s) for s in clips.SINGING],
                  "build_version": clips.BUILD_VERSION},
        "speech": speech_scores, "singing": singing_scores,
        "mean": {"speech": mean_speech, "singing": mean_singing},
        "timing": times,
    })
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
