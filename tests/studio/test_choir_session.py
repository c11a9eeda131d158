"""hiaudio/studio/choir_session.py: the separated parts, each part's edits, the live remix."""
import numpy as np
import pytest

from hiaudio.studio import choir_session
from hiaudio.voice.edit import Edits


def test_choir_session_edits_only_the_chosen_part(duet_separation):
    start = choir_session.start_choir_session(duet_separation)
    stems = [a.copy() for a in start.audio]
    session = choir_session.set_part_edits(start, 1, Edits(transpose_semitones=-12))
    assert np.array_equal(start.audio[1], stems[1]), "a session is a value: the start is left as it was"
    assert np.array_equal(session.audio[0], stems[0])  # the soprano untouched
    assert not np.allclose(session.audio[1][:len(stems[1])], stems[1])
    t, f0 = choir_session.part_f0(session, 1)
    _, f0_before = choir_session.part_f0(choir_session.start_choir_session(duet_separation), 1)
    voiced = (f0 > 0) & (f0_before > 0)
    assert np.median(1200 * np.log2(f0[voiced] / f0_before[voiced])) == pytest.approx(-1200, abs=5)
    session = choir_session.set_mix(session, [0.0, -40.0], [False, False], [False, False])
    assert np.corrcoef(choir_session.remix(session), stems[0])[0, 1] > 0.95
    with pytest.raises(ValueError, match="gain"):
        choir_session.set_mix(session, [0.0, 99.0], [False, False], [False, False])
