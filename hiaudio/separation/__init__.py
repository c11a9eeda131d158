"""Choir separation by synthesis, and the metrics and baselines it is judged against.

* `choir`: the pipeline -- per-part F0 (blind or near a score), harmonic combs fitted to the
  mixture (`comb`), masked stems, per-part voice models; `python -m hiaudio separate`.
* `multif0`: per-part F0 from the salience network (the parts decoded jointly, by a beam search).

* `metrics`: `si_sdr` / `si_sdr_batch` (dB) for stems, `pitch_scores` (mir_eval.melody) for F0,
  `pitch_ordered` (the ceiling of a decoder that labels parts by pitch order).
* `baselines`: `mixture_baseline` (floor), `oracle_ratio_mask` (ceiling for masking),
  `score_informed_nmf` (Ewert & Mueller 2012).

The benchmark that runs them on held-out chorales is ``python bench/choir_separation.py``.

    from hiaudio.separation import score_informed_nmf, si_sdr_batch
    est = score_informed_nmf(ex.mixture, ex.sample_rate, ex.meta["notes"])  # (4, S)
    si_sdr_batch(est, ex.stems)  # (4,) dB, soprano alto tenor bass
"""
from hiaudio.separation.baselines import mixture_baseline, oracle_ratio_mask, score_informed_nmf
from hiaudio.separation.metrics import magnitude_snr_batch, pitch_ordered, pitch_scores, si_sdr, si_sdr_batch

__all__ = ["magnitude_snr_batch", "mixture_baseline", "oracle_ratio_mask", "pitch_ordered", "pitch_scores",
           "score_informed_nmf", "si_sdr", "si_sdr_batch"]
