"""The studio's "Compose" tab: chorales written by the composer model with two positional
encodings side by side from the same seed, drawn as piano rolls, sung by our voice model, and
offered as MIDI, MusicXML and WAV.

The handler `compose_pair` is a plain function of (state, controls, optional MIDI to continue);
the pipeline is `hiaudio.studio.compose`. Per-user state (`ComposeTab`) only remembers the
folder of the last downloads, so that it is removed when the next piece replaces it or the
session ends.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import torch

from hiaudio import audio
from hiaudio.dsp import units
from hiaudio.models.composer import PE_KINDS
from hiaudio.studio import compose, compose_io
from hiaudio.studio.compose_plots import piano_roll
from hiaudio.ui.common import audio_file, guard, limits_note, result_player, safe_stem


SING_RATE = 16000  # the sung choir's sample rate (the voice model's cost grows with it)
MAX_TAB_BARS = 32  # the tab writes at most this much (the CLI goes to compose.MAX_BARS)
OFF = "(off)"
PE_LABELS = {"none": "none", "sinusoidal": "absolute sinusoidal", "learned": "learned absolute",
             "rpe": "relative (RPE)", "s-ape": "structure-informed absolute (S-APE)",
             "s-rpe": "structure-informed relative (S-RPE)"}
AUTO_KEY_LABEL = "auto (the opening's key)"
KEYS = [(AUTO_KEY_LABEL, compose.AUTO_KEY)] + [(k, k) for k in (units.key_name(pc, mode) for mode in ("major", "minor")
                                                               for pc in range(12))]
ENCODINGS = [(PE_LABELS[pe], pe) for pe in PE_KINDS]  # the menu shows names, sends ids


@dataclasses.dataclass
class ComposeTab:
    """One person's Compose tab: the folder holding their last downloads."""
    folder: str | None = None

    def new_folder(self) -> Path:
        self.clear()
        self.folder = tempfile.mkdtemp(prefix="hiaudio-compose-")
        return Path(self.folder)

    def clear(self) -> None:
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def delete_state(state: ComposeTab) -> None:
    if isinstance(state, ComposeTab):
        state.clear()


def _whole(value, name: str, lo: int, hi: int) -> int:
    if value is None or not float(value).is_integer() or not lo <= int(value) <= hi:
        raise gr.Error(f"{name} must be a whole number from {lo} to {hi}; got {value}.")
    return int(value)


def compose_one(pe: str, plan: compose.Plan, temperature: float, top_k: int, seed: int, prompt, folder: Path,
                sing: bool, keep_order: bool = True, opening: str = "") -> tuple:
    """(figure, audio file or None, [MIDI, MusicXML, WAV paths], seconds) for one encoding;
    opening: the name of the MIDI file continued ("" for a fresh piece), in the file names."""
    started = time.perf_counter()
    grid = compose.sample(compose.load_composer(pe), plan, temperature, top_k,
                          torch.Generator().manual_seed(seed), prompt, keep_order=keep_order)
    compute_s = time.perf_counter() - started
    stem = f"{'continuation_of_' + opening if opening else 'chorale'}_{pe}_seed{seed}"
    files = [str(compose_io.write_midi(grid, folder / f"{stem}.mid")),
             str(compose_io.write_musicxml(grid, plan, folder / f"{stem}.musicxml"))]
    sung = None
    if sing:
        wave = compose_io.sing_choir(grid, SING_RATE, seed=seed)
        audio.save_wav(folder / f"{stem}.wav", wave, SING_RATE)
        files.append(str(folder / f"{stem}.wav"))
        sung = audio_file(SING_RATE, wave, stem)
    title = f"{PE_LABELS[pe]} — seed {seed}, {plan.key_name}" + (f", continuing {opening}" if opening else "")
    fig = piano_roll(grid, plan.bars_per_phrase, title, prompt_steps=0 if prompt is None else len(prompt))
    return fig, sung, files, compute_s


@guard("Composing", "try again, or with fewer bars", outputs=8)
def compose_pair(state: ComposeTab, pe_a: str, pe_b: str, bars, phrases, key: str, temperature, top_k, seed,
                 sing: bool, midi_path: str | None = None, keep_order: bool = True):
    """Returns (state, status, fig A, audio A, files A, fig B, audio B, files B); B stays empty when off."""
    if not isinstance(state, ComposeTab):
        state = ComposeTab()
    if pe_a not in PE_KINDS:
        raise gr.Error(f"Choose an encoding for the left piece ({', '.join(PE_KINDS)}).")
    if pe_b not in (*PE_KINDS, OFF, None):
        raise gr.Error(f"Unknown encoding {pe_b!r} for the right piece.")
    bars = _whole(bars, "Bars", 1, MAX_TAB_BARS)
    phrases = _whole(phrases, "Phrases", 1, min(bars, compose.MAX_PHRASES))
    seed = _whole(seed, "Seed", 0, 2**31 - 1)
    top_k = _whole(top_k, "Top-k", 0, 200)
    if temperature is None or not 0.05 <= float(temperature) <= 3.0:
        raise gr.Error(f"Temperature must be between 0.05 and 3; got {temperature}.")
    plan, prompt = compose.plan_piece(bars, phrases, key or None, midi_path or None)
    opening = safe_stem(midi_path) if midi_path else ""
    folder = state.new_folder()
    results, lines = [], []
    for pe in [pe_a] + ([pe_b] if pe_b in PE_KINDS else []):
        fig, sung, files, compute_s = compose_one(pe, plan, float(temperature), top_k, seed, prompt, folder, sing,
                                                  bool(keep_order), opening)
        results.append((fig, sung, files))
        lines.append(f"{PE_LABELS[pe]}: written in {compute_s:.1f} s")
    while len(results) < 2:
        results.append((None, None, None))
    status = (f"{plan.n_bars} bars, phrases of {'+'.join(map(str, plan.bars_per_phrase))} bars, "
              f"{plan.key_name}, seed {seed}" + (f", continuing {Path(midi_path).name}" if midi_path else "")
              + ". " + "; ".join(lines) + ".")
    return (state, status, *[v for r in results for v in r])


def build_compose_tab() -> None:
    gr.Markdown(
        "A small Transformer trained on Bach's chorales writes a four-part chorale, 16th note by 16th "
        "note (soprano, alto, tenor, bass). Its **positional encoding** decides how it knows where it "
        "is: nothing, the token index (absolute or relative), or the music's structure — bar, beat, "
        "phrase, voice, chord (structure-informed, Agarwal, Wang & Richard 2024). The phrase layout "
        "and the key are planned in advance; each phrase ends on a fermata. Compare two encodings "
        "from the same seed; our voice model sings the result.")
    gr.Markdown(limits_note("composition", None, f"up to {MAX_TAB_BARS} bars; MIDI files up to "
                            f"{compose_io.MAX_MIDI_BYTES / 2**20:.0f} MB"), elem_id="compose-limits")
    state = gr.State(ComposeTab(), delete_callback=delete_state)
    with gr.Row():
        with gr.Column():
            pe_a = gr.Dropdown(ENCODINGS, value="s-ape", label="Encoding (left)", elem_id="compose-pe-a")
            pe_b = gr.Dropdown([(OFF, OFF), *ENCODINGS], value="learned", label="Encoding (right)",
                               elem_id="compose-pe-b")
            key = gr.Dropdown(KEYS, value="C major", label="Key", info="auto: the key of the MIDI file continued",
                              elem_id="compose-key")
        with gr.Column():
            bars = gr.Slider(2, MAX_TAB_BARS, value=8, step=1, label="Bars (4/4)", elem_id="compose-bars")
            phrases = gr.Slider(1, compose.MAX_PHRASES, value=4, step=1, label="Phrases (each ends on a fermata)",
                                elem_id="compose-phrases")
            temperature = gr.Slider(0.1, 2.0, value=compose.DEFAULT_TEMPERATURE, step=0.05, label="Temperature", elem_id="compose-temperature")
        with gr.Column():
            top_k = gr.Slider(0, 50, value=compose.DEFAULT_TOP_K, step=1, label="Top-k (0 = all tokens)", elem_id="compose-top-k")
            seed = gr.Number(0, precision=0, label="Seed", elem_id="compose-seed")
            sing = gr.Checkbox(True, label="Sing it (our voice model, a vowel per voice)", elem_id="compose-sing")
            keep_order = gr.Checkbox(True, label="Keep voices in order (no crossings)", elem_id="compose-order")
            midi = gr.File(label="Continue a MIDI file (optional)", file_types=[".mid", ".midi"], type="filepath",
                           elem_id="compose-midi")
    run = gr.Button("Compose", variant="primary", elem_id="compose-run")
    status = gr.Markdown("Choose the settings and press **Compose**.", elem_id="compose-status")
    outputs = [state, status]
    with gr.Row():
        for side in ("a", "b"):
            with gr.Column():
                outputs += [gr.Plot(label="Piano roll", elem_id=f"compose-roll-{side}"),
                            result_player("Sung", elem_id=f"compose-audio-{side}"),
                            gr.File(label="Downloads: MIDI, MusicXML, WAV", file_count="multiple",
                                    interactive=False, elem_id=f"compose-files-{side}")]
    # a MIDI file to continue: its key by default ("auto"); without one, back to C major
    midi.upload(lambda path: compose.AUTO_KEY, midi, key, api_visibility="private", show_progress="hidden")
    midi.clear(lambda: "C major", None, key, api_visibility="private", show_progress="hidden")
    run.click(compose_pair, [state, pe_a, pe_b, bars, phrases, key, temperature, top_k, seed, sing, midi, keep_order],
              outputs,
              api_name="compose", concurrency_id="compose", concurrency_limit=1)
