"""Fingerprints of what the studio computes on the bundled examples: a SHA-256 per output.

A refactor that must leave behaviour unchanged runs this before and after and compares:

    python scripts/fingerprint.py --out /tmp/before.json
    ... change the code ...
    python scripts/fingerprint.py --check scripts/fingerprint.json

Covered: each example voice's analysis (parameters JSON), its render, five edit sets through a
studio session (audio and exported parameters), a parameter file loaded back; the choir
example separated blind and with its score (stems, resyntheses, params.json) and a part
re-harmonized in the remix; the three vocoders; a composed piece (tokens, sung choir).
One torch thread, fixed seeds: the outputs are deterministic on one machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hiaudio import audio  # noqa: E402
from hiaudio.separation import choir, score  # noqa: E402
from hiaudio.studio import choir_session, compose, compose_io, session, vocode  # noqa: E402
from hiaudio.voice import Edits, VoiceParams, analyze, render  # noqa: E402

EXAMPLES = ROOT / "assets" / "examples"
VOICES = ("speech_en.wav", "speech_en_f.wav", "sung_phrase.wav")
EDIT_SETS = {
    "male-female": Edits(transpose_semitones=9.0, formant_shift=1.18),
    "correction": Edits(pitch_correction_pct=100.0, scale_key="D", scale_mode="major", transpose_cents=-20.0),
    "degrees": Edits(scale_degrees=2, scale_key="G", scale_mode="major", vibrato_pct=0.0, drift_pct=200.0),
    "timbre": Edits(brightness_db_per_oct=3.0, breathiness_db=10.0, gain_db=-3.0),
    "down": Edits(transpose_semitones=-7.0, formant_shift=0.85, vibrato_pct=150.0),
}


def digest(x) -> str:
    if isinstance(x, str):
        data = x.encode()
    elif isinstance(x, (dict, list)):
        data = json.dumps(x, sort_keys=True).encode()
    else:
        data = np.ascontiguousarray(np.asarray(x)).tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprints() -> dict[str, str]:
    torch.set_num_threads(1)
    out: dict[str, str] = {}
    for name in VOICES:
        wave, sr = audio.load_audio(EXAMPLES / name)
        params = analyze(wave, sr)
        out[f"{name}/params"] = digest(params.to_json())
        out[f"{name}/render"] = digest(render(params))
        s = session.start_session(wave, sr)
        for label, edits in EDIT_SETS.items():
            s, wave_out = session.render_session(s, edits)
            out[f"{name}/session/{label}/audio"] = digest(wave_out)
            out[f"{name}/session/{label}/params"] = digest(session.edited_params(s).to_json())
        loaded = session.session_from_params(VoiceParams.from_json(params.to_json()))
        out[f"{name}/loaded/original"] = digest(loaded.original)

    mix, sr = audio.load_audio(EXAMPLES / "choir_bwv153.5.wav", target_sr=choir.SAMPLE_RATE)
    notes = score.load_score(EXAMPLES / "choir_bwv153.5.mid", 4)
    for label, given in (("blind", None), ("score", notes)):
        result = choir.separate_choir(mix, sr, 4, notes=given)
        out[f"choir/{label}/f0"] = digest(result.f0_hz)
        out[f"choir/{label}/stems"] = digest(result.stems)
        out[f"choir/{label}/synth"] = digest(result.synth)
        out[f"choir/{label}/params_json"] = digest(result.params_json())
        cs = choir_session.start_choir_session(result)
        cs = choir_session.set_part_edits(cs, 2, Edits(scale_degrees=2, scale_key="G", scale_mode="major"))
        cs = choir_session.set_part_edits(cs, 0, Edits(formant_shift=1.1, breathiness_db=6.0))
        out[f"choir/{label}/remix"] = digest(choir_session.remix(cs))
        out[f"choir/{label}/edited_json"] = digest(choir_session.parameters_json(cs))

    speech, _ = audio.load_audio(EXAMPLES / "speech_en.wav", target_sr=vocode.SAMPLE_RATE)
    for method in vocode.METHODS:
        result = vocode.vocode(speech[:vocode.SAMPLE_RATE * 2], method, None, torch.Generator().manual_seed(0))
        out[f"vocode/{method}"] = digest(result.audio)

    grid, plan = compose.compose("s-ape", 8, None, "G major", 1.0, 0, 3)
    out["compose/grid"] = digest(grid)
    out["compose/sung"] = digest(compose_io.sing_choir(grid, 22050, seed=3))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the fingerprints here (JSON)")
    parser.add_argument("--check", type=Path, help="compare with these fingerprints; exit 1 on a difference")
    args = parser.parse_args()
    prints = fingerprints()
    if args.out:
        args.out.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    if args.check:
        expected = json.loads(args.check.read_text())
        differ = sorted(k for k in expected.keys() | prints.keys() if expected.get(k) != prints.get(k))
        for key in differ:
            print(f"DIFFERS {key}: {expected.get(key)} -> {prints.get(key)}")
        print(f"{len(prints) - len(differ)} of {len(expected)} fingerprints identical")
        return 1 if differ else 0
    print(json.dumps(prints, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
