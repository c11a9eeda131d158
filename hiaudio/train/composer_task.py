"""Training task "composer": next-token prediction on Bach chorales, one positional encoding per run.

    python -m hiaudio.train composer --set pe=s-ape --set seed=0 --set out_dir=runs/composer_s-ape_s0 \
        --ship composer_s-ape.pt

Data: the chorales of the training split (`hiaudio.data.dataset.split_pieces`), each item a
window of `max_steps` steps (8 bars) of a piece as a `hiaudio.data.sequence` sequence (the key
token, then S A T B per 16th step), starting on a random bar line. Each item is transposed by a
random interval that keeps every voice in its range (`random_transposition`: 7.5 of the 13
shifts -6..+6 on average), and the key token follows, so the key of every window is its own.
Validation: the validation split, untransposed, first `max_steps` steps; the sampler writes
longer pieces in windows of the same size (`hiaudio.studio.compose`). Why 8 bars: attention cost
grows with the square of the window, and the CPU trains all six encodings.

Schedule: AdamW at a constant 2e-3 after 50 warm-up steps, a budget of 2000 steps of 8 windows
(8 M tokens, about 57 passes over the training pieces) for every encoding and seed -- equal
compute -- with early stopping on the validation NLL (patience 5 validations of every 100
steps); the best validation checkpoint is kept. A run stopped for any reason continues from
`out_dir/last.pt` with the same command (exact data replay); `init_from` starts a new run from
a shipped checkpoint's weights (fine-tuning, or more steps for a shipped model). Measured on this CPU with torch on
one thread: 0.43 s per step for none / sinusoidal / learned / S-APE, 0.83 s for RPE and 1.14 s
for S-RPE (their biases force SDPA's unfused path), so about 15-40 minutes per run unloaded.
Loss: cross-entropy of every next token (padding ignored); the final evaluation reports
it in nats per token and per step (four tokens).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from hiaudio.data.chorales import CORPUS_VERSION, load_chorales
from hiaudio.data.dataset import split_pieces
from hiaudio.data.sequence import LABELS, N_VOICES, to_sequence
from hiaudio.data.tokens import random_transposition, tokenize
from hiaudio.models.composer import Composer
from hiaudio.train.config import TrainConfig
from hiaudio.train.loop import Task, start_from

DATA_VERSION = f"{CORPUS_VERSION}+sequence-v2"  # v2: the to_end label
MIN_WINDOW_STEPS = 32  # a training window starts no later than two 4/4 bars before the end


@dataclasses.dataclass
class Config(TrainConfig):
    steps: int = 2000  # the budget every encoding gets (equal compute); early stopping may end sooner
    batch_size: int = 8
    lr: float = 2e-3  # of 1e-3, 2e-3, 3e-3: validation NLL 0.635, 0.599, 0.617 at step 800 (S-APE, no voice pairs)
    weight_decay: float = 0.01
    warmup_steps: int = 50
    val_every: int = 100
    patience: int = 5  # stop after 5 validations (500 steps) without a better validation NLL
    log_every: int = 10
    max_minutes: float = 0.0  # no wall-clock cap: the step budget decides, whatever the machine's load
    pe: str = "s-ape"  # positional encoding: none | sinusoidal | learned | rpe | s-ape | s-rpe
    n_layer: int = 4  # Transformer blocks
    n_head: int = 4  # attention heads
    n_embd: int = 96  # model width
    dropout: float = 0.1  # residual and input dropout
    attn_dropout: float = 0.0  # attention-weight dropout (off: it tripled the CPU step time)
    key_conditioning: str = "degrees"  # token | every | degrees (hiaudio.models.composer)
    voice_pairs: bool = True  # the learned voice-pair interval bias on the output (hiaudio.models.composer)
    max_steps: int = 128  # grid steps per window (8 bars of 4/4): 1 + 4 * 128 = 513 tokens of context
    threads: int = 1  # torch CPU threads (the machine is shared; pools stall under contention)


class ChoraleSequences(torch.utils.data.Dataset):
    """Chorale windows of at most max_steps steps as (tokens (L,), labels {name: (L,)}).

    Training (`random=True`): a random transposition and a window starting on a random bar
    line (bar and phrase labels still count from the piece's start). Evaluation: the first
    max_steps steps, untransposed."""

    def __init__(self, grids, max_steps: int, random: bool):
        self.grids, self.max_steps, self.random = grids, max_steps, random

    def __len__(self):
        return len(self.grids)

    def __getitem__(self, i):
        grid = self.grids[i]
        start = 0
        if self.random:
            # numpy's global RNG: seeded by the loop and restored on resume, so items replay exactly
            grid = random_transposition(grid, np.random.default_rng(np.random.randint(2**31)))
            bar_starts = np.flatnonzero(grid.position == 0)
            starts = np.concatenate([[0], bar_starts[bar_starts <= grid.n_steps - MIN_WINDOW_STEPS]])
            start = int(starts[np.random.randint(len(starts))])
        seq = to_sequence(grid, start, self.max_steps)
        return torch.from_numpy(seq.tokens), {k: torch.from_numpy(v) for k, v in seq.labels.items()}


def collate(items):
    """Pad to the longest item: idx (B, T), labels {name: (B, T)}, targets (B, T) with -1 on padding."""
    longest = max(tokens.shape[0] for tokens, _ in items) - 1
    B = len(items)
    idx = torch.zeros(B, longest, dtype=torch.long)
    targets = torch.full((B, longest), -1, dtype=torch.long)
    labels = {k: torch.zeros(B, longest, dtype=torch.long) for k in LABELS}
    for b, (tokens, lab) in enumerate(items):
        n = tokens.shape[0] - 1
        idx[b, :n], targets[b, :n] = tokens[:-1], tokens[1:]
        for k in LABELS:
            labels[k][b, :n] = lab[k][1:]  # the labels of the token each input predicts
    return idx, labels, targets


def loss_fn(model, batch):
    idx, labels, targets = batch
    _, loss = model(idx, labels, targets)
    return loss, {}


def split_grids(split: str, chorales=None):
    return [tokenize(c) for c in split_pieces(chorales if chorales is not None else load_chorales(), split)]


@torch.no_grad()
def sequence_nll(model, grids, max_steps: int = 128, batch_size: int = 8) -> dict:
    """Mean next-token NLL (nats) over the first max_steps steps of each grid, untransposed."""
    data = ChoraleSequences(grids, max_steps, random=False)
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for a in range(0, len(data), batch_size):
        idx, labels, targets = collate([data[i] for i in range(a, min(len(data), a + batch_size))])
        logits, _ = model(idx.to(device), {k: v.to(device) for k, v in labels.items()})
        nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), targets.flatten().to(device),
                                                ignore_index=-1, reduction="sum")
        total, count = total + float(nll), count + int((targets >= 0).sum())
    return {"nll_per_token": total / max(count, 1), "nll_per_step": N_VOICES * total / max(count, 1),
            "n_tokens": count}


def build(cfg: Config) -> Task:
    torch.set_num_threads(cfg.threads)
    chorales = load_chorales()
    train, val = split_grids("train", chorales), split_grids("validation", chorales)
    kwargs = {"pe": cfg.pe, "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_embd": cfg.n_embd,
              "dropout": cfg.dropout, "attn_dropout": cfg.attn_dropout, "key_conditioning": cfg.key_conditioning,
              "voice_pairs": cfg.voice_pairs,
              "block_size": 1 + N_VOICES * cfg.max_steps}

    def evaluate(model):
        return {f"val_{k}": v for k, v in sequence_nll(model, val, cfg.max_steps, cfg.batch_size).items()}

    model = Composer(**kwargs)
    if cfg.init_from:  # e.g. assets/composer_s-ape.pt (the same pe, sizes and key conditioning)
        start_from(model, cfg.init_from, "composer")
    return Task(model=model, model_name="composer", model_kwargs=kwargs,
                train_set=ChoraleSequences(train, cfg.max_steps, random=True),
                val_set=ChoraleSequences(val, cfg.max_steps, random=False),
                loss_fn=loss_fn, evaluate=evaluate, collate_fn=collate, data_version=DATA_VERSION)
