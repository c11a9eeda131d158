"""Command line: `python -m hiaudio analyze | synth | edit ...`.

Every failure a person can fix (bad audio, bad parameter file, out-of-range edit) ends with a
one-line message on stderr and exit status 2; no traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import torch

from hiaudio import audio
from hiaudio.audio import AudioError
from hiaudio.models.composer import PE_KINDS
from hiaudio.separation import choir, score
from hiaudio.studio import compose, vocode
from hiaudio.voice import (EDIT_SPEC, NO_EDITS, PRESETS, Edits, ParamsError, analyze, apply_edits, files, limit_peak,
                           render)
from hiaudio.voice.synthesis import PEAK_LIMIT

CLI_MAX_DURATION_S = 600.0  # the CLI takes longer clips than the studio


def _edit_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per entry of the edit specification (`hiaudio.voice.edit.EDIT_SPEC`)."""
    g = parser.add_argument_group("edits (defaults leave the voice as it was)")
    g.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset, e.g. 'male -> female'")
    for spec in EDIT_SPEC:
        if spec.choices:
            g.add_argument(f"--{spec.flag}", dest=spec.name, choices=spec.choices, help=spec.help)
        else:
            g.add_argument(f"--{spec.flag}", dest=spec.name, type=int if spec.whole else float,
                           metavar="N", help=f"{spec.label}, {spec.minimum:g}..{spec.maximum:g}: "
                                f"{spec.help}".replace("%", "%%"))


def edits_from_args(args: argparse.Namespace) -> Edits:
    """The preset (if any) with the flags given on top of it."""
    base = PRESETS[args.preset] if args.preset else Edits()
    return dataclasses.replace(base, **{spec.name: getattr(args, spec.name) for spec in EDIT_SPEC
                                        if getattr(args, spec.name) is not None})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hiaudio",
                                     description="hiaudio: analyze, edit and resynthesize voices; separate choirs; vocode; compose.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="voice audio -> parameters JSON")
    p.add_argument("audio", type=Path)
    p.add_argument("--out", type=Path, required=True, help="parameters JSON to write")
    p.add_argument("--sample-rate", type=int, default=None, help="analysis rate (default 22050)")

    p = sub.add_parser("synth", help="parameters JSON -> audio (with the edits the file holds, if any)")
    p.add_argument("params", type=Path)
    p.add_argument("--out", type=Path, required=True, help="WAV to write")

    p = sub.add_parser("edit", help="voice audio -> edited audio (analyze, edit, resynthesize)")
    p.add_argument("audio", type=Path)
    p.add_argument("--out", type=Path, required=True, help="WAV to write")
    p.add_argument("--params-out", type=Path, help="also write the parameters JSON: the analysis and these "
                                                   "edits (what the studio's Export writes; `synth` renders it)")
    p.add_argument("--sample-rate", type=int, default=None, help="analysis rate (default 22050)")
    _edit_arguments(p)

    p = sub.add_parser("vocode", help="audio -> its mel -> audio again, by a mel vocoder")
    p.add_argument("audio", type=Path)
    p.add_argument("--method", choices=vocode.METHODS, default="gla-grad", help="how to invert the mel")
    p.add_argument("--steps", type=int, default=None, help="reverse diffusion steps (wavegrad, gla-grad; "
                                                           "default 6; 6 and 25 have searched schedules)")
    p.add_argument("--seed", type=int, default=0, help="seed of the diffusion noise")
    p.add_argument("--out", type=Path, required=True, help="WAV to write (16 kHz)")

    p = sub.add_parser("generate", help="write a four-part chorale with the composer model (MIDI, MusicXML, sung WAV)")
    p.add_argument("--out", type=Path, required=True, help="MIDI file to write (one track per voice)")
    p.add_argument("--bars", type=int, default=16, help="length in 4/4 bars, 1..64 (default 16)")
    p.add_argument("--phrases", type=int, default=None, help="phrases, each ending on a fermata (default bars / 2)")
    p.add_argument("--pe", choices=PE_KINDS, default="s-ape", help="positional encoding of the model")
    p.add_argument("--key", default=None, help="e.g. 'G major', 'F# minor', or 'auto': the key of --continue's "
                                               "opening (the default with --continue; else C major)")
    p.add_argument("--temperature", type=float, default=compose.DEFAULT_TEMPERATURE,
                   help=f"sampling temperature (> 0; default {compose.DEFAULT_TEMPERATURE})")
    p.add_argument("--top-k", type=int, default=compose.DEFAULT_TOP_K,
                   help=f"sample among the k likeliest tokens (0 = all; default {compose.DEFAULT_TOP_K})")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    p.add_argument("--continue", dest="continue_midi", type=Path, help="a MIDI file whose opening the piece continues")
    p.add_argument("--wav", type=Path, help="also write the chorale sung by our voice model")
    p.add_argument("--xml", type=Path, help="also write MusicXML")
    p.add_argument("--gm-wav", type=Path, help="also write it played by a GM soundfont (Choir Aahs, fluidsynth)")
    p.add_argument("--allow-crossings", action="store_true", help="let voices cross (by default each voice "
                                                                  "stays below the one above it)")

    p = sub.add_parser("separate", help="choir recording -> one stem, one resynthesis and one voice model per part")
    p.add_argument("audio", type=Path)
    p.add_argument("--out", type=Path, required=True, help="folder for soprano.wav, soprano_synth.wav, ..., params.json")
    p.add_argument("--voices", type=int, default=4, help="parts to separate, 1..4, taken from the top (default 4)")
    p.add_argument("--score", type=Path, help="the recording's score (MIDI or MusicXML), aligned with it")
    return parser


def _load(path: Path, sample_rate: int | None):
    warnings: list[str] = []
    wave, sr = audio.load_audio(path, target_sr=sample_rate or audio.STUDIO_RATE,
                                max_duration_s=CLI_MAX_DURATION_S, warnings=warnings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return wave, sr


def run(args: argparse.Namespace) -> None:
    out = getattr(args, "out", None)
    if out is not None and args.command != "separate":  # a file; `separate --out` is the folder itself
        out.parent.mkdir(parents=True, exist_ok=True)
    if args.command == "analyze":
        wave, sr = _load(args.audio, args.sample_rate)
        params = analyze(wave, sr)
        params.save(args.out)
        print(f"{args.out}: {params.n_frames} frames, {params.duration_s:.2f} s, "
              f"{100 * params.voiced.mean():.0f} % voiced")
    elif args.command == "synth":
        params, edits = files.load(args.params)
        out, _ = limit_peak(render(apply_edits(params, edits)))
        audio.save_wav(args.out, out, params.sample_rate)
        print(f"{args.out}: {params.duration_s:.2f} s at {params.sample_rate} Hz"
              + (f", edits: {edits.describe()}" if edits != NO_EDITS else ""))
    elif args.command == "edit":
        edits = edits_from_args(args)
        wave, sr = _load(args.audio, args.sample_rate)
        analysis = analyze(wave, sr)
        out, peak = limit_peak(render(apply_edits(analysis, edits))[:len(wave)])
        if peak > PEAK_LIMIT:
            print(f"note: the edit peaks at {peak:.2f}; scaled down to avoid clipping", file=sys.stderr)
        audio.save_wav(args.out, out, sr)
        if args.params_out:
            files.save(args.params_out, analysis, edits)
        print(f"{args.out}: {len(out) / sr:.2f} s at {sr} Hz")
    elif args.command == "vocode":
        wave, sr = _load(args.audio, vocode.SAMPLE_RATE)
        result = vocode.vocode(wave, args.method, args.steps, torch.Generator().manual_seed(args.seed))
        audio.save_wav(args.out, result.audio, sr)
        print(f"{args.out}: {len(result.audio) / sr:.2f} s at {sr} Hz by {result.label}, "
              f"real-time factor {result.rtf:.2f}")
    elif args.command == "generate":
        if args.key == compose.AUTO_KEY and args.continue_midi is None:
            raise ValueError("--key auto reads the key of the MIDI opening given by --continue; give --continue "
                             "FILE or a key such as 'G major'")
        print(compose.generate_files(args.out, args.bars, args.pe, args.seed, args.phrases, args.key,
                                     args.temperature, args.top_k, args.wav, args.xml, args.continue_midi,
                                     keep_order=not args.allow_crossings, gm_wav=args.gm_wav))
    elif args.command == "separate":
        wave, sr = _load(args.audio, choir.SAMPLE_RATE)
        notes = score.load_score(args.score, args.voices) if args.score else None
        result = choir.separate_choir(wave, sr, args.voices, notes=notes,
                                      progress=lambda fraction, message: print(f"{message} ...", file=sys.stderr))
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        paths = choir.write_outputs(result, args.out)
        print(f"{args.out}: {', '.join(p.name for p in paths)} ({len(wave) / sr:.2f} s at {sr} Hz"
              f"{', score-informed' if notes else ''})")
        print("confidence: " + ", ".join(f"{part} {c:.2f}" + (" (low)" if c < choir.LOW_CONFIDENCE else "")
                                         for part, c in zip(result.parts, result.confidence)))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # one torch thread unless HIAUDIO_TORCH_THREADS says otherwise (as in the studio): on two
    # shared cores torch's pool stalls -- the vocoder's diffusion loop ran at RTF 3.5 vs 0.15
    torch.set_num_threads(int(os.environ.get("HIAUDIO_TORCH_THREADS", "1")))
    try:
        run(args)
    except (AudioError, ParamsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"error: no such file: {err.filename}", file=sys.stderr)
        return 2
    except IsADirectoryError as err:
        print(f"error: {err.filename} is a folder; give a file", file=sys.stderr)
        return 2
    return 0
