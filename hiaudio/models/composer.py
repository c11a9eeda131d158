"""A small decoder-only Transformer that writes four-part chorales, with six positional encodings.

The sequence it reads is `hiaudio.data.sequence`'s: a key token, then the S A T B tokens of
each 16th-note step, each input carrying the structure labels (bar, position, phrase, fermata,
voice, chord) of the token it predicts. The `pe` setting chooses how order and structure enter:

    none        nothing: a causal Transformer still infers position from the mask (Haviv et al. 2022)
    sinusoidal  absolute sinusoidal encoding of the token index (Vaswani et al. 2017), added
    learned     a learned embedding per token index (GPT-2), added
    rpe         a learned bias per head on attention logits, indexed by the clipped token
                distance i - j (Shaw et al. 2018; the scalar-bias form of T5)
    s-ape       structure-informed absolute: learned embeddings of the labels' *values*, summed
                and added to the input (Agarwal, Wang & Richard, ICASSP 2024)
    s-rpe       structure-informed relative: a learned bias per head indexed by the clipped
                *differences* of the labels between query and key (bar, position, phrase,
                fermata, voice) and by the interval between their chords' roots (ibid.)

The key. The sequence's first token names the key (tonic and mode). A model trained with the
key token alone ignored it: the shipped 250-step models gave the same validation NLL with the true
key and with a key a tritone away (0.9539 and 0.9539 nats per token for S-APE). `key_conditioning`
chooses how the key enters, for every encoding alike:

    token       the key token at index 0 only (the models before issue 19)
    every       also a learned key embedding added to every input, so no position has to find
                the key token by attention
    degrees     "every", and each pitch token's embedding is its absolute pitch's plus its scale
                degree's in the piece's key ((pitch - tonic) mod 12, one table per mode), on the
                input and, tied, on the output: the model can say "the leading tone" once for all
                twelve keys (the relative-to-tonic view of harmony, with absolute pitch kept for
                the voices' ranges)

Voice pairs. With `voice_pairs`, the output also gets a learned bias from the intervals between
the voice being written and each voice above it (already written at this step): a table indexed
by the voice pair, their interval at the previous step and the candidate's interval now (mod 12),
and both voices' directions of motion (down, same, up). Parallel fifths and octaves are one cell
of that table (previous and new interval 7, or 0, both voices moving the same way); so are
contrary motion, doublings and voice exchanges -- all learned from the chorales, none set by
hand, and the table is there to read. Without it the model, tonal as it had become, wrote 13-17
parallels per 100 chord changes where Bach writes 0.2: pitch arithmetic between two tokens of
absolute pitch is what a small Transformer learns last. The sounding pitches it needs are read
off the tokens themselves (a KV cache keeps the window's tokens), so nothing else has to supply
them.

The relative biases are computed once per forward and shared by the layers (as in T5). For
sampling, `forward` takes a `KVCache`: keys and values of the past are kept, so each new token
costs one row of attention instead of a full pass.

    model = Composer(pe="s-ape")
    logits, loss = model(idx, labels, targets)     # idx (B, T), labels {name: (B, T)}
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from hiaudio import checkpoints
from hiaudio.data import chords
from hiaudio.data.sequence import KEY_OFFSET, LABEL_SIZES, LABELS, MODES, SEQ_VOCAB_SIZE
from hiaudio.data.tokens import HOLD, PITCH_OFFSET, REST

PE_KINDS = ("none", "sinusoidal", "learned", "rpe", "s-ape", "s-rpe")
KEY_CONDITIONING = ("token", "every", "degrees")
N_KEYS = 12 * len(MODES)  # key tokens: 12 tonics x major, minor
NO_DEGREE = N_KEYS  # the scale-degree index of tokens that are no pitch (REST, HOLD, keys)
N_VOICES = 4  # S A T B, interleaved per step after the key token
VOICE_PAIR = torch.tensor([[-1, 0, 1, 2], [-1, -1, 3, 4], [-1, -1, -1, 5], [-1, -1, -1, -1]])  # (upper, lower) -> pair
N_PAIRS = 6
# The voice-pair table is stored divided by this: Adam moves a parameter by about lr per step, so
# the table learns 4x faster than the network around it. At scale 1 its parallel-fifth and -octave
# cells had reached only -1.5 to -2.8 after 2000 steps (S-APE; 3.5 parallels per 100 chord changes
# where Bach writes 0.2), still falling: rare events give small, slow gradients.
PAIR_BIAS_SCALE = 4.0
# S-RPE: each label's difference query - key is clipped to +-this many units
SRPE_MAX_DIFF = {"bar": 8, "position": 47, "phrase": 4, "fermata": 1, "voice": 4}


@dataclasses.dataclass
class ComposerConfig:
    vocab_size: int = SEQ_VOCAB_SIZE  # grid tokens (REST, HOLD, 128 pitches) + 24 key tokens
    block_size: int = 513  # longest input in tokens: the key token + 8 bars x 16 steps x 4 voices
    n_layer: int = 4  # Transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 96  # model width
    dropout: float = 0.1  # on the residual branches and the input, while training
    attn_dropout: float = 0.0  # on the attention weights; off: its mask took 2/3 of a CPU training step
    # (1.30 vs 0.43 s per batch of 8 x 512 tokens, 1 thread) and blocks SDPA's fused kernel
    pe: str = "s-ape"  # positional encoding, one of PE_KINDS
    voice_pairs: bool = False  # the learned voice-pair interval bias on the output (module docstring);
    # off by default for checkpoints from before it, on in training
    key_conditioning: str = "token"  # how the key enters, one of KEY_CONDITIONING (module docstring); "token"
    # by default so that checkpoints from before the setting load as they were trained; training uses "degrees"
    rpe_max_distance: int = 256  # rpe: token distances beyond this share one bias


@dataclasses.dataclass
class KVCache:
    """Keys and values of the tokens seen so far, per layer, for incremental decoding. The buffers
    hold a whole block and are written in place (growing them by concatenation cost a copy of the
    past per token and layer)."""
    k: list  # per layer (B, nh, block_size, hs), the first `length` filled
    v: list
    length: int = 0  # tokens cached
    labels: dict | None = None  # name -> (B, L) labels of the cached tokens (kept for s-rpe only)
    key: torch.Tensor | None = None  # (B,) key index 0..23 of the sequence, read off its first token
    tokens: torch.Tensor | None = None  # (B, L) the window's tokens so far (kept for voice_pairs only)

    @classmethod
    def empty(cls, n_layer: int) -> "KVCache":
        return cls(k=[None] * n_layer, v=[None] * n_layer)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ComposerConfig):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head, self.n_embd, self.dropout = cfg.n_head, cfg.n_embd, cfg.attn_dropout
        self.block_size = cfg.block_size
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)  # q, k, v in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, bias=None, cache: KVCache | None = None, layer: int = 0):
        """x (B, T, C); bias (B, nh, T, S) added to the logits (S = past + T keys), causal mask included."""
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        if cache is not None:
            past = cache.length
            if cache.k[layer] is None:
                cache.k[layer] = k.new_empty(B, nh, self.block_size, hs)
                cache.v[layer] = v.new_empty(B, nh, self.block_size, hs)
            cache.k[layer][:, :, past:past + T] = k
            cache.v[layer][:, :, past:past + T] = v
            k, v = cache.k[layer][:, :, :past + T], cache.v[layer][:, :, :past + T]  # (B, nh, S, hs)
        drop = self.dropout if self.training else 0.0
        if bias is None and k.shape[2] == T:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        elif bias is None and T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)  # one new query sees all the past
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C) heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: ComposerConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: ComposerConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x, bias=None, cache=None, layer=0):
        x = x + self.attn(self.ln_1(x), bias, cache, layer)
        return x + self.mlp(self.ln_2(x))


def _chord_root(label: torch.Tensor) -> torch.Tensor:
    """Root pitch class of each chord label; 12 for NO_CHORD."""
    return torch.where(label == chords.NO_CHORD, 12, label // len(chords.QUALITIES))


def degree_index() -> torch.Tensor:
    """(N_KEYS, V) long: the scale-degree row of every token in every key; mode * 12 + (pitch class
    - tonic) mod 12 for pitch tokens, NO_DEGREE for REST, HOLD and the key tokens."""
    key = torch.arange(N_KEYS)[:, None]  # (K, 1): mode * 12 + tonic
    tok = torch.arange(SEQ_VOCAB_SIZE)[None, :]  # (1, V)
    degree = (key // 12) * 12 + (tok - PITCH_OFFSET - key % 12) % 12  # (K, V)
    is_pitch = (tok >= PITCH_OFFSET) & (tok < KEY_OFFSET)
    return torch.where(is_pitch, degree, NO_DEGREE)


def sounding_pitches(tokens: torch.Tensor) -> torch.Tensor:
    """(B, S) window tokens (key token first, then S A T B per step) -> (B, n, 4) MIDI pitch each
    voice sounds at each step, -1 for a rest (a HOLD continues the last onset; a trailing partial
    step is padded with rests)."""
    B, S = tokens.shape
    n = -(-(S - 1) // N_VOICES)  # steps begun
    body = torch.full((B, n * N_VOICES), REST, dtype=tokens.dtype, device=tokens.device)
    body[:, :S - 1] = tokens[:, 1:]
    body = body.view(B, n, N_VOICES)  # (B, n, 4)
    onset = (body >= PITCH_OFFSET) & (body < KEY_OFFSET)
    event = onset | (body != HOLD)  # an onset, a rest (or anything else) ends what sounded before
    step = torch.arange(n, device=tokens.device)[None, :, None].expand(B, n, N_VOICES)
    last = torch.where(event, step, -1).cummax(dim=1).values  # (B, n, 4) step of the last event
    pitch = torch.where(onset, body - PITCH_OFFSET, -1)
    return torch.where(last >= 0, pitch.gather(1, last.clamp(min=0)), -1)


def sinusoidal_encoding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """positions (...,) -> (..., dim): sin on even, cos on odd channels (Vaswani et al. 2017)."""
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # (dim/2,)
    angle = positions.float()[..., None] * freq  # (..., dim/2)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)  # (..., dim)


class Composer(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        cfg = self.config = ComposerConfig(**kwargs)
        if cfg.pe not in PE_KINDS:
            raise ValueError(f"unknown positional encoding {cfg.pe!r}; use one of {', '.join(PE_KINDS)}")
        if cfg.key_conditioning not in KEY_CONDITIONING:
            raise ValueError(f"unknown key conditioning {cfg.key_conditioning!r}; use one of "
                             f"{', '.join(KEY_CONDITIONING)}")
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        if cfg.key_conditioning in ("every", "degrees"):
            self.key_emb = nn.Embedding(N_KEYS, cfg.n_embd)
        if cfg.key_conditioning == "degrees":
            self.degree_emb = nn.Embedding(N_KEYS + 1, cfg.n_embd, padding_idx=NO_DEGREE)  # row NO_DEGREE: 0
            self.register_buffer("degree_index", degree_index(), persistent=False)  # (K, V)
        if cfg.pe == "learned":
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        if cfg.pe == "s-ape":  # one table per label; their rows are summed
            self.label_emb = nn.ModuleDict({k: nn.Embedding(n, cfg.n_embd) for k, n in LABEL_SIZES.items()})
        if cfg.pe == "rpe":
            self.rel_bias = nn.Embedding(cfg.rpe_max_distance + 1, cfg.n_head)
        if cfg.pe == "s-rpe":
            self.label_bias = nn.ModuleDict({k: nn.Embedding(2 * d + 1, cfg.n_head) for k, d in SRPE_MAX_DIFF.items()})
            self.chord_bias = nn.Embedding(13, cfg.n_head)  # root interval 0..11, 12: a side has no chord
        if cfg.voice_pairs:  # rows: (pair, previous interval, upper voice's motion); columns: (interval, motion)
            self.pair_bias = nn.Parameter(torch.zeros(N_PAIRS * 12 * 3, 12 * 3))  # 0: starts as if absent
            tok = torch.arange(cfg.vocab_size)
            pitch = torch.where((tok >= PITCH_OFFSET) & (tok < KEY_OFFSET), tok - PITCH_OFFSET, -1)
            self.register_buffer("token_pitch", torch.where(tok == HOLD, -2, pitch), persistent=False)  # (V,)
            self.register_buffer("voice_pair", VOICE_PAIR.clone(), persistent=False)  # (4, 4)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying (Press & Wolf 2017), as nanoGPT
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # scaled init of the residual projections (GPT-2)
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    def _attention_bias(self, q_pos, k_pos, q_lab, k_lab):
        """(B or 1, nh, T, S) additive logits bias incl. the causal mask, or None where SDPA's own mask does."""
        pe = self.config.pe
        T, S = q_pos.shape[1], k_pos.shape[1]
        if pe not in ("rpe", "s-rpe") and (T == S or T == 1):
            return None  # SDPA's is_causal, or one new query that may see every key
        if pe != "s-rpe":  # token distances are the same in every batch row: one (1, T, S) bias
            q_pos, k_pos = q_pos[:1], k_pos[:1]
        dist = q_pos[:, :, None] - k_pos[:, None, :]  # (B, T, S) token distance, >= 0 where allowed
        if pe not in ("rpe", "s-rpe"):  # several new queries after a cached past: the causal mask only
            bias = torch.zeros(*dist.shape, self.config.n_head, device=q_pos.device)
        elif pe == "rpe":
            bias = self.rel_bias(dist.clamp(0, self.config.rpe_max_distance))  # (1, T, S, nh)
        else:
            bias = self._structure_bias(q_lab, k_lab)  # (B, T, S, nh)
        bias = bias.permute(0, 3, 1, 2)  # (B, nh, T, S)
        return bias.masked_fill((dist < 0)[:, None], float("-inf"))

    def _structure_bias(self, q_lab, k_lab):
        """S-RPE's (B, T, S, nh) bias: the sum over labels of each one's table at the clipped label
        difference, plus the chord-root interval's. Computed as two lookups -- the five label tables
        broadcast-summed into one joint table over all their differences (17 x 95 x 9 x 3 x 9 rows),
        then the chord table -- instead of six: the same function and parameters, but a third of the
        gathers and of their backward scatters, which took most of an S-RPE training step."""
        joint, index = 0, 0
        for name, d in SRPE_MAX_DIFF.items():
            diff = q_lab[name][:, :, None] - k_lab[name][:, None, :]  # (B, T, S)
            index = index * (2 * d + 1) + (diff.clamp(-d, d) + d)
            table = self.label_bias[name].weight  # (2d + 1, nh)
            joint = joint[..., None, :] + table if torch.is_tensor(joint) else table  # (..., 2d + 1, nh)
        bias = F.embedding(index, joint.reshape(-1, self.config.n_head))  # (B, T, S, nh)
        rq, rk = _chord_root(q_lab["chord"]), _chord_root(k_lab["chord"])  # (B, T), (B, S)
        interval = (rq[:, :, None] - rk[:, None, :]) % 12  # (B, T, S)
        none = (rq[:, :, None] == 12) | (rk[:, None, :] == 12)
        return bias + self.chord_bias(torch.where(none, 12, interval))

    def _key_of(self, idx, cache):
        """(B,) key index 0..23: the first token's, or the cache's once the key token is past."""
        if cache is not None and cache.length:
            if cache.key is None:
                raise ValueError("the cache holds no key; start a sequence with its key token")
            return cache.key
        key = idx[:, 0] - KEY_OFFSET
        if ((key < 0) | (key >= N_KEYS)).any():
            raise ValueError(f"key_conditioning={self.config.key_conditioning} needs a key token first; "
                             f"got tokens {idx[:, 0].tolist()}")
        return key

    def _voice_pair_bias(self, window, past: int, T: int) -> torch.Tensor:
        """(B, T, V) logit bias of each candidate token from the voice-pair table; `window` (B, past + T)
        holds the window's tokens up to the last input. Input g predicts voice g % 4 of step g // 4."""
        B = window.shape[0]
        sound = sounding_pitches(window)  # (B, n, 4)
        n = sound.shape[1]
        g = torch.arange(past, past + T, device=window.device)  # (T,) window positions of the inputs
        v, k = g % N_VOICES, g // N_VOICES  # voice and step of the slot each input predicts
        none = torch.full((B, 1, N_VOICES), -1, dtype=sound.dtype, device=sound.device)
        padded = torch.cat([none, sound, none], 1)  # (B, n + 2, 4): index k + 1 is step k
        prev = padded[:, k]  # (B, T, 4) the previous step (none before the window's first)
        now = padded[:, (k + 1).clamp(max=n + 1), :N_VOICES - 1]  # (B, T, 3) this step's upper voices
        prev_v = prev.gather(2, v[None, :, None].expand(B, T, 1))  # (B, T, 1) the voice's own last pitch
        prev_u = prev[..., :N_VOICES - 1]  # (B, T, 3)
        cand = self.token_pitch.expand(B, T, -1)  # (B, T, V) the pitch each candidate sounds
        cand = torch.where(self.token_pitch == -2, prev_v, cand)  # HOLD sounds the voice's last pitch
        pair = self.voice_pair[:N_VOICES - 1, v].T  # (T, 3) pair of (upper voice u, v); -1 unless u < v
        ok = (pair >= 0) & (now >= 0) & (prev_u >= 0) & (prev_v >= 0)  # (B, T, 3)
        row = (pair.clamp(min=0) * 12 + (prev_u - prev_v) % 12) * 3 + torch.sign(now - prev_u) + 1  # (B, T, 3)
        col = ((now[..., None] - cand[:, :, None]) % 12) * 3 + torch.sign(cand - prev_v)[:, :, None] + 1
        cell = PAIR_BIAS_SCALE * self.pair_bias[row].gather(3, col)  # (B, T, 3, V)
        return torch.where(ok[..., None] & (cand >= 0)[:, :, None], cell, 0.0).sum(2)  # (B, T, V)

    def forward(self, idx, labels=None, targets=None, cache: KVCache | None = None):
        """idx (B, T) tokens; labels {name: (B, T)} of the tokens they predict (needed by s-ape and
        s-rpe); targets (B, T) next tokens, -1 = ignore. Returns (logits (B, T, V), loss or None).
        With a cache, idx continues the cached tokens and the cache grows by T."""
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if past + T > self.config.block_size:
            raise ValueError(f"{past + T} tokens exceed the model's block size {self.config.block_size}")
        pos = torch.arange(past, past + T, device=idx.device).expand(B, T)  # (B, T)
        if self.config.pe in ("s-ape", "s-rpe") and labels is None:
            raise ValueError(f"pe={self.config.pe} needs the structure labels of every token")
        x = self.wte(idx)  # (B, T, C)
        keyed = self.config.key_conditioning != "token"
        if keyed:
            key = self._key_of(idx, cache)  # (B,)
            if cache is not None:
                cache.key = key
            x = x + self.key_emb(key)[:, None, :]  # the key at every position
            if self.config.key_conditioning == "degrees":
                degrees = self.degree_index[key]  # (B, V) each token's scale degree in the piece's key
                x = x + self.degree_emb(degrees.gather(1, idx))
        if self.config.pe == "sinusoidal":
            x = x + sinusoidal_encoding(pos, self.config.n_embd)
        elif self.config.pe == "learned":
            x = x + self.wpe(pos)
        elif self.config.pe == "s-ape":
            x = x + sum(self.label_emb[k](labels[k]) for k in LABELS)
        k_pos = torch.arange(past + T, device=idx.device).expand(B, past + T)  # (B, S) keys: the past, then idx
        k_lab = labels
        if cache is not None and self.config.pe == "s-rpe":
            if past:
                k_lab = {k: torch.cat([cache.labels[k], labels[k]], 1) for k in labels}  # (B, S) each
            cache.labels = k_lab
        bias = self._attention_bias(pos, k_pos, labels, k_lab)
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, bias, cache, i)
        if cache is not None:
            cache.length = past + T
        h = self.ln_f(x)
        logits = self.lm_head(h)  # (B, T, V)
        if keyed and self.config.key_conditioning == "degrees":  # the output side of the degree embedding
            per_degree = h @ self.degree_emb.weight.T  # (B, T, K + 1); row NO_DEGREE is 0
            logits = logits + per_degree.gather(2, degrees[:, None, :].expand(B, T, -1))  # (B, T, V)
        if self.config.voice_pairs:
            window = idx
            if cache is not None:
                window = idx if not past else torch.cat([cache.tokens, idx], 1)  # (B, past + T)
                cache.tokens = window
            logits = logits + self._voice_pair_bias(window, past, T)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


checkpoints.register("composer", "hiaudio.models.composer:Composer")
