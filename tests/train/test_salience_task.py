"""hiaudio/train/salience_task.py: targets, scores and a short training run."""
import json

import numpy as np
import torch

from hiaudio.models.salience import N_BINS, hz_to_bin
from hiaudio.train.salience_task import multipitch_scores, salience_target


def test_salience_target_marks_each_voice():
    f0 = torch.zeros(4, 3)
    f0[0], f0[3] = 440.0, 110.0
    target = salience_target(f0)  # (T, K)
    for hz in (440.0, 110.0):
        b = int(round(float(hz_to_bin(torch.tensor(hz)))))
        assert target[0, b] > 0.9
    assert target.shape == (3, N_BINS) and float(target.sum(1)[0]) < 2 * 3.0  # two blurred bumps


def test_multipitch_scores_perfect_peaks():
    f0 = torch.tensor([[440.0, 440.0], [0.0, 220.0]])
    sal = salience_target(f0)  # (T, K): peaks exactly at the references
    tp, n_est, found = multipitch_scores(sal, f0)
    assert (tp, n_est, found) == (3, 3, 3)


def test_a_few_training_steps_lower_the_loss(tmp_path, monkeypatch):
    from hiaudio.data import dataset
    from hiaudio.data.chorales import parse_chorale
    from hiaudio.train import salience_task
    from hiaudio.train.loop import fit, seed_everything
    from hiaudio.train.salience_task import Config, build

    # one chorale parsed straight from music21 (never the whole corpus), serving every split,
    # rendered into a temporary cache
    pieces = [parse_chorale("bwv269")]
    monkeypatch.setenv("HIAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dataset, "split_pieces", lambda chorales, split: pieces)
    real = salience_task.ChoraleDataset
    monkeypatch.setattr(salience_task, "ChoraleDataset", lambda *a, **k: real(*a, chorales=pieces, **k))

    cfg = Config(steps=24, batch_size=4, lr=1e-2, n_train=8, n_val=1, n_eval=1, duration_s=2.0, crop_s=0.5,
                 val_every=24, log_every=4, out_dir=str(tmp_path / "run"), device="cpu", seed=3)
    seed_everything(cfg.seed)
    result = fit(build(cfg), cfg)
    assert result["steps"] == 24 and "val_peak_f1" in result
    rows = [line.split(",") for line in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    losses = [float(r[3]) for r in rows if r[1] == "train" and r[2] == "loss"]
    assert np.mean(losses[-2:]) < losses[0]
    assert json.loads((tmp_path / "run" / "eval.json").read_text())["model"] == "salience"
