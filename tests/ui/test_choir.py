"""The studio's Choir tab through its HTTP API (gradio_client) and its handlers."""
import json

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from hiaudio.studio import choir_session
from hiaudio.voice.edit import Edits
from hiaudio.ui import choir as choir_ui
from hiaudio.ui.common import NOTE_FIELDS

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
EXAMPLE, SCORE = choir_ui.choir_examples()[0]


def _edit_values(**changes):
    """The Choir tab's edit controls' values (CHOIR_EDITS order): defaults, C major, `changes`."""
    return list(Edits(scale_key="C", scale_mode="major", **changes).values(choir_ui.CHOIR_EDITS))


def _path(player):
    """A player's file: gradio_client gives a path, or an update dict holding it."""
    return player["value"] if isinstance(player, dict) else player


def _trace(plot_output, name):
    fig = json.loads(plot_output["plot"])
    (trace,) = [t for t in fig["data"] if t.get("name") == name]
    return np.array([np.nan if v is None else v for v in trace["y"]], float)


@pytest.fixture(scope="module")
def separated(studio_url):
    c = Client(studio_url, verbose=False)
    out = c.predict(handle_file(EXAMPLE), handle_file(SCORE), 4, api_name="/separate")
    return c, out


def test_separate_the_example_with_its_score(separated):
    c, out = separated
    status, remix, plot, downloads, *players = out[:8]
    assert "into 4 parts" in status and "with its score" in status and downloads is None
    assert out[-3] == "A"  # bwv153.5 is in A (music21: A minor; its opening mixes C and C#), found from the pitches
    mix, sr = sf.read(remix)
    original, sr0 = sf.read(EXAMPLE)
    assert sr == 16000 and abs(len(mix) - len(original)) <= 1
    # unedited, the parts are the masked stems: their sum is the recording (up to level)
    corr = np.corrcoef(mix[:len(original)], original[:len(mix)])[0, 1]
    assert corr > 0.99
    for name in ("soprano", "alto", "tenor", "bass"):
        assert np.isfinite(_trace(plot, name)).sum() > 100  # each part's F0 drawn
    labels = [p["label"] for p in players[:4]]
    assert all(label.startswith(f"{n} (separated, confidence ") for label, n in zip(labels, choir_ui.PARTS)), labels
    assert "⚠" not in status  # its own score, heard: nothing to warn about


def test_reharmonize_the_tenor_a_third_up_and_mute_the_rest(separated):
    c, _ = separated
    status, remix, plot, downloads, *players = c.predict("tenor", *_edit_values(scale_degrees=2),
                                                         api_name="/choir_edit")
    assert "tenor**: re-harmonize +2 degrees in C major" in status  # the key the request gave
    before, after = _trace(plot, "tenor (separated)"), _trace(plot, "tenor (edited)")
    both = np.isfinite(before) & np.isfinite(after)
    moved = 12 * np.log2(after[both] / before[both])
    assert np.median(moved) == pytest.approx(3.5, abs=0.75)  # a third: 3 or 4 semitones
    tenor, _ = sf.read(_path(players[2]))
    # solo the tenor: the remix is the edited tenor alone
    solo, _ = c.predict(*([0.0] * 4), *([False] * 4), False, False, True, False, api_name="/choir_mix")
    mix, _ = sf.read(solo)
    assert np.corrcoef(mix[:len(tenor)], tenor[:len(mix)])[0, 1] > 0.99
    # reset: the tenor plays its stem again
    out = c.predict("tenor", api_name="/choir_reset")
    assert "tenor**: as separated" in out[len(choir_ui.PART_EDITS) + 1 + len(NOTE_FIELDS)]


def test_export_writes_parts_remix_and_params(separated):
    c, _ = separated
    files, status = c.predict(api_name="/choir_export")
    assert "Exported 6 files" in status
    names = sorted(p.rsplit("/", 1)[-1] for p in files)
    assert any(n.endswith("_remix.wav") for n in names) and any(n.endswith("_bass.wav") for n in names)
    params = json.loads(open([p for p in files if p.endswith(".json")][0]).read())
    assert set(params["voices"]) == {"soprano", "alto", "tenor", "bass"}
    assert "edits" in params["voices"]["tenor"]


def test_edit_before_separating_and_bad_score_say_what_to_do(studio_url, separated, tmp_path):
    fresh = Client(studio_url, verbose=False)
    with pytest.raises(AppError, match="Separate a recording first"):
        fresh.predict("soprano", *_edit_values(transpose_semitones=2), api_name="/choir_edit")
    c, _ = separated
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    with pytest.raises(AppError, match="cannot read the score"):
        c.predict(handle_file(EXAMPLE), handle_file(str(bad)), 4, api_name="/separate")
    # the earlier separation is still there to edit
    status = c.predict("alto", *_edit_values(transpose_semitones=-12), api_name="/choir_edit")[0]
    assert "alto**: transpose -12 st" in status


def test_a_slider_move_redraws_the_plot_only_when_the_pitch_moves(duet_separation):
    import plotly.graph_objects as go

    from hiaudio.studio import choir_plots

    state = choir_ui.ChoirTab(session=choir_session.start_choir_session(duet_separation),
                              spectrogram=choir_plots.mixture_spectrogram(duet_separation.mixture, 16000))
    out = choir_ui.edit_part(state, "alto", *_edit_values(formant_shift=1.2, breathiness_db=6.0))
    assert out[3] == {"__type__": "update"}  # skipped: the F0 drawn is unchanged
    assert "alto**: formant shift 1.2x, breathiness +6 dB" in out[1]
    out = choir_ui.edit_part(out[0], "alto", *_edit_values(formant_shift=1.2, transpose_semitones=-2))
    assert isinstance(out[3], go.Figure)
    edited = [t for t in out[3].data if t.name == "alto (edited)"]
    assert len(edited) == 1


def test_a_clip_over_the_tabs_limit_is_refused_and_the_session_kept(separated, tmp_path):
    c, _ = separated
    long_clip = tmp_path / "long_choir.wav"
    t = np.arange(int((choir_ui.MAX_CHOIR_S + 5) * 16000)) / 16000
    sf.write(long_clip, 0.2 * np.sin(2 * np.pi * 220 * t), 16000)
    with pytest.raises(AppError, match=f"limit is {choir_ui.MAX_CHOIR_S:.0f} s"):
        c.predict(handle_file(str(long_clip)), None, 4, api_name="/separate")
    assert "soprano**: transpose +1 st" in c.predict("soprano", *_edit_values(transpose_semitones=1), api_name="/choir_edit")[0]


def test_blind_separation_says_so_in_the_status_and_labels(monkeypatch):
    """Without the score the status keeps the blind warning (a toast goes away), and each part's
    label carries its blind confidence, "low" under LOW_CONFIDENCE (an alto at 0.40 here)."""
    from hiaudio.separation import part_f0

    monkeypatch.setattr(choir_ui.gr, "Warning", lambda message: None)  # no page to toast on
    monkeypatch.setattr(part_f0, "BLIND_PART_CONFIDENCE", (0.61, 0.40, 0.72, 0.78))
    out = choir_ui.separate_clip(EXAMPLE, None, 4, choir_ui.ChoirTab(), progress=lambda *a, **k: None)
    status, players = out[1], out[5:9]
    assert "from the mixture alone" in status and "⚠ Blind separation" in status and "Give the score" in status
    assert 0.40 < choir_ui.choir.LOW_CONFIDENCE < 0.61
    assert players[0]["label"] == "soprano (separated, confidence 0.61)"
    assert players[1]["label"] == "alto (separated, confidence 0.40 — low)"
