"""Separation by synthesis in the STFT domain: each voice a harmonic comb on its own F0 track.

Given one F0 track per voice, each voice's magnitude spectrum is modelled as a sum of window
main lobes at its harmonics,

    Y_v(f, t) = sum_k a_v,k(t) |W(f - k f0_v(t))|,      a_v,k(t) = g_v(t) * E_v(k f0_v(t))

where |W| is the periodic Hann window's spectrum (main lobe plus the first side lobes),
g_v(t) >= 0 the voice's level in frame t and E_v >= 0 the voice's spectral envelope -- the
source-filter picture: one smooth envelope (3 bands per octave) for all the notes a voice
sings, read at each partial's frequency. The envelope is what makes overlapping partials (a
bass's 2nd harmonic under the tenor's 1st) separable: it is learned mostly where the voice's
partials sit alone and decides how much of a shared bin each voice gets, as the harmonic
templates of score-informed NMF do (Ewert & Mueller 2012); unlike NMF the partials follow the
sung F0 -- vibrato, intonation, glides -- instead of a fixed pitch grid. g and E are fitted to
the mixture magnitude by multiplicative updates for the KL divergence (Lee & Seung 2001), so
only the mixture is ever compared with: the loss of a separation-by-synthesis model, solved
per clip. Where two voices sing one pitch their combs coincide and the mixture cannot say how
the energy divides; there each voice keeps the share of the pair's loudness it had around the
unison (`tie_unisons`), as a singer's loudness changes slowly. For the same reason each level
is smoothed within its note after every update (`smooth_within_notes`): where partials coincide,
a level free frame by frame takes its neighbours' energy.

Each voice's mask is then Y_v^p / sum_j Y_j^p on the mixture STFT. Bins no comb covers
(reverb, breath) go to the voices sounding in that frame in proportion to their frame level.

    models = fit_combs(mag, f0_frames_hz, sample_rate, n_fft)      # (V, F, T)
    stems = apply_masks(mix, models, n_fft, hop, power=1.0)

The comb is stored sparsely: each partial touches 2 * LOBE_BINS bins, so an update costs
O(T * V * K * LOBE_BINS), not O(T * F * V * K); float32 throughout.
"""
from __future__ import annotations

import numpy as np
import torch

from hiaudio.dsp.partials import LOBE_BINS, comb_layout, voice_magnitudes
from hiaudio.dsp.units import cents_between, hz_to_midi
from hiaudio.limits import check_deadline

# Every setting below was chosen on validation excerpts; BENCHMARKS.md (choir separation,
# "Tuning log") has the figures that chose each one.
N_ITER = 40  # KL updates (40 scored as 80 in half the time)
BANDS_PER_OCTAVE = 3.0  # the part's spectral envelope (2: 14.87 dB, 3: 15.01, 4: 14.95)
ENVELOPE_MIN_HZ = 50.0  # the envelope's first band
EPS = 1e-9
UNMODELLED_FLOOR = 1e-6  # share of bins no comb covers, times each voice's frame level
UNISON_CENTS = 50.0  # two voices closer than this sing one pitch (`tie_unisons`: 13.46 -> 14.18 dB)
LEVEL_SMOOTH_FRAMES = 21  # Hann smoothing of a level within its note (~340 ms; 14.16 -> 14.65 dB)
RELEASE_TRACKS = 2  # release tracks per voice: a tail rings on under the next note's (15.17 -> 15.59 dB)
# each partial's lobe widened for a section of singers spread by this many cents (`comb_layout`);
# tuning set, with the score: 0 -> 5.77 dB, 15 -> 5.99, 25 -> 6.20, 40 -> 6.18, 60 -> 5.89
SECTION_SPREAD_CENTS = 25.0
UNISON_CONTEXT_FRAMES = 120  # frames each side of a unison (about 2 s at a 16 ms hop) that say how its voices are balanced


def midi_of(f0_hz: np.ndarray) -> np.ndarray:
    """F0 (Hz) rounded to the nearest MIDI note; -1 where 0 (silent)."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    return np.where(f0 > 0, np.round(hz_to_midi(np.maximum(f0, 1e-3))), -1).astype(np.int64)


def release_tracks(f0_hz: np.ndarray, n_release_frames: int, n_tracks: int = RELEASE_TRACKS) -> np.ndarray:
    """Each voice's ended notes, held for n_release_frames after they end: (n_tracks, V, T) Hz.

    A note does not stop when the next one starts: its release and the room's reverb go on for
    a few hundred ms. The note ended at a voice's i-th note change (or stop) rings on in track
    i % n_tracks, from that change for n_release_frames, until that track takes a later note:
    with two tracks a note's tail goes on under the next note's. 0 where a track is silent.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    out = np.zeros((n_tracks,) + f0.shape)
    midi = midi_of(f0)
    for v in range(f0.shape[0]):
        last_f0, last_note, n_ended = 0.0, -1, 0
        for t in range(f0.shape[1]):
            if midi[v, t] != last_note and last_note >= 0:  # a change: the old note rings on
                out[n_ended % n_tracks, v, t:t + n_release_frames] = last_f0
                n_ended += 1
            if midi[v, t] >= 0:
                last_f0 = f0[v, t]
            last_note = midi[v, t]
    return out


def unison_runs(f0_hz: np.ndarray, tolerance_cents: float) -> list[tuple[int, int, int, int]]:
    """Where two voices sing the same pitch: (v, j, start, stop) frame runs, v < j, f0_hz (V, T)."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    runs = []
    for v in range(f0.shape[0]):
        for j in range(v + 1, f0.shape[0]):
            both = (f0[v] > 0) & (f0[j] > 0)
            same = np.zeros(f0.shape[1], dtype=bool)
            same[both] = np.abs(cents_between(f0[v, both], f0[j, both])) < tolerance_cents
            edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
            runs += [(v, j, int(a), int(b)) for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0])]
    return runs


def tie_unisons(level: torch.Tensor, loudness_per_level: torch.Tensor, runs, context: int = UNISON_CONTEXT_FRAMES):
    """Split each unison run between its two voices as they were balanced around it: -> level (T, V').

    In a unison both voices' combs are the same, so the mixture says nothing about how its
    energy divides between them (with alike timbres, the fit keeps its starting 50/50). A
    singer's loudness changes slowly, so the share of voice v in the pair's loudness is read
    in up to `context` frames before and after the run where both sing apart, interpolated
    across the run, and imposed on the pair's total. loudness_per_level (T, V'): each
    track's summed partial amplitude per unit level.
    """
    level = level.clone()
    loud = level * loudness_per_level
    tied = torch.zeros(level.shape, dtype=torch.bool, device=level.device)
    for v, j, start, stop in runs:
        tied[start:stop, v] = tied[start:stop, j] = True
    for v, j, start, stop in runs:
        shares = []
        for lo, hi in ((max(start - context, 0), start), (stop, min(stop + context, level.shape[0]))):
            ok = ~tied[lo:hi, v] & ~tied[lo:hi, j] & (loud[lo:hi, v] > 0) & (loud[lo:hi, j] > 0)
            if ok.sum() >= 3:
                a, b = loud[lo:hi, v][ok].sum(), loud[lo:hi, j][ok].sum()
                shares.append(float(a / (a + b)))
            else:
                shares.append(None)
        before, after = shares
        if before is None and after is None:
            continue  # nothing around it to go by: the fit decides
        share = torch.linspace(before if before is not None else after, after if after is not None else before,
                               stop - start, device=level.device)
        total = loud[start:stop, v] + loud[start:stop, j]
        level[start:stop, v] = share * total / (loudness_per_level[start:stop, v] + EPS)
        level[start:stop, j] = (1 - share) * total / (loudness_per_level[start:stop, j] + EPS)
    return level


def note_runs(f0_hz: np.ndarray) -> np.ndarray:
    """Which note each frame belongs to, per track: (T, V) int64, a new id at every note change; -1 where silent."""
    midi = midi_of(f0_hz)  # (V, T)
    change = np.ones_like(midi, dtype=bool)
    change[:, 1:] = midi[:, 1:] != midi[:, :-1]
    ids = np.cumsum(change.reshape(-1)).reshape(midi.shape)  # unique across tracks
    return np.where(midi >= 0, ids, -1).T


def note_smoothing(runs: np.ndarray, width: int = LEVEL_SMOOTH_FRAMES) -> torch.Tensor:
    """Weights (T, V, width) of a Hann-weighted moving mean that stays inside each note.

    runs: (T, V) from `note_runs`. Near a note's start or end the window narrows to stay
    symmetric about its frame (half-width = the distance to the note's edge), so an attack
    or a decay keeps its slope; a silent frame keeps its own value.
    """
    runs = np.asarray(runs)
    width = 2 * (max(int(width), 1) // 2) + 1  # odd, so the window centres on its frame; 1: no smoothing
    n_frames = runs.shape[0]
    t = np.arange(n_frames)[:, None]
    starts = np.ones(runs.shape, dtype=bool)
    starts[1:] = runs[1:] != runs[:-1]
    ends = np.ones(runs.shape, dtype=bool)
    ends[:-1] = runs[:-1] != runs[1:]
    first = np.maximum.accumulate(np.where(starts, t, 0), axis=0)  # each frame's note start
    last = np.minimum.accumulate(np.where(ends, t, n_frames)[::-1], axis=0)[::-1]  # and end
    reach = np.where(runs >= 0, np.minimum(t - first, last - t), 0)  # (T, V)
    half = width // 2
    offset = np.abs(np.arange(width) - half)
    kernel = np.hanning(width + 2)[1:-1]
    weights = kernel * (offset <= np.minimum(reach, half)[..., None])  # (T, V, W)
    return torch.as_tensor(weights / weights.sum(-1, keepdims=True), dtype=torch.float32)


def smooth_within_notes(level: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """level (T, V) averaged with `note_smoothing`'s weights (T, V, W)."""
    width = weights.shape[-1]
    half = width // 2
    padded = torch.nn.functional.pad(level, (0, 0, half, width - 1 - half))
    return (padded.unfold(0, width, 1) * weights).sum(-1)


def note_segments(runs: np.ndarray, columns) -> list[tuple[int, int, int]]:
    """(column, start, stop) of every note in the given columns of runs (T, V)."""
    segments = []
    for c in columns:
        edges = np.nonzero(np.diff(runs[:, c]) != 0)[0] + 1
        bounds = np.concatenate([[0], edges, [len(runs)]])
        segments += [(c, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if runs[a, c] >= 0 and b - a > 1]
    return segments


def decay_within_notes(level: torch.Tensor, segments) -> torch.Tensor:
    """Each segment's level made non-increasing in time (running minimum): a release only dies away."""
    level = level.clone()
    for c, a, b in segments:
        level[a:b, c] = torch.cummin(level[a:b, c], 0).values
    return level


def fit_combs(mag: np.ndarray, f0_hz: np.ndarray, sample_rate: int, n_fft: int, n_harmonics: int = 40,
              n_iter: int = N_ITER, release_frames: int = 0, lobe_bins: int = LOBE_BINS,
              bands_per_octave: float = BANDS_PER_OCTAVE, level_smooth_frames: int = LEVEL_SMOOTH_FRAMES,
              spread_cents: float = SECTION_SPREAD_CENTS, device: torch.device | str | None = None,
              amplitudes: bool = False):
    """Fit every voice's comb to a mixture magnitude; -> each voice's modelled magnitude (V, F, T).

    mag: (F, T) mixture STFT magnitude (F = n_fft // 2 + 1). f0_hz: (V, T) each voice's F0 at
    the STFT frames, 0 where it is silent. Partial k of voice v in frame t has the amplitude
    g_v(t) * E_v(k f0_v(t)): a level per frame times the voice's spectral envelope, read on a
    log-frequency grid of `bands_per_octave` (linear interpolation), flat at the start. With
    release_frames > 0 each voice also gets RELEASE_TRACKS release tracks (`release_tracks`): its
    ended notes, with the voice's envelope and a level of their own, for that many frames after
    each change.
    Each partial's lobe is widened as a section of singers spread by spread_cents widens it
    (`comb_layout`; 0: one singer's lobe). Each track's level is smoothed within its notes after
    every update (`smooth_within_notes`), and a release track's level may only fall
    (`decay_within_notes`). The updates run on
    `device` (the CPU by default); the models come back as numpy arrays. amplitudes=True also
    returns every track's partial amplitudes (T, V', K), the tracks' F0 (V', T) and the voice
    each track belongs to (V',): (models, amps, track_f0_hz, owner).
    """
    device = torch.device(device or "cpu")
    x = torch.as_tensor(np.asarray(mag, dtype=np.float32)).T.contiguous().to(device)  # (T, F)
    n_frames, n_bins = x.shape
    n_voices = f0_hz.shape[0]
    owner = np.arange(n_voices)
    if release_frames > 0:  # tracks V, V+1, ...: the voices' releases, RELEASE_TRACKS per voice
        held = release_tracks(f0_hz, release_frames)
        f0_hz = np.concatenate([f0_hz, *held])
        owner = np.tile(owner, 1 + len(held))
    n_tracks = f0_hz.shape[0]
    index, weight = (t.to(device) for t in comb_layout(f0_hz, sample_rate, n_fft, n_harmonics, lobe_bins, spread_cents))  # (T, V', K, J)
    flat = (index + n_bins * torch.arange(n_frames, device=device)[:, None, None, None]).reshape(-1)  # into (T*F,)
    weight_sum = weight.sum(-1) + EPS  # (T, V', K)

    # where each partial reads its voice's envelope: bands b0 and b0 + 1, weights 1 - frac, frac
    n_env = int(np.ceil(bands_per_octave * np.log2(sample_rate / 2 / ENVELOPE_MIN_HZ))) + 2
    partial_hz = (torch.as_tensor(np.asarray(f0_hz, dtype=np.float64).T)[..., None] * torch.arange(
        1, n_harmonics + 1, dtype=torch.float64)).to(device)  # (T, V', K)
    pos = (bands_per_octave * torch.log2((partial_hz / ENVELOPE_MIN_HZ).clamp(min=1.0))).clamp(0, n_env - 1.001)
    band = (torch.as_tensor(owner, device=device)[None, :, None] * n_env + pos.floor().long()).reshape(-1)  # (T*V'*K,)
    frac = (pos - pos.floor()).float().reshape(-1)
    owner_t = torch.as_tensor(owner, device=device)

    def read(env):
        """(V * n_env,) envelopes -> (T, V', K) each partial's envelope value."""
        return (env[band] * (1 - frac) + env[band + 1] * frac).view(partial_hz.shape)

    def ratio_gain(amp):
        """sum_f W (X / Y) per partial (T, V', K): the numerator of the KL multiplicative updates."""
        y = torch.zeros(n_frames * n_bins, dtype=torch.float32, device=device)
        y.index_add_(0, flat, (weight * amp[..., None]).reshape(-1))
        r = x.reshape(-1) / (y + EPS)
        return (weight * r[flat].view(weight.shape)).sum(-1)

    def to_bands(values):
        """(T, V', K) per-partial sums -> (V * n_env,) per envelope band, split as `read` reads."""
        v = values.reshape(-1)
        return torch.zeros(n_voices * n_env, device=device).index_add_(0, band, v * (1 - frac)).index_add_(0, band + 1, v * frac)

    env = torch.ones(n_voices * n_env, dtype=torch.float32, device=device)
    level = torch.ones(n_frames, n_tracks, dtype=torch.float32, device=device)  # (T, V')
    level *= x.sum() / (weight_sum * read(env)).sum().clamp(min=EPS)
    unisons = unison_runs(f0_hz[:n_voices], UNISON_CENTS)
    runs = note_runs(f0_hz)  # (T, V')
    smoothing = note_smoothing(runs, level_smooth_frames).to(device)
    releases = note_segments(runs, range(n_voices, n_tracks))
    valid = weight_sum > 1e-3  # partials below Nyquist
    for _ in range(n_iter):
        check_deadline()
        # level and envelope updated together from one model (a Jacobi step; one sparse
        # synthesis per iteration instead of two)
        e = read(env)
        gain = ratio_gain(level[..., None] * e)  # (T, V', K)
        env_next = env * to_bands(gain * level[..., None]) / (to_bands(weight_sum * level[..., None]) + EPS)
        level = level * (e * gain).sum(-1) / ((e * weight_sum).sum(-1) + EPS)
        if unisons:
            level = tie_unisons(level, (e * valid).sum(-1), unisons, UNISON_CONTEXT_FRAMES)
        level = decay_within_notes(smooth_within_notes(level, smoothing), releases)
        env = env_next
        scale = env.view(n_voices, n_env).amax(-1) + EPS  # unit-max envelopes; the level takes the gain
        env = (env.view(n_voices, n_env) / scale[:, None]).reshape(-1)
        level = level * scale[owner_t][None, :]

    amp = level[..., None] * read(env)  # (T, V', K)
    models = voice_magnitudes(amp, index, weight, owner_t, n_voices, n_bins).double().cpu().numpy()  # (V, F, T)
    frame_level = models.mean(axis=1, keepdims=True)  # (V, 1, T): uncovered bins follow the frame's voices
    models = models + UNMODELLED_FLOOR * frame_level
    return (models, amp.cpu().numpy(), f0_hz, owner) if amplitudes else models
