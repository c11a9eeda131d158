"""A tiny regression task for testing the training loop itself (not a shipped model)."""
import dataclasses

import torch

from hiaudio import checkpoints
from hiaudio.train.config import TrainConfig, resolve
from hiaudio.train.loop import Task, fit, seed_everything

checkpoints.register("tiny_mlp", "tests.train_fixture:TinyMLP")


@dataclasses.dataclass
class Config(TrainConfig):
    hidden: int = 16  # hidden units
    n_items: int = 64  # training examples
    dropout: float = 0.1  # exercises the RNG state across resumes
    steps: int = 40
    batch_size: int = 8
    lr: float = 1e-2
    val_every: int = 10
    log_every: int = 5


class TinyMLP(torch.nn.Module):
    def __init__(self, hidden: int = 16, dropout: float = 0.1):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.Tanh(),
                                       torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


class _Data(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = (self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.sin(3 * self.x[:, 0]))[:, None]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def _loss(model, batch):
    x, y = batch
    loss = torch.nn.functional.mse_loss(model(x), y)
    return loss, {"rmse": loss.detach().sqrt()}


def build(cfg: Config) -> Task:
    kwargs = {"hidden": cfg.hidden, "dropout": cfg.dropout}
    return Task(model=TinyMLP(**kwargs), model_name="tiny_mlp", model_kwargs=kwargs,
                train_set=_Data(cfg.n_items, 1), val_set=_Data(32, 2), loss_fn=_loss,
                evaluate=lambda m: {"test_rmse": float(_loss(m, (_Data(32, 3).x, _Data(32, 3).y))[1]["rmse"])},
                data_version="synthetic-1")


def run(tmp_path, name="run", **overrides):
    """Train the tiny task under tmp_path/name: (fit's result, the model, the run folder)."""
    sets = [f"out_dir={tmp_path / name}"] + [f"{k}={v}" for k, v in overrides.items()]
    cfg = resolve(Config, None, sets)
    seed_everything(cfg.seed)
    task = build(cfg)
    return fit(task, cfg), task.model, tmp_path / name
