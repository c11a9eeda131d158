"""The composer Transformer (hiaudio/models/composer.py): causality and the KV cache for every
encoding, the key at every position, the degree table, the voice-pair table, S-RPE's joint table."""
import numpy as np
import pytest
import torch

from hiaudio.data import chords, sequence
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST
from hiaudio.models.composer import NO_DEGREE, PAIR_BIAS_SCALE, PE_KINDS, SRPE_MAX_DIFF, Composer, KVCache, sounding_pitches
from tests.composer_fixture import batch_of, chorale_grid, tiny


@pytest.fixture(scope="module")
def grid():
    return chorale_grid()


@pytest.mark.parametrize("pe", PE_KINDS)
def test_model_is_causal_and_the_cache_agrees(pe, grid):
    model = tiny(pe, key_conditioning="degrees", voice_pairs=True)  # what training builds
    idx, lab = batch_of(grid)
    logits, _ = model(idx, lab)
    t = 40
    idx2, lab2 = idx.clone(), {k: v.clone() for k, v in lab.items()}
    idx2[0, t + 1] = (idx2[0, t + 1] + 7) % 130
    for k in lab2:  # the future's labels change too
        lab2[k][0, t + 1:] = 0
    logits2, _ = model(idx2, lab2)
    assert torch.equal(logits[:, :t + 1], logits2[:, :t + 1])
    assert not torch.allclose(logits[:, t + 1:], logits2[:, t + 1:])  # the change is seen later
    cache, parts = KVCache.empty(model.config.n_layer), []
    for a, b in [(0, 17), (17, 18), (18, idx.shape[1])]:  # a prompt, one token, the rest
        out, _ = model(idx[:, a:b], {k: v[:, a:b] for k, v in lab.items()}, cache=cache)
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts, 1), logits, atol=2e-5, rtol=1e-4)


def test_the_key_reaches_every_position():
    """Without attention (no blocks) a position sees only its own input: the key must be in it."""
    idx = torch.tensor([[sequence.key_token(7, "major"), PITCH_OFFSET + 67, HOLD, PITCH_OFFSET + 62, REST]])
    other = idx.clone()
    other[0, 0] = sequence.key_token(2, "minor")
    for conditioning, reaches in [("token", False), ("every", True), ("degrees", True)]:
        model = tiny("none", n_layer=0, key_conditioning=conditioning)
        a, b = model(idx)[0], model(other)[0]
        assert not torch.equal(a[:, 0], b[:, 0])
        assert (not torch.allclose(a[:, 1:], b[:, 1:])) == reaches, conditioning
    with pytest.raises(ValueError, match="key token first"):
        tiny("none", key_conditioning="every")(idx[:, 1:])


def test_degree_embedding_is_the_same_for_a_scale_degree_in_every_key():
    model = tiny("none", key_conditioning="degrees")
    with torch.no_grad():
        model.degree_emb.weight.normal_()
        model.degree_emb.weight[-1] = 0  # the padding row, as trained
    deg = model.degree_index
    g_major, d_major, a_minor = sequence.key_token(7, "major"), sequence.key_token(2, "major"), sequence.key_token(9, "minor")
    k = lambda tok: tok - sequence.KEY_OFFSET  # noqa: E731
    assert deg[k(g_major), PITCH_OFFSET + 66] == deg[k(d_major), PITCH_OFFSET + 61] == 11  # F# in G = C# in D: leading tone
    assert deg[k(a_minor), PITCH_OFFSET + 57] == 12  # A in A minor: the minor table's tonic
    assert (deg[:, [REST, HOLD]] == NO_DEGREE).all() and (deg[:, sequence.KEY_OFFSET:] == NO_DEGREE).all()


def test_voice_pair_table_reads_intervals_and_motion_off_the_tokens():
    key = sequence.key_token(0, "major")
    # step 0: S C5, A F4 (a fifth apart); step 1: S up to D5 -- input 5 predicts the alto of step 1
    idx = torch.tensor([[key, PITCH_OFFSET + 72, PITCH_OFFSET + 65, PITCH_OFFSET + 60, PITCH_OFFSET + 53,
                         PITCH_OFFSET + 74]])
    model = tiny("none", voice_pairs=True)
    with torch.no_grad():
        model.pair_bias.zero_()
    base = model(idx)[0][0, 5].detach()
    fifth_up = (0 * 12 + 7) * 3 + 2  # pair (S, A), previous interval 7, soprano moving up
    with torch.no_grad():
        model.pair_bias[fifth_up, 7 * 3 + 2] = -50.0 / PAIR_BIAS_SCALE  # ... and the alto up a fifth below it
    moved = model(idx)[0][0, 5].detach() - base
    assert moved[PITCH_OFFSET + 67] == pytest.approx(-50.0)  # G4: the parallel fifth
    assert moved[PITCH_OFFSET + 79] == pytest.approx(-50.0)  # G5, above the soprano: the same cell mod 12
    assert moved[PITCH_OFFSET + 62].abs() < 1e-5 and moved[HOLD].abs() < 1e-5 and moved[REST].abs() < 1e-5
    np.testing.assert_array_equal(
        sounding_pitches(torch.tensor([[key, 74, 69, 64, 50, HOLD, HOLD, REST, HOLD, 75, HOLD, 66]])).numpy(),
        [[[72, 67, 62, 48], [72, 67, -1, 48], [73, 67, 64, -1]]])  # HOLD goes on, REST stops, a partial step


def test_srpe_joint_table_equals_the_sum_of_label_tables(grid):
    model = tiny("s-rpe")
    with torch.no_grad():
        for table in [*model.label_bias.values(), model.chord_bias]:
            table.weight.normal_()
    _, lab = batch_of(grid, 20)
    want = 0
    for name, d in SRPE_MAX_DIFF.items():  # the plain form: one lookup per label
        diff = lab[name][:, :, None] - lab[name][:, None, :]
        want = want + model.label_bias[name](diff.clamp(-d, d) + d)
    root = torch.where(lab["chord"] == chords.NO_CHORD, 12, lab["chord"] // len(chords.QUALITIES))
    none = (root[:, :, None] == 12) | (root[:, None, :] == 12)
    want = want + model.chord_bias(torch.where(none, 12, (root[:, :, None] - root[:, None, :]) % 12))
    torch.testing.assert_close(model._structure_bias(lab, lab), want)


def test_unknown_encoding_and_missing_labels_are_refused():
    with pytest.raises(ValueError, match="positional encoding"):
        Composer(pe="rope")
    with pytest.raises(ValueError, match="labels"):
        tiny("s-ape")(torch.zeros(1, 4, dtype=torch.long))
