"""The studio's "Vocoders" tab: a clip's mel inverted by Griffin-Lim, WaveGrad and GLA-Grad, side
by side, each result shown as soon as it is ready.

The handler `vocode_clip` is a plain generator over (path, methods, steps, GLA settings, seed);
the pipeline is `hiaudio.studio.vocode`. Nothing is kept between requests, so the tab needs no
per-user state.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import torch

from hiaudio import audio
from hiaudio.studio import vocode
from hiaudio.ui.common import audio_file, check_upload, guard, limits_note, result_player


MAX_VOCODE_S = 10.0  # the tab vocodes at most this much of a clip: all methods at 25 steps take ~25 s
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
TABLE_HEADERS = ["method", "PESQ-WB", "STOI", "log-mel distance (dB)", "RTF", "time (s)"]
METHOD_LABELS = {"griffin-lim": "Griffin-Lim", "wavegrad": "WaveGrad", "gla-grad": "GLA-Grad"}


def load_clip(path: str | None) -> tuple[np.ndarray, str]:
    """The clip at 16 kHz, cut to MAX_VOCODE_S, and a line saying what was taken."""
    if not path:
        raise gr.Error("Upload or record a voice, or pick an example, then press Vocode.")
    notes: list[str] = []
    wave, sr = audio.load_audio(path, target_sr=vocode.SAMPLE_RATE, warnings=notes)
    duration_s = len(wave) / sr
    if duration_s > MAX_VOCODE_S:
        wave = wave[: int(MAX_VOCODE_S * sr)]
        notes.append(f"the clip is {duration_s:.1f} s; the tab vocodes its first {MAX_VOCODE_S:.0f} s")
    return wave, f"{len(wave) / sr:.2f} s at {sr} Hz" + "".join(f"; {n}" for n in notes)


def check_clip(path: str | None):
    """On upload: is the file usable? -> (the upload, a status line), at once."""
    return check_upload(path, audio.MAX_DURATION_S, target_sr=vocode.SAMPLE_RATE)


@guard("Vocoding", "try again, or with fewer steps", outputs=2 + 2 * (1 + len(vocode.METHODS)))
def vocode_clip(path: str | None, methods: list[str], n_steps: int, n_projected: int, n_iter: int,
                seed: int):
    """Yields (table, status, original audio, original plot, audio_1, plot_1, ...) after the clip is
    read and after each method, in METHODS order; outputs of methods not chosen stay empty. Every
    mel is drawn on the original's colour scale, so their levels compare at a glance."""
    methods = [m for m in vocode.METHODS if m in (methods or [])]
    if not methods:
        raise gr.Error("Choose at least one method.")
    wave, about = load_clip(path)
    gla = vocode.GlaGradSettings(n_projected=int(n_projected), n_iter=int(n_iter))
    sr = vocode.SAMPLE_RATE
    slots: dict[str, tuple] = {m: (None, None) for m in vocode.METHODS}
    rows: list[list] = []
    top_db = float(vocode.mel_db(wave).max())  # one colour scale for every mel: the original's
    original = (audio_file(sr, wave, "original"), vocode.mel_figure(wave, "original", top_db=top_db))

    def outputs(status: str):
        table = pd.DataFrame(rows, columns=TABLE_HEADERS)
        return (table, status, *original, *[v for m in vocode.METHODS for v in slots[m]])

    yield outputs(f"{about}. Vocoding with {', '.join(METHOD_LABELS[m] for m in methods)} ...")
    model = vocode.load_wavegrad() if set(methods) & {"wavegrad", "gla-grad"} else None
    for i, method in enumerate(methods):
        out = vocode.vocode(wave, method, int(n_steps), torch.Generator().manual_seed(int(seed)), model, gla)
        scores = vocode.score(wave, out.audio)
        label = METHOD_LABELS[method] + ("" if out.n_steps is None else f"-{out.n_steps}")
        rows.append([label, round(scores["pesq_wb"], 2), round(scores["stoi"], 3),
                     round(scores["log_mel_db"], 2), round(out.rtf, 2), round(out.compute_s, 2)])
        slots[method] = (audio_file(sr, out.audio, label), vocode.mel_figure(out.audio, label, top_db=top_db))
        left = methods[i + 1:]
        status = f"{about}. " + (f"Next: {', '.join(METHOD_LABELS[m] for m in left)} ..." if left else "Done.")
        yield outputs(status)


def example_clips() -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.wav"))


def build_vocoders_tab() -> None:
    gr.Markdown(
        "Each method gets only the clip's **mel spectrogram** (80 bands, 16 kHz) and turns it back "
        "into sound. **Griffin-Lim** retrieves a phase by alternating projections; **WaveGrad** is "
        "a diffusion model we trained on a few espeak-ng voices; **GLA-Grad** runs the same model "
        "but pulls its first, noisiest steps toward the target spectrogram with Griffin-Lim "
        f"iterations. The tab vocodes the first {MAX_VOCODE_S:.0f} s of a clip.")
    gr.Markdown(limits_note("vocoding", audio.MAX_DURATION_S, f"the first {MAX_VOCODE_S:.0f} s are vocoded"),
                elem_id="vocoders-limits")
    with gr.Row():
        with gr.Column(scale=1):
            clip = gr.Audio(sources=["upload", "microphone"], type="filepath",
                            label=f"Voice clip (the first {MAX_VOCODE_S:.0f} s are vocoded)",
                            elem_id="vocoders-upload")
            if example_clips():
                gr.Examples(example_clips(), inputs=[clip], label="Examples")
        with gr.Column(scale=1):
            methods = gr.CheckboxGroup(list(vocode.METHODS), value=list(vocode.METHODS), label="Methods",
                                       elem_id="vocoders-methods")
            steps = gr.Slider(1, 50, value=vocode.DEFAULT_STEPS, step=1, label="Reverse steps",
                              info="WaveGrad and GLA-Grad; 6 and 25 use searched schedules",
                              elem_id="vocoders-steps")
            with gr.Accordion("GLA-Grad settings", open=False):
                defaults = vocode.GlaGradSettings()
                projected = gr.Slider(0, 50, value=defaults.n_projected, step=1,
                                      label="Projected steps (from the noisiest)", elem_id="vocoders-projected")
                iters = gr.Slider(1, 64, value=defaults.n_iter, step=1, label="Griffin-Lim iterations "
                                  "per projection", elem_id="vocoders-iters")
            seed = gr.Number(0, precision=0, label="Seed", elem_id="vocoders-seed")
            run = gr.Button("Vocode", variant="primary", elem_id="vocoders-run")
    status = gr.Markdown("Upload or record a voice, or pick an example, then press **Vocode**.",
                         elem_id="vocoders-status")
    table = gr.Dataframe(headers=TABLE_HEADERS, label="Scores against the original (higher PESQ and "
                         "STOI, lower log-mel distance are better; RTF = compute time / duration)",
                         interactive=False, elem_id="vocoders-table")
    players, figures = [], []
    for name, label in [("original", "Original"), *METHOD_LABELS.items()]:
        with gr.Row():
            players.append(result_player(label, elem_id=f"vocoders-{name}-audio", scale=1))
            figures.append(gr.Plot(label=f"{label}: mel", elem_id=f"vocoders-{name}-plot", scale=3))
    outputs = [table, status]
    for player, figure in zip(players, figures):
        outputs += [player, figure]
    clip.upload(check_clip, clip, [clip, status], api_name="vocoders_check", show_progress="hidden")
    run.click(vocode_clip, [clip, methods, steps, projected, iters, seed], outputs, api_name="vocode",
              concurrency_id="vocoders", concurrency_limit=1)
