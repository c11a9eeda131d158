"""Known answers for the separation metrics and baselines, and the benchmark's model slot."""
import numpy as np
import pytest
import torch

from hiaudio.separation import (mixture_baseline, oracle_ratio_mask, pitch_scores, score_informed_nmf,
                                si_sdr, si_sdr_batch)

SR = 16000


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared CPU
    yield
    torch.set_num_threads(threads)


def harmonic_tone(f0_hz: float, duration_s: float, n_partials: int = 10, start_s: float = 0.0,
                  stop_s: float | None = None, phase_seed: int = 0) -> np.ndarray:
    """Partials k * f0 at amplitude 1/k (below Nyquist), random phases, 20 ms fades at start and stop."""
    rng = np.random.default_rng(phase_seed)
    t = np.arange(round(duration_s * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * f0_hz * t + rng.uniform(0, 2 * np.pi)) / k
            for k in range(1, n_partials + 1) if k * f0_hz < SR / 2)
    stop_s = duration_s if stop_s is None else stop_s
    env = np.clip(np.minimum(t - start_s, stop_s - t) / 0.02, 0.0, 1.0)
    return (0.1 * x * env).astype(np.float32)


def midi_hz(pitch: float) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


# ---- SI-SDR --------------------------------------------------------------------------------
def test_si_sdr_identical_is_large():
    x = np.random.default_rng(0).standard_normal(SR)
    assert si_sdr(x, x) > 100.0


def test_si_sdr_ignores_gain_and_offset():
    rng = np.random.default_rng(1)
    ref, noise = rng.standard_normal(SR), rng.standard_normal(SR)
    est = ref + 0.3 * noise
    assert si_sdr(3.0 * est + 0.5, ref) == pytest.approx(si_sdr(est, ref), abs=1e-6)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 30.0])
def test_si_sdr_of_orthogonal_noise_is_the_snr(snr_db):
    rng = np.random.default_rng(2)
    ref = rng.standard_normal(SR)
    ref -= ref.mean()
    noise = rng.standard_normal(SR)
    noise -= noise.mean()
    noise -= (noise @ ref) / (ref @ ref) * ref  # orthogonal to the reference
    noise *= np.sqrt((ref @ ref) / (noise @ noise) * 10 ** (-snr_db / 10))
    assert si_sdr(ref + noise, ref) == pytest.approx(snr_db, abs=0.1)


def test_si_sdr_batch_matches_items_and_marks_silence():
    rng = np.random.default_rng(3)
    refs = rng.standard_normal((2, 3, 800))
    ests = refs + rng.standard_normal((2, 3, 800))
    batch = si_sdr_batch(ests, refs)  # (2, 3)
    assert batch.shape == (2, 3)
    assert np.allclose(batch, [[si_sdr(e, r) for e, r in zip(es, rs)] for es, rs in zip(ests, refs)])
    assert np.isnan(si_sdr(ests[0, 0], np.zeros(800)))  # a resting voice has nothing to score


# ---- baselines -----------------------------------------------------------------------------
def test_mixture_baseline_repeats_the_mix():
    mix = np.arange(5, dtype=np.float32)
    assert np.array_equal(mixture_baseline(mix, 3), np.stack([mix] * 3))


def test_oracle_ratio_mask_separates_distinct_harmonic_tones():
    stems = np.stack([harmonic_tone(220.0, 2.0, phase_seed=0), harmonic_tone(311.1, 2.0, phase_seed=1)])
    mix = stems.sum(0)
    for power in (1, 2):
        est = oracle_ratio_mask(mix, stems, n_fft=1024, hop=256, power=power)
        assert est.shape == stems.shape
        assert np.allclose(est.sum(0), mix, atol=1e-4)  # the masks sum to one
        assert si_sdr_batch(est, stems).min() > 15.0


def test_score_informed_nmf_puts_each_tone_in_its_stem():
    # two sustained tones an octave and a fifth apart (MIDI 45 and 64): every partial of the
    # upper tone lands on a partial of the lower one, so the templates must tell them apart
    low, high = 45, 64
    stems = np.stack([harmonic_tone(midi_hz(high), 2.0, phase_seed=4), harmonic_tone(midi_hz(low), 2.0, phase_seed=5)])
    mix = stems.sum(0)
    notes = [[(high, 0.0, 2.0)], [(low, 0.0, 2.0)]]  # (midi, start s, duration s) per voice
    est = score_informed_nmf(mix, SR, notes)
    assert est.shape == stems.shape
    scores = si_sdr_batch(est, stems)
    assert scores.min() > 5.0, scores
    # and swapped voice order -> swapped stems
    swapped = score_informed_nmf(mix, SR, {"upper": notes[1], "lower": notes[0]})
    assert si_sdr_batch(swapped[::-1], stems).min() > 5.0


def test_score_informed_nmf_keeps_a_resting_voice_silent():
    mix = harmonic_tone(220.0, 1.0)
    est = score_informed_nmf(mix, SR, [[(57, 0.0, 1.0)], []])
    assert np.abs(est[1]).max() < 1e-3 * np.abs(mix).max()


# ---- pitch ---------------------------------------------------------------------------------
def test_pitch_scores_known_answers():
    t = np.arange(400) * 0.005
    ref = np.where(t < 1.5, 220.0, 0.0)  # voiced for 300 frames, then a rest
    assert pitch_scores(t, ref, t, ref) == {"rpa": 1.0, "rca": 1.0, "oa": 1.0, "vr": 1.0, "vfa": 0.0}
    octave = pitch_scores(t, ref, t, 2 * ref)
    assert octave["rpa"] == 0.0 and octave["rca"] == 1.0
    half = pitch_scores(t, ref, t, np.where(t < 0.75, ref, ref * 2 ** (1 / 12)))  # a semitone off on half
    assert half["rpa"] == pytest.approx(0.5, abs=0.01)


# ---- the benchmark's model slot ------------------------------------------------------------
def test_bench_scores_a_plugged_in_separator():
    from bench.choir_separation import evaluate_example, summarize, summarize_pitch
    from hiaudio.data import ChoraleExample

    hop = 80
    stems = np.stack([harmonic_tone(midi_hz(64), 1.0, phase_seed=6), harmonic_tone(midi_hz(45), 1.0, phase_seed=7)])
    f0 = np.stack([np.full(200, midi_hz(64)), np.full(200, midi_hz(45))]).astype(np.float32)
    ex = ChoraleExample(mixture=stems.sum(0), stems=stems, f0_hz=f0, sample_rate=SR, hop_samples=hop,
                        meta={"notes": {"soprano": [[64, 0.0, 1.0]], "bass": [[45, 0.0, 1.0]]}})
    seen = {}

    def separate(mix, sample_rate, n_voices, notes=None):  # a perfect "model"
        seen.update(n_voices=n_voices, notes=notes)
        return stems, None, (np.arange(200) * hop / SR, f0)

    r = evaluate_example(ex, separate, give_score=False)
    assert seen == {"n_voices": 2, "notes": None}
    assert min(r["si_sdr_db"]["model_masked"]) > 100 and "model_synth" not in r["si_sdr_db"]
    assert r["pitch"]["soprano"]["rpa"] == 1.0 and r["pitch"]["alto"]["oa"] == 1.0  # PARTS order
    assert max(r["si_sdr_db"]["mixture"]) < min(r["si_sdr_db"]["nmf"]) < min(r["si_sdr_db"]["oracle_p2"])
    summary = summarize([r, r])
    assert summary["model_masked"]["n_scored"] == 4 and "model_synth" not in summary
    assert summarize_pitch([r])["soprano"]["rpa"] == 1.0
