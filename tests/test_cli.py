"""`python -m hiaudio ...`: known answers and bad input (a message and exit status 2)."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from hiaudio import cli
from hiaudio.voice import files
from hiaudio.dsp import pitch
from tests.helpers import harmonic_voice

SR = 22050


@pytest.fixture(scope="module")
def voice_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "voice.wav"
    audio, _ = harmonic_voice(180.0, SR, duration_s=1.2)
    sf.write(path, audio, SR)
    return path


def median_f0(path):
    audio, sr = sf.read(path, dtype="float32")
    f0, _ = pitch.estimate_f0(torch.as_tensor(audio), sr, round(0.005 * sr))
    return float(f0[f0 > 0].median()), len(audio)


def test_edit_transpose_moves_median_f0_and_keeps_duration(voice_wav, tmp_path):
    out = tmp_path / "up.wav"
    assert cli.main(["edit", str(voice_wav), "--out", str(out), "--transpose", "3"]) == 0
    f0_in, n_in = median_f0(voice_wav)
    f0_out, n_out = median_f0(out)
    assert n_out == n_in
    assert abs(1200 * math.log2(f0_out / f0_in) - 300) < 10


def test_edit_degrees_moves_along_the_scale(voice_wav, tmp_path):
    """180 Hz sits nearest F3 in C major; two scale steps up is A3: +4 semitones."""
    out = tmp_path / "third.wav"
    assert cli.main(["edit", str(voice_wav), "--out", str(out), "--degrees", "2", "--key", "C",
                     "--scale", "major"]) == 0
    assert abs(1200 * math.log2(median_f0(out)[0] / median_f0(voice_wav)[0]) - 400) < 15


def test_analyze_then_synth(voice_wav, tmp_path):
    params = tmp_path / "p.json"
    out = tmp_path / "re.wav"
    assert cli.main(["analyze", str(voice_wav), "--out", str(params)]) == 0
    data = json.loads(params.read_text())
    assert data["schema"] == "hiaudio.voice_params/1" and len(data["f0_hz"]) > 100
    assert cli.main(["synth", str(params), "--out", str(out)]) == 0
    f0_in, n_in = median_f0(voice_wav)
    f0_out, n_out = median_f0(out)
    assert abs(1200 * math.log2(f0_out / f0_in)) < 10 and n_out >= n_in


def test_edit_formant_shift_keeps_f0_and_writes_params(voice_wav, tmp_path):
    out, params = tmp_path / "f.wav", tmp_path / "f.json"
    assert cli.main(["edit", str(voice_wav), "--out", str(out), "--formant-shift", "1.2",
                     "--params-out", str(params)]) == 0
    assert abs(1200 * math.log2(median_f0(out)[0] / median_f0(voice_wav)[0])) < 10
    analysis, edits = files.load(params)  # the analysis and the edits, as the studio exports them
    assert edits.formant_shift == 1.2 and np.all(analysis.formant_ratio == 1.0)
    again = tmp_path / "again.wav"  # synth renders the file's edits: the same sound
    assert cli.main(["synth", str(params), "--out", str(again)]) == 0
    assert np.abs(sf.read(again)[0][:len(sf.read(out)[0])] - sf.read(out)[0]).max() < 2e-3


def _write(path, data, sr=SR, **kw):
    sf.write(path, data, sr, **kw)
    return path


BAD_INPUTS = {
    "empty file": (lambda p: (p.write_bytes(b""), p)[1], "empty"),
    "zero-length audio": (lambda p: _write(p, np.zeros(0, np.float32)), "no samples"),
    "silence": (lambda p: _write(p, np.zeros(SR, np.float32)), "silen"),
    "NaN samples": (lambda p: _write(p, np.full(SR, np.nan, np.float32), subtype="FLOAT"), "NaN"),
    "text named .wav": (lambda p: (p.write_text("hello, I am not audio"), p)[1], "not"),
    "over the limit": (lambda p: _write(p, 0.1 * np.ones(SR * 601, np.float32), sr=SR), "limit"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_gives_a_message_and_exit_2(name, tmp_path, capsys):
    make, words = BAD_INPUTS[name]
    path = make(tmp_path / "bad.wav")
    code = cli.main(["edit", str(path), "--out", str(tmp_path / "out.wav"), "--transpose", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and words.lower() in err.lower() and "Traceback" not in err
    assert not (tmp_path / "out.wav").exists()


def test_96k_stereo_24bit_is_accepted(tmp_path):
    audio, _ = harmonic_voice(200.0, 96000, duration_s=1.0)
    stereo = np.stack([audio, 0.5 * audio], 1)
    path = _write(tmp_path / "hi.wav", stereo, sr=96000, subtype="PCM_24")
    out = tmp_path / "out.wav"
    assert cli.main(["edit", str(path), "--out", str(out)]) == 0
    data, sr = sf.read(out)
    assert sr == SR and data.ndim == 1 and abs(len(data) - SR) <= 1


def test_missing_file_and_bad_edit_value(tmp_path, capsys, voice_wav):
    assert cli.main(["analyze", str(tmp_path / "nope.wav"), "--out", str(tmp_path / "p.json")]) == 2
    assert "no file at" in capsys.readouterr().err.lower()
    assert cli.main(["edit", str(voice_wav), "--out", str(tmp_path / "o.wav"), "--formant-shift", "9"]) == 2
    assert "formant_shift" in capsys.readouterr().err


def test_corrupt_params_file(tmp_path, capsys):
    bad = tmp_path / "p.json"
    bad.write_text('{"schema": "hiaudio.voice_params/1", "f0_hz": "nope"}')
    assert cli.main(["synth", str(bad), "--out", str(tmp_path / "o.wav")]) == 2
    assert "lacks" in capsys.readouterr().err


def test_module_entry_point_runs(voice_wav, tmp_path):
    out = tmp_path / "o.wav"
    proc = subprocess.run([sys.executable, "-m", "hiaudio", "edit", str(voice_wav), "--out", str(out),
                           "--preset", "male -> female"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.exists()
    bad = subprocess.run([sys.executable, "-m", "hiaudio", "synth", str(voice_wav), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "JSON" in bad.stderr
