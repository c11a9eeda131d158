"""The studio's limits -- time per request, queue, upload size, concurrent heavy jobs -- are
stated in every tab, enforced on the server, and a failing model call leaves the session intact."""
import threading
import time
import zipfile

import gradio as gr
import httpx
import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import app
from hiaudio.ui import voice as voice_ui
from hiaudio.ui.studio import build_demo, launch_options
from hiaudio import audio, limits
from hiaudio.separation import choir, comb, score
from hiaudio.studio import compose, vocode
from hiaudio.ui import choir as choir_ui
from hiaudio.ui import compose as compose_ui
from hiaudio.ui import vocoders as vocoders_ui
from hiaudio.ui.common import QUEUE_SIZE, guard
from hiaudio.voice import Edits
from tests.helpers import free_port, voice_outputs

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
VOICE_EXAMPLE = voice_ui.example_clips()[0]


# ---- the deadline itself --------------------------------------------------------------------

def test_check_deadline_is_silent_outside_a_request_and_raises_past_its_limit():
    limits.check_deadline()  # the CLI, benchmarks and training have no deadline
    with limits.deadline(60, "Work"):
        limits.check_deadline()
    with limits.deadline(0.0, "Work"):
        time.sleep(0.01)
        with pytest.raises(limits.TimeLimitError, match="Work was stopped after 0 s"):
            limits.check_deadline()
    with limits.deadline(0.0, "Outer"):  # an enclosing, earlier deadline wins over a later one
        time.sleep(0.01)
        with limits.deadline(60, "Inner"):
            with pytest.raises(limits.TimeLimitError, match="Outer"):
                limits.check_deadline()


def test_a_real_loop_stops_at_the_deadline():
    """The comb fit checks once per update: under an expired deadline it stops at the first."""
    mag = np.random.default_rng(0).random((513, 40)) + 1e-3
    f0 = np.full((2, 40), 220.0)
    f0[1] = 330.0
    comb.fit_combs(mag, f0, 16000, 1024, n_iter=2)  # runs outside a deadline
    with limits.deadline(0.0, "Separation"):
        time.sleep(0.01)
        with pytest.raises(limits.TimeLimitError):
            comb.fit_combs(mag, f0, 16000, 1024, n_iter=2)


def test_guard_turns_a_time_limit_into_a_message_for_plain_and_generator_handlers():
    @guard("Slow work", "try a shorter clip", time_limit_s=0.05)
    def plain():
        while True:
            limits.check_deadline()
            time.sleep(0.01)

    with pytest.raises(gr.Error, match="Slow work was stopped after 0 s.*try a shorter clip"):
        plain()

    @guard("Streaming", time_limit_s=0.3)
    def streaming():
        for i in range(100):
            limits.check_deadline()
            time.sleep(0.05)
            yield i

    # gradio resumes a generator handler on whichever worker thread is free: the request's
    # deadline must follow it from one resumption to the next
    gen, got, errors = streaming(), [], []

    def resume():
        try:
            got.append(next(gen))
        except gr.Error as err:
            errors.append(str(err))

    while not errors:
        worker = threading.Thread(target=resume)
        worker.start()
        worker.join()
    assert 2 <= len(got) < 20 and "Streaming was stopped" in errors[0]


def test_separation_past_the_request_limit_says_so_and_keeps_the_session(monkeypatch):
    state = choir_ui.ChoirTab()
    monkeypatch.setattr(limits, "REQUEST_TIME_LIMIT_S", 0.0)
    with pytest.raises(gr.Error, match="stopped after 0 s.*What you had is kept"):
        choir_ui.separate_clip(*choir_ui.choir_examples()[0], 4, state)
    assert state == choir_ui.ChoirTab()


# ---- the limits are stated in every tab, from the constants the server enforces --------------

def _component(elem_id):
    (comp,) = [c for c in app.demo.config["components"] if c.get("props", {}).get("elem_id") == elem_id]
    return comp["props"]


@pytest.mark.parametrize("tab, heavy, seconds", [
    ("voice", "analysis", audio.MAX_DURATION_S), ("choir", "separation", choir_ui.MAX_CHOIR_S),
    ("lab", "fit", None), ("vocoders", "vocoding", audio.MAX_DURATION_S), ("compose", "composition", None)])
def test_every_tab_states_its_limits(tab, heavy, seconds):
    text = _component(f"{tab}-limits")["value"]
    assert f"stops after {limits.REQUEST_TIME_LIMIT_S:.0f} s" in text
    assert f"one {heavy} runs at a time" in text and f"up to {QUEUE_SIZE} requests wait" in text
    if seconds is not None:
        assert f"{audio.MAX_UPLOAD_BYTES / 2**20:.0f} MB and {seconds:.0f} s" in text


def test_heavy_jobs_run_one_at_a_time_and_the_queue_is_bounded():
    heavy = {"analyze", "separate", "fit", "vocode", "compose"}
    limits_by_api = {fn.api_name: fn.concurrency_limit for fn in app.demo.fns.values() if fn.api_name in heavy}
    assert limits_by_api == {name: 1 for name in heavy}
    assert app.demo._queue.max_size == QUEUE_SIZE


def test_an_upload_over_the_size_limit_is_refused_by_the_server(studio_url, tmp_path):
    big = tmp_path / "big.wav"
    with open(big, "wb") as f:
        f.truncate(audio.MAX_UPLOAD_BYTES + 1)
    with open(big, "rb") as f:
        reply = httpx.post(f"{studio_url.rstrip('/')}/gradio_api/upload", files={"files": ("big.wav", f)},
                           timeout=60)
    assert reply.status_code == 413 and f"{audio.MAX_UPLOAD_BYTES} bytes" in reply.text


def test_a_score_over_the_size_limit_or_a_zip_bomb_is_refused_before_parsing(monkeypatch, tmp_path):
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + b"\0" * (score.MAX_SCORE_BYTES + 1))
    with pytest.raises(score.SeparationError, match="scores up to 5 MB"):
        score.load_score(big)
    bomb = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.xml", b"\0" * (score.MAX_SCORE_UNZIPPED_BYTES + 1))
    assert bomb.stat().st_size < score.MAX_SCORE_BYTES
    with pytest.raises(score.SeparationError, match="expands to"):
        score.load_score(bomb)


# ---- a full queue: "try again", and the queued requests still run ------------------------------

def test_a_full_queue_turns_requests_away_with_try_again(monkeypatch, tmp_path):
    started, release = threading.Event(), threading.Event()
    short = np.zeros(1600, np.float32) + 0.01

    def slow_load(path):
        started.set()
        release.wait(30)
        return short, "held"

    monkeypatch.setattr(vocoders_ui, "load_clip", slow_load)
    demo = build_demo(queue_size=2)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                **launch_options())
    try:
        client = Client(demo.local_url, verbose=False)
        args = (handle_file(VOICE_EXAMPLE), ["griffin-lim"], 6, 1, 1, 0)
        first = client.submit(*args, api_name="/vocode")
        assert started.wait(30)
        waiting = [client.submit(*args, api_name="/vocode") for _ in range(2)]
        deadline = time.monotonic() + 30
        while len(demo._queue) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(demo._queue) == 2
        turned_away = client.submit(*args, api_name="/vocode")
        with pytest.raises(Exception, match="Queue is full! Please try again"):
            turned_away.result(timeout=30)
        release.set()
        for job in [first, *waiting]:
            table = job.result(timeout=60)[0]
            assert table["data"][0][0].startswith("Griffin-Lim")
    finally:
        release.set()
        demo.close()


# ---- a failing model call: an error for that request, the session's other state intact -------

def test_failing_model_calls_in_each_tab_leave_the_session_intact(studio_url, monkeypatch):
    c = Client(studio_url, verbose=False)
    edits = list(Edits(scale_key="C", scale_mode="major").values(voice_ui.VOICE_EDITS))
    analysed = c.predict(handle_file(VOICE_EXAMPLE), *edits, api_name="/analyze")
    assert analysed[0] is not None  # the player's file

    def broken(*args, **kwargs):
        raise RuntimeError("simulated model failure")

    monkeypatch.setattr(vocode, "vocode", broken)
    with pytest.raises(AppError, match="Vocoding failed unexpectedly \\(RuntimeError\\). What you had is kept"):
        c.predict(handle_file(VOICE_EXAMPLE), ["griffin-lim"], 6, 1, 1, 0, api_name="/vocode")
    monkeypatch.setattr(compose, "sample", broken)
    with pytest.raises(AppError, match="Composing failed unexpectedly"):
        c.predict("s-ape", compose_ui.OFF, 2, 1, "C major", 0.9, 0, 0, False, None, True, api_name="/compose")
    monkeypatch.setattr(choir, "separate_choir", broken)
    with pytest.raises(AppError, match="Separation failed unexpectedly"):
        c.predict(*map(handle_file, choir_ui.choir_examples()[0]), 4, api_name="/separate")

    # the Voice tab's analysed clip is still there: an edit renders it an octave up
    out = voice_outputs(c.predict(*([12] + edits[1:]), api_name="/render"))
    wave, sr = sf.read(out["audio"])
    assert len(wave) > sr // 2 and np.isfinite(wave).all()
    assert "transpose +12 st" in out["status"]
    monkeypatch.undo()
    assert c.predict("s-ape", compose_ui.OFF, 2, 1, "C major", 0.9, 0, 0, False, None, True,
                     api_name="/compose")[0] is not None  # the compose tab works again
