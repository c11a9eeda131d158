"""hiaudio/separation/comb.py: harmonic combs fitted to a mixture."""
import numpy as np
import torch

from hiaudio.separation import comb, si_sdr_batch
from hiaudio.dsp.spectral import stft
from tests.helpers import harmonic_voice

SR = 16000


def test_release_tracks_hold_the_previous_note():
    f0 = np.array([[220.0] * 5 + [247.0] * 5 + [0.0] * 5])
    rel = comb.release_tracks(f0, 3, n_tracks=1)[0]
    assert np.all(rel[0, :5] == 0)
    assert np.allclose(rel[0, 5:8], 220.0) and np.all(rel[0, 8:10] == 0)
    assert np.allclose(rel[0, 10:13], 247.0) and np.all(rel[0, 13:] == 0)


def test_release_tracks_alternate_so_a_tail_outlasts_the_next_note():
    f0 = np.array([[220.0] * 5 + [247.0] * 5 + [262.0] * 5 + [0.0] * 5])
    one = comb.release_tracks(f0, 7, n_tracks=1)[0, 0]
    assert np.allclose(one[5:10], 220.0) and np.allclose(one[10:15], 247.0)  # cut by the next change
    two = comb.release_tracks(f0, 7, n_tracks=2)[:, 0]  # (track, T)
    assert np.allclose(two[0, 5:12], 220.0) and np.all(two[0, 12:15] == 0)  # its full 7 frames
    assert np.allclose(two[1, 10:17], 247.0) and np.all(two[1, :10] == 0) and np.all(two[1, 17:] == 0)
    assert np.allclose(two[0, 15:], 262.0)  # the third ended note takes the first track again


def test_combs_with_known_f0_put_each_voice_in_its_stem():
    """Two harmonic tones (one with vibrato) and their exact F0: masks from the fitted combs."""
    from hiaudio.separation.baselines import apply_masks

    a, f0_a = harmonic_voice(440.0, SR, 1.5, vibrato_cents=30)
    b, f0_b = harmonic_voice(196.0, SR, 1.5, formants_hz=(500, 900, 2400), seed=1)
    mix = a + b
    n_frames = stft(mix, 1024, 256).shape[1]
    idx = np.minimum(np.arange(n_frames) * 256, len(a) - 1)
    f0 = np.stack([f0_a[idx], f0_b[idx]])
    models = comb.fit_combs(np.abs(stft(mix, 1024, 256)), f0, SR, 1024)
    stems = apply_masks(mix, models, 1024, 256, 1.0)
    scores = si_sdr_batch(stems, np.stack([a, b]))
    assert np.all(scores > 12.0), scores
    assert np.allclose(stems.sum(0), mix, atol=1e-4)  # masks share the mixture out


def test_an_octave_apart_each_voice_gets_its_share_of_the_shared_partials():
    """Every tenor partial sits on an even bass partial: the shared bins are split by each voice's
    spectral envelope, learned where its partials sit alone (the bass's odd ones) and read between.
    (One template per note instead, the previous model, scored 8.5 and 8.8 dB here.)"""
    from hiaudio.separation.baselines import apply_masks

    bass, f0_b = harmonic_voice(110.0, SR, 1.5, formants_hz=(500, 900, 2400), seed=1)
    tenor, f0_t = harmonic_voice(220.0, SR, 1.5, formants_hz=(700, 1200, 2600), seed=2)
    tenor = 0.7 * tenor
    mix = bass + tenor
    spec = stft(mix, 1024, 256)
    idx = np.minimum(np.arange(spec.shape[1]) * 256, len(bass) - 1)
    models = comb.fit_combs(np.abs(spec), np.stack([f0_t[idx], f0_b[idx]]), SR, 1024)
    scores = si_sdr_batch(apply_masks(mix, models, 1024, 256, 1.5), np.stack([tenor, bass]))
    assert np.all(scores > 9.0), scores  # measured 9.31 and 10.45 (before the level smoothing, 2 bands: 9.95 and 10.48)


def test_levels_are_smoothed_inside_each_note_and_releases_only_fall():
    """A note's level is averaged only with frames of the same note, over a window that stays
    symmetric near the note's edges (a ramp keeps its slope); a release track may only fall."""
    rng = np.random.default_rng(0)
    f0 = np.concatenate([np.full(40, 220.0), np.full(30, 330.0), np.zeros(10)])[None]  # two notes, then rest
    runs = comb.note_runs(f0)
    assert runs[0, 0] == runs[39, 0] != runs[40, 0] == runs[69, 0] and runs[70, 0] == -1
    ramp = np.concatenate([np.linspace(1.0, 2.0, 40), np.full(30, 5.0), np.zeros(10)])
    noisy = ramp * (1 + 0.2 * rng.standard_normal(80))
    level = torch.tensor(noisy, dtype=torch.float32)[:, None]
    smoothed = comb.smooth_within_notes(level, comb.note_smoothing(runs, comb.LEVEL_SMOOTH_FRAMES))[:, 0].numpy()
    inside = np.r_[3:37, 43:67]
    assert np.abs(smoothed - ramp)[inside].mean() < 0.5 * np.abs(noisy - ramp)[inside].mean()
    assert smoothed[35:40].mean() < 2.5 and smoothed[40:45].mean() > 4.0  # nothing leaks across the note change
    clean = comb.smooth_within_notes(torch.tensor(ramp, dtype=torch.float32)[:, None],
                                     comb.note_smoothing(runs, comb.LEVEL_SMOOTH_FRAMES))[:, 0].numpy()
    assert np.allclose(clean[:40], ramp[:40], atol=1e-5)  # a linear attack is kept, to its first frame

    release = torch.tensor([[3.0], [1.0], [2.0], [0.5], [0.7]])
    out = comb.decay_within_notes(release, comb.note_segments(comb.note_runs(np.full((1, 5), 220.0)), [0]))
    assert out[:, 0].tolist() == [3.0, 1.0, 1.0, 0.5, 0.5]


def test_a_unison_is_split_as_the_voices_were_balanced_around_it(monkeypatch):
    """Two voices of one timbre, the lower 9 dB quieter, meet in unison for the middle second: there
    their combs are identical, so the split follows their balance before and after (`tie_unisons`)."""
    from hiaudio.separation.baselines import apply_masks

    def line(pitches, seed):
        notes = [harmonic_voice(f, SR, 1.0, formants_hz=(600, 1100, 2500), seed=seed + i) for i, f in enumerate(pitches)]
        return np.concatenate([n[0] for n in notes]), np.concatenate([n[1] for n in notes])

    upper, f0_u = line([440.0, 330.0, 440.0], 0)
    lower, f0_l = line([262.0, 330.0, 262.0], 10)
    lower = 0.35 * lower
    mix = upper + lower
    spec = stft(mix, 1024, 256)
    idx = np.minimum(np.arange(spec.shape[1]) * 256, len(mix) - 1)
    f0 = np.stack([f0_u[idx], f0_l[idx]])
    assert [(v, j) for v, j, _, _ in comb.unison_runs(f0, comb.UNISON_CENTS)] == [(0, 1)]
    unison = slice(int(1.2 * SR), int(1.8 * SR))
    true_share = 10 * np.log10((lower[unison] ** 2).sum() / (upper[unison] ** 2).sum())  # -9.1 dB

    def separate(**fit):
        stems = apply_masks(mix, comb.fit_combs(np.abs(spec), f0, SR, 1024, **fit), 1024, 256, 1.5)
        share = 10 * np.log10((stems[1, unison] ** 2).sum() / (stems[0, unison] ** 2).sum())
        return abs(share - true_share), si_sdr_batch(stems, np.stack([upper, lower]))

    error, _ = separate()
    coarse_error, scores = separate(bands_per_octave=2.0)
    monkeypatch.setattr(comb, "UNISON_CENTS", 0.0)  # no unison found: the fit alone decides
    error_untied, _ = separate()
    coarse_error_untied, scores_untied = separate(bands_per_octave=2.0)
    # with the default 3-band envelopes and smoothed levels this clean pair is told apart even
    # untied (measured 3.7 dB tied, 2.4 untied; on validation chorales the tie was worth 1.0 dB);
    # with 2 bands per octave the untied fit keeps its starting split (4.6 vs 17.9 dB)
    assert error < 6.0 and error_untied < 6.0, (error, error_untied)
    assert coarse_error < 6.0 and coarse_error < coarse_error_untied - 3.0, (coarse_error, coarse_error_untied)
    assert scores[1] > scores_untied[1] + 2.0, (scores, scores_untied)  # 9.2 vs 3.9 dB
