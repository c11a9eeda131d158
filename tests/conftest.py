"""Shared fixtures. `studio_url`: the studio app (app.py), served once per test session."""
import os

import pytest

from tests.helpers import free_port

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def studio_url():
    """URL of app.demo served on a free localhost port in this process (closed at the end)."""
    import app

    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                    quiet=True, **app.launch_options())
    yield app.demo.local_url
    app.demo.close()
