"""Shared fixtures: one torch thread everywhere, the studio served once, a sung vowel analysed once.

The tree under tests/ mirrors the package (tests/voice/test_edit.py tests hiaudio/voice/edit.py,
tests/ui/test_choir.py the Choir tab, ...); tests of a whole path (the CLI, the limits) sit at the top.
"""
import os

import pytest
import torch

from tests.helpers import free_port, harmonic_voice

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
SR = 16000


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Small ops on a shared 2-core CPU stall in torch's thread pool (a multi-threaded op waits
    for a descheduled worker: the F0 tracker took 11 s instead of 0.2 s for 3 s of audio), and
    the studio runs every handler on one thread (hiaudio/ui/studio.py): the tests do too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def studio_url():
    """URL of app.demo served on a free localhost port in this process (closed at the end)."""
    import app
    from hiaudio.ui.studio import launch_options

    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                    quiet=True, **launch_options())
    yield app.demo.local_url
    app.demo.close()


@pytest.fixture(scope="session")
def vowel():
    """(audio, true F0, its analysis): a 1.5 s synthetic vowel at 150 Hz with 30 cents of vibrato, 16 kHz."""
    from hiaudio.voice import analyze

    audio, f0 = harmonic_voice(150.0, SR, vibrato_cents=30)
    return audio, f0, analyze(audio, SR)


@pytest.fixture(scope="session")
def duet_separation():
    """Two sung lines a fifth-plus apart (our voice model), separated with their score."""
    import numpy as np

    from hiaudio.separation.choir import separate_choir
    from tests.helpers import sung

    upper = sung([(72, 0.1, 1.0), (74, 1.1, 1.0)], "a", 1.15, seed=0)
    lower = sung([(60, 0.1, 1.0), (62, 1.1, 1.0)], "o", 1.08, seed=1)
    n = min(len(upper), len(lower))
    mix = 0.3 * upper[:n] / np.abs(upper).max() + 0.3 * lower[:n] / np.abs(lower).max()
    return separate_choir(mix, SR, 2, notes=[[(72, 0.1, 1.0), (74, 1.1, 1.0)], [(60, 0.1, 1.0), (62, 1.1, 1.0)]])
