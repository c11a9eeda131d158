"""hiaudio/train/cards.py: shipping a checkpoint writes its model card."""
import pytest
import torch

from hiaudio import checkpoints
from hiaudio.train import cards
from tests.train_fixture import run


def test_ship_copies_the_checkpoint_and_writes_its_card(tmp_path):
    _, _, out = run(tmp_path, steps=10)
    assets = tmp_path / "assets"
    path = cards.ship(out, "tiny.pt", "python -m hiaudio.train tests.train_fixture", assets)
    model, meta = checkpoints.load_checkpoint(path, expected="tiny_mlp")
    assert "optimizer" not in meta
    text = (assets / "MODELS.md").read_text()
    assert "`python -m hiaudio.train tests.train_fixture`" in text and "synthetic-1" in text
    assert "test_rmse" in text and "wall time" in text
    cards.ship(out, "tiny.pt", "python -m hiaudio.train tests.train_fixture --set steps=10", assets)
    text = (assets / "MODELS.md").read_text()
    assert text.count("<!-- card:tiny.pt -->") == 1 and "--set steps=10" in text
    with pytest.raises(ValueError, match="file name"):
        cards.ship(out, "../evil.pt", "x", assets)
    best = checkpoints.read_checkpoint(out / "best.pt")  # 10 steps: best is last; make them differ
    best["state"] = {k: torch.zeros_like(v) for k, v in best["state"].items()}
    torch.save(best, out / "best.pt")
    final = checkpoints.read_checkpoint(out / "last.pt")
    for which, expected in (("best", best), ("last", final)):
        shipped = checkpoints.read_checkpoint(cards.ship(out, f"tiny_{which}.pt", "x", assets, which=which))
        assert all(torch.equal(shipped["state"][k], expected["state"][k]) for k in final["state"])
    with pytest.raises(ValueError, match="'best' or 'last'"):
        cards.ship(out, "tiny.pt", "x", assets, which="newest")
