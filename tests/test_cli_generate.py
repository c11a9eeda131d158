"""`python -m hiaudio generate`: MIDI, MusicXML and WAV from the shipped composer; bad settings exit 2."""
import subprocess
import sys

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from hiaudio import cli
from hiaudio.data.chorales import PARTS
from hiaudio.data.tokens import VOICE_RANGES
from hiaudio.studio import compose, compose_io


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hiaudio", "generate", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_generates_midi_xml_and_wav(tmp_path):
    out = tmp_path / "c.mid"
    r = _cli("--out", str(out), "--bars", "2", "--phrases", "1", "--pe", "s-rpe", "--seed", "3", "--key", "A minor",
             "--xml", str(tmp_path / "c.musicxml"), "--wav", str(tmp_path / "c.wav"), "--gm-wav", str(tmp_path / "gm.wav"))
    assert r.returncode == 0, r.stderr
    assert "2 bars" in r.stdout and "A minor" in r.stdout
    pm = pretty_midi.PrettyMIDI(str(out))
    assert len(pm.instruments) == 4 and all(
        VOICE_RANGES[p][0] <= n.pitch <= VOICE_RANGES[p][1] for i, p in zip(pm.instruments, PARTS) for n in i.notes)
    for name in ("c.wav", "gm.wav"):  # sung by our voice model; played by the soundfont
        wave, sr = sf.read(tmp_path / name)
        assert sr == 22050 and len(wave) > 2 * 4 * 60 / compose_io.DEFAULT_TEMPO_QPM * sr and np.abs(wave).max() > 0.05
    assert (tmp_path / "c.musicxml").stat().st_size > 1000


def _cli_in_process(capsys, *args) -> tuple[int, str]:
    """(exit status, stderr) of `python -m hiaudio generate ...` run in this process."""
    try:
        code = cli.main(["generate", *args])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--bars", "0"], "bars must be"),
    (["--bars", "many"], "invalid int value"),
    (["--pe", "rope"], "invalid choice"),
    (["--key", "H major"], "cannot read the key"),
    (["--temperature", "0"], "temperature"),
    (["--bars", "4", "--phrases", "5"], "phrases must be"),
    (["--key", "auto"], "--key auto reads the key"),
])
def test_cli_bad_settings_exit_2(tmp_path, capsys, args, message):
    code, err = _cli_in_process(capsys, "--out", str(tmp_path / "x.mid"), *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def test_cli_corrupt_midi_to_continue_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"\x00" * 100)
    code, err = _cli_in_process(capsys, "--out", str(tmp_path / "x.mid"), "--continue", str(bad))
    assert code == 2 and "not a readable MIDI" in err and not (tmp_path / "x.mid").exists()


def test_cli_samples_with_the_default_sampler():
    args = cli.build_parser().parse_args(["generate", "--out", "x.mid"])
    assert (args.temperature, args.top_k) == (compose.DEFAULT_TEMPERATURE, compose.DEFAULT_TOP_K) == (1.0, 10)
