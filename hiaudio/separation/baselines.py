"""Baselines that a choir separation model is compared against, on numpy arrays (no gradio).

* `mixture_baseline`: every voice's estimate is the mixture itself -- the floor.
* `oracle_ratio_mask`: a ratio mask computed from the true stems, applied to the mixture's STFT
  -- the ceiling for any method that masks the mixture STFT at the same resolution.
* `score_informed_nmf`: NMF with harmonic templates and activations constrained by the score
  (Ewert & Mueller 2012, "Using score-informed constraints for NMF-based source separation",
  ICASSP), then one soft mask per voice.

Every method returns stems (V, S) float32, as long as the mixture. The STFTs are
`hiaudio.dsp.spectral.stft` on numpy (float64): Hann window, centred zero-padded frames.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from hiaudio.dsp.spectral import istft, stft
from hiaudio.dsp.units import midi_to_hz

MASK_EPS = 1e-12  # keeps masks finite where every voice's model is zero
UNMODELLED_FLOOR = 1e-6  # score_informed_nmf: a voice's share of bins no template covers, times its frame level


def apply_masks(mix: np.ndarray, models: np.ndarray, n_fft: int, hop: int, power: float) -> np.ndarray:
    """Soft masks models_v^p / sum_j models_j^p on the mixture STFT, then the inverse STFT.

    mix: (S,). models: (V, F, T) non-negative magnitudes (true or modelled) on the same grid.
    Where every model is zero the mixture is shared equally. The stems sum to the mixture
    (up to the STFT round trip), since the masks sum to 1. Returns (V, S) float32.
    """
    mix_spec = stft(mix, n_fft, hop)  # (F, T)
    weights = np.power(np.maximum(models, 0.0), power) + MASK_EPS  # (V, F, T)
    masks = weights / weights.sum(axis=0, keepdims=True)
    return istft(masks * mix_spec[None], n_fft, hop, len(mix))


# ---- floor and ceiling ---------------------------------------------------------------------
def mixture_baseline(mix: np.ndarray, n_voices: int) -> np.ndarray:
    """Every voice estimated as the whole mixture: (S,) -> (n_voices, S).

    SI-SDR ignores the gain, so mix / n_voices would score the same.
    """
    mix = np.asarray(mix, dtype=np.float32)
    return np.repeat(mix[None], n_voices, axis=0)


def oracle_ratio_mask(mix: np.ndarray, stems: np.ndarray, n_fft: int = 1024, hop: int = 256,
                      power: float = 2.0) -> np.ndarray:
    """Ideal ratio mask from the true stems: |S_v|^p / sum_j |S_j|^p on the mixture STFT.

    mix: (S,). stems: (V, S) true stems. power 2 is the Wiener filter with oracle power
    spectra; power 1 the ratio of magnitudes. The usual ceiling for real-valued masks on the
    mixture STFT at this resolution: a mask keeps the mixture's phase, so masking methods rarely
    beat it (it is not the exact SI-SDR optimum); direct synthesis is not bound by it.
    Returns (V, S) float32.
    """
    stem_mags = np.abs(stft(stems, n_fft, hop))  # (V, F, T)
    return apply_masks(mix, stem_mags, n_fft, hop, power)


# ---- score-informed NMF --------------------------------------------------------------------
def harmonic_template(f0_hz: float, freqs_hz: np.ndarray, n_partials: int, tolerance_cents: float,
                      min_half_width_hz: float, decay: float) -> np.ndarray:
    """A comb of partials for one pitch: (F,) non-negative, zero outside the partial regions.

    Partial k (1..n_partials, below Nyquist) owns the bins within `tolerance_cents` of
    k * f0_hz, and at least within `min_half_width_hz` (the window's main lobe). Inside its
    region it starts at k ** -decay, tapered towards the region's edges (a raised cosine), so
    NMF begins from a plausible spectral envelope; the updates learn the amplitudes.
    """
    template = np.zeros_like(freqs_hz)
    ratio = 2.0 ** (tolerance_cents / 1200.0)
    for k in range(1, n_partials + 1):
        centre = k * f0_hz
        if centre >= freqs_hz[-1]:
            break
        half = max(centre * (ratio - 1.0), min_half_width_hz)
        dist = np.abs(freqs_hz - centre) / half  # 0 at the partial, 1 at its region's edge
        inside = dist < 1.0
        shape = 0.5 + 0.5 * np.cos(np.pi * dist[inside])
        template[inside] = np.maximum(template[inside], k ** -decay * np.maximum(shape, 0.1))
    return template


def score_informed_nmf(mix: np.ndarray, sample_rate: int,
                       notes_per_voice: Sequence[Sequence] | Mapping[str, Sequence],
                       n_fft: int = 1024, hop: int = 256, n_iter: int = 50, n_partials: int = 20,
                       tolerance_cents: float = 50.0, onset_tolerance_s: float = 0.15,
                       offset_tolerance_s: float = 0.2, decay: float = 2.0, mask_power: float = 1.0,
                       divergence: str = "kl") -> np.ndarray:
    """Score-informed NMF separation after Ewert & Mueller (2012).

    mix: (S,) mixture. notes_per_voice: per voice a list of (midi_pitch, start_s, duration_s)
    -- a list of lists in voice order, or a mapping from part name to notes in insertion order
    (the data module's `ChoraleExample.meta["notes"]`: soprano, alto, tenor, bass).

    Model: the mixture magnitude V (F, T) ~ W H, with one template column per (voice, pitch)
    that the voice sings, so two voices singing the same pitch still get separate columns.

    * W (templates): a harmonic comb (`harmonic_template`), zero outside the partial regions.
    * H (activations): 1 in the frames where one of that voice's notes of that pitch sounds,
      widened by onset_tolerance_s before and offset_tolerance_s after (timing slop, release
      and reverb); zero elsewhere.

    Multiplicative updates (Lee & Seung 2001; KL or Euclidean) multiply entries and so keep
    every zero at zero: the score's constraints hold throughout, and the amplitudes inside the
    allowed regions are learned from the mixture. The columns of W are rescaled to unit max
    after each step (the gain moves into H). Finally voice v's model Y_v = W_v H_v gives the
    soft mask Y_v^p / sum_j Y_j^p (p = mask_power) on the mixture STFT.

    Bins that no template covers (side lobes, breath, reverb) go to the voices sounding in that
    frame, in proportion to their level there (`UNMODELLED_FLOOR`): a resting voice stays silent.

    Defaults (n_fft 1024 / hop 256 at 16 kHz, 50 KL iterations, partials starting at k^-2)
    were picked on 8 validation-split excerpts with held-out timbres (4 per renderer): more
    iterations or flatter starting templates let a voice's templates soak up its neighbours'
    partials. Mean SI-SDR there went from 6.7 dB (voice renderer) / 14.6 dB (fluidsynth) with
    n_fft 2048, 100 iterations, k^-1, to 9.7 / 15.8 dB with these.

    Returns (V, S) float32 stems.
    """
    if divergence not in ("kl", "euclidean"):
        raise ValueError(f"unknown divergence {divergence!r}; use 'kl' or 'euclidean'")
    voices = list(notes_per_voice.values()) if isinstance(notes_per_voice, Mapping) else list(notes_per_voice)
    mix = np.asarray(mix, dtype=np.float64)
    spec = stft(mix, n_fft, hop)  # (F, T)
    mag = np.abs(spec)
    n_bins, n_frames = mag.shape
    freqs_hz = np.arange(n_bins) * sample_rate / n_fft
    frame_s = np.arange(n_frames) * hop / sample_rate  # frame centres
    min_half_width_hz = 2.0 * sample_rate / n_fft  # a Hann window's main lobe is +-2 bins

    w_cols, h_rows, owner = [], [], []  # one template and activation row per (voice, pitch)
    for v, notes in enumerate(voices):
        for pitch in sorted({int(n[0]) for n in notes}):
            active = np.zeros(n_frames, dtype=bool)
            for p, start_s, dur_s in notes:
                if int(p) == pitch:
                    lo_s, hi_s = start_s - onset_tolerance_s, start_s + dur_s + offset_tolerance_s
                    active |= (frame_s >= lo_s) & (frame_s < hi_s)
            if not active.any():
                continue
            w_cols.append(harmonic_template(midi_to_hz(pitch), freqs_hz, n_partials, tolerance_cents,
                                            min_half_width_hz, decay))
            h_rows.append(active.astype(np.float64))
            owner.append(v)
    n_voices = len(voices)
    if not owner:  # no note anywhere: nothing to separate
        return np.zeros((n_voices, len(mix)), np.float32)
    # the updates run in torch: its matmuls obey torch.set_num_threads (numpy's BLAS pool
    # stalls ~10x on a shared CPU)
    w = torch.from_numpy(np.stack(w_cols, axis=1))  # (F, K)
    h = torch.from_numpy(np.stack(h_rows, axis=0))  # (K, T)
    v_mag = torch.from_numpy(mag)  # (F, T)
    # start H at the level that makes W H match the mixture's overall magnitude
    h *= v_mag.sum() / torch.clamp((w @ h).sum(), min=MASK_EPS)

    eps = 1e-12
    for _ in range(n_iter):
        if divergence == "kl":  # Lee & Seung multiplicative updates for KL(V | WH)
            h *= (w.T @ (v_mag / (w @ h + eps))) / (w.sum(dim=0)[:, None] + eps)
            w *= ((v_mag / (w @ h + eps)) @ h.T) / (h.sum(dim=1)[None, :] + eps)
        else:  # Euclidean |V - WH|^2
            h *= (w.T @ v_mag) / (w.T @ w @ h + eps)
            w *= (v_mag @ h.T) / (w @ (h @ h.T) + eps)
        scale = w.amax(dim=0) + eps  # (K,) unit-max templates; the gain goes into H
        w /= scale
        h *= scale[:, None]

    owner = torch.tensor(owner)
    models = torch.stack([w[:, owner == v] @ h[owner == v] for v in range(n_voices)]).numpy()  # (V, F, T)
    # Bins outside every partial region (window side lobes, breath, reverb) have no model at
    # all; share them among the voices sounding in that frame, by each voice's frame level,
    # so that a resting voice stays silent. The floor is far below any modelled bin.
    frame_level = np.power(models, mask_power).mean(axis=1, keepdims=True)  # (V, 1, T)
    models = np.power(np.power(models, mask_power) + UNMODELLED_FLOOR * frame_level, 1.0 / mask_power)
    return apply_masks(mix, models, n_fft, hop, mask_power)
