"""hiaudio studio: the browser front end, a thin shell around `hiaudio.ui` (the only package
that imports gradio). Each tab lives in its own module: ui/voice.py, ui/choir.py, ui/lab.py,
ui/vocoders.py, ui/compose.py; ui/studio.py puts them together.

    python app.py                      # serves http://127.0.0.1:7860
    from app import demo               # build without launching (tests, Spaces)
"""
from __future__ import annotations

import logging

from hiaudio.ui.studio import build_demo, launch_options

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)  # handler failures are logged with tracebacks
    demo.launch(**launch_options())
