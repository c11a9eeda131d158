"""What the composer's tests share: a chorale's grid, tiny untrained composers, a batch of labels."""
import functools

import torch

from hiaudio.data import sequence
from hiaudio.data.chorales import parse_chorale
from hiaudio.data.tokens import ChoraleGrid, tokenize
from hiaudio.models.composer import Composer

TINY = {"n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.0}


@functools.cache
def chorale_grid() -> ChoraleGrid:
    return tokenize(parse_chorale("bwv10.7"))  # 4/4; read-only: tests copy before changing it


def tiny(pe: str, **kw) -> Composer:
    """A tiny composer, the same weights for a given pe and kw."""
    torch.manual_seed(0)
    model = Composer(pe=pe, **{**TINY, **kw}).eval()
    if model.config.voice_pairs:  # trained tables are not zero: let the tests see the bias
        torch.nn.init.normal_(model.pair_bias)
    return model


def batch_of(grid: ChoraleGrid, n_steps: int = 24) -> tuple[torch.Tensor, dict]:
    """(1, 4 n_steps) input tokens and their (1, 4 n_steps) labels, from the grid's start."""
    seq = sequence.to_sequence(grid, 0, n_steps)
    lab = seq.shifted_labels()
    return (torch.from_numpy(seq.tokens[:-1])[None], {k: torch.from_numpy(v)[None] for k, v in lab.items()})
