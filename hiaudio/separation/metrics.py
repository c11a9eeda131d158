"""Scores for separated stems and multi-F0 estimates.

* `si_sdr`: scale-invariant signal-to-distortion ratio (Le Roux et al. 2019, "SDR -- half-baked
  or well done?"), in dB. Both signals are made zero-mean; the reference is scaled by the
  least-squares gain alpha = <est, ref> / <ref, ref>, and
      SI-SDR = 10 log10( |alpha ref|^2 / |est - alpha ref|^2 ).
  A scaled copy scores the same as the original; adding orthogonal noise at SNR x dB scores x.
* `magnitude_snr_batch`: the SNR of the STFT magnitudes (dB) after the least-squares gain --
  blind to phase, so it can score a resynthesis whose partials start at other phases (its
  SI-SDR is meaningless: two equal spectra with different phases are nearly orthogonal).
* `pitch_scores`: raw pitch / raw chroma / overall accuracy and voicing recall / false alarm
  from mir_eval.melody (Salamon et al. 2014; 50 cent tolerance), for one voice at a time.
* `pitch_ordered`: the parts' true F0 relabelled by pitch order in each frame. Scored against
  the truth, it is the ceiling of any blind decoder that calls the top line the soprano: where
  parts cross, such a decoder swaps them.
"""
from __future__ import annotations

import numpy as np

from hiaudio.dsp.spectral import stft

EPS = 1e-8  # keeps the ratio finite for a perfect estimate and for silent signals


def si_sdr_batch(estimates: np.ndarray, references: np.ndarray, eps: float = EPS) -> np.ndarray:
    """SI-SDR in dB of each estimate against its reference, over the last axis.

    estimates, references: (..., S) with the same shape (e.g. (V, S) voices). Returns (...,)
    float64. A reference with no energy (a voice that rests throughout) gives NaN: there is
    nothing to measure, and callers average with np.nanmean.
    """
    est = np.asarray(estimates, dtype=np.float64)
    ref = np.asarray(references, dtype=np.float64)
    if est.shape != ref.shape:
        raise ValueError(f"estimate shape {est.shape} differs from reference shape {ref.shape}")
    est = est - est.mean(axis=-1, keepdims=True)
    ref = ref - ref.mean(axis=-1, keepdims=True)
    ref_energy = np.sum(ref * ref, axis=-1, keepdims=True)  # (..., 1)
    alpha = np.sum(est * ref, axis=-1, keepdims=True) / (ref_energy + eps)  # (..., 1) least-squares gain
    target = alpha * ref  # (..., S)
    noise = est - target
    ratio = (np.sum(target * target, axis=-1) + eps) / (np.sum(noise * noise, axis=-1) + eps)
    out = 10.0 * np.log10(ratio)
    return np.where(ref_energy[..., 0] > 0, out, np.nan)


def magnitude_snr_batch(estimates: np.ndarray, references: np.ndarray, n_fft: int = 1024, hop: int = 256,
                        eps: float = EPS) -> np.ndarray:
    """10 log10(|R|^2 / |g E - R|^2) over STFT magnitudes (Hann, n_fft, hop), g the least-squares
    gain of |E| onto |R|: (..., S) pairs -> (...,) dB; NaN for a silent reference."""
    est = np.abs(stft(np.asarray(estimates, dtype=np.float64), n_fft, hop))
    ref = np.abs(stft(np.asarray(references, dtype=np.float64), n_fft, hop))
    axes = (-2, -1)
    ref_energy = np.sum(ref * ref, axis=axes)
    gain = np.sum(est * ref, axis=axes) / (np.sum(est * est, axis=axes) + eps)
    err = np.sum((gain[..., None, None] * est - ref) ** 2, axis=axes)
    out = 10.0 * np.log10((ref_energy + eps) / (err + eps))
    return np.where(ref_energy > 0, out, np.nan)


def si_sdr(estimate: np.ndarray, reference: np.ndarray, eps: float = EPS) -> float:
    """SI-SDR in dB of one estimate (S,) against its reference (S,); NaN for a silent reference."""
    return float(si_sdr_batch(np.asarray(estimate)[None], np.asarray(reference)[None], eps)[0])


def pitch_scores(ref_times_s: np.ndarray, ref_f0_hz: np.ndarray, est_times_s: np.ndarray,
                 est_f0_hz: np.ndarray, cent_tolerance: float = 50.0) -> dict:
    """mir_eval.melody scores of one voice's F0 estimate against its reference.

    ref_times_s, ref_f0_hz: (T,) reference frames (0 Hz = unvoiced). est_times_s, est_f0_hz:
    (T',) estimate frames on any grid (0 = unvoiced; a negative value is mir_eval's "unvoiced,
    but this would be the pitch"); the estimate is resampled onto the reference's times.
    Returns {"rpa", "rca", "oa", "vr", "vfa"}: raw pitch accuracy, raw chroma accuracy and
    overall accuracy (pitch within `cent_tolerance` cents), voicing recall and voicing false
    alarm rate, each in [0, 1]. (mir_eval returns 0 for a ratio with an empty denominator,
    e.g. VFA when the reference is voiced throughout.)
    """
    import mir_eval.melody as melody

    ref_v, ref_c, est_v, est_c = melody.to_cent_voicing(
        np.asarray(ref_times_s, np.float64), np.asarray(ref_f0_hz, np.float64),
        np.asarray(est_times_s, np.float64), np.asarray(est_f0_hz, np.float64))
    vr, vfa = melody.voicing_measures(ref_v, est_v)
    return {"rpa": float(melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c, cent_tolerance)),
            "rca": float(melody.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c, cent_tolerance)),
            "oa": float(melody.overall_accuracy(ref_v, ref_c, est_v, est_c, cent_tolerance)),
            "vr": float(vr), "vfa": float(vfa)}


def pitch_ordered(f0_hz: np.ndarray) -> np.ndarray:
    """f0_hz (V, T), parts top-down by the score, 0 = silent -> (V, T): in each frame the sounding
    pitches sorted high to low onto the parts that sound, in their order. Where no parts cross it
    returns f0_hz; where the alto sings above the soprano, the two are swapped."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    out = np.zeros_like(f0)
    for t in range(f0.shape[1]):
        on = np.nonzero(f0[:, t] > 0)[0]
        out[on, t] = np.sort(f0[on, t])[::-1]
    return out
