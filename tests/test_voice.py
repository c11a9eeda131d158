"""The voice model end to end: analysis, parameters, edits, resynthesis."""
import math

import numpy as np
import pytest
import torch

from hiaudio.dsp import filters, pitch
from hiaudio.voice.params import ParamsError, VoiceParams
from hiaudio.dsp import units
from hiaudio.studio import session
from hiaudio.voice import analysis, edit, singing, synthesis
from tests.helpers import harmonic_voice

SR = 16000


@pytest.fixture(scope="module")
def vowel():
    audio, f0 = harmonic_voice(150.0, SR, vibrato_cents=30)
    return audio, f0, analysis.analyze(audio, SR)


def median_f0(audio, sr=SR):
    f0, _ = pitch.estimate_f0(torch.as_tensor(audio), sr, round(0.005 * sr))
    return float(f0[f0 > 0].median())


def test_analysis_finds_f0_and_voicing(vowel):
    audio, f0_true, params = vowel
    interior = slice(10, -10)
    assert params.voiced[interior].min() == 1.0
    truth = f0_true[np.arange(params.n_frames) * params.hop_samples][interior]
    assert np.all(np.abs(params.f0_hz[interior] / truth - 1) < 0.01)


def test_resynthesis_is_close_to_the_original(vowel):
    audio, _, params = vowel
    out = synthesis.render(params)[:len(audio)]
    spec = lambda x: torch.stft(torch.as_tensor(x), 1024, 256, window=torch.hann_window(1024),
                                return_complex=True).abs().pow(2).mean(-1)
    ref, got = spec(audio), spec(out)
    band = slice(5, 300)  # 80 Hz .. 4.7 kHz, where the vowel has its energy
    lsd = (10 * torch.log10(ref[band] + 1e-9) - 10 * torch.log10(got[band] + 1e-9)).pow(2).mean().sqrt()
    assert lsd < 6.0, f"long-term spectra differ by {lsd:.1f} dB"
    assert np.std(out) == pytest.approx(np.std(audio), rel=0.25)


def test_params_round_trip_through_json(vowel, tmp_path):
    params = vowel[2]
    path = tmp_path / "p.json"
    params.save(path)
    back = VoiceParams.load(path)
    for name in ("f0_hz", "voiced", "lsf_rad", "gain_db", "harmonic_db", "noise_db", "tilt_db_per_oct"):
        assert np.allclose(getattr(back, name), getattr(params, name), atol=2e-3), name
    assert np.abs(synthesis.render(back) - synthesis.render(params)).max() < 0.02


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(schema="other"), "schema"),
    (lambda d: d.pop("f0_hz"), "lacks f0_hz"),
    (lambda d: d.update(f0_hz=d["f0_hz"][:-1]), "shape"),
    (lambda d: d.update(sample_rate="16000"), "integer"),
    (lambda d: d["lsf_rad"][0].reverse(), "increasing"),
    (lambda d: d.update(f0_hz=[1e9] * len(d["f0_hz"])), "f0_hz must lie"),
    (lambda d: d.update(harmonic_db=[["x"]]), "array of numbers"),
])
def test_bad_parameter_files_are_refused(vowel, mutate, words):
    data = vowel[2].to_dict()
    mutate(data)
    with pytest.raises(ParamsError, match=words):
        VoiceParams.from_dict(data)


def test_params_json_that_is_not_json():
    with pytest.raises(ParamsError, match="not valid JSON"):
        VoiceParams.from_json(b"\x00\xff garbage")


def test_transpose_moves_f0_and_keeps_duration(vowel):
    audio, _, params = vowel
    out = synthesis.render(edit.apply_edits(params, edit.Edits(transpose_semitones=3)))
    assert len(out) == params.n_samples
    cents = 1200 * math.log2(median_f0(out) / median_f0(synthesis.render(params)))
    assert abs(cents - 300) < 10


def test_formant_shift_moves_the_filter_and_not_f0(vowel):
    params = vowel[2]
    shifted = edit.apply_edits(params, edit.Edits(formant_shift=1.2))
    assert np.array_equal(shifted.f0_hz, params.f0_hz)
    freqs = np.linspace(0, SR / 2, 2049)
    t = params.n_frames // 2
    peaks = []
    for p in (params, shifted):
        mag = synthesis.tract_response_db(p, freqs, [t])[0]
        peaks.append([f for f, _ in filters.formants_from_response(freqs, mag)][:2])
    for before, after in zip(*peaks):
        assert after / before == pytest.approx(1.2, rel=0.06)
    assert abs(math.log2(median_f0(synthesis.render(shifted)) / median_f0(synthesis.render(params)))) * 1200 < 10


def test_vibrato_percent_scales_the_vibrato(vowel):
    params = vowel[2]
    interior = slice(40, -40)

    def depth(p):
        return np.std(edit.pitch_layers(p)["vibrato"][interior])

    flat = edit.apply_edits(params, edit.Edits(vibrato_pct=0))
    double = edit.apply_edits(params, edit.Edits(vibrato_pct=200))
    assert depth(flat) < 0.2 * depth(params)
    assert depth(double) == pytest.approx(2 * depth(params), rel=0.2)
    # the mean pitch is unchanged
    assert np.median(flat.f0_hz) == pytest.approx(np.median(params.f0_hz), rel=0.01)


def test_pitch_correction_pulls_notes_to_the_scale():
    audio, _ = harmonic_voice(440 * 2 ** (0.35 / 12), SR)  # A4 + 35 cents
    params = analysis.analyze(audio, SR)
    half = edit.apply_edits(params, edit.Edits(pitch_correction_pct=50))
    full = edit.apply_edits(params, edit.Edits(pitch_correction_pct=100))
    off = lambda p: np.median(units.hz_to_cents(p.f0_hz[20:-20]))  # cents from A4
    assert off(params) == pytest.approx(35, abs=3)
    assert off(half) == pytest.approx(17.5, abs=3)
    assert off(full) == pytest.approx(0, abs=2)
    # in A minor pentatonic (A C D E G), a note near B (between A and C) goes to the nearer one
    assert edit.nearest_scale_cents(np.array([180.0]), "A", "minor pentatonic")[0] == 300.0


def test_edits_are_pure(vowel):
    params = vowel[2]
    before = params.to_json()
    edit.apply_edits(params, edit.Edits(transpose_semitones=-5, formant_shift=0.8, breathiness_db=6,
                                        brightness_db_per_oct=3, vibrato_pct=0, pitch_correction_pct=100))
    assert params.to_json() == before


def test_transposing_down_fills_the_spectrum(vowel):
    params = vowel[2]
    down = edit.apply_edits(params, edit.Edits(transpose_semitones=-12))
    assert down.n_harmonics >= 2 * params.n_harmonics - 2
    assert down.f0_hz.max() * down.n_harmonics > 0.45 * SR


def test_edits_out_of_range_are_refused():
    with pytest.raises(ValueError, match="formant_shift"):
        edit.Edits(formant_shift=5.0)
    with pytest.raises(ValueError, match="scale_mode"):
        edit.Edits(scale_mode="lydian-ish")
    with pytest.raises(ValueError, match="scale_degrees"):
        edit.Edits(scale_degrees=2.5)  # whole steps only
    with pytest.raises(ValueError, match="transpose_semitones"):
        edit.Edits(transpose_semitones=float("nan"))
    # from a tab's controls: a whole-number field arrives as a float and is rounded
    e = edit.Edits.from_values(("scale_degrees", "gain_db"), (2.0, -3.0))
    assert e.scale_degrees == 2 and isinstance(e.scale_degrees, int) and e.gain_db == -3.0
    with pytest.raises(ValueError, match="expected 2 edit values"):
        edit.Edits.from_values(("scale_degrees", "gain_db"), (2.0,))


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


def test_render_voice_is_differentiable_and_batched():
    torch.manual_seed(0)
    B, T, K, P = 2, 6, 5, 8
    f0 = torch.tensor([[120.0] * T, [200.0] * T], dtype=torch.float64, requires_grad=True)
    voiced = torch.ones(B, T, dtype=torch.float64)
    lsf = filters.lsf_from_logits(torch.randn(B, T, P, dtype=torch.float64)).detach().requires_grad_()
    gain = torch.zeros(B, T, dtype=torch.float64, requires_grad=True)
    harm = torch.zeros(B, T, K, dtype=torch.float64, requires_grad=True)
    noise = torch.full((B, T, 4), -30.0, dtype=torch.float64, requires_grad=True)
    tilt = torch.zeros(B, T, dtype=torch.float64, requires_grad=True)
    out = synthesis.render_voice(f0, voiced, lsf, gain, harm, noise, tilt, 8000, 16,
                             generator=torch.Generator().manual_seed(1))
    out.pow(2).sum().backward()
    ratio = torch.full((B, T), 1.1, dtype=torch.float64, requires_grad=True)
    warped = synthesis.render_voice(f0, voiced, lsf, gain, harm, noise, tilt, 8000, 16,
                                generator=torch.Generator().manual_seed(1), formant_ratio=ratio)
    warped.pow(2).sum().backward()
    assert torch.isfinite(ratio.grad).all() and ratio.grad.abs().sum() > 0
    for tensor in (f0, lsf, gain, harm, noise, tilt):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    h_batch, _ = synthesis.render_voice(f0, voiced, lsf, gain, harm, noise, tilt, 8000, 16, parts=True)
    for i in range(B):
        h_item, _ = synthesis.render_voice(f0[i], voiced[i], lsf[i], gain[i], harm[i], noise[i], tilt[i],
                                       8000, 16, parts=True)
        assert torch.allclose(h_batch[i], h_item, atol=1e-9)


def test_sing_produces_the_notes_it_was_given():
    notes = [(57, 0.1, 0.6), (64, 0.8, 0.6)]  # A3, E4
    params = singing.sing(notes, SR, singing.Singer(vowel="o", vibrato_cents=0, drift_cents=0))
    audio = synthesis.render(params)
    assert np.abs(audio).max() < 1.0
    f0, _ = pitch.estimate_f0(torch.as_tensor(audio), SR, params.hop_samples)
    times = np.arange(len(f0)) * params.hop_samples / SR
    for midi, start, dur in notes:
        inside = (times > start + 0.15) & (times < start + dur - 0.1)
        expected = 440 * 2 ** ((midi - 69) / 12)
        assert np.all(np.abs(1200 * np.log2(f0[inside].numpy() / expected)) < 15)
    gap = (times > 0.72) & (times < 0.78)
    assert np.all(f0[gap].numpy() == 0), "silence between separated notes"
