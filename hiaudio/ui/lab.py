"""The studio's "Analysis lab" tab: why SOT finds a frequency that vertical spectral losses miss.

Loss landscapes and estimation by synthesis on stationary harmonic tones (`hiaudio.studio.ddsp_lab`).
The handlers hold no state: every answer is a function of the controls.
"""
from __future__ import annotations

import math
import time

import gradio as gr
import numpy as np
import pandas as pd
import torch

from hiaudio.dsp import losses
from hiaudio.studio import ddsp_lab, lab_plots
from hiaudio.ui.common import audio_file, guard, limits_note, result_player

LAB_F0_RANGE_HZ = (40.0, 2000.0)  # target F0 slider
LAB_SEARCH_HZ = (20.0, ddsp_lab.LAB_RATE / 4)  # where fit_tones keeps its F0; candidates too
LAB_MAX_HARMONICS = 8
LAB_TONE_S = 0.25  # what the losses see: short, so a landscape answers in a few seconds
LAB_LISTEN_S = 1.0  # what a person hears: the same parameters, rendered longer
LAB_FADE_S = 0.01  # fade in and out, so the players do not click
LANDSCAPE_POINTS = 61
MAX_FIT_WORK = 4800  # steps x starts x losses per Fit (300 x 8 x 2); the slowest pair, mss and
# sot+mss, took 34 s that way (one thread); the default Fit (mss, sot; 8 x 150) 13 s
AMPLITUDE_MODES = ("roll-off", "random")
LOSS_NAMES = tuple(losses.LOSSES)
FIT_TABLE_HEADERS = ["loss", "success %", "octave errors", "median |cents|", "time (s)"]
LAB_ADVICE = "try again, or with fewer starts, steps or losses"


def lab_tone(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed) -> np.ndarray:
    """The lab's target tone as harmonic amplitudes (K,), after checking it can be heard whole.

    gr.Error when a harmonic would reach Nyquist (the synthesizer silences it, so the tone
    would not be the one asked for).
    """
    f0, k = float(target_f0_hz), int(n_harmonics)
    lo, hi = LAB_F0_RANGE_HZ
    if not lo <= f0 <= hi:
        raise gr.Error(f"The target F0 is {f0:g} Hz; choose {lo:.0f} to {hi:.0f} Hz.",
                       print_exception=False)
    if not 1 <= k <= LAB_MAX_HARMONICS:
        raise gr.Error(f"{k} harmonics: choose 1 to {LAB_MAX_HARMONICS}.", print_exception=False)
    nyquist_hz = ddsp_lab.LAB_RATE / 2
    if k * f0 >= nyquist_hz:
        raise gr.Error(f"Harmonic {k} of {f0:.0f} Hz is at {k * f0:.0f} Hz, at or above the "
                       f"Nyquist frequency ({nyquist_hz:.0f} Hz at {ddsp_lab.LAB_RATE} Hz "
                       f"sampling). Lower the F0 below {nyquist_hz / k:.0f} Hz or use at most "
                       f"{math.ceil(nyquist_hz / f0) - 1} harmonics.", print_exception=False)
    if amplitude_mode not in AMPLITUDE_MODES:
        raise gr.Error(f"Amplitudes {amplitude_mode!r}: choose one of "
                       f"{', '.join(AMPLITUDE_MODES)}.", print_exception=False)
    if amplitude_mode == "random":
        return lab_plots.harmonic_amplitudes(k, random_seed=int(seed))
    return lab_plots.harmonic_amplitudes(k, rolloff_db_per_oct=float(rolloff_db_per_oct))


def _lab_losses(loss_names) -> list[str]:
    names = list(loss_names or [])
    if not names:
        raise gr.Error("Choose at least one loss to compare.", print_exception=False)
    unknown = [n for n in names if n not in losses.LOSSES]
    if unknown:
        raise gr.Error(f"Unknown loss {unknown[0]!r}; choose from {', '.join(LOSS_NAMES)}.",
                       print_exception=False)
    return names


@guard("Landscape", LAB_ADVICE, shown=(), outputs=2)
def compute_landscape(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed,
                      noise_db, range_oct, loss_names, progress=gr.Progress()):
    """Each chosen loss and its descent direction against the candidate F0 of the target tone.

    Returns (figure, status). Candidates: LANDSCAPE_POINTS log-spaced over target * 2^±range_oct,
    kept inside LAB_SEARCH_HZ (the range a fit searches).
    """
    amps = lab_tone(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed)
    names = _lab_losses(loss_names)
    f0 = float(target_f0_hz)
    f_min_hz = max(LAB_SEARCH_HZ[0], f0 * 2.0 ** -float(range_oct))
    f_max_hz = min(LAB_SEARCH_HZ[1], f0 * 2.0 ** float(range_oct))
    started = time.perf_counter()
    result = {}
    for i, name in enumerate(names):  # one loss at a time, for the progress bar
        progress(i / len(names), desc=f"Landscape of {name}")
        result.update(ddsp_lab.landscape(f0, amps, [name], f_min_hz, f_max_hz,
                                         LANDSCAPE_POINTS, float(noise_db), seed=int(seed)))
    elapsed_s = time.perf_counter() - started
    toward = ", ".join(f"**{n}** {100 * lab_plots.points_toward_target(result, n):.0f} %"
                       for n in names)
    status = (f"{len(names)} loss(es) at {LANDSCAPE_POINTS} candidates from {f_min_hz:.0f} to "
              f"{f_max_hz:.0f} Hz in {elapsed_s:.1f} s. Gradient descent heads toward the "
              f"target from: {toward} of the candidates.")
    top_hz = ddsp_lab.LAB_RATE / 2 / int(n_harmonics)
    if f_max_hz > top_hz:
        status += (f"  \nAbove {top_hz:.0f} Hz the candidate's top harmonics pass Nyquist and "
                   "fall silent.")
    return lab_plots.landscape_figure(result, names), status


@guard("Fit", LAB_ADVICE, shown=(), outputs=3 + len(LOSS_NAMES) + 1)
def fit_lab(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed, noise_db,
            loss_names, n_inits, spread_oct, steps, progress=gr.Progress()):
    """Estimate the target tone's F0 (and harmonic amplitudes) by gradient descent through the
    synthesizer, from n_inits starts spread over ±spread_oct, once per chosen loss.

    Returns (trajectories figure, results table, target audio, one audio per LOSS_NAMES (the
    fit from the first start; hidden for losses not run), status).
    """
    amps = lab_tone(target_f0_hz, n_harmonics, amplitude_mode, rolloff_db_per_oct, seed)
    names = _lab_losses(loss_names)
    n_inits, steps, f0 = int(n_inits), int(steps), float(target_f0_hz)
    work = steps * n_inits * len(names)
    if work > MAX_FIT_WORK:
        raise gr.Error(f"{steps} steps × {n_inits} starts × {len(names)} losses = {work} is more "
                       f"than one request may run ({MAX_FIT_WORK}): use fewer steps, starts or "
                       "losses.", print_exception=False)
    inits_hz = np.clip(lab_plots.init_f0s(f0, n_inits, float(spread_oct)), *LAB_SEARCH_HZ)
    target = _lab_audio(f0, amps, LAB_TONE_S, noise_db, seed)  # (1, S)
    trajectories, rows, players = {}, [], {}
    for i, name in enumerate(names):
        progress(i / len(names), desc=f"Fitting with {name}: {n_inits} starts × {steps} steps")
        started = time.perf_counter()
        fit = ddsp_lab.fit_tones(target.expand(n_inits, -1), inits_hz, int(n_harmonics),
                                 name, steps=steps)
        elapsed_s = time.perf_counter() - started
        score = lab_plots.score_estimates(fit.f0_hz, f0)
        trajectories[name] = fit.trajectory_hz
        rows.append([name, round(100 * float(score["success"].mean()), 1),
                     int(score["octave_error"].sum()),
                     round(float(np.median(np.abs(score["cents"]))), 1), round(elapsed_s, 1)])
        heard = _lab_audio(float(fit.f0_hz[0]), fit.amplitudes[0], LAB_LISTEN_S, None, seed)
        players[name] = gr.Audio(value=audio_file(ddsp_lab.LAB_RATE, heard[0].numpy(), f"fit_{name}"),
                                 visible=True, label=f"{name}: fit from {inits_hz[0]:.0f} Hz "
                                 f"→ {fit.f0_hz[0]:.1f} Hz ({score['cents'][0]:+.0f} cents)")
    table = pd.DataFrame(rows, columns=FIT_TABLE_HEADERS)
    heard_target = _lab_audio(f0, amps, LAB_LISTEN_S, noise_db, seed)[0].numpy()
    best = max(rows, key=lambda r: (r[1], -r[3]))
    status = (f"Target {f0:.1f} Hz, {int(n_harmonics)} harmonic(s); {n_inits} start(s) from "
              f"{inits_hz.min():.0f} to {inits_hz.max():.0f} Hz, {steps} steps. Most successful: "
              f"**{best[0]}** ({best[1]:.0f} % within {lab_plots.TOLERANCE_CENTS:.0f} cents).")
    return (lab_plots.trajectories_figure(trajectories, f0), table,
            audio_file(ddsp_lab.LAB_RATE, heard_target, "target"),
            *(players.get(n, gr.Audio(value=None, visible=False)) for n in LOSS_NAMES), status)


def _lab_audio(f0_hz: float, amplitudes, duration_s: float, noise_db: float | None,
               seed: int) -> torch.Tensor:
    """A tone (1, S) as the lab builds its targets: ddsp_lab.tone plus seeded white noise at
    noise_db dBFS (none when None), the same recipe as ddsp_lab.landscape; faded when heard."""
    amps = torch.as_tensor(np.asarray(amplitudes, dtype=np.float64))[None]  # (1, K)
    x = ddsp_lab.tone(torch.tensor([f0_hz], dtype=torch.float64), amps, duration_s)  # (1, S)
    if noise_db is not None:
        gen = torch.Generator().manual_seed(int(seed))
        x = x + 10 ** (float(noise_db) / 20) * torch.randn(x.shape, generator=gen,
                                                            dtype=torch.float64)
    if duration_s > LAB_TONE_S:  # only what is played is faded; the losses see the plain tone
        n = int(LAB_FADE_S * ddsp_lab.LAB_RATE)
        ramp = torch.linspace(0, 1, n, dtype=x.dtype)
        x = x.clone()
        x[..., :n] *= ramp
        x[..., -n:] *= ramp.flip(0)
    return x


def build_lab_tab() -> None:
    """The Analysis lab: why SOT finds a frequency that vertical spectral losses miss.

    One target tone (top), then (a) the loss landscapes around it and (b) fits from many starts.
    The handlers hold no state: every answer is a function of the controls.
    """
    gr.Markdown(
        "Estimating a frequency by gradient descent through a synthesizer needs a loss whose "
        "gradient points toward the target. Losses that compare spectra bin by bin (MSS, L1, "
        "L2) see two non-overlapping peaks as merely different, so far from the target their "
        "gradient is ~0 or points the wrong way. **Spectral optimal transport** (SOT; Torres, "
        "Peeters & Richard, ICASSP 2024) measures how far the energy must move along frequency, "
        "and its gradient points to the target from afar. Start with a pure tone, then add "
        "harmonics: the fit also learns their amplitudes, which makes it harder.")
    gr.Markdown(limits_note("fit", None, f"up to {MAX_FIT_WORK} steps × starts × losses per Fit"),
                elem_id="lab-limits")
    with gr.Row():
        f0 = gr.Slider(*LAB_F0_RANGE_HZ, value=220, step=1, label="Target F0 (Hz)",
                       elem_id="lab-f0")
        n_harmonics = gr.Slider(1, LAB_MAX_HARMONICS, value=1, step=1, label="Harmonics",
                                elem_id="lab-harmonics")
        noise_db = gr.Slider(-100, -20, value=-60, step=1, label="Noise (dBFS)",
                             info="white noise added to the target", elem_id="lab-noise")
    with gr.Row():
        amp_mode = gr.Radio(list(AMPLITUDE_MODES), value="roll-off", label="Amplitudes",
                            elem_id="lab-amp-mode")
        rolloff = gr.Slider(-24, 0, value=-6, step=0.5, label="Roll-off (dB/octave)",
                            info="-6 is a sawtooth's 1/k", elem_id="lab-rolloff")
        seed = gr.Number(0, precision=0, minimum=0, maximum=2 ** 31 - 1,
                         label="Seed (random amplitudes, noise)", elem_id="lab-seed")
    tone_controls = [f0, n_harmonics, amp_mode, rolloff, seed, noise_db]  # lab_tone's order

    gr.Markdown("### Loss landscape")
    with gr.Row():
        with gr.Column(scale=1):
            range_oct = gr.Slider(0.25, 2, value=1, step=0.25,
                                  label="Candidates: ± octaves around the target",
                                  elem_id="lab-range")
            land_losses = gr.CheckboxGroup(list(LOSS_NAMES), value=["mss", "l1", "sot"],
                                           label="Losses", elem_id="lab-land-losses")
            land_btn = gr.Button("Compute", variant="primary", elem_id="lab-compute")
            land_status = gr.Markdown("Press **Compute** to draw each loss against the "
                                      "candidate F0.", elem_id="lab-land-status")
        with gr.Column(scale=3):
            land_plot = gr.Plot(label="Landscape", elem_id="lab-land-plot")

    gr.Markdown("### Estimation by synthesis")
    with gr.Row():
        with gr.Column(scale=1):
            n_inits = gr.Slider(1, 16, value=8, step=1, label="Starts", elem_id="lab-inits")
            spread = gr.Slider(0, 1, value=1, step=0.05, label="Starts spread (± octaves)",
                               elem_id="lab-spread")
            steps = gr.Slider(50, 300, value=150, step=10, label="Steps", elem_id="lab-steps")
            fit_losses = gr.CheckboxGroup(list(LOSS_NAMES), value=["mss", "sot"],
                                          label="Losses", elem_id="lab-fit-losses")
            fit_btn = gr.Button("Fit", variant="primary", elem_id="lab-fit")
            fit_status = gr.Markdown(f"Up to {MAX_FIT_WORK} steps × starts × losses per Fit.",
                                     elem_id="lab-fit-status")
        with gr.Column(scale=3):
            fit_plot = gr.Plot(label="F0 trajectories", elem_id="lab-fit-plot")
            fit_table = gr.Dataframe(headers=FIT_TABLE_HEADERS, interactive=False,
                                     label=f"Results (success: within "
                                           f"{lab_plots.TOLERANCE_CENTS:.0f} cents)",
                                     elem_id="lab-fit-table")
            with gr.Row():
                target_audio = result_player("Target", elem_id="lab-target-audio")
                fit_audio = [result_player(f"fit with {name}", visible=False,
                                           elem_id=f"lab-audio-{name.replace('+', '-')}")
                             for name in LOSS_NAMES]

    land_btn.click(compute_landscape, [*tone_controls, range_oct, land_losses],
                   [land_plot, land_status], api_name="landscape", concurrency_id="lab")
    fit_btn.click(fit_lab, [*tone_controls, fit_losses, n_inits, spread, steps],
                  [fit_plot, fit_table, target_audio, *fit_audio, fit_status], api_name="fit",
                  concurrency_id="lab-fit", concurrency_limit=1)
