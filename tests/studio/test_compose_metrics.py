"""The composer's metrics (hiaudio/studio/compose_metrics.py): known answers."""
import numpy as np
import pytest

from hiaudio.data.tokens import HOLD, PITCH_OFFSET
from hiaudio.studio import compose_metrics as cm


def _grid_from(pitches, dur_steps=4):
    """(chords, 4) MIDI pitches -> grid tokens, each chord held dur_steps."""
    rows = []
    for chord in pitches:
        rows.append([PITCH_OFFSET + p for p in chord])
        rows += [[HOLD] * 4] * (dur_steps - 1)
    return np.array(rows)


def test_close_keys_known_answers():
    assert cm.close_keys(7, "major") == {(7, "major"), (4, "minor"), (2, "major"), (0, "major")}
    assert cm.close_keys(2, "minor") == {(2, "minor"), (5, "major"), (9, "minor"), (7, "minor")}


def test_voice_leading_faults_known_answers():
    parallel = _grid_from([[72, 67, 64, 48], [74, 69, 65, 50]])  # S/B octaves + A/B fifths, all rising
    faults = cm.voice_leading_faults(parallel)
    assert faults["parallel_octaves"] == 100 / 8 == faults["parallel_fifths"]  # S-B compound octaves, A-B fifths
    assert faults["parallels_per_100_changes"] == 200.0  # two parallels at the one chord change
    good = _grid_from([[72, 67, 64, 48], [71, 67, 62, 55]])  # C -> G: contrary motion, common tone
    assert cm.voice_leading_faults(good)["parallel_fifths"] == 0 == cm.voice_leading_faults(good)["parallel_octaves"]
    crossed = _grid_from([[64, 67, 60, 48]])  # alto above soprano
    assert cm.voice_leading_faults(crossed)["crossings"] == 100.0
    wild = _grid_from([[90, 67, 60, 48]])
    assert cm.voice_leading_faults(wild)["out_of_range"] == 100 / 4


def test_structure_metrics_known_answers():
    bar_c = _grid_from([[72, 67, 64, 48]] * 4)
    bar_g = _grid_from([[71, 67, 62, 55]] * 4)
    bar_f = _grid_from([[72, 69, 65, 53]] * 4)
    piece = np.concatenate([bar_c, bar_g, bar_f, bar_c])
    assert cm.grooving_similarity(piece) == pytest.approx(1.0)
    ssm = cm.chroma_ssm(piece)
    assert ssm[0, 3] == pytest.approx(1.0) and ssm[0, 1] < 0.9
    assert cm.ssm_distance(piece, piece) == 0.0 and cm.ssm_distance(piece, np.concatenate([bar_c] * 4)) > 0.05
    assert cm.note_density(piece) == 16.0
    assert cm.estimate_key(piece) == (0, "major")
    assert cm.cadence_rate(piece, [16, 32, 48, 64], 0, "major") == 0.75  # I, V, IV, I
    assert cm.cadence_rate(piece, [16], 2, "major") == 0.0  # neither D nor A
    h = cm.pitch_class_histogram(piece)
    assert cm.histogram_overlap(h, h) == pytest.approx(1.0)
    assert cm.histogram_overlap(h, cm.pitch_class_histogram(piece, tonic_pc=7)) < 0.9
