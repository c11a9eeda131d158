"""The whole studio: its five tabs in one `gr.Blocks`, the queue, and the launch settings.

`app.py` builds it (`build_demo`) and launches it with `launch_options()`; the tests do the same.
"""
from __future__ import annotations

import os

import gradio as gr
import torch

from hiaudio import audio
from hiaudio.ui.choir import build_choir_tab
from hiaudio.ui.common import KEYBOARD_JS, QUEUE_SIZE
from hiaudio.ui.compose import build_compose_tab
from hiaudio.ui.lab import build_lab_tab
from hiaudio.ui.vocoders import build_vocoders_tab
from hiaudio.ui.voice import EXAMPLES_DIR, build_voice_tab

CONCURRENCY_LIMIT = 2  # handlers at once; the studio runs on CPU and a Space has two cores
SESSION_CAPACITY = 100  # live sessions kept; each holds a clip, its analysis and two renders
# One torch thread per handler: the queue runs CONCURRENCY_LIMIT handlers at once on a small
# CPU, and torch's thread pool stalls when handlers (or anything else) compete for the cores --
# measured here, a transpose move took 29 ms alone at 2 threads but 0.79 s with one competing
# process, against 48 ms at 1 thread (BENCHMARKS.md); a lab landscape 1.3 s at 1 thread, 9-10 s
# at 2 with a second job running. HIAUDIO_TORCH_THREADS overrides it.
TORCH_THREADS = int(os.environ.get("HIAUDIO_TORCH_THREADS", "1"))


def build_demo(queue_size: int = QUEUE_SIZE) -> gr.Blocks:
    """The studio; queue_size: requests that may wait (the tests shrink it to fill it)."""
    torch.set_num_threads(TORCH_THREADS)
    with gr.Blocks(title="hiaudio", analytics_enabled=False) as demo:
        gr.Markdown("# hiaudio\nA sound-transformation studio built on an interpretable "
                    "source-filter voice model: pitch, formants, brightness and breath as sliders.")
        with gr.Tabs():
            with gr.Tab("Voice", id="voice"):
                build_voice_tab()
            with gr.Tab("Choir", id="choir"):
                build_choir_tab()
            with gr.Tab("Analysis lab", id="lab"):
                build_lab_tab()
            with gr.Tab("Vocoders", id="vocoders"):
                build_vocoders_tab()
            with gr.Tab("Compose", id="compose"):
                build_compose_tab()
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=queue_size)
    return demo


def launch_options() -> dict:
    """demo.launch keyword arguments shared by `python app.py` and the tests."""
    return {"ssr_mode": False, "max_file_size": audio.MAX_UPLOAD_BYTES,
            "state_session_capacity": SESSION_CAPACITY, "allowed_paths": [str(EXAMPLES_DIR)],
            "js": KEYBOARD_JS,  # arrow keys on a slider render, as a mouse release does
            # gradio's run history keeps each of a browser's last 100 runs, plots included, in its
            # localStorage, re-read and re-written several times per run: with a session of moves
            # it cost the page ~0.1 s per move (bench/browser_roundtrip.py). Edits have undo.
            "run_history": False}
