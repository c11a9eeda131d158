"""Eight people at once through the HTTP API: each session gets the results of its own input.

Six sessions analyze a voice of their own pitch and then transpose it; two separate the choir
example, one blind and one with the score, and re-harmonize a part. Run together, every
answer must belong to the session that asked (no cross-talk through globals or caches), and
the server's memory must stay bounded.
"""
import re
import resource
import threading

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file

import app
from hiaudio.studio.session import start_session
from hiaudio.ui import choir as choir_ui
from hiaudio.ui import voice as voice_ui
from hiaudio.ui.common import QUEUE_SIZE
from hiaudio.voice import Edits
from tests.helpers import harmonic_voice, voice_outputs

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
N_VOICE_SESSIONS = 6
PITCHES_HZ = [110.0 * 2 ** (i * 5 / 12) for i in range(N_VOICE_SESSIONS)]  # fourths apart: no two alike
MAX_RSS_GROWTH_MB = 1500  # the server (this process) may grow this much under the eight sessions


def _median_pitch_hz(status: str) -> float:
    return float(re.search(r"median pitch (\d+) Hz", status).group(1))


def test_eight_sessions_at_once(studio_url, tmp_path):
    paths = []
    for i, f0 in enumerate(PITCHES_HZ):
        wave, _ = harmonic_voice(f0, 22050, 2.0, vibrato_cents=20, seed=i)
        path = tmp_path / f"voice_{i}.wav"
        sf.write(path, wave, 22050)
        paths.append(path)
    recording, score = choir_ui.choir_examples()[0]
    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results, errors = {}, []

    def voice_session(i):
        try:
            c = Client(studio_url, verbose=False)
            analysed = c.predict(handle_file(str(paths[i])), api_name="/analyze")
            rendered = c.predict(*Edits(transpose_semitones=i).values(voice_ui.VOICE_EDITS), api_name="/render")
            results[i] = (voice_outputs(analysed)["status"], voice_outputs(rendered)["status"])
        except Exception as err:  # noqa: BLE001 -- reported below with the session's number
            errors.append((i, repr(err)))

    def choir_session(i, with_score):
        try:
            c = Client(studio_url, verbose=False)
            out = c.predict(handle_file(recording), handle_file(score) if with_score else None, 4,
                            api_name="/separate")
            edits = Edits(scale_degrees=2 if with_score else -2, scale_key="A", scale_mode="minor")
            edited = c.predict("alto", *edits.values(choir_ui.CHOIR_EDITS), api_name="/choir_edit")
            results[i] = (out[0], edited[0])
        except Exception as err:  # noqa: BLE001
            errors.append((i, repr(err)))

    threads = [threading.Thread(target=voice_session, args=(i,)) for i in range(N_VOICE_SESSIONS)]
    threads += [threading.Thread(target=choir_session, args=(N_VOICE_SESSIONS, True)),
                threading.Thread(target=choir_session, args=(N_VOICE_SESSIONS + 1, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    for i, f0 in enumerate(PITCHES_HZ):
        analysed, rendered = results[i]
        assert f"voice_{i}.wav" in analysed
        # its own voice: the same pitch as this clip analysed alone (not the nominal f0: the
        # tracker may take a strong 2nd harmonic, but it must do so the same way under load)
        alone = start_session(*sf.read(paths[i], dtype="float32")).params
        alone_hz = float(np.median(alone.f0_hz[alone.voiced >= 0.5]))
        assert abs(_median_pitch_hz(analysed) - alone_hz) <= 1.0, (i, analysed, alone_hz)
        if i:
            assert f"transpose +{i}" in rendered, (i, rendered)  # its own edit
    scored, blind = results[N_VOICE_SESSIONS], results[N_VOICE_SESSIONS + 1]
    assert "with its score" in scored[0] and "+2 degrees in A minor" in scored[1]
    assert "from the mixture alone" in blind[0] and "-2 degrees in A minor" in blind[1]
    rss_after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the test process (server + clients): {rss_before_mb:.0f} -> {rss_after_mb:.0f} MB")
    assert rss_after_mb - rss_before_mb < MAX_RSS_GROWTH_MB


def test_the_queue_is_bounded():
    assert QUEUE_SIZE and QUEUE_SIZE <= 64
    assert app.demo._queue.max_size == QUEUE_SIZE  # gradio turns request 33 away: "queue is full"
