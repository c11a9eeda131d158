"""hiaudio/train/separator_task.py: the UMSS-style separator network trains."""
import numpy as np


def test_a_few_training_steps_lower_the_separator_loss(tmp_path, monkeypatch):
    """The UMSS-style network (`python -m hiaudio.train separator`): the mixture-only loss falls."""
    import json as json_mod

    from hiaudio.data import dataset
    from hiaudio.data.chorales import parse_chorale
    from hiaudio.train import separator_task
    from hiaudio.train.loop import fit, seed_everything

    pieces = [parse_chorale("bwv269")]  # one chorale, never the whole corpus, serving every split
    monkeypatch.setenv("HIAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dataset, "split_pieces", lambda chorales, split: pieces)
    real = separator_task.ChoraleDataset
    monkeypatch.setattr(separator_task, "ChoraleDataset", lambda *a, **k: real(*a, chorales=pieces, **k))
    cfg = separator_task.Config(steps=40, batch_size=4, lr=1e-3, n_train=8, n_val=1, duration_s=2.0,
                                val_every=40, log_every=5, out_dir=str(tmp_path / "run"), device="cpu", seed=1)
    seed_everything(cfg.seed)
    result = fit(separator_task.build(cfg), cfg)
    rows = [line.split(",") for line in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    losses = [float(r[3]) for r in rows if r[1] == "train" and r[2] == "loss"]
    assert np.mean(losses[-2:]) < losses[0], losses
    assert np.isfinite(result["val_masked_si_sdr_db"])
    assert json_mod.loads((tmp_path / "run" / "eval.json").read_text())["model"] == "separator"
