"""hiaudio/separation/baselines.py: the floor, the ceiling and score-informed NMF; the separation benchmark's plumbing."""
import numpy as np

from hiaudio.dsp.units import midi_to_hz
from hiaudio.separation import mixture_baseline, oracle_ratio_mask, score_informed_nmf, si_sdr_batch

SR = 16000


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
    stems = np.stack([harmonic_tone(midi_to_hz(high), 2.0, phase_seed=4), harmonic_tone(midi_to_hz(low), 2.0, phase_seed=5)])
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


# ---- the benchmark's model slot ------------------------------------------------------------
def test_bench_scores_a_plugged_in_separator():
    from bench.choir_separation import evaluate_example, summarize, summarize_pitch
    from hiaudio.data import ChoraleExample

    hop = 80
    stems = np.stack([harmonic_tone(midi_to_hz(64), 1.0, phase_seed=6), harmonic_tone(midi_to_hz(45), 1.0, phase_seed=7)])
    f0 = np.stack([np.full(200, midi_to_hz(64)), np.full(200, midi_to_hz(45))]).astype(np.float32)
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
