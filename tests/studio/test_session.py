"""hiaudio/studio/session.py: a voice-editing session, a value that re-renders only what an edit changes."""
import numpy as np
import pytest

from hiaudio.studio import session
from hiaudio.voice import edit

SR = 16000


def test_session_renders_only_what_changed(vowel):
    audio, _, _ = vowel
    start = session.start_session(audio, SR)
    s, first = session.render_session(start, edit.Edits())
    assert s.renders == 2 and start.renders == 0, "a session is a value: the start is left as it was"
    s, _ = session.render_session(s, edit.Edits(gain_db=-6, breathiness_db=3))
    assert s.renders == 2, "gain and breathiness are mixing gains"
    s, _ = session.render_session(s, edit.Edits(transpose_semitones=2))
    assert s.renders == 3, "a pitch edit re-renders only the harmonic part"
    s, _ = session.render_session(s, edit.Edits(transpose_semitones=2, formant_shift=1.1))
    assert s.renders == 5
    s, quieter = session.render_session(s, edit.Edits(gain_db=-6))
    assert len(quieter) == len(first) == len(audio)
    assert np.std(quieter) == pytest.approx(np.std(first) / 2, rel=0.05)
