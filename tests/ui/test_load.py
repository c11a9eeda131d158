"""Many people at once: no result lost or cut off (issue 20, item 8).

16 clients, each a browser session of its own (gradio_client), analyse the same clip and make
63 transpose moves each (1008 in all) that keep coming back to the same four values, so that
identical results are asked for again and again, by one client and by several at once -- the
case where a result's file used to be rewritten while it was being sent. Every result must
arrive whole: a WAV of the clip's length.
"""
import threading

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from hiaudio.ui import voice as voice_ui
from hiaudio.voice import Edits
from tests.helpers import harmonic_voice

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
N_CLIENTS = 16
MOVES = 63  # per client: 1008 moves in all
TRANSPOSES = (0, 1, 2, 1)  # the same moves, over and over
SR = 22050


def test_a_thousand_moves_from_sixteen_clients_all_arrive_whole(studio_url, tmp_path):
    clip, _ = harmonic_voice(196.0, SR, duration_s=0.5)
    results, errors = [], []

    def client(i: int):
        path = tmp_path / f"voice_{i}.wav"
        sf.write(path, clip, SR)
        try:
            c = Client(studio_url, verbose=False)
            c.predict(handle_file(str(path)), api_name="/analyze")
            for k in range(MOVES):
                edits = Edits(transpose_semitones=TRANSPOSES[k % len(TRANSPOSES)])
                audio = c.predict(*edits.values(voice_ui.VOICE_EDITS), api_name="/render")[0]
                results.append((i, k, audio))
        except Exception as err:  # noqa: BLE001 -- counted below, with the client's number
            errors.append((i, repr(err)[:300]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not errors, errors[:3]
    assert len(results) == N_CLIENTS * MOVES
    short = []
    for i, k, path in results:
        wave, sr = sf.read(path, dtype="float32")
        if sr != SR or len(wave) != len(clip) or not np.isfinite(wave).all() or np.abs(wave).max() < 0.01:
            short.append((i, k, sr, len(wave)))
    assert not short, short[:5]  # no empty, cut-off or silent result
