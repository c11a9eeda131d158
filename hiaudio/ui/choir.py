"""The studio's "Choir" tab: separate a choir recording into its parts by synthesis, edit any part
with the Voice tab's controls -- the whole part or one of its notes -- (and re-harmonize it by
scale degrees), and hear the remix at once.

Handlers are plain functions of (state, values); the pipeline is `hiaudio.separation.choir` and
the per-person session `hiaudio.studio.choir_session`. The session is a value: a handler returns
the new one, so a failed request leaves the person's session as it was. Any change to what the
parts play empties the Downloads list (its files would no longer match what is heard).
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np

from hiaudio import audio
from hiaudio.separation import choir
from hiaudio.separation.score import MAX_SCORE_BYTES, load_score
from hiaudio.studio import choir_plots, choir_session
from hiaudio.studio.session import note_blobs, note_choices
from hiaudio.ui.common import (NOTE_FIELDS, audio_file, check_upload, edit_control, guard,
                               limits_note, note_controls, result_player, safe_stem, with_edits)
from hiaudio.voice import NO_EDITS, PITCH, Edits
from hiaudio.voice.edit import NoteEdit

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
MAX_CHOIR_S = 30.0  # the tab separates at most this long a clip (about 1 s of work per 1-2 s of audio here)
PARTS = choir.PARTS
NO_SEPARATION = "Separate a recording first: upload one (or pick the example), then press Separate."
# the edits a part takes, in the order handlers receive them (the mix sets each part's gain)
CHOIR_EDITS = ("transpose_semitones", "scale_degrees", "transpose_cents", "vibrato_pct", "drift_pct", "scale_key",
               "scale_mode", "formant_shift", "brightness_db_per_oct", "breathiness_db")
# a part's own edits; the key is the piece's
PART_EDITS = tuple(n for n in CHOIR_EDITS if n not in ("scale_key", "scale_mode"))
N_PLAYERS = len(PARTS)


@dataclasses.dataclass(frozen=True)
class ChoirTab:
    """What the Choir tab remembers for one browser session (held in a gr.State)."""
    session: choir_session.ChoirSession | None = None
    spectrogram: dict | None = None  # the mixture's heatmap trace, computed once per separation
    clip_name: str = "choir"
    folder: str | None = None  # this session's downloads


def _remove_folder(state: ChoirTab) -> None:
    if state is not None and state.folder:
        shutil.rmtree(state.folder, ignore_errors=True)


def delete_state(state: ChoirTab) -> None:
    _remove_folder(state)


def _player(state: ChoirTab, wave: np.ndarray, name: str) -> str:
    return audio_file(state.session.sample_rate, wave, f"{state.clip_name}_{name}")


def _figure(state: ChoirTab, v: int | None = None, selected: int | None = None):
    """Every part's F0 over the mixture; part v's notes as blobs (the selected one highlighted)."""
    s = state.session
    parts = {name: (s.separation.times_s, s.separation.f0_hz[u]) for u, name in enumerate(s.names)}
    edited = {name: choir_session.part_f0(s, u) for u, name in enumerate(s.names) if s.edited(u)}
    blobs = note_blobs(s.parts[v]) if v is not None else ()
    color = choir_plots.PART_COLORS.get(s.names[v], "#5f6368") if v is not None else "#5f6368"
    return choir_plots.choir_figure(state.spectrogram, parts, edited, blobs, selected, color)


def _status(state: ChoirTab) -> str:
    s = state.session
    return " · ".join(f"**{name}**: {s.parts[v].edits.describe() if s.edited(v) else 'as separated'}"
                      for v, name in enumerate(s.names))


def _part_players(state: ChoirTab, only: int | None = None) -> list:
    """One update per part slot: the part's audio and label, hidden beyond the separated parts.

    With `only`, the other slots are skipped: a slider move re-encodes one player, not four.
    """
    s = state.session
    out = []
    for v in range(N_PLAYERS):
        if only is not None and v != only:
            out.append(gr.skip())
        elif v < len(s.names):
            label = f"{PARTS[v]} ({'edited' if s.edited(v) else 'separated'})"
            out.append(gr.update(value=_player(state, s.audio[v], PARTS[v]), label=label, visible=True))
        else:
            out.append(gr.update(value=None, visible=False))
    return out


def _remix(state: ChoirTab) -> str:
    return _player(state, choir_session.remix(state.session), "remix")


def _stale_downloads(state: ChoirTab) -> ChoirTab:
    """The state without its downloads folder (removed): what the parts play has changed."""
    _remove_folder(state)
    return dataclasses.replace(state, folder=None)


def check_recording(path: str | None):
    """On upload: is the recording usable? -> (the upload, a status line), at once."""
    return check_upload(path, MAX_CHOIR_S, target_sr=choir.SAMPLE_RATE)


N_SEPARATE = 5 + N_PLAYERS + 1 + 3 * N_PLAYERS + 2 + 1


@guard("Separation", "try a shorter clip, fewer voices, or the score", outputs=N_SEPARATE)
def separate_clip(path: str | None, score_path: str | None, n_voices, state: ChoirTab, progress=gr.Progress()):
    """Load, check and separate a recording. Returns (state, status, remix, plot, downloads, 4 part
    players, part choice, the mix controls reset, key, mode, the note menu)."""
    if not path:
        raise gr.Error(NO_SEPARATION, print_exception=False)
    n_voices = int(n_voices)
    progress(0.02, desc="Reading the recording")
    warnings: list[str] = []
    wave, sr = audio.load_audio(path, target_sr=choir.SAMPLE_RATE, max_duration_s=MAX_CHOIR_S, warnings=warnings)
    notes = load_score(score_path, n_voices) if score_path else None
    started = time.perf_counter()
    result = choir.separate_choir(wave, sr, n_voices, notes=notes,
                                  progress=lambda fraction, message: progress(0.05 + 0.9 * fraction, desc=message))
    for note in warnings + result.warnings:
        gr.Warning(note)
    took_s = time.perf_counter() - started
    new = ChoirTab(session=choir_session.start_choir_session(result),
                   spectrogram=choir_plots.mixture_spectrogram(result.mixture, result.sample_rate),
                   clip_name=safe_stem(path))
    _remove_folder(state)
    s = new.session
    status = (f"Separated **{Path(path).name}** ({len(wave) / sr:.1f} s) into {n_voices} parts in {took_s:.1f} s"
              f"{' with its score' if notes else ' from the mixture alone'}. Pick a part to edit below.  \n"
              + _status(new))
    key, mode = choir_session.estimate_key(result.f0_hz)
    return (new, status, _remix(new), _figure(new, 0), None, *_part_players(new),
            gr.update(choices=list(s.names), value=s.names[0]),
            *([0.0] * N_PLAYERS), *([False] * N_PLAYERS), *([False] * N_PLAYERS), key, mode,
            gr.update(choices=note_choices(s.parts[0]), value=None))


def _session(state: ChoirTab) -> choir_session.ChoirSession:
    if state is None or state.session is None:
        raise gr.Error(NO_SEPARATION, print_exception=False)
    return state.session


def _note_index(part, note) -> int | None:
    if note is None or note == "":
        return None
    index = int(note)
    if not 0 <= index < len(part.notes):
        raise gr.Error(f"There is no note {index + 1}: this part has {len(part.notes)} notes.", print_exception=False)
    return index


@guard("Loading the part's edits", outputs=len(PART_EDITS) + 2 + len(NOTE_FIELDS))
def select_part(state: ChoirTab, part: str):
    """The sliders set to the chosen part's current edits (key and scale stay: they are the piece's),
    its notes in the note menu (none chosen), the plot with its notes."""
    s = _session(state)
    v = choir_session.part_index(s, part)
    e = s.parts[v].edits
    return (*e.values(PART_EDITS), gr.update(choices=note_choices(s.parts[v]), value=None),
            *(getattr(NoteEdit(0), f) for f in NOTE_FIELDS), _figure(state, v))


@guard("Selecting the note", outputs=1 + len(NOTE_FIELDS))
def select_note(state: ChoirTab, part: str, note):
    """The plot with the part's chosen note highlighted, and the note sliders at its edit."""
    s = _session(state)
    v = choir_session.part_index(s, part)
    index = _note_index(s.parts[v], note)
    edit = s.parts[v].edits.note(index) if index is not None else NoteEdit(0)
    return (_figure(state, v, index), *(getattr(edit, f) for f in NOTE_FIELDS))


def _part_notes(state: ChoirTab, part: str, note=None, note_semitones=0.0, note_vibrato_pct=100.0,
                note_drift_pct=100.0, note_length_pct=100.0, **_) -> tuple[NoteEdit, ...]:
    """The part's note edits a move asks for: its current ones, the chosen note's from the sliders."""
    s = _session(state)
    voice = s.parts[choir_session.part_index(s, part)]
    index = _note_index(voice, note)
    if index is None:
        return voice.edits.notes
    try:
        edit = NoteEdit(index, float(note_semitones), float(note_vibrato_pct), float(note_drift_pct),
                        float(note_length_pct))
    except (TypeError, ValueError) as err:
        raise gr.Error(f"Invalid note edit: {err}", print_exception=False) from None
    return tuple(n for n in voice.edits.notes if n.index != index) + (edit,)


@guard("Editing the part", outputs=5 + N_PLAYERS)
@with_edits(CHOIR_EDITS, notes=_part_notes)
def edit_part(state: ChoirTab, part: str, edits: Edits, note=None, note_semitones=0.0, note_vibrato_pct=100.0,
              note_drift_pct=100.0, note_length_pct=100.0):
    """Apply the controls to one part (the chosen note's edit on top of its other notes') and remix.
    Returns (state, status, remix, plot, downloads (emptied), 4 part players); the plot only when
    the part's F0 moved (a formant or breath move leaves it as drawn)."""
    s = _session(state)
    v = choir_session.part_index(s, part)
    index = _note_index(s.parts[v], note)
    pitch_moved = edits.key(PITCH) != s.parts[v].edits.key(PITCH)
    new = dataclasses.replace(_stale_downloads(state), session=choir_session.set_part_edits(s, v, edits))
    return (new, _status(new), _remix(new), _figure(new, v, index) if pitch_moved else gr.skip(), None,
            *_part_players(new, only=v))


@guard("Resetting the part", outputs=1 + len(PART_EDITS) + 1 + len(NOTE_FIELDS) + 4 + N_PLAYERS)
def reset_part(state: ChoirTab, part: str):
    """The part back to its stem, its note edits too. Returns (state, part sliders, note menu, note
    sliders, status, remix, plot, downloads (emptied), 4 part players)."""
    s = _session(state)
    v = choir_session.part_index(s, part)
    new = dataclasses.replace(_stale_downloads(state), session=choir_session.set_part_edits(s, v, NO_EDITS))
    return (new, *NO_EDITS.values(PART_EDITS), None, *(getattr(NoteEdit(0), f) for f in NOTE_FIELDS), _status(new),
            _remix(new), _figure(new, v), None, *_part_players(new, only=v))


@guard("Mixing", outputs=3)
def mix_parts(state: ChoirTab, *values):
    """Gains (dB), mutes and solos of the 4 part slots -> (state, the remix, downloads (emptied))."""
    s = _session(state)
    n, k = len(s.names), N_PLAYERS
    gains, mutes, solos = values[:k], values[k:2 * k], values[2 * k:3 * k]
    s = choir_session.set_mix(s, [float(g) for g in gains[:n]], mutes[:n], solos[:n])
    new = dataclasses.replace(_stale_downloads(state), session=s)
    return new, _remix(new), None


@guard("Export", outputs=3)
def export(state: ChoirTab):
    """Every part (as it plays now), the remix and the parameters, as files to download.
    Returns (state, the files, a status line saying what was written)."""
    s = _session(state)
    _remove_folder(state)
    state = dataclasses.replace(state, folder=tempfile.mkdtemp(prefix="hiaudio-choir-"))
    folder = Path(state.folder)
    paths = []
    for v, name in enumerate(s.names):
        paths.append(audio.save_wav(folder / f"{state.clip_name}_{name}.wav", np.clip(s.audio[v], -1, 1),
                                    s.sample_rate))
    paths.append(audio.save_wav(folder / f"{state.clip_name}_remix.wav", choir_session.remix(s), s.sample_rate))
    params_path = folder / f"{state.clip_name}_params.json"
    params_path.write_text(json.dumps(choir_session.parameters_json(s)))
    paths.append(params_path)
    status = (f"Exported {len(paths)} files at {time.strftime('%H:%M:%S')}: every part as it plays now, the "
              "remix and the parameters, in **Downloads**. An edit or a new mix empties the list.  \n" + _status(state))
    return state, [str(p) for p in paths], status


def choir_examples() -> list[list]:
    """[[recording, score]] for the examples that have a score beside them."""
    out = []
    for wav in sorted(EXAMPLES_DIR.glob("choir_*.wav")):
        mid = wav.with_suffix(".mid")
        out.append([str(wav), str(mid) if mid.exists() else None])
    return out


def build_choir_tab() -> None:
    state = gr.State(ChoirTab(), delete_callback=delete_state)
    gr.Markdown(limits_note("separation", MAX_CHOIR_S,
                            f"2 to 4 voices; scores up to {MAX_SCORE_BYTES / 2**20:.0f} MB"),
                elem_id="choir-limits")
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.Audio(sources=["upload", "microphone"], type="filepath",
                              label=f"Recording (up to {MAX_CHOIR_S:.0f} s)", elem_id="choir-upload")
            score = gr.File(label="Score (optional)", file_types=[".mid", ".midi", ".xml", ".musicxml", ".mxl"],
                            type="filepath", elem_id="choir-score")
            gr.Markdown("The score is MIDI or MusicXML, one part per voice, aligned with the recording "
                        "(same tempo and start).", elem_id="choir-score-hint")
            if choir_examples():
                gr.Examples(choir_examples(), inputs=[upload, score], label="Examples (a Bach chorale and its score)")
            with gr.Row():
                voices = gr.Dropdown([2, 3, 4], value=4, label="Parts (from the top: S, A, T, B)",
                                     elem_id="choir-voices", scale=1)
                separate_btn = gr.Button("Separate", variant="primary", elem_id="choir-separate", scale=1)
            status = gr.Markdown("Upload a choir recording (and its score if you have it), then press "
                                 "**Separate**. Each part becomes a voice model you can edit.",
                                 elem_id="choir-status")
        with gr.Column(scale=1):
            remix = result_player("Remix", buttons=["download"], elem_id="choir-remix")
            with gr.Row():
                export_btn = gr.Button("Export parts, remix and parameters", elem_id="choir-export")
            files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="choir-files")
    plot = gr.Plot(label="Parts (blobs: the chosen part's notes)", elem_id="choir-plot")
    players, gains, mutes, solos = [], [], [], []
    with gr.Row():
        for v, name in enumerate(PARTS):
            with gr.Column(min_width=180):
                players.append(result_player(name, visible=False, elem_id=f"choir-part-{name}"))
                gains.append(gr.Slider(*choir_session.MIX_GAIN_DB, value=0.0, step=0.5, label=f"{name} gain (dB)",
                                       elem_id=f"choir-gain-{name}"))
                with gr.Row():
                    mutes.append(gr.Checkbox(label="mute", value=False, elem_id=f"choir-mute-{name}"))
                    solos.append(gr.Checkbox(label="solo", value=False, elem_id=f"choir-solo-{name}"))
    gr.Markdown("### Edit a part")
    with gr.Row():
        part = gr.Radio(list(PARTS), value=PARTS[0], label="Part", elem_id="choir-part")
        reset_btn = gr.Button("Reset this part", elem_id="choir-reset")
    controls = {}
    with gr.Row():
        with gr.Column():
            controls.update((n, edit_control(n, "choir")) for n in CHOIR_EDITS[:5])
            with gr.Row():
                controls["scale_key"] = edit_control("scale_key", "choir")
                controls["scale_mode"] = edit_control("scale_mode", "choir", "major")  # set to the piece's on Separate
        with gr.Column():
            controls.update((n, edit_control(n, "choir")) for n in CHOIR_EDITS[7:])
            gr.Markdown("#### One note of the part")
            note, note_sliders = note_controls("choir")
    edits_in = [controls[n] for n in CHOIR_EDITS]
    sliders = [controls[n] for n in PART_EDITS]
    key, mode = controls["scale_key"], controls["scale_mode"]
    mix_controls = [*gains, *mutes, *solos]

    upload.upload(check_recording, upload, [upload, status], api_name="choir_check", show_progress="hidden")
    separate_btn.click(separate_clip, [upload, score, voices, state],
                       [state, status, remix, plot, files, *players, part, *mix_controls, key, mode, note],
                       api_name="separate", concurrency_id="choir-separate", concurrency_limit=1)
    part.input(select_part, [state, part], [*sliders, note, *note_sliders, plot], api_name="choir_select",
               show_progress="hidden")
    note.input(select_note, [state, part, note], [plot, *note_sliders], api_name="choir_select_note",
               show_progress="hidden")
    gr.on([s.release for s in sliders + note_sliders] + [key.input, mode.input], edit_part,
          [state, part, *edits_in, note, *note_sliders], [state, status, remix, plot, files, *players],
          api_name="choir_edit", trigger_mode="always_last", show_progress="minimal")
    reset_btn.click(reset_part, [state, part], [state, *sliders, note, *note_sliders, status, remix, plot, files,
                                               *players], api_name="choir_reset")
    gr.on([g.release for g in gains] + [m.input for m in mutes + solos], mix_parts, [state, *mix_controls],
          [state, remix, files], api_name="choir_mix", trigger_mode="always_last", show_progress="hidden")
    export_btn.click(export, state, [state, files, status], api_name="choir_export")
